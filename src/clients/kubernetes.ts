import { ActionError } from '../lib/errors.js';
import { kindInfo, resourcePath } from './kinds.js';
import { loadKubeconfig, type KubeconfigSource, type KubeContext } from './kubeconfig.js';
import { isKubeReason, KubeApiError, KubeTimeoutError, statusFromBody } from './kubeErrors.js';
import { holdsWhatWasSent, retryKube, type Repeatable } from './kubeRetry.js';
import { KubeTransport, type Budget, type KubeRequest, type TransportOptions } from './kubeTransport.js';
import { watchUntil, type WatchEvent, type WatchOutcome } from './kubeWatch.js';

export type { Budget } from './kubeTransport.js';
export {
  KubeApiError,
  KubeConnectionError,
  KubeTimeoutError,
  isKubeReason,
  isTransientKubeError,
  isUnprocessedKubeError,
} from './kubeErrors.js';
export type { WatchEvent, WatchOutcome } from './kubeWatch.js';

/** The parts of a Kubernetes object every caller reads; the rest stays untyped JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One resource a group-version serves, as discovery lists it (`name` is the plural, or `plural/subresource`). */
export interface ApiResource {
  kind: string;
  name: string;
  namespaced: boolean;
}

export interface CallOptions {
  /** This call's time; default the client's budget (the run's deadline). */
  budget?: Budget;
}

export interface ScopeOptions extends CallOptions {
  /** For namespaced kinds; default the object's own, else the kubeconfig context's namespace. */
  namespace?: string;
}

export interface ListOptions extends ScopeOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Every namespace instead of one (namespaced kinds only). */
  allNamespaces?: boolean;
}

export interface KubeList<T> {
  items: T[];
  /** The list's resourceVersion: where a watch that follows it starts. */
  resourceVersion: string;
}

export interface WriteOptions extends ScopeOptions {
  /** Default FIELD_MANAGER. */
  fieldManager?: string;
  dryRun?: boolean;
}

export interface ApplyOptions extends WriteOptions {
  /** Take over fields another manager owns instead of failing with 409 Conflict. */
  force?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic';

export interface DeleteOptions extends ScopeOptions {
  /** The delete fails with 409 Conflict unless the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
}

export interface LogOptions extends ScopeOptions {
  container?: string;
  /** Default 50. */
  tailLines?: number;
  /** Default 256 KiB: a log is diagnostics, never worth the run's time. */
  limitBytes?: number;
  previous?: boolean;
}

export interface WaitOptions extends ScopeOptions {
  /** What is waited for, for the timeout message, e.g. `the claim skypilot-state to be Bound`. */
  what?: string;
}

export interface KubernetesClientOptions extends TransportOptions {
  /** Bounds every call that names no budget of its own: the run's Deadline. */
  budget: Budget;
}

/** The field manager that owns what the action writes, so server-side apply tells our fields from others'. */
export const FIELD_MANAGER = 'skyha-action';

const PATCH_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/**
 * The Kubernetes API from the action's own process: one kubeconfig context, one keep-alive agent. Reads, watches
 * and the writes that are safe to repeat are retried on transient failures (429 with its Retry-After, 5xx, a reset
 * connection, a request timeout) within their budget; see kubeRetry.ts.
 */
export class KubernetesClient {
  private readonly transport: KubeTransport;
  private readonly budget: Budget;

  constructor(context: KubeContext, options: KubernetesClientOptions) {
    this.transport = new KubeTransport(context, options);
    this.budget = options.budget;
  }

  /** Reads the kubeconfig as kubectl would (path, else KUBECONFIG, else ~/.kube/config; its current context). */
  static fromKubeconfig(source: KubeconfigSource, options: KubernetesClientOptions): KubernetesClient {
    return new KubernetesClient(loadKubeconfig(source), options);
  }

  /** The context's namespace (or `default`): where namespaced calls go when they name none. */
  get namespace(): string {
    return this.transport.context.namespace;
  }

  get server(): string {
    return this.transport.context.cluster.server;
  }

  /** How often the kubeconfig's exec credential plugin ran. */
  get credentialPluginRuns(): number {
    return this.transport.credentials.execRuns;
  }

  /** One object, or undefined when it does not exist (404). */
  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    options: ScopeOptions = {},
  ): Promise<T | undefined> {
    const path = resourcePath(apiVersion, kind, this.scope(apiVersion, kind, options.namespace), name);
    return this.orUndefined(() => this.call<T>({ method: 'GET', path, budget: this.budgetOf(options) }));
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const namespace = options.allNamespaces ? undefined : this.scope(apiVersion, kind, options.namespace);
    const path = resourcePath(apiVersion, kind, namespace);
    const query = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    const list = await this.call<{ items?: T[]; metadata?: { resourceVersion?: string } }>({
      method: 'GET',
      path,
      query,
      budget: this.budgetOf(options),
    });
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /**
   * POST: 409 AlreadyExists when the name is taken. A retried create answered 409 reads the object back and takes
   * it when it is what we sent (our first attempt landed though its answer was lost).
   */
  async create<T extends KubeObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const { apiVersion, kind } = typeOf(object);
    const path = resourcePath(
      apiVersion,
      kind,
      this.scope(apiVersion, kind, objectNamespace(object, options)),
    );
    const request = { method: 'POST' as const, path, query: writeQuery(options), body: object };
    return this.writeOnce(object, { ...request, budget: this.budgetOf(options) }, 'AlreadyExists', options);
  }

