import { KubeTimeoutError, type KubeObject, type KubernetesClient } from '../clients/kubernetes.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { at } from '../lib/json.js';
import { printDiagnostics } from './diagnostics.js';

// The rollout of the API server, waited for from the action's own process (watched, not polled) rather than by
// `helm --wait`, so that it runs side by side with the claim's binding and the load balancer's address.

export interface RolloutTarget {
  release: string;
  namespace: string;
  /** The API server Deployment, as the release named it. */
  deployment: string;
}

/** Done when the Deployment controller has seen this generation and every replica is updated and available. */
export function rolledOut(deployment: KubeObject | undefined): boolean {
  if (!deployment) return false;
  const wanted = Number(at(deployment, 'spec', 'replicas') ?? 1);
  const generation = Number(at(deployment, 'metadata', 'generation') ?? 0);
  const status = (at(deployment, 'status') ?? {}) as Record<string, unknown>;
  return (
    Number(status.observedGeneration ?? 0) >= generation &&
    Number(status.updatedReplicas ?? 0) >= wanted &&
    Number(status.availableReplicas ?? 0) >= wanted
  );
}

/** The controller gave up on this rollout (progressDeadlineSeconds passed): waiting longer changes nothing. */
function stuck(deployment: KubeObject | undefined): string | undefined {
  const conditions = at(deployment, 'status', 'conditions');
  const progressing = Array.isArray(conditions)
    ? conditions.find((c) => at(c, 'type') === 'Progressing')
    : undefined;
  return at(progressing, 'reason') === 'ProgressDeadlineExceeded'
    ? String(at(progressing, 'message'))
    : undefined;
}

export async function waitForRollout(
  kube: KubernetesClient,
  target: RolloutTarget,
  deadline: Deadline,
): Promise<void> {
  const { namespace, deployment } = target;
  let last: KubeObject | undefined;
  try {
    last = await kube.waitFor(
      'apps/v1',
      'Deployment',
      deployment,
      (d) => rolledOut(d) || stuck(d) !== undefined,
      {
        namespace,
        budget: deadline,
        what: `the rollout of Deployment ${namespace}/${deployment}`,
      },
    );
  } catch (error) {
    if (!(error instanceof KubeTimeoutError)) throw error;
    await printDiagnostics(kube, target.release, namespace, deadline);
    throw new ActionError(`Deployment ${namespace}/${deployment} did not become available in time`, {
      cause: error,
      hint: 'The pod status, events and server logs above show why; fix the cause and rerun (the disk keeps its state)',
    });
  }
  const why = stuck(last);
  if (why) {
    await printDiagnostics(kube, target.release, namespace, deadline);
    throw new ActionError(`Deployment ${namespace}/${deployment} gave up rolling out: ${why}`, {
      hint: 'The pod status, events and server logs above show why; fix the cause and rerun (the disk keeps its state)',
    });
  }
}
