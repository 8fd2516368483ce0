import { randomBytes } from 'node:crypto';
import { admit } from './admission.js';
import type { ClusterState, Controller } from './clusterState.js';
import { LoadBalancers } from './loadBalancers.js';
import type { ResolvedOptions } from './options.js';
import { applyJsonPatch, applyMergePatch, serverSideApply, strategicMerge } from './patch.js';
import {
  clone,
  findByKind,
  findByResource,
  isRecord,
  metadataOf,
  nameOf,
  namespaceOf,
  rec,
  resourceTypes,
  str,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { fieldSelector, labelSelector } from './selectors.js';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './status.js';
import { ObjectStore } from './store.js';
import { decodeLease } from './leases.js';
import { deletedStatus, storageKey, strategyOf } from './strategies.js';
import { validate } from './validation.js';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  force?: boolean;
}

const namespaceType = findByResource('', 'v1', 'namespaces')!;
const serviceType = findByResource('', 'v1', 'services')!;

/** The API semantics on top of the store: admission, validation, preconditions, then the controllers. */
export class Cluster implements ClusterState {
  readonly store = new ObjectStore();
  /** Server-side apply: the configuration each field manager last applied, per object uid. */
  readonly appliedBy = new Map<string, Map<string, KubeObject>>();
  /** Reads of each LoadBalancer Service (by uid), for `loadBalancerDelayPolls`. */
  readonly loadBalancerPolls = new Map<string, number>();
  readonly loadBalancers = new LoadBalancers(() => this.options.loadBalancerAddresses);
  /** When each LoadBalancer Service (by uid) was first written as one (ms), for `loadBalancerDelayMs`. */
  readonly loadBalancerWrites = new Map<string, number>();
  /** Told when the controllers acted on their own time (a delay or a requeue), not within a request. */
  onControllersActed: () => void = () => undefined;
  /** Due times (ms) of the controller runs scheduled, and their timers (cleared by stop()). */
  private readonly scheduled = new Map<number, NodeJS.Timeout>();
  private nextClusterIp = 10;
  private stopped = false;

  /** `controllers` run, in order, until none changes anything, after every write. */
  constructor(
    public options: ResolvedOptions,
    private readonly controllers: readonly Controller[],
  ) {}

  target(t: ResourceType, name: string): { group: string; resource: string; name: string } {
    return { group: t.group, resource: t.resource, name };
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(t, namespace, name);
    if (!found) throw notFound(this.target(t, name));
    if (t.kind === 'Service' && rec(found.spec).type === 'LoadBalancer') {
      const uid = String(metadataOf(found).uid);
      this.loadBalancerPolls.set(uid, (this.loadBalancerPolls.get(uid) ?? 0) + 1);
      this.reconcile();
      return this.store.get(t, namespace, name) ?? found;
    }
    return found;
  }

  list(
    t: ResourceType,
    namespace: string | undefined,
    labels: string | null,
    fields: string | null,
  ): KubeObject[] {
    const byLabel = labelSelector(labels);
    const byField = fieldSelector(fields);
    return this.store.list(t, namespace).filter((o) => byLabel(o) && byField(o));
  }

