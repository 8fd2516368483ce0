import type { KubeObject, Kubectl } from '../clients/kubectl.js';
import { sleep, type Deadline } from '../lib/deadline.js';
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

export async function observeClaim(kubectl: Kubectl, claim: ClaimRef): Promise<Claim | undefined> {
  return kubectl.getJson<Claim>('persistentvolumeclaim', claim.name, claim.namespace);
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
 * the server is writing to a disk that is not the state disk, and the run must fail loudly.
 */
export async function verifyClaimBinding(
  kubectl: Kubectl,
  claim: ClaimRef,
  volumeName: string,
  deadline: Deadline,
  pollMs = 2000,
): Promise<void> {
  for (;;) {
    const observed = await observeClaim(kubectl, claim);
    const bound = observed?.spec?.volumeName;
    if (bound && bound !== volumeName) {
      throw new ActionError(
        `Claim ${claim.namespace}/${claim.name} is bound to volume ${bound}, not to ${volumeName}: the server is not using the state disk`,
        {
          hint:
            `Do not let users log in. Check \`kubectl get pvc ${claim.name} -n ${claim.namespace}\`; the state disk is untouched. ` +
            'Uninstall the release (the claim goes with it), then rerun',
        },
      );
    }
    if (bound === volumeName && observed?.status?.phase === 'Bound') return;
    if (deadline.remainingMs() <= pollMs) {
      throw new ActionError(
        `Claim ${claim.namespace}/${claim.name} did not bind volume ${volumeName} (phase ${observed?.status?.phase ?? 'absent'})`,
        {
          hint: `Check \`kubectl describe pvc ${claim.name} -n ${claim.namespace}\` and \`kubectl describe pv ${volumeName}\``,
        },
      );
    }
    await sleep(pollMs);
  }
}
