import type { protos } from '@google-cloud/compute';
import type { CallOptions, ClientOptions } from 'google-gax';
import * as core from '@actions/core';
import { Deadline, sleep } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { backoffMs, withRetry } from '../lib/retry.js';
import type { LoadedComputeClients } from './computeLibrary.js';
import { COMPUTE_CALLS } from './computeProtos.js';

export type Operation = protos.google.cloud.compute.v1.IOperation;

/** What a test hands in instead of Application Default Credentials (e.g. an OAuth2Client with a token). */
export type ComputeAuthClient = NonNullable<ClientOptions['authClient']>;

type Calls = typeof COMPUTE_CALLS;
/** A client with only the calls in COMPUTE_CALLS: the only ones the shipped descriptors describe. */
export type ComputeClient<K extends keyof Calls> = Pick<
  LoadedComputeClients[K],
  Extract<Calls[K]['methods'][number], keyof LoadedComputeClients[K]>
>;

/**
 * The Compute clients the runbook needs. The library loads in the background; a call made before it is
 * there waits for it. Each client is built on first use and all share one set of credentials.
 */
export interface ComputeClients {
  readonly project: string;
  /** Settles when the library is loaded: rejects if it cannot be (a broken bundle); calls reject the same way. */
  readonly ready: Promise<void>;
  readonly disks: ComputeClient<'disks'>;
  readonly regionDisks: ComputeClient<'regionDisks'>;
  readonly zoneOperations: ComputeClient<'zoneOperations'>;
  readonly regionOperations: ComputeClient<'regionOperations'>;
  readonly globalOperations: ComputeClient<'globalOperations'>;
  readonly snapshots: ComputeClient<'snapshots'>;
  readonly resourcePolicies: ComputeClient<'resourcePolicies'>;
  readonly addresses: ComputeClient<'addresses'>;
}

export interface ComputeClientOptions {
  project: string;
  /** The compute-endpoint input: https://compute.googleapis.com (default) or e.g. http://127.0.0.1:PORT. */
  endpoint?: string;
  /** Replaces Application Default Credentials; for tests. */
  authClient?: ComputeAuthClient;
}

/**
 * Starts loading the Compute library (google-gax and the clients: ~0.1-0.2 s of CPU) and returns at once, so
 * the tool step and the cluster reads are not held up; call it as soon as the inputs are known.
 */
export function createComputeClients(options: ComputeClientOptions): ComputeClients {
  const base: ClientOptions = {
    // An explicit project: without it the library asks Resource Manager which project the credentials belong to.
    projectId: options.project,
    fallback: true,
    ...endpointOptions(options.endpoint),
  };
  const started = Date.now();
  // The credentials first, and the library evaluated once the token exchange is on the wire (see computeAuth.ts).
  const auth = options.authClient
    ? Promise.resolve(undefined)
    : import('./computeAuth.js').then((m) => m.startAuth(options.project));
  const loaded = auth
    .then((a) => a?.onTheWire)
    // A turn of the event loop more: the request's own continuation (fetch, the socket) goes first.
    .then(() => new Promise((resolve) => setImmediate(resolve)))
    .then(() => Promise.all([import('./computeLibrary.js'), auth.then((a) => a?.auth)]))
    .then(
      ([library, shared]) => {
        core.debug(`Compute client library loaded in ${Date.now() - started} ms`);
        return library.loadedComputeClients({
          base,
          ...(options.authClient ? { authClient: options.authClient } : {}),
          ...(shared ? { auth: shared } : {}),
        });
      },
      (error: unknown) => {
        throw new ActionError(`Could not load the Compute client library: ${String(error)}`, {
          cause: error,
          hint: 'The action bundle is broken: re-run the job, or pin the action to a release',
        });
      },
    );
  const ready = loaded.then(() => undefined);
  // Handled here so a failed load is reported by the calls that need it, not as an unhandled rejection.
  ready.catch(() => undefined);
  const client = <K extends keyof Calls>(key: K): ComputeClient<K> => {
    const calls: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of COMPUTE_CALLS[key].methods) {
      calls[method] = async (...args) => {
        const real = (await loaded)[key] as unknown as Record<string, (...a: unknown[]) => unknown>;
        return real[method]!(...args);
      };
    }
    return calls as unknown as ComputeClient<K>;
  };
  return {
    project: options.project,
    ready,
    disks: client('disks'),
    regionDisks: client('regionDisks'),
    zoneOperations: client('zoneOperations'),
    regionOperations: client('regionOperations'),
    globalOperations: client('globalOperations'),
    snapshots: client('snapshots'),
    resourcePolicies: client('resourcePolicies'),
    addresses: client('addresses'),
  };
}

/** gax wants host, port and protocol apart: a URL in apiEndpoint breaks, and host:port alone goes to 443. */
export function endpointOptions(endpoint: string | undefined): ClientOptions {
  if (endpoint === undefined) return {};
  const url = new URL(endpoint);
  const https = url.protocol === 'https:';
  return {
    apiEndpoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : https ? 443 : 80,
    protocol: https ? 'https' : 'http',
  };
}

