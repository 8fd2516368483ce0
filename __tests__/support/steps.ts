import type { ComputeClients } from '../../src/clients/compute.js';
import type { Helm } from '../../src/clients/helm.js';
import type { KubernetesClient } from '../../src/clients/kubernetes.js';
import type { Deadline } from '../../src/lib/deadline.js';
import { refusalError, type Refusal } from '../../src/lib/plan.js';
import {
  applyDiskPlan,
  observeDisk,
  planDisk,
  type ApplyOptions,
  type DiskFacts,
  type DiskTarget,
} from '../../src/steps/disk.js';
import {
  applyHelmRelease,
  observeRelease,
  planHelmRelease,
  type ReleaseFacts,
  type ReleaseTarget,
} from '../../src/steps/helmRelease.js';
import { releaseObjects } from '../../src/steps/releaseManifest.js';
import { waitForRollout } from '../../src/steps/rollout.js';

// Tests' shorthand for one step's three verbs, observe, plan, apply, in the order the runbook runs them.

export async function ensureDisk(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
  options: ApplyOptions = {},
): Promise<DiskFacts> {
  const plan = planDisk(target, await observeDisk(clients, target, deadline), options);
  return applyDiskPlan(clients, target, plan, deadline, options);
}

export async function deployRelease(
  helm: Helm,
  kube: KubernetesClient,
  target: ReleaseTarget,
  options: { deadline: Deadline; diagnose?: boolean },
): Promise<ReleaseFacts> {
  const observation = { ...(await observeRelease(helm, kube, target)), authSecretExists: undefined };
  const facts = await applyHelmRelease(helm, kube, target, planHelmRelease(target, observation), options);
  // As the runbook does: helm does not wait for the rollout, the action watches it.
  const deployment = releaseObjects(facts.manifest, target.name).apiServer?.name;
  if (facts.changed && deployment) {
    await waitForRollout(
      kube,
      { release: target.name, namespace: target.namespace, deployment },
      options.deadline,
    );
  }
  return facts;
}

/** A plan's refusal as the error the orchestration would raise, so tests assert its message and hint. */
export function refused<P extends { action: string }>(plan: P): P {
  if (plan.action === 'refuse') throw refusalError(plan as unknown as Refusal);
  return plan;
}
