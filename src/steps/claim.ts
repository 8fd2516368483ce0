import { KubeTimeoutError, type KubeObject, type KubernetesClient } from '../clients/kubernetes.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { refuse, type Refusal } from '../lib/plan.js';

/** The chart's claim `<release>-state`: what the server mounts, and what must end Bound to our volume. */
export interface ClaimRef {
  namespace: string;
  name: string;
}

export interface Claim extends KubeObject {
  spec?: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string };
}

/**
 * keep: bound to our volume already; bind: the deploy binds it (absent, or pending); repair: the release exists
 * but its claim is gone, so helm must recreate it even when the values are unchanged.
 */
export type ClaimPlan = { action: 'bound' | 'bind' | 'repair'; reason: string } | Refusal;

export async function observeClaim(kube: KubernetesClient, claim: ClaimRef): Promise<Claim | undefined> {
  return kube.get<Claim>('v1', 'PersistentVolumeClaim', claim.name, { namespace: claim.namespace });
}

/** Pure: a claim already bound to another volume cannot move; serving from it would serve another disk's state. */
export function planClaim(
  claim: ClaimRef,
  observed: Claim | undefined,
  volumeName: string,
  releaseExists: boolean,
): ClaimPlan {
  const where = `${claim.namespace}/${claim.name}`;
  const bound = observed?.spec?.volumeName;
  if (bound && bound !== volumeName) {
    return refuse(
      `Claim ${where} is bound to volume ${bound}, not to ${volumeName}`,
      `A bound claim cannot move to another volume. If ${bound} is the state volume, set pv-name to it; otherwise ` +
        `uninstall the release (its claim goes with it; Retain volumes keep their disks) and rerun. Nothing was changed`,
    );
  }
  if (!observed) {
    return releaseExists
      ? { action: 'repair', reason: `its claim ${where} is missing` }
      : { action: 'bind', reason: 'created by the release' };
  }
  if (bound === volumeName && observed.status?.phase === 'Bound')
    return { action: 'bound', reason: `bound to ${volumeName}` };
  return { action: 'bind', reason: `${observed.status?.phase ?? 'not bound'} yet` };
}

export function describeClaimPlan(plan: ClaimPlan): string {
  return plan.action === 'refuse' ? `refuse: ${plan.reason}` : `${plan.action} (${plan.reason})`;
}

/**
 * The last word on the state: the chart's claim must be Bound to OUR volume. A claim bound anywhere else means
 * the server is writing to a disk that is not the state disk, and the run must fail loudly. Watched, not polled.
 */
export async function verifyClaimBinding(
  kube: KubernetesClient,
  claim: ClaimRef,
  volumeName: string,
  deadline: Deadline,
): Promise<void> {
  const settled = (c: Claim | undefined): boolean =>
    Boolean(c?.spec?.volumeName && (c.spec.volumeName !== volumeName || c.status?.phase === 'Bound'));
  let observed: Claim | undefined;
  try {
    observed = await kube.waitFor<Claim>('v1', 'PersistentVolumeClaim', claim.name, settled, {
      namespace: claim.namespace,
      budget: deadline,
      what: `the claim ${claim.namespace}/${claim.name} to bind`,
    });
  } catch (error) {
    if (!(error instanceof KubeTimeoutError)) throw error;
    const last = await observeClaim(kube, claim).catch(() => undefined);
    throw new ActionError(
      `Claim ${claim.namespace}/${claim.name} did not bind volume ${volumeName} (phase ${last?.status?.phase ?? 'absent'})`,
      {
        cause: error,
        hint: `Check \`kubectl describe pvc ${claim.name} -n ${claim.namespace}\` and \`kubectl describe pv ${volumeName}\``,
      },
    );
  }
  const bound = observed?.spec?.volumeName;
  if (bound !== volumeName) {
    throw new ActionError(
      `Claim ${claim.namespace}/${claim.name} is bound to volume ${bound}, not to ${volumeName}: the server is not using the state disk`,
      {
        hint:
          `Do not let users log in. Check \`kubectl get pvc ${claim.name} -n ${claim.namespace}\`; the state disk is untouched. ` +
          'Uninstall the release (the claim goes with it), then rerun',
      },
    );
  }
}