/**
 * Per-call options: a timeout inside the deadline, and no retries inside the library (compute 7.x would
 * retry a 503 GET for 600 s); transient failures are retried by withRetry, where the deadline rules.
 */
function callOptions(deadline: Deadline, capMs = 60_000): CallOptions {
  return { timeout: Math.max(1_000, Math.min(capMs, deadline.remainingMs())), maxRetries: 0 };
}

/** The HTTP status of a failed call: 6.x throws GaxiosError (status), 7.x GoogleError (httpStatusCode). */
export function httpStatus(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  // computeCall wraps what the client threw: the status is the cause's.
  if (error instanceof ActionError) return httpStatus(error.cause);
  const e = error as {
    httpStatusCode?: unknown;
    response?: { status?: unknown };
    status?: unknown;
    code?: unknown;
  };
  for (const candidate of [e.httpStatusCode, e.response?.status, e.status, e.code]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

export interface ApiErrorDetail {
  status: number | undefined;
  /** Google's machine-readable reason: notFound, alreadyExists, forbidden, quotaExceeded, rateLimitExceeded, ... */
  reason: string | undefined;
  /** The API's own sentence, e.g. "Required 'compute.disks.create' permission for '...'". */
  message: string;
}

/** Reads Google's error body ({error: {code, message, errors: [{reason}]}}) wherever the library put it. */
export function apiErrorDetail(error: unknown): ApiErrorDetail {
  const status = httpStatus(error);
  const e = (error && typeof error === 'object' ? error : {}) as {
    message?: unknown;
    reason?: unknown;
    response?: { data?: unknown };
  };
  const text = typeof e.message === 'string' ? e.message : String(error);
  for (const candidate of [e.response?.data, text]) {
    const body = parseBody(candidate);
    if (body) {
      const first = body.errors?.[0];
      return {
        status: status ?? (typeof body.code === 'number' ? body.code : undefined),
        reason: first?.reason ?? (typeof e.reason === 'string' ? e.reason : undefined),
        message: body.message ?? first?.message ?? text,
      };
    }
  }
  return {
    status,
    reason: typeof e.reason === 'string' ? e.reason : undefined,
    message: text.split('\n')[0]!,
  };
}

interface GoogleErrorJson {
  code?: number;
  message?: string;
  errors?: { reason?: string; message?: string }[];
}

function parseBody(candidate: unknown): GoogleErrorJson | undefined {
  let value = candidate;
  if (typeof value === 'string') {
    const start = value.indexOf('{');
    if (start < 0) return undefined;
    try {
      value = JSON.parse(value.slice(start));
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object' || !('error' in value)) return undefined;
  const inner = (value as { error: unknown }).error;
  return inner && typeof inner === 'object' ? (inner as GoogleErrorJson) : undefined;
}

const TRANSIENT_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ECONNABORTED',
];

/** Worth another try: rate limits, server errors and connections that dropped or never opened. */
export function isTransientComputeError(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return status === 429 || status === 408 || status >= 500;
  const e = (error && typeof error === 'object' ? error : {}) as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
  };
  if (typeof e.code === 'string' && TRANSIENT_CODES.includes(e.code)) return true;
  const text = typeof e.message === 'string' ? e.message : '';
  if (/socket hang up|ECONNRESET|network timeout|premature close/i.test(text)) return true;
  // gax 7.x reports its own deadline and UNAVAILABLE as gRPC codes 4 and 14.
  return e.code === 4 || e.code === 14;
}

/** Turns a failed call into an error that names the API's reason and what to do about it. */
function computeFailure(error: unknown, what: string): ActionError {
  const detail = apiErrorDetail(error);
  const status =
    detail.status === undefined ? '' : ` (HTTP ${detail.status}${detail.reason ? ` ${detail.reason}` : ''})`;
  return new ActionError(`Compute API: ${what} failed${status}: ${detail.message}`, {
    cause: error,
    hint: failureHint(detail),
  });
}

function failureHint(detail: ApiErrorDetail): string {
  const permission = /Required '([\w.]+)' permission/.exec(detail.message)?.[1];
  if (permission) {
    // Addresses are not storage: static-ip needs a role of its own.
    const role = permission.startsWith('compute.addresses.')
      ? 'compute.publicIpAdmin'
      : 'compute.storageAdmin';
    return `Grant the workflow's service account '${permission}', e.g. with roles/${role} on the project`;
  }
  if (detail.reason === 'quotaExceeded' || /quota/i.test(detail.message)) {
    return 'Raise the quota (IAM & Admin > Quotas) or ask for a smaller disk-size or another disk-type';
  }
  if (detail.status === 401) {
    return 'The credentials were refused: run google-github-actions/auth before this step and check its workload identity provider';
  }
  if (detail.status === 403) {
    return "Check the project and that the workflow's service account has roles/compute.storageAdmin";
  }
  if (detail.status === 429 || (detail.status ?? 0) >= 500) {
    return "The API kept failing; re-run the job, or raise the 'timeout' input to retry for longer";
  }
  if (detail.status === undefined) {
    return 'Could not reach the Compute API: check the network and the compute-endpoint input';
  }
  return 'Check the project, zone and disk inputs';
}

/** One API call, retried on transient failures inside the deadline; permanent ones become an ActionError. */
async function computeCall<T>(
  what: string,
  deadline: Deadline,
  call: (options: CallOptions, attempt: number) => Promise<T>,
): Promise<T> {
  try {
    return await withRetry((attempt) => call(callOptions(deadline), attempt), {
      what: `Compute API: ${what}`,
      isTransient: isTransientComputeError,
      deadline,
    });
  } catch (error) {
    throw error instanceof ActionError ? error : computeFailure(error, what);
  }
}

/** A read through computeCall where 404 is an answer: the resource is absent. */
export async function computeGet<T>(
  what: string,
  deadline: Deadline,
  call: (options: CallOptions) => Promise<[T, ...unknown[]]>,
): Promise<T | undefined> {
  try {
    return (await computeCall(what, deadline, (options) => call(options)))[0];
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}

/**
 * A write (insert, createSnapshot, delete, ...) through computeCall, returning the Operation it started:
 * the client resolves to [lro, ...] and lro.promise() does not exist at run time; the raw Operation is in
 * latestResponse.
 */
export async function startOperation(
  what: string,
  deadline: Deadline,
  call: (options: CallOptions, attempt: number) => Promise<[unknown, ...unknown[]]>,
): Promise<Operation> {
  return computeCall(what, deadline, async (options, attempt) => {
    const [lro] = await call(options, attempt);
    return (lro as { latestResponse: Operation }).latestResponse;
  });
}

/** The first pause between two answers of an operations.wait that did not hold: doubled each time, up to the cap. */
const FIRST_POLL_PAUSE_MS = 20;

/** Where an operation lives decides which Operations client can wait on it. */
export type OperationScope = { zone: string } | { region: string } | { global: true };

/**
 * Waits on an Operation until DONE (operations.wait blocks up to ~2 min server-side), then reads its error:
 * a failed operation comes back DONE with error.errors[], it does not throw.
 */
export async function waitForOperation(
  clients: ComputeClients,
  operation: Operation,
  scope: OperationScope,
  deadline: Deadline,
  what: string,
  maxPauseMs = 250,
): Promise<Operation> {
  let current = operation;
  const name = operation.name;
  if (!name) throw new ActionError(`Compute API: ${what} returned no operation`, { hint: 'Re-run the job' });
  let pauses = 0;
  while (current.status !== 'DONE') {
    deadline.check(`waiting for ${what} (operation ${name})`);
    const started = Date.now();
    current = await computeCall(`waiting for ${what}`, deadline, async () => {
      // Generous timeout: the server holds a wait call open for up to two minutes.
      const options = callOptions(deadline, 150_000);
      if ('zone' in scope) {
        return (
          await clients.zoneOperations.wait(
            { project: clients.project, zone: scope.zone, operation: name },
            options,
          )
        )[0];
      }
      if ('region' in scope) {
        return (
          await clients.regionOperations.wait(
            { project: clients.project, region: scope.region, operation: name },
            options,
          )
        )[0];
      }
      return (await clients.globalOperations.wait({ project: clients.project, operation: name }, options))[0];
    });
    // wait returns early only when the server does not hold it open; then pause instead of spinning, briefly at
    // first (an operation is often DONE by the next poll: a fixed pause would be on the run's critical path).
    if (current.status !== 'DONE' && Date.now() - started < 1_000) {
      await sleep(backoffMs(++pauses, FIRST_POLL_PAUSE_MS, maxPauseMs));
    }
  }
  const errors = current.error?.errors ?? [];
  if (errors.length) {
    const first = errors[0]!;
    const code = first.code ?? 'UNKNOWN';
    const message = errors.map((e) => `${e.code ?? 'UNKNOWN'}: ${e.message ?? ''}`).join('; ');
    throw new ActionError(
      `Compute API: ${what} failed${current.httpErrorStatusCode ? ` (HTTP ${current.httpErrorStatusCode})` : ''}: ${message}`,
      { hint: operationHint(code) },
    );
  }
  core.debug(`${what}: operation ${name} is DONE`);
  return current;
}

function operationHint(code: string): string {
  if (code === 'ZONE_RESOURCE_POOL_EXHAUSTED' || code === 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS') {
    return 'The zone has no capacity for this disk right now: try another disk-type or zone, or re-run later';
  }
  if (/QUOTA/.test(code))
    return 'Raise the quota (IAM & Admin > Quotas) or ask for a smaller disk-size or another disk-type';
  if (/PERMISSION|FORBIDDEN/.test(code))
    return "Grant the workflow's service account roles/compute.storageAdmin";
  return 'Read the operation error above; fix the inputs or re-run';
}