  create(
    t: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    opts: WriteOptions = {},
  ): KubeObject {
    if (t.review) return answerReview(body);
    const obj = this.checkBody(t, namespace, body);
    const meta = metadataOf(obj);
    if (!str(meta.name) && str(meta.generateName))
      meta.name = `${String(meta.generateName)}${randomSuffix()}`;
    if (t.namespaced && namespace && !this.store.get(namespaceType, undefined, namespace)) {
      throw notFound(this.target(namespaceType, namespace));
    }
    if (this.store.get(t, namespace, nameOf(obj))) throw alreadyExists(this.target(t, nameOf(obj)));
    if (t.subresources?.includes('status')) delete obj.status;
    for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation']) {
      Reflect.deleteProperty(meta, field);
    }
    admit(this, t, obj, undefined);
    validate(t, obj, undefined);
    if (opts.dryRun) return obj;
    const stored = this.store.write(t, obj);
    this.reconcile();
    return stored;
  }

  update(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    subresource: string | undefined,
    opts: WriteOptions = {},
  ): KubeObject {
    const existing = this.store.get(t, namespace, name);
    const strategy = strategyOf(t);
    if (!existing && !(strategy.createOnUpdate && subresource === undefined))
      throw notFound(this.target(t, name));
    const obj = this.checkBody(t, namespace, body);
    if (nameOf(obj) !== name)
      throw badRequest(
        `the name of the object (${nameOf(obj)}) does not match the name on the URL (${name})`,
      );
    if (!existing) return this.create(t, namespace, obj, opts);
    const sent = str(metadataOf(obj).resourceVersion);
    if (!sent && !strategy.unconditionalUpdate) {
      // The registry names the resource, not the kind, in this one error.
      throw invalid(t.resource, t.group, name, [
        { field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    if (sent && sent !== metadataOf(existing).resourceVersion) {
      throw conflict(
        this.target(t, name),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    return this.replace(t, existing, obj, subresource, opts);
  }

  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: string,
    patch: unknown,
    subresource: string | undefined,
    opts: WriteOptions = {},
  ): KubeObject {
    const existing = this.store.get(t, namespace, name);
    if (patchType === 'application/apply-patch+yaml')
      return this.apply(t, namespace, name, existing, patch, opts);
    if (!existing) throw notFound(this.target(t, name));
    let result: KubeObject;
    if (patchType === 'application/json-patch+json') result = applyJsonPatch(existing, patch);
    else if (patchType === 'application/merge-patch+json') result = rec(applyMergePatch(existing, patch));
    else if (patchType === 'application/strategic-merge-patch+json')
      result = rec(strategicMerge(existing, patch));
    else
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
    if (t.kind === 'Lease') decodeLease(result);
    const sent = str(rec(result.metadata).resourceVersion);
    if (sent && sent !== metadataOf(existing).resourceVersion) {
      throw conflict(
        this.target(t, name),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (nameOf(result) !== name) throw badRequest('the name of the object may not be changed by a patch');
    return this.replace(t, existing, result, subresource, opts);
  }

  private apply(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    existing: KubeObject | undefined,
    patch: unknown,
    opts: WriteOptions,
  ): KubeObject {
    const manager = opts.fieldManager;
    if (!manager) {
      throw new ApiError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    if (!isRecord(patch)) throw badRequest('apply patch must be an object');
    const config = this.checkBody(t, namespace, patch);
    if (nameOf(config) !== name)
      throw badRequest(
        `the name of the object (${nameOf(config)}) does not match the name on the URL (${name})`,
      );
    const uid = existing ? String(metadataOf(existing).uid) : '';
    const managers = new Map(this.appliedBy.get(uid) ?? []);
    const { object, conflicts } = serverSideApply(existing, config, manager, managers, opts.force === true);
    if (conflicts.length) {
      const lines = conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`);
      throw new ApiError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${lines.join('\n')}`,
        {
          causes: conflicts.map((c) => ({
            reason: 'FieldManagerConflict',
            message: `conflict with "${c.manager}"`,
            field: c.field,
          })),
        },
      );
    }
    managers.set(manager, clone(config));
    const stored = existing
      ? this.replace(t, existing, object, undefined, opts)
      : this.create(t, namespace, object, opts);
    if (!opts.dryRun) this.appliedBy.set(String(metadataOf(stored).uid), managers);
    return stored;
  }

  /** Writes a new version of an existing object (PUT and the non-apply patches share this). */
  private replace(
    t: ResourceType,
    existing: KubeObject,
    input: KubeObject,
    subresource: string | undefined,
    opts: WriteOptions,
  ): KubeObject {
    let obj: KubeObject;
    if (subresource === 'status') {
      obj = clone(existing);
      obj.status = input.status;
    } else {
      obj = clone(input);
      // With a status subresource, writes to the main resource cannot change status.
      if (t.subresources?.includes('status')) {
        if (existing.status === undefined) delete obj.status;
        else obj.status = existing.status;
      }
      const meta = metadataOf(obj);
      const before = metadataOf(existing);
      for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp']) meta[field] = before[field];
      if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
      admit(this, t, obj, existing);
      validate(t, obj, existing);
    }
    if (opts.dryRun) return obj;
    const meta = metadataOf(obj);
    const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    if (meta.deletionTimestamp && finalizers.length === 0) {
      const gone = this.store.remove(t, namespaceOf(obj), nameOf(obj)) ?? obj;
      this.reconcile();
      return gone;
    }
    const stored = this.store.write(t, obj);
    this.reconcile();
    return stored;
  }

  delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    options: Record<string, unknown>,
    opts: WriteOptions = {},
  ): KubeObject {
    const existing = this.store.get(t, namespace, name);
    if (!existing) throw notFound(this.target(t, name));
    const meta = metadataOf(existing);
    const failed = preconditionFailure(rec(options.preconditions), meta);
    if (failed) {
      // storage.Preconditions.Check fails with an InvalidObjError, which the registry turns into a Conflict.
      throw conflict(
        this.target(t, name),
        `StorageError: invalid object, Code: 4, Key: ${storageKey(t, namespace, name)}, ResourceVersion: 0, AdditionalErrorMsg: ${failed}`,
      );
    }
    if (opts.dryRun) return existing;
    if (options.propagationPolicy === 'Orphan' || options.orphanDependents === true)
      this.orphanDependents(String(meta.uid));
    const finalizers = Array.isArray(meta.finalizers)
      ? meta.finalizers.filter((f) => f !== 'kubernetes')
      : [];
    if (finalizers.length > 0) {
      meta.deletionTimestamp = meta.deletionTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const stored = this.store.write(t, existing);
      this.reconcile();
      return stored;
    }
    if (t.kind === 'Namespace') this.deleteNamespaceContents(name);
    const gone = this.store.remove(t, namespace, name) ?? existing;
    this.appliedBy.delete(String(meta.uid));
    this.reconcile();
    return strategyOf(t).returnDeletedObject ? gone : deletedStatus(t, gone);
  }

  private deleteNamespaceContents(namespace: string): void {
    for (const t of resourceTypes) {
      if (!t.namespaced || t.review) continue;
      for (const obj of this.store.list(t, namespace)) this.store.remove(t, namespace, nameOf(obj));
    }
  }

  private orphanDependents(uid: string): void {
    for (const { object } of this.store.all()) {
      const refs = rec(object.metadata).ownerReferences;
      if (!Array.isArray(refs) || !refs.some((r) => rec(r).uid === uid)) continue;
      const t = findByKind(String(object.apiVersion), String(object.kind));
      if (!t) continue;
      const meta = metadataOf(object);
      meta.ownerReferences = refs.filter((r) => rec(r).uid !== uid);
      if ((meta.ownerReferences as unknown[]).length === 0) delete meta.ownerReferences;
      this.store.write(t, object);
    }
  }

  /** Test setup: create or replace directly, creating the namespace if needed. */
  put(input: KubeObject): KubeObject {
    const t = findByKind(String(input.apiVersion ?? ''), String(input.kind ?? ''));
    if (!t) throw new Error(`the stand-in does not serve ${String(input.apiVersion)} ${String(input.kind)}`);
    const obj = clone(input);
    const namespace = t.namespaced ? (namespaceOf(obj) ?? 'default') : undefined;
    if (namespace) {
      metadataOf(obj).namespace = namespace;
      if (!this.store.get(namespaceType, undefined, namespace)) {
        this.create(namespaceType, undefined, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
        });
      }
    }
    const existing = this.store.get(t, namespace, nameOf(obj));
    admit(this, t, obj, existing);
    const stored = this.store.write(t, obj);
    this.reconcile();
    return this.store.get(t, namespace, nameOf(stored)) ?? stored;
  }

  /**
   * Right after each write: the controllers run at once, before the write is answered (deterministic, synchronous),
   * or `controllerDelayMs` later, and then what they write reaches watchers as it happens, as on a real cluster.
   * A load balancer's clock starts here, at the write, whatever the controllers' delay.
   */
  reconcile(): void {
    this.noteLoadBalancerWrites();
    const delay = this.options.controllerDelayMs;
    if (delay <= 0) return this.settle();
    this.requeueAfter(delay);
  }

  /** The controllers run again `ms` from now (a controller waiting on the cloud asks this, as with RequeueAfter). */
  requeueAfter(ms: number): void {
    const due = Date.now() + Math.max(0, Math.ceil(ms));
    if (this.scheduled.has(due)) return;
    const timer = setTimeout(() => {
      this.scheduled.delete(due);
      this.settle();
      this.onControllersActed();
    }, due - Date.now());
    timer.unref();
    this.scheduled.set(due, timer);
  }

  /** No controller runs from now on (the cluster is closed or lost). */
  stop(): void {
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
    this.stopped = true;
  }

  /** Every controller until nothing changes. */
  private settle(): void {
    if (this.stopped) return;
    for (let round = 0; round < 25; round++) {
      let changed = false;
      for (const controller of this.controllers) changed = controller(this) || changed;
      if (!changed) return;
    }
    console.error('kubernetes stand-in: controllers did not settle after 25 rounds');
  }

  private noteLoadBalancerWrites(): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const svc of this.store.list(serviceType)) {
      if (rec(svc.spec).type !== 'LoadBalancer') continue;
      const uid = String(metadataOf(svc).uid);
      live.add(uid);
      if (!this.loadBalancerWrites.has(uid)) this.loadBalancerWrites.set(uid, now);
    }
    for (const uid of [...this.loadBalancerWrites.keys()])
      if (!live.has(uid)) this.loadBalancerWrites.delete(uid);
  }

  allocateClusterIp(): string {
    const n = this.nextClusterIp++;
    return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }

  private checkBody(t: ResourceType, namespace: string | undefined, body: KubeObject): KubeObject {
    const obj = clone(body);
    if (t.kind === 'Lease') decodeLease(obj);
    const kind = str(obj.kind);
    if (kind && kind !== t.kind) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${t.group ? `${t.group}/` : ''}${t.version}) or kind ${kind} is not ${t.kind}`,
      );
    }
    const meta = metadataOf(obj);
    if (t.namespaced) {
      const own = str(meta.namespace);
      if (own && namespace && own !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = own || namespace;
    } else delete meta.namespace;
    if (!str(meta.name) && !str(meta.generateName)) {
      throw invalid(t.kind, t.group, '', [
        { field: 'metadata.name', message: 'Required value: name or generateName is required' },
      ]);
    }
    return obj;
  }
}

/** storage.Preconditions.Check: the uid first, then the resourceVersion. */
function preconditionFailure(
  preconditions: Record<string, unknown>,
  meta: Record<string, unknown>,
): string | undefined {
  const { uid, resourceVersion } = preconditions;
  if (typeof uid === 'string' && uid !== meta.uid)
    return `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(meta.uid ?? '')}`;
  if (typeof resourceVersion === 'string' && resourceVersion !== meta.resourceVersion)
    return `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion ?? '')}`;
  return undefined;
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Access reviews: this stand-in allows everything, as a cluster-admin kubeconfig would. */
function answerReview(body: KubeObject): KubeObject {
  const out = clone(body);
  if (out.kind === 'SelfSubjectRulesReview') {
    out.status = {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [],
      incomplete: false,
    };
  } else if (out.kind === 'SelfSubjectReview') {
    out.status = {
      userInfo: { username: 'standin-admin', groups: ['system:masters', 'system:authenticated'] },
    };
  } else out.status = { allowed: true, reason: 'the stand-in allows every request' };
  return out;
}
