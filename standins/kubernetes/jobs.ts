import type { ClusterState } from './clusterState.js';
import { T, now, save, type Controller } from './controllerKit.js';
import { rec, str, type KubeObject } from './resources.js';

/** The reason and message Kubernetes' Job controller writes when the pods it needed have succeeded. */
const completed = { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };

/** The status of a finished Job as Kubernetes 1.31+ writes it: SuccessCriteriaMet first, then Complete. */
export function completedJobStatus(job: KubeObject, stamp: string): Record<string, unknown> {
  const spec = rec(job.spec);
  const condition = (type: string): Record<string, unknown> => ({
    type,
    status: 'True',
    ...completed,
    lastProbeTime: stamp,
    lastTransitionTime: stamp,
  });
  return {
    startTime: str(rec(job.status).startTime) ?? stamp,
    completionTime: stamp,
    succeeded: Number(spec.completions ?? 1),
    ready: 0,
    terminating: 0,
    uncountedTerminatedPods: {},
    conditions: [condition('SuccessCriteriaMet'), condition('Complete')],
  };
}

/**
 * Jobs run to success at once (hook Jobs such as the ingress-nginx admission ones), so `helm install`, which
 * waits for every hook Job to complete, goes on. A suspended Job stays as it is.
 */
export const jobController: Controller = (cluster: ClusterState) => {
  let changed = false;
  for (const job of cluster.store.list(T.job)) {
    if (rec(job.status).completionTime || rec(job.spec).suspend === true) continue;
    job.status = completedJobStatus(job, now());
    changed = save(cluster, T.job, job) || changed;
  }
  return changed;
};
