import type { ClusterState } from './clusterState.js';
import { T, conditions, ownedBy, save } from './controllerKit.js';
import { nameOf, namespaceOf, rec, type KubeObject } from './resources.js';

/** Whether the option `deploymentsWithoutPods` names the Deployment that owns this ReplicaSet. */
export function starved(cluster: ClusterState, rs: KubeObject): boolean {
  const wanted = cluster.options.deploymentsWithoutPods;
  if (wanted.length === 0) return false;
  const ns = namespaceOf(rs) ?? '';
  const owner = cluster.store.list(T.deployment, ns).find((d) => ownedBy(rs, d));
  return owner !== undefined && (wanted.includes(nameOf(owner)) || wanted.includes(`${ns}/${nameOf(owner)}`));
}

/**
 * A ReplicaSet whose pods are refused (as a quota or an admission webhook refuses them): it keeps
 * spec.replicas, creates no pod, and reports ReplicaFailure, which its Deployment then reports too.
 */
export function starveReplicaSet(cluster: ClusterState, rs: KubeObject): boolean {
  let changed = false;
  const ns = namespaceOf(rs) ?? '';
  for (const pod of cluster.store.list(T.pod, ns).filter((p) => ownedBy(p, rs))) {
    cluster.store.remove(T.pod, ns, nameOf(pod));
    changed = true;
  }
  rs.status = {
    replicas: 0,
    observedGeneration: rec(rs.metadata).generation,
    conditions: conditions(rec(rs.status).conditions, [replicaFailure(rs)]).map(
      ({ lastUpdateTime: _drop, ...c }) => c,
    ),
  };
  return save(cluster, T.replicaSet, rs) || changed;
}

function replicaFailure(rs: KubeObject): { type: string; status: string; reason: string; message: string } {
  return {
    type: 'ReplicaFailure',
    status: 'True',
    reason: 'FailedCreate',
    message: `pods "${nameOf(rs)}-" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=0, limited: pods=0`,
  };
}

/** The ReplicaFailure condition of a Deployment's current ReplicaSet, to copy onto the Deployment. */
export function replicaFailureOf(rs: KubeObject | undefined): Record<string, unknown> | undefined {
  const conds = rec(rs?.status).conditions;
  return Array.isArray(conds) ? conds.map(rec).find((c) => c.type === 'ReplicaFailure') : undefined;
}
