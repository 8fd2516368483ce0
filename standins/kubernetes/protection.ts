import { T, save, type Controller } from './controllerKit.js';
import { nameOf, namespaceOf, rec, type KubeObject } from './resources.js';

// The storage object in use protection of a real cluster (opt-in here: `storageProtection`): every volume gets the
// `kubernetes.io/pv-protection` finalizer and every claim `kubernetes.io/pvc-protection`, so deleting a volume that
// is still Bound, or a claim a pod still mounts, only marks it Terminating until that is no longer so.

const PV_PROTECTION = 'kubernetes.io/pv-protection';
const PVC_PROTECTION = 'kubernetes.io/pvc-protection';

function finalizersOf(obj: KubeObject): string[] {
  const list = rec(obj.metadata).finalizers;
  return Array.isArray(list) ? list.map(String) : [];
}

/** Adds the finalizer to a live object, or removes it from one being deleted once `inUse` no longer holds. */
function protect(obj: KubeObject, finalizer: string, inUse: boolean): boolean {
  const meta = rec(obj.metadata);
  const finalizers = finalizersOf(obj);
  const deleting = meta.deletionTimestamp !== undefined;
  if (!deleting && !finalizers.includes(finalizer)) meta.finalizers = [...finalizers, finalizer];
  else if (deleting && !inUse && finalizers.includes(finalizer))
    meta.finalizers = finalizers.filter((f) => f !== finalizer);
  else return false;
  obj.metadata = meta;
  return true;
}

/** Whether a pod that has not finished mounts the claim. */
function mounted(claim: KubeObject, pods: KubeObject[]): boolean {
  return pods.some((pod) => {
    if (namespaceOf(pod) !== namespaceOf(claim)) return false;
    if (['Succeeded', 'Failed'].includes(String(rec(pod.status).phase))) return false;
    const volumes = rec(pod.spec).volumes;
    return (
      Array.isArray(volumes) &&
      volumes.some((v) => rec(rec(v).persistentVolumeClaim).claimName === nameOf(claim))
    );
  });
}

export const storageProtection: Controller = (cluster) => {
  if (!cluster.options.storageProtection) return false;
  let changed = false;
  for (const pv of cluster.store.list(T.pv)) {
    if (protect(pv, PV_PROTECTION, rec(pv.status).phase === 'Bound'))
      changed = save(cluster, T.pv, pv) || changed;
  }
  const pods = cluster.store.list(T.pod);
  for (const claim of cluster.store.list(T.pvc)) {
    if (protect(claim, PVC_PROTECTION, mounted(claim, pods)))
      changed = save(cluster, T.pvc, claim) || changed;
  }
  return changed;
};
