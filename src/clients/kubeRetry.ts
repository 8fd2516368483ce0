import { withRetry } from '../lib/retry.js';
import { isTransientKubeError, isUnprocessedKubeError, kubeRetryAfterMs } from './kubeErrors.js';
import type { Budget } from './kubeTransport.js';

// Which Kubernetes calls are sent again after a failure without a clear answer, and how the one case where a
// repeat can answer differently (our own first attempt landed) is told apart from another client's doing.

/**
 * safe: a read or a watch, or a write whose repeat changes nothing more (server-side apply, a merge patch, a
 * delete, an update guarded by its resourceVersion, a create that reads back a 409); unsafe: any other write,
 * sent again only when the server certainly did not act on it (a 429, no connection at all).
 */
export type Repeatable = 'safe' | 'unsafe';

export interface KubeRetryOptions {
  /** `METHOD path`, for the one log line a retried call gets. */
  what: string;
  budget: Budget;
  repeatable: Repeatable;
  /** Told before each retry: the failed attempt may have landed. */
  onRetry?: () => void;
}

/** The first pause is short (a reset connection is usually fine at once); later ones grow to a few seconds. */
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;

/** Sends a call again on transient failures until it answers or the budget is spent; Retry-After is honoured. */
export function retryKube<T>(send: () => Promise<T>, options: KubeRetryOptions): Promise<T> {
  return withRetry(send, {
    what: options.what,
    isTransient: options.repeatable === 'safe' ? isTransientKubeError : isUnprocessedKubeError,
    deadline: options.budget,
    attempts: Infinity,
    baseDelayMs: BASE_DELAY_MS,
    maxDelayMs: MAX_DELAY_MS,
    retryAfterMs: kubeRetryAfterMs,
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });
}

/** Metadata the server sets or moves on every write: never part of what we asked for. */
const SERVER_METADATA = new Set([
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
]);

/**
 * Whether `stored` holds everything `sent` asked for (the server may add defaults and status): after a retried
 * create answered 409 AlreadyExists, or a retried update answered 409 Conflict, this tells our own first attempt,
 * which landed, from an object another client made or changed.
 */
export function holdsWhatWasSent(stored: unknown, sent: unknown): boolean {
  if (!isRecord(sent) || !isRecord(stored)) return false;
  for (const [key, value] of Object.entries(sent)) {
    if (key === 'status') continue;
    if (key === 'metadata' && isRecord(value)) {
      const ours = Object.fromEntries(Object.entries(value).filter(([k]) => !SERVER_METADATA.has(k)));
      if (!contains(stored.metadata, ours)) return false;
    } else if (!contains(stored[key], value)) return false;
  }
  return true;
}

function contains(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (isRecord(want)) {
    return isRecord(have) && Object.entries(want).every(([k, w]) => contains(have[k], w));
  }
  return have === want;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