  /**
   * PUT: with metadata.resourceVersion set, 409 Conflict when the object changed since it was read (safe to retry:
   * a retry answered 409 reads back, as a create does); without it, sent again only when it surely did not land.
   */
  async replace<T extends KubeObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const { apiVersion, kind, name } = typeOf(object, true);
    const namespace = this.scope(apiVersion, kind, objectNamespace(object, options));
    const path = resourcePath(apiVersion, kind, namespace, name);
    const request = { method: 'PUT' as const, path, query: writeQuery(options), body: object };
    const budget = this.budgetOf(options);
    if (!object.metadata?.resourceVersion) return this.call<T>({ ...request, budget }, 'unsafe');
    return this.writeOnce(object, { ...request, budget }, 'Conflict', options);
  }

  /** A JSON patch (RFC 6902, `test` ops guard it), a JSON merge patch or a strategic merge patch. */
  async patch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    patch: unknown,
    type: PatchType,
    options: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(apiVersion, kind, this.scope(apiVersion, kind, options.namespace), name);
    // A merge patch sets what it names: applied twice, it leaves what once would. JSON and strategic patches
    // may append to lists.
    return this.call<T>(
      {
        method: 'PATCH',
        path,
        query: writeQuery(options),
        body: patch,
        contentType: PATCH_TYPES[type],
        budget: this.budgetOf(options),
      },
      type === 'merge' ? 'safe' : 'unsafe',
    );
  }

  /** Server-side apply: creates or updates the fields our field manager owns; 409 Conflict unless `force`. */
  async apply<T extends KubeObject>(object: T, options: ApplyOptions = {}): Promise<T> {
    const { apiVersion, kind, name } = typeOf(object, true);
    const namespace = this.scope(apiVersion, kind, objectNamespace(object, options));
    const path = resourcePath(apiVersion, kind, namespace, name);
    return this.call<T>({
      method: 'PATCH',
      path,
      query: { ...writeQuery(options), force: options.force ? true : undefined },
      body: object,
      contentType: 'application/apply-patch+yaml',
      budget: this.budgetOf(options),
    });
  }

  /**
   * Deletes one object; undefined when it was already gone (404). Answers the object as the server left it
   * (with a deletionTimestamp while finalizers hold it) or the server's Status.
   */
  async delete(
    apiVersion: string,
    kind: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<KubeObject | undefined> {
    const path = resourcePath(apiVersion, kind, this.scope(apiVersion, kind, options.namespace), name);
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
    };
    return this.orUndefined(() =>
      this.call<KubeObject>({ method: 'DELETE', path, body, budget: this.budgetOf(options) }),
    );
  }

  /** The last lines a pod's container logged: never followed, so it always returns. */
  async podLogs(name: string, options: LogOptions = {}): Promise<string> {
    const path = resourcePath('v1', 'Pod', this.scope('v1', 'Pod', options.namespace), name, 'log');
    const query = {
      container: options.container,
      tailLines: options.tailLines ?? 50,
      limitBytes: options.limitBytes ?? 256 * 1024,
      previous: options.previous ? true : undefined,
    };
    const response = await this.send({
      method: 'GET',
      path,
      query,
      accept: '*/*',
      budget: this.budgetOf(options),
    });
    return response.text;
  }

  /**
   * Watches a collection from `resourceVersion` (e.g. a list's), handing each event to `onEvent` until it returns
   * true or the budget runs out; a stream that ends early or fails transiently is resumed from the last
   * resourceVersion seen. Ends 'expired' (410 Gone) when that version is too old: list again, then watch from the
   * list's. Never throws for the deadline, it says so instead.
   */
  async watch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions & { resourceVersion: string },
    onEvent: (event: WatchEvent<T>) => boolean,
  ): Promise<WatchOutcome> {
    const namespace = options.allNamespaces ? undefined : this.scope(apiVersion, kind, options.namespace);
    const path = resourcePath(apiVersion, kind, namespace);
    return watchUntil(this.transport, path, { ...options, budget: this.budgetOf(options) }, onEvent);
  }

  /**
   * Lists one object, then watches it from the list's resourceVersion until `condition` holds (undefined = the
   * object does not exist). Returns what met it; throws KubeTimeoutError when the budget runs out first.
   */
  async waitFor<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    condition: (object: T | undefined) => boolean,
    options: WaitOptions = {},
  ): Promise<T | undefined> {
    const budget = this.budgetOf(options);
    const scoped = { ...options, budget, fieldSelector: `metadata.name=${name}` };
    const path = resourcePath(apiVersion, kind, this.scope(apiVersion, kind, options.namespace), name);
    const what = `waiting for ${options.what ?? `${kind} ${name}`}`;
    for (;;) {
      if (budget.remainingMs() <= 0) throw new KubeTimeoutError('GET', path, 0, what);
      const listed = await this.list<T>(apiVersion, kind, scoped).catch((error: unknown) => {
        throw error instanceof KubeTimeoutError
          ? new KubeTimeoutError('GET', path, error.budgetMs, what)
          : error;
      });
      let current = listed.items[0];
      if (condition(current)) return current;
      let met = false;
      const outcome = await this.watch<T>(
        apiVersion,
        kind,
        { ...scoped, resourceVersion: listed.resourceVersion },
        (event) => {
          if (event.type === 'BOOKMARK') return false;
          current = event.type === 'DELETED' ? undefined : event.object;
          met = condition(current);
          return met;
        },
      );
      if (met) return current;
      if (outcome.end === 'deadline') throw new KubeTimeoutError('GET', path, 0, what);
      // expired: the version we watched from is gone from the server's window; list again
    }
  }

  /** What a group-version serves (discovery): for a kind the static table does not know. [] when it is not served. */
  async apiResources(apiVersion: string, options: CallOptions = {}): Promise<ApiResource[]> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    type Served = { resources?: Array<Partial<ApiResource>> };
    const served = await this.orUndefined(() =>
      this.call<Served>({ method: 'GET', path, budget: this.budgetOf(options) }),
    );
    return (served?.resources ?? []).flatMap((r) =>
      r.kind && r.name ? [{ kind: r.kind, name: r.name, namespaced: r.namespaced === true }] : [],
    );
  }

  /** Closes idle connections (the process exits without waiting for keep-alive timeouts). */
  close(): void {
    this.transport.close();
  }

  /** One call, retried as its kind allows (see kubeRetry.ts); an error answer becomes a KubeApiError. */
  private async send(
    request: KubeRequest,
    repeatable: Repeatable = 'safe',
    onRetry?: () => void,
  ): Promise<{ status: number; text: string }> {
    const attempt = async (): Promise<{ status: number; text: string }> => {
      const response = await this.transport.send(request);
      if (response.status >= 400) {
        const status = statusFromBody(response.status, response.text, response.retryAfterMs);
        throw new KubeApiError(request.method, request.path, status);
      }
      return response;
    };
    return retryKube(attempt, {
      what: `${request.method} ${request.path}`,
      budget: request.budget,
      repeatable,
      ...(onRetry ? { onRetry } : {}),
    });
  }

  private async call<T>(
    request: KubeRequest,
    repeatable: Repeatable = 'safe',
    onRetry?: () => void,
  ): Promise<T> {
    const response = await this.send(request, repeatable, onRetry);
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      throw new ActionError(`${request.method} ${request.path} did not answer JSON`, {
        cause: error,
        hint: "Check that the kubeconfig's server is a Kubernetes API server",
      });
    }
  }

  /**
   * A create or a guarded update, retried; when a retry is answered `refusal` (409) the first attempt may have
   * landed: the object is read back and taken when it holds what we sent, else the 409 stands.
   */
  private async writeOnce<T extends KubeObject>(
    object: T,
    request: KubeRequest,
    refusal: 'AlreadyExists' | 'Conflict',
    options: ScopeOptions,
  ): Promise<T> {
    let retried = false;
    try {
      return await this.call<T>(request, 'safe', () => (retried = true));
    } catch (error) {
      if (!retried || !isKubeReason(error, refusal)) throw error;
      const { apiVersion, kind, name } = typeOf(object, true);
      const scope = { namespace: objectNamespace(object, options), budget: request.budget };
      const stored = await this.get<T>(apiVersion, kind, name, scope);
      if (stored && holdsWhatWasSent(stored, object)) return stored;
      throw error;
    }
  }

  private async orUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  private scope(apiVersion: string, kind: string, namespace: string | undefined): string | undefined {
    return kindInfo(apiVersion, kind).namespaced ? namespace || this.namespace : undefined;
  }

  private budgetOf(options: CallOptions): Budget {
    return options.budget ?? this.budget;
  }
}

function typeOf(object: KubeObject, needsName = false): { apiVersion: string; kind: string; name: string } {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name ?? '';
  if (!apiVersion || !kind || (needsName && !name)) {
    throw new ActionError(
      `A Kubernetes object needs apiVersion, kind${needsName ? ' and metadata.name' : ''}`,
      {
        hint: 'This is a bug in the action: please report it',
      },
    );
  }
  return { apiVersion, kind, name };
}

function objectNamespace(object: KubeObject, options: ScopeOptions): string | undefined {
  return object.metadata?.namespace || options.namespace;
}

function writeQuery(options: WriteOptions): KubeRequest['query'] {
  return { fieldManager: options.fieldManager ?? FIELD_MANAGER, dryRun: options.dryRun ? 'All' : undefined };
}
