import { createHash } from 'node:crypto';
import { T, conditions, now, podReady, save, shortHash, type Controller } from './controllerKit.js';
import { nameOf, rec, str, type KubeObject } from './resources.js';

/**
 * Pods run at once (or stay Pending when the stand-in is told deployments never become available); a pod with a
 * container of a crashing image (`crashingImages`) runs but is never Ready: that container is in CrashLoopBackOff.
 */
export const podController: Controller = (cluster) => {
  let changed = false;
  const run = cluster.options.deploymentAvailable;
  for (const pod of cluster.store.list(T.pod)) {
    const status = rec(pod.status);
    const ready = run && crashing(pod, cluster.options.crashingImages).length === 0;
    if (status.phase === (run ? 'Running' : 'Pending') && podReady(pod) === ready) continue;
    if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    pod.status = podStatus(pod, run, cluster.options);
    changed = save(cluster, T.pod, pod) || changed;
  }
  return changed;
};

function containersOf(pod: KubeObject): Record<string, unknown>[] {
  return Array.isArray(rec(pod.spec).containers) ? (rec(pod.spec).containers as unknown[]).map(rec) : [];
}

/** The names of the pod's containers whose image exits as soon as it starts. */
function crashing(pod: KubeObject, images: readonly string[]): string[] {
  return containersOf(pod)
    .filter((c) => images.includes(String(c.image)))
    .map((c) => String(c.name));
}

function podStatus(
  pod: KubeObject,
  run: boolean,
  options: { nodeAddress: string; crashingImages: readonly string[] },
): Record<string, unknown> {
  const status = rec(pod.status);
  const containers = containersOf(pod);
  const startTime = str(status.startTime) ?? now();
  const podIP = `10.244.0.${(Math.abs(hashNumber(nameOf(pod))) % 250) + 2}`;
  const crashed = run ? crashing(pod, options.crashingImages) : [];
  const hostIP = options.nodeAddress;
  const ready = run && crashed.length === 0;
  const notReady = ready ? '' : 'ContainersNotReady';
  return {
    phase: run ? 'Running' : 'Pending',
    conditions: conditions(status.conditions, [
      { type: 'PodScheduled', status: 'True', reason: '', message: '' },
      { type: 'Initialized', status: 'True', reason: '', message: '' },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', reason: notReady, message: '' },
      { type: 'Ready', status: ready ? 'True' : 'False', reason: notReady, message: '' },
    ]).map(({ lastUpdateTime: _drop, ...c }) => c),
    hostIP,
    podIP,
    podIPs: [{ ip: podIP }],
    startTime,
    containerStatuses: containers.map((c) =>
      crashed.includes(String(c.name))
        ? crashLoop(c, pod, startTime)
        : {
            name: c.name,
            image: c.image,
            imageID: imageId(c),
            ready: run,
            started: run,
            restartCount: 0,
            state: run ? { running: { startedAt: startTime } } : { waiting: { reason: 'ContainerCreating' } },
          },
    ),
  };
}

function imageId(container: Record<string, unknown>): string {
  const image = String(container.image);
  return `docker.io/${image}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** A container that exited 1 right after it started, and that the kubelet restarts with a back-off. */
function crashLoop(
  container: Record<string, unknown>,
  pod: KubeObject,
  startTime: string,
): Record<string, unknown> {
  const name = String(container.name);
  return {
    name,
    image: container.image,
    imageID: imageId(container),
    ready: false,
    started: false,
    restartCount: 1,
    state: {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off 10s restarting failed container=${name} pod=${nameOf(pod)}_${String(rec(pod.metadata).namespace)}(${String(rec(pod.metadata).uid ?? '')})`,
      },
    },
    lastState: {
      terminated: { exitCode: 1, reason: 'Error', startedAt: startTime, finishedAt: startTime },
    },
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
