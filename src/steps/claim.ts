import { KubeTimeoutError, type KubeObject, type KubernetesClient } from '../clients/kubernetes.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { refuse, type Refusal } from '../lib/plan.js';

/** The claim the API server mounts: what must end Bound to our volume. */
export interface ClaimRef {
  namespace: string;
  name: string;
}

export interface Claim extends KubeObject {
  spec?: {
    volumeName?: string;
    storageClassName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}

/**
 * bound: bound to our volume already; bind: the deploy binds it (absent, or pending); repair: the release exists
 * but the chart's claim is gone, so helm must recreate it even when the values are unchanged; create / adopt:
 * the action owns the claim (charts with storage.existingClaim) and makes it, or takes over one made before.
 */
export type ClaimPlan =
  | { action: 'bound' | 'bind' | 'repair'; reason: string }
  | { action: 'create'; reason: string; manifest: Claim }
  | { action: 'adopt'; reason: string; patch: Record<string, unknown> }
  | Refusal;

/** What the action's own claim must be: pre-bound to the volume, with the class and size that fit it. */
export interface OwnedClaimTarget extends ClaimRef {
  volumeName: string;
  storageClassName: string;
  size: string;
}

const OWNER_LABEL = { 'app.kubernetes.io/managed-by': 'skyha-action' };
// helm keeps an object it no longer renders when it carries this: a claim the chart made before it took
// existingClaim is not deleted by the upgrade that hands it to the action.
const KEEP = { 'helm.sh/resource-policy': 'keep' };

export async function observeClaim(kube: KubernetesClient, claim: ClaimRef): Promise<Claim | undefined> {
  return kube.get<Claim>('v1', 'PersistentVolumeClaim', claim.name, { namespace: claim.namespace });
}

/**
 * Pure, for charts without storage.existingClaim (the chart's claim): a claim the action owns is refused, as such a
 * chart would render a claim of that name itself and helm refuses to take over the action's (a downgrade from a
 * chart with existingClaim, found here rather than late at helm).
 */
export function planClaim(
  claim: ClaimRef,
  observed: Claim | undefined,
  volumeName: string,
  releaseExists: boolean,
  chart = 'this chart version',
): ClaimPlan {
  if (isOwnedByAction(observed)) {
    return refuse(
      `Claim ${claim.namespace}/${claim.name} is the action's own (made for a chart with storage.existingClaim), but ${chart} has no storage.existingClaim and would render a claim of that name itself, which helm refuses to take over`,
      'Keep a chart-version whose chart has storage.existingClaim (the one deployed, or newer); nothing was changed',
    );
  }
  return planBinding(claim, observed, volumeName, releaseExists);
}

/** Whether the claim carries the action's label: then it is the action's (made by planOwnedClaim or adopted). */
export function isOwnedByAction(observed: Claim | undefined): boolean {
  const labels = observed?.metadata?.labels ?? {};
  return labels['app.kubernetes.io/managed-by'] === OWNER_LABEL['app.kubernetes.io/managed-by'];
}

/** Pure: a claim already bound to another volume cannot move; serving from it would serve another disk's state. */
function planBinding(
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

/**
 * Pure, for charts with storage.existingClaim: the action owns the claim, so `helm uninstall` can never delete
 * it. A missing one is created pre-bound to the volume; one made before (by an older chart, or by hand) that is
 * bound to our volume, or can bind it, is labelled as the action's and kept by helm from then on.
 */
export function planOwnedClaim(target: OwnedClaimTarget, observed: Claim | undefined): ClaimPlan {
  const bound = observed?.spec?.volumeName;
  const where = `${target.namespace}/${target.name}`;
  if (bound && bound !== target.volumeName) return planBinding(target, observed, target.volumeName, true);
  if (!observed)
    return { action: 'create', reason: `pre-bound to ${target.volumeName}`, manifest: ownedClaim(target) };
  const klass = observed.spec?.storageClassName;
  if (!bound && klass !== target.storageClassName) {
    return refuse(
      `Claim ${where} asks for storage class '${klass ?? ''}', not the volume's '${target.storageClassName}': it cannot bind the state volume`,
      `A claim's class cannot change. Delete the claim (kubectl delete pvc ${target.name} -n ${target.namespace}; the Retain volume keeps the disk) and rerun`,
    );
  }
  const annotations = observed.metadata?.annotations ?? {};
  const ours =
    isOwnedByAction(observed) && annotations['helm.sh/resource-policy'] === KEEP['helm.sh/resource-policy'];
  if (!ours) {
    const patch = { metadata: { labels: OWNER_LABEL, annotations: KEEP } };
    return { action: 'adopt', reason: `made before; from now on the action's (helm keeps it)`, patch };
  }
  return planBinding(target, observed, target.volumeName, true);
}

function ownedClaim(target: OwnedClaimTarget): Claim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: target.name, namespace: target.namespace, labels: OWNER_LABEL, annotations: KEEP },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: target.storageClassName,
      volumeName: target.volumeName,
      resources: { requests: { storage: target.size } },
    },
  };
}

/** Makes or takes over the action's own claim; the chart's claim is helm's, and needs nothing here. */
export async function applyClaimPlan(
  kube: KubernetesClient,
  plan: ClaimPlan,
  claim: ClaimRef,
): Promise<void> {
  if (plan.action === 'create') await kube.apply(plan.manifest);
  if (plan.action === 'adopt')
    await kube.patch('v1', 'PersistentVolumeClaim', claim.name, plan.patch, 'merge', {
      namespace: claim.namespace,
    });
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
