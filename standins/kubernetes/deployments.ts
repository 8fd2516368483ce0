import type { ClusterState } from './clusterState.js';
import {
  T,
  conditions,
  ownedBy,
  ownerRef,
  podReady,
  podTemplateLabels,
  save,
  shortHash,
  type Controller,
} from './controllerKit.js';
import { replicaFailureOf, starveReplicaSet, starved } from './podless.js';
import { clone, nameOf, namespaceOf, rec, type KubeObject } from './resources.js';

/** A Deployment owns one ReplicaSet per pod template (named by its hash); old ones scale to zero. */
export const deploymentController: Controller = (cluster) => {
  let changed = false;
  for (const d of cluster.store.list(T.deployment)) {
    const hash = shortHash(rec(rec(d.spec).template));
    const rsName = `${nameOf(d)}-${hash}`;
    changed = rollOut(cluster, d, hash) || changed;
    d.status = deploymentStatus(cluster, d, rsName);
    changed = save(cluster, T.deployment, d) || changed;
  }
  return changed;
};

/** Makes (or scales) the ReplicaSet of the current template, and scales every older one to zero. */
function rollOut(cluster: ClusterState, d: KubeObject, hash: string): boolean {
  let changed = false;
  const rsName = `${nameOf(d)}-${hash}`;
  const ns = namespaceOf(d)!;
  const spec = rec(d.spec);
  const replicas = Number(spec.replicas ?? 1);
  const owned = cluster.store.list(T.replicaSet, ns).filter((rs) => ownedBy(rs, d));
  const current = owned.find((rs) => nameOf(rs) === rsName);
  if (!current) {
    changed = save(cluster, T.replicaSet, newReplicaSet(d, hash, owned)) || changed;
  } else if (rec(current.spec).replicas !== replicas) {
    rec(current.spec).replicas = replicas;
    changed = save(cluster, T.replicaSet, current) || changed;
  }
  for (const rs of owned) {
    if (nameOf(rs) === rsName || rec(rs.spec).replicas === 0) continue;
    rec(rs.spec).replicas = 0;
    changed = save(cluster, T.replicaSet, rs) || changed;
  }
  return changed;
}

function newReplicaSet(d: KubeObject, hash: string, owned: KubeObject[]): KubeObject {
  const spec = rec(d.spec);
  const template = rec(spec.template);
  const revisions = owned.map((rs) =>
    Number(rec(rec(rs.metadata).annotations)['deployment.kubernetes.io/revision'] ?? 0),
  );
  const labels = { ...podTemplateLabels(template), 'pod-template-hash': hash };
  return {
    metadata: {
      name: `${nameOf(d)}-${hash}`,
      namespace: namespaceOf(d),
      labels,
      annotations: { 'deployment.kubernetes.io/revision': String(Math.max(0, ...revisions) + 1) },
      ownerReferences: [ownerRef(d)],
    },
    spec: {
      replicas: Number(spec.replicas ?? 1),
      selector: { matchLabels: { ...rec(rec(spec.selector).matchLabels), 'pod-template-hash': hash } },
      template: { ...clone(template), metadata: { ...rec(template.metadata), labels } },
    },
  };
}

/** Counts and conditions as the Deployment controller reports them, from its ReplicaSets. */
function deploymentStatus(cluster: ClusterState, d: KubeObject, rsName: string): Record<string, unknown> {
  const ns = namespaceOf(d)!;
  const replicas = Number(rec(d.spec).replicas ?? 1);
  const fresh = cluster.store.get(T.replicaSet, ns, rsName);
  const rsStatus = rec(fresh?.status);
  const ready = Number(rsStatus.readyReplicas ?? 0);
  const total = cluster.store
    .list(T.replicaSet, ns)
    .filter((rs) => ownedBy(rs, d))
    .reduce((n, rs) => n + Number(rec(rs.status).replicas ?? 0), 0);
  const status: Record<string, unknown> = {
    observedGeneration: rec(d.metadata).generation,
    replicas: total,
    updatedReplicas: Number(rsStatus.replicas ?? 0),
    readyReplicas: ready,
    availableReplicas: ready,
    conditions: conditions(rec(d.status).conditions, availability(ready >= replicas, rsName)),
  };
  const failure = replicaFailureOf(fresh);
  if (failure)
    (status.conditions as unknown[]).push({ ...failure, lastUpdateTime: failure.lastTransitionTime });
  if (replicas - ready > 0) status.unavailableReplicas = replicas - ready;
  if (ready === 0) {
    delete status.readyReplicas;
    delete status.availableReplicas;
  }
  return status;
}

function availability(
  available: boolean,
  rsName: string,
): Array<{ type: string; status: string; reason: string; message: string }> {
  return available
    ? [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${rsName}" has successfully progressed.`,
        },
      ]
    : [
        {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          message: `ReplicaSet "${rsName}" is progressing.`,
        },
      ];
}

/** A ReplicaSet keeps spec.replicas pods from its template, named <rs>-<hash of index>. */
export const replicaSetController: Controller = (cluster) => {
  let changed = false;
  for (const rs of cluster.store.list(T.replicaSet)) {
    if (starved(cluster, rs)) {
      changed = starveReplicaSet(cluster, rs) || changed;
      continue;
    }
    changed = keepPods(cluster, rs) || changed;
    const current = cluster.store.list(T.pod, namespaceOf(rs)!).filter((p) => ownedBy(p, rs));
    const ready = current.filter(podReady).length;
    const status: Record<string, unknown> = {
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rec(rs.metadata).generation,
    };
    if (ready === 0) {
      delete status.readyReplicas;
      delete status.availableReplicas;
    }
    rs.status = status;
    changed = save(cluster, T.replicaSet, rs) || changed;
  }
  return changed;
};

/** Deletes the pods the ReplicaSet no longer wants and makes the missing ones. */
function keepPods(cluster: ClusterState, rs: KubeObject): boolean {
  let changed = false;
  const ns = namespaceOf(rs)!;
  const spec = rec(rs.spec);
  const replicas = Number(spec.replicas ?? 1);
  const template = rec(spec.template);
  const wanted = new Set(
    Array.from({ length: replicas }, (_, i) => `${nameOf(rs)}-${shortHash([nameOf(rs), i], 5)}`),
  );
  for (const pod of cluster.store.list(T.pod, ns).filter((p) => ownedBy(p, rs))) {
    if (!wanted.has(nameOf(pod))) {
      cluster.store.remove(T.pod, ns, nameOf(pod));
      changed = true;
    }
  }
  for (const name of wanted) {
    if (cluster.store.get(T.pod, ns, name)) continue;
    const pod: KubeObject = {
      metadata: {
        name,
        namespace: ns,
        generateName: `${nameOf(rs)}-`,
        labels: podTemplateLabels(template),
        annotations: rec(rec(template.metadata).annotations),
        ownerReferences: [ownerRef(rs)],
      },
      spec: { ...clone(rec(template.spec)), nodeName: 'standin-node-1' },
      status: { phase: 'Pending' },
    };
    changed = save(cluster, T.pod, pod) || changed;
  }
  return changed;
}
