import { sleep } from '../lib/deadline.js';
import { backoffMs } from '../lib/retry.js';
import { isTransientKubeError, KubeApiError, KubeTimeoutError, statusFromBody } from './kubeErrors.js';
import { retryKube } from './kubeRetry.js';
import type { Budget, KubeTransport } from './kubeTransport.js';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** Why a watch ended, and the resourceVersion to go on from. */
export interface WatchOutcome {
  /** stopped: the handler said so; deadline: the budget ran out; expired: the resourceVersion is too old (410
   *  Gone): list again, and watch from the list's. */
  end: 'stopped' | 'deadline' | 'expired';
  resourceVersion: string;
}

interface WatchParams {
  resourceVersion: string;
  labelSelector?: string;
  fieldSelector?: string;
  budget: Budget;
}

/** One stream's end; `ended`: the server closed it early, or a transient error event ended it. */
interface StreamOutcome {
  end: WatchOutcome['end'] | 'ended';
  resourceVersion: string;
  /** Events (bookmarks included) it delivered: a stream that delivers nothing must not be reopened at once. */
  events: number;
  retryAfterMs: number | undefined;
}

// The server ends a watch after timeoutSeconds; asking for less than the budget keeps streams short-lived.
const MAX_WATCH_SECONDS = 300;
/** The pause before reopening a stream that delivered nothing grows from this to MAX_IDLE_PAUSE_MS. */
const IDLE_PAUSE_MS = 100;
const MAX_IDLE_PAUSE_MS = 5000;

/**
 * Watches `path` from `resourceVersion` until `onEvent` returns true, the budget runs out, or the version is too old
 * (410). A stream the server closes early (its timeout, a restart, a proxy, a reset connection) or that fails
 * transiently (429, 5xx, before or during the stream) is reopened from the last resourceVersion seen, so no event
 * is missed or repeated; a permanent error (403, 404, ...) is thrown.
 */
export async function watchUntil<T>(
  transport: KubeTransport,
  path: string,
  params: WatchParams,
  onEvent: (event: WatchEvent<T>) => boolean,
): Promise<WatchOutcome> {
  let resourceVersion = params.resourceVersion;
  let idle = 0;
  for (;;) {
    if (params.budget.remainingMs() <= 0) return { end: 'deadline', resourceVersion };
    const from = { ...params, resourceVersion };
    const stream = await retryKube(() => openStream(transport, path, from, onEvent), {
      what: `watch ${path}`,
      budget: params.budget,
      repeatable: 'safe',
    }).catch((error: unknown) => {
      // The budget ran out before the server answered the watch (a slow API server, a busy runner): the same
      // end as running out during the stream, so callers name what they waited for.
      if (error instanceof KubeTimeoutError && !error.requestTimeout) return undefined;
      throw error;
    });
    if (!stream) return { end: 'deadline', resourceVersion };
    resourceVersion = stream.resourceVersion;
    if (stream.end !== 'ended') return { end: stream.end, resourceVersion };
    idle = stream.events > 0 ? 0 : idle + 1;
    const backoff = idle ? backoffMs(idle, IDLE_PAUSE_MS, MAX_IDLE_PAUSE_MS) : 0;
    const pause = Math.max(backoff, stream.retryAfterMs ?? 0);
    if (pause > 0) {
      if (params.budget.remainingMs() <= pause) return { end: 'deadline', resourceVersion };
      await sleep(pause);
    }
  }
}

/** One watch request: its events go to `onEvent`; says how the stream ended and where to go on from. */
async function openStream<T>(
  transport: KubeTransport,
  path: string,
  params: WatchParams,
  onEvent: (event: WatchEvent<T>) => boolean,
): Promise<StreamOutcome> {
  const outcome: StreamOutcome = {
    end: 'ended',
    resourceVersion: params.resourceVersion,
    events: 0,
    retryAfterMs: undefined,
  };
  let failure: KubeApiError | undefined;
  const seconds = Math.max(1, Math.min(MAX_WATCH_SECONDS, Math.floor(params.budget.remainingMs() / 1000)));
  const request = {
    method: 'GET' as const,
    path,
    query: {
      watch: true,
      resourceVersion: params.resourceVersion,
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
      const error = new KubeApiError('GET', path, statusFromBody(410, JSON.stringify(event.object)));
      if (error.status === 410) outcome.end = 'expired';
      else if (isTransientKubeError(error)) outcome.retryAfterMs = error.retryAfterMs;
      else failure = error;
      return true;
    }
    outcome.events += 1;
    outcome.resourceVersion = versionOf(event.object) ?? outcome.resourceVersion;
    if (onEvent(event as WatchEvent<T>) === true) {
      outcome.end = 'stopped';
      return true;
    }
    return false;
  });
  if (response.status === 410) return { ...outcome, end: 'expired' };
  if (response.status !== 200) {
    const status = statusFromBody(response.status, response.text, response.retryAfterMs);
    throw new KubeApiError('GET', path, status);
  }
  if (failure) throw failure;
  if (response.deadline && outcome.end === 'ended') outcome.end = 'deadline';
  return outcome;
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
