import { createHash } from 'node:crypto';
import { T, conditions, now, podReady, save, shortHash, type Controller } from './controllerKit.js';
import { nameOf, rec, str, type KubeObject } from './resources.js';

/** Pods run at once (or stay Pending when the stand-in is told deployments never become available). */
export const podController: Controller = (cluster) => {
  let changed = false;
  const run = cluster.options.deploymentAvailable;
  for (const pod of cluster.store.list(T.pod)) {
    const status = rec(pod.status);
    if (status.phase === (run ? 'Running' : 'Pending') && (run ? podReady(pod) : !podReady(pod))) continue;
    if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    pod.status = podStatus(pod, run, cluster.options.nodeAddress);
    changed = save(cluster, T.pod, pod) || changed;
  }
  return changed;
};

function podStatus(pod: KubeObject, run: boolean, hostIP: string): Record<string, unknown> {
  const status = rec(pod.status);
  const containers = Array.isArray(rec(pod.spec).containers)
    ? (rec(pod.spec).containers as unknown[]).map(rec)
    : [];
  const startTime = str(status.startTime) ?? now();
  const podIP = `10.244.0.${(Math.abs(hashNumber(nameOf(pod))) % 250) + 2}`;
  const notReady = run ? '' : 'ContainersNotReady';
  return {
    phase: run ? 'Running' : 'Pending',
    conditions: conditions(status.conditions, [
      { type: 'PodScheduled', status: 'True', reason: '', message: '' },
      { type: 'Initialized', status: 'True', reason: '', message: '' },
      { type: 'ContainersReady', status: run ? 'True' : 'False', reason: notReady, message: '' },
      { type: 'Ready', status: run ? 'True' : 'False', reason: notReady, message: '' },
    ]).map(({ lastUpdateTime: _drop, ...c }) => c),
    hostIP,
    podIP,
    podIPs: [{ ip: podIP }],
    startTime,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `docker.io/${String(c.image)}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`,
      ready: run,
      started: run,
      restartCount: 0,
      state: run ? { running: { startedAt: startTime } } : { waiting: { reason: 'ContainerCreating' } },
    })),
  };
}

function hashNumber(text: string): number {
  return createHash('sha256').update(text).digest().readInt32LE(0);
}

/** StatefulSets and DaemonSets report done, so helm --wait has nothing to wait for. */
export const workloadStatusController: Controller = (cluster) => {
  let changed = false;
  for (const sts of cluster.store.list(T.statefulSet)) {
    const replicas = Number(rec(sts.spec).replicas ?? 1);
    const revision = `${nameOf(sts)}-${shortHash(rec(sts.spec).template)}`;
    sts.status = {
      observedGeneration: rec(sts.metadata).generation,
      replicas,
      readyReplicas: replicas,
      currentReplicas: replicas,
      updatedReplicas: replicas,
      availableReplicas: replicas,
      currentRevision: revision,
      updateRevision: revision,
    };
    changed = save(cluster, T.statefulSet, sts) || changed;
  }
  for (const ds of cluster.store.list(T.daemonSet)) {
    const n = cluster.store.list(T.node).length;
    ds.status = {
      observedGeneration: rec(ds.metadata).generation,
      currentNumberScheduled: n,
      desiredNumberScheduled: n,
      numberReady: n,
      numberAvailable: n,
      updatedNumberScheduled: n,
      numberMisscheduled: 0,
    };
    changed = save(cluster, T.daemonSet, ds) || changed;
  }
  return changed;
};
