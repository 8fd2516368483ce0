import { T, save, uidOf, type Controller } from './controllerKit.js';
import { findByKind, nameOf, namespaceOf, rec } from './resources.js';

/** Deletes objects whose owners are all gone, whose namespace is gone, or whose finalizers have all been removed. */
export const garbageCollector: Controller = (cluster) => {
  let changed = false;
  const everything = cluster.store.all();
  const uids = new Set(everything.map(({ object }) => uidOf(object)));
  const namespaces = new Set(cluster.store.list(T.namespace).map(nameOf));
  for (const { object } of everything) {
    const t = findByKind(String(object.apiVersion), String(object.kind));
    if (!t) continue;
    const meta = rec(object.metadata);
    const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.map(rec) : [];
    const orphaned = refs.length > 0 && refs.every((r) => !uids.has(String(r.uid)));
    const homeless = t.namespaced && !namespaces.has(namespaceOf(object) ?? '');
    const finalized =
      meta.deletionTimestamp !== undefined && !(Array.isArray(meta.finalizers) && meta.finalizers.length);
    if (orphaned || homeless || finalized) {
      cluster.store.remove(t, namespaceOf(object), nameOf(object));
      changed = true;
    }
  }
  return changed;
};

/** Every namespace gets the `default` ServiceAccount and the root CA ConfigMap, as in a real cluster. */
export const namespaceController: Controller = (cluster) => {
  let changed = false;
  for (const ns of cluster.store.list(T.namespace)) {
    const name = nameOf(ns);
    if (!cluster.store.get(T.serviceAccount, name, 'default')) {
      changed =
        save(cluster, T.serviceAccount, { metadata: { name: 'default', namespace: name } }) || changed;
    }
    if (!cluster.store.get(T.configMap, name, 'kube-root-ca.crt')) {
      const ca = '-----BEGIN CERTIFICATE-----\nc3RhbmQtaW4=\n-----END CERTIFICATE-----\n';
      changed =
        save(cluster, T.configMap, {
          metadata: { name: 'kube-root-ca.crt', namespace: name },
          data: { 'ca.crt': ca },
        }) || changed;
    }
  }
  return changed;
};
