import { ActionError } from '../lib/errors.js';

/** The `Status` body an API server answers a failed call with (metav1.Status). */
export interface KubeStatus {
  code: number;
  /** NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Unauthorized, Expired, ... ('' when the body was no Status). */
  reason: string;
  message: string;
  details: Record<string, unknown> | undefined;
  /** How long the server asked us to wait before trying again (Retry-After, or details.retryAfterSeconds). */
  retryAfterMs?: number;
}

/** The API server refused a call: its own code, reason and message, kept for callers to tell apart. */
export class KubeApiError extends ActionError {
  readonly status: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;
  /** The server's own message, e.g. `persistentvolumes "pv" not found`. */
  readonly serverMessage: string;
  /** The server's Retry-After (429 from API Priority and Fairness, 503 while it starts), when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly method: string,
    readonly path: string,
    status: KubeStatus,
  ) {
    super(
      `${method} ${path} failed with ${status.code}${status.reason ? ` ${status.reason}` : ''}: ${status.message}`,
      {
        hint: hintFor(status),
      },
    );
    this.name = 'KubeApiError';
    this.status = status.code;
    this.reason = status.reason;
    this.details = status.details;
    this.serverMessage = status.message;
    this.retryAfterMs = status.retryAfterMs;
  }
}

/** A call that could not finish inside its budget; names the call and that it ran out of time. */
export class KubeTimeoutError extends ActionError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly budgetMs: number,
    what = `${method} ${path}`,
    /** True when the per-request cap, not the run's budget, ended it. */
    readonly requestTimeout = false,
  ) {
    super(
      requestTimeout
        ? `${what} got no answer within the ${duration(budgetMs)} request timeout`
        : `${what} ran out of time (${duration(budgetMs)} left for it)`,
      { hint: "Raise the 'timeout' input if the cluster is slow but healthy" },
    );
    this.name = 'KubeTimeoutError';
  }
}

/** The server could not be reached or dropped the connection (no HTTP answer at all). */
export class KubeConnectionError extends ActionError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly server: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`${method} ${path} could not reach ${server}${code ? ` (${code})` : ''}`, {
      cause,
      hint: 'Check that the cluster is running and that the kubeconfig points at it (server, CA, proxy)',
    });
    this.name = 'KubeConnectionError';
  }
}

export function isKubeReason(error: unknown, reason: string): boolean {
  return error instanceof KubeApiError && error.reason === reason;
}

/**
 * Worth another try for a call that is safe to repeat (a read, a watch, an idempotent write): no answer at all,
 * a request that hit its own timeout while the run has time left, too many requests, or a server-side hiccup.
 */
export function isTransientKubeError(error: unknown): boolean {
  if (error instanceof KubeConnectionError) return true;
  if (error instanceof KubeTimeoutError) return error.requestTimeout;
  return error instanceof KubeApiError && [429, 500, 502, 503, 504].includes(error.status);
}

// Failures before a connection existed: the request never left this machine.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Worth another try for any call, even one that is not safe to repeat: the server certainly did not act on it.
 * A 429 is answered by API Priority and Fairness (or max-in-flight) before the request is handled.
 */
export function isUnprocessedKubeError(error: unknown): boolean {
  if (error instanceof KubeApiError) return error.status === 429;
  if (!(error instanceof KubeConnectionError)) return false;
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NOT_CONNECTED.has(code);
}

/** The wait a failed call's answer asked for, if any. */
export function kubeRetryAfterMs(error: unknown): number | undefined {
  return error instanceof KubeApiError ? error.retryAfterMs : undefined;
}

/** Builds the Status from an error response; a body that is no Status (a proxy's page) keeps its first line. */
export function statusFromBody(code: number, text: string, retryAfterMs?: number): KubeStatus {
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
  try {
    const body = JSON.parse(text) as Partial<Record<keyof KubeStatus | 'kind', unknown>>;
    if (body && body.kind === 'Status') {
      const details =
        typeof body.details === 'object' && body.details
          ? (body.details as Record<string, unknown>)
          : undefined;
      const seconds = details?.retryAfterSeconds;
      return {
        code: typeof body.code === 'number' ? body.code : code,
        reason: typeof body.reason === 'string' ? body.reason : '',
        message: typeof body.message === 'string' ? body.message : '',
        details,
        ...(typeof seconds === 'number' && retryAfterMs === undefined
          ? { retryAfterMs: seconds * 1000 }
          : retry),
      };
    }
  } catch {
    // not JSON: fall through to the text itself
  }
  const first = text.trim().split('\n')[0]?.slice(0, 300) ?? '';
  return { code, reason: '', message: first || `HTTP ${code}`, details: undefined, ...retry };
}

function duration(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

function hintFor(status: KubeStatus): string | undefined {
  switch (status.reason) {
    case 'Unauthorized':
      return 'The cluster did not accept the kubeconfig credentials: refresh them (gcloud container clusters get-credentials)';
    case 'Forbidden':
      return 'The kubeconfig user lacks a permission (RBAC) the action needs: grant it or use an account that has it';
    case 'Conflict':
      return 'Another client changed the object meanwhile: rerun to act on its current state';
    default:
      return undefined;
  }
}
