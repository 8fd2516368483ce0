import { KubeApiError, statusFromBody } from './kubeErrors.js';
import type { Budget, KubeTransport } from './kubeTransport.js';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** Why a watch ended, and the resourceVersion to go on from. */
export interface WatchOutcome {
  /** stopped: the handler said so; ended: the server closed the stream; deadline: the budget ran out;
   *  expired: the resourceVersion is too old (410), list again. */
  end: 'stopped' | 'ended' | 'deadline' | 'expired';
  resourceVersion: string;
}

interface WatchParams {
  resourceVersion: string;
  labelSelector?: string;
  fieldSelector?: string;
  budget: Budget;
}

// The server ends a watch after timeoutSeconds; asking for less than the budget keeps streams short-lived.
const MAX_WATCH_SECONDS = 300;

export async function watchUntil<T>(
  transport: KubeTransport,
  path: string,
  params: WatchParams,
  onEvent: (event: WatchEvent<T>) => boolean,
): Promise<WatchOutcome> {
  let resourceVersion = params.resourceVersion;
  let end: WatchOutcome['end'] = 'ended';
  let failure: KubeApiError | undefined;
  const seconds = Math.max(1, Math.min(MAX_WATCH_SECONDS, Math.floor(params.budget.remainingMs() / 1000)));
  const request = {
    method: 'GET' as const,
    path,
    query: {
      watch: true,
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: seconds,
      labelSelector: params.labelSelector,
      fieldSelector: params.fieldSelector,
    },
    budget: params.budget,
  };
  const response = await transport.stream(request, (line) => {
    const event = parseEvent(line);
    if (!event) return false;
    if (event.type === 'ERROR') {
      const status = statusFromBody(410, JSON.stringify(event.object));
      if (status.code === 410) end = 'expired';
      else failure = new KubeApiError('GET', path, status);
      return true;
    }
    resourceVersion = versionOf(event.object) ?? resourceVersion;
    if (onEvent(event as WatchEvent<T>) === true) {
      end = 'stopped';
      return true;
    }
    return false;
  });
  if (response.status !== 200)
    throw new KubeApiError('GET', path, statusFromBody(response.status, response.text));
  if (failure) throw failure;
  if (response.deadline) end = 'deadline';
  return { end, resourceVersion };
}

function parseEvent(line: string): { type: string; object: unknown } | undefined {
  try {
    const parsed = JSON.parse(line) as { type?: unknown; object?: unknown };
    return typeof parsed.type === 'string' ? { type: parsed.type, object: parsed.object } : undefined;
  } catch {
    return undefined;
  }
}

function versionOf(object: unknown): string | undefined {
  const meta = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
}
