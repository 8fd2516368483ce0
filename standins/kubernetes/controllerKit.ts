import { createHash } from 'node:crypto';
import type { ClusterState } from './clusterState.js';
import { findByResource, nameOf, namespaceOf, rec, type KubeObject, type ResourceType } from './resources.js';

/** Shared by the simulated controllers: the types they touch and idempotent writes. */
export const T = {
  namespace: findByResource('', 'v1', 'namespaces')!,
  node: findByResource('', 'v1', 'nodes')!,
  pod: findByResource('', 'v1', 'pods')!,
  pv: findByResource('', 'v1', 'persistentvolumes')!,
  pvc: findByResource('', 'v1', 'persistentvolumeclaims')!,
  service: findByResource('', 'v1', 'services')!,
  endpoints: findByResource('', 'v1', 'endpoints')!,
  event: findByResource('', 'v1', 'events')!,
  serviceAccount: findByResource('', 'v1', 'serviceaccounts')!,
  configMap: findByResource('', 'v1', 'configmaps')!,
  deployment: findByResource('apps', 'v1', 'deployments')!,
  replicaSet: findByResource('apps', 'v1', 'replicasets')!,
  statefulSet: findByResource('apps', 'v1', 'statefulsets')!,
  daemonSet: findByResource('apps', 'v1', 'daemonsets')!,
  job: findByResource('batch', 'v1', 'jobs')!,
  ingress: findByResource('networking.k8s.io', 'v1', 'ingresses')!,
  storageClass: findByResource('storage.k8s.io', 'v1', 'storageclasses')!,
};

export type { Controller } from './clusterState.js';

/** Writes only when something changed; tells whether it did, so the reconcile loop settles. */
export function save(cluster: ClusterState, t: ResourceType, obj: KubeObject): boolean {
  const before = cluster.store.get(t, namespaceOf(obj), nameOf(obj));
  const after = cluster.store.write(t, obj);
  return before === undefined || rec(before.metadata).resourceVersion !== rec(after.metadata).resourceVersion;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function uidOf(obj: KubeObject): string {
  return String(rec(obj.metadata).uid ?? '');
}

export function ownerRef(owner: KubeObject, controller = true): Record<string, unknown> {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: nameOf(owner),
    uid: uidOf(owner),
    controller,
    blockOwnerDeletion: true,
  };
}

export function ownedBy(obj: KubeObject, owner: KubeObject): boolean {
  const refs = rec(obj.metadata).ownerReferences;
  return Array.isArray(refs) && refs.some((r) => rec(r).uid === uidOf(owner));
}

export function shortHash(value: unknown, length = 10): string {
  const digest = createHash('sha256').update(JSON.stringify(value)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...digest.subarray(0, length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Keeps condition timestamps when nothing about a condition changed, so reconciling is idempotent. */
export function conditions(
  existing: unknown,
  wanted: Array<{ type: string; status: string; reason: string; message: string }>,
): Array<Record<string, unknown>> {
  const old = Array.isArray(existing) ? existing.map(rec) : [];
  return wanted.map((w) => {
    const prior = old.find((o) => o.type === w.type);
    const same = prior && prior.status === w.status && prior.reason === w.reason;
    const stamp = same ? (prior.lastTransitionTime ?? now()) : now();
    return {
      ...w,
      lastUpdateTime: same ? (prior.lastUpdateTime ?? stamp) : stamp,
      lastTransitionTime: stamp,
    };
  });
}

export function recordEvent(
  cluster: ClusterState,
  about: KubeObject,
  type: string,
  reason: string,
  message: string,
  component = 'persistentvolume-controller',
): boolean {
  const ns = namespaceOf(about) ?? 'default';
  const name = `${nameOf(about)}.${reason.toLowerCase()}`;
  const existing = cluster.store.get(T.event, ns, name);
  if (existing && existing.message === message) return false;
  const stamp = now();
  return save(cluster, T.event, {
    metadata: { name, namespace: ns },
    involvedObject: {
      kind: about.kind,
      apiVersion: about.apiVersion,
      namespace: namespaceOf(about),
      name: nameOf(about),
      uid: uidOf(about),
    },
    type,
    reason,
    message,
    source: { component },
    firstTimestamp: existing?.firstTimestamp ?? stamp,
    lastTimestamp: stamp,
    count: Number(existing?.count ?? 0) + 1,
  });
}

export function podReady(pod: KubeObject): boolean {
  const conds = rec(pod.status).conditions;
  return Array.isArray(conds) && conds.some((c) => rec(c).type === 'Ready' && rec(c).status === 'True');
}

/** The labels of a pod template. */
export function podTemplateLabels(template: Record<string, unknown>): Record<string, string> {
  return rec(rec(template.metadata).labels) as Record<string, string>;
}
