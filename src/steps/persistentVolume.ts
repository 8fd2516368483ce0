import * as core from '@actions/core';
import { isKubeReason, type KubeObject, type KubernetesClient } from '../clients/kubernetes.js';
import { ActionError, TakenError } from '../lib/errors.js';
import { isRefusal, refuse, refusalError, type Advice, type Refusal } from '../lib/plan.js';

const PD_CSI_DRIVER = 'pd.csi.storage.gke.io';
/** The node label GKE's PD CSI driver uses for a disk's zone. */
const ZONE_LABEL = 'topology.gke.io/zone';

/** What the volume must be: the runbook's PV for one disk, pre-bound to the chart's claim. */
export interface PersistentVolumeTarget {
  name: string;
  /** Labels of what this run makes (the disk's, e.g. a drill's run), so a person can tell whose it is. */
  labels?: Record<string, string>;
  storageClassName: string;
  /** `projects/P/zones/Z/disks/D` or `projects/P/regions/R/disks/D`: the CSI volumeHandle. */
  diskPath: string;
  /** The disk's real size: GCE's "GB" is a GiB. */
  sizeGb: number;
  /** The zone of a zonal disk, the two replica zones of a regional one. */
  zones: string[];
  /** The chart's claim `<release>-state` in the release namespace. */
  claim: { namespace: string; name: string };
}

interface ClaimRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface PersistentVolume extends KubeObject {
  spec?: {
    storageClassName?: string;
    capacity?: { storage?: string };
    accessModes?: string[];
    persistentVolumeReclaimPolicy?: string;
    claimRef?: ClaimRef;
    csi?: { driver?: string; volumeHandle?: string; fsType?: string };
    gcePersistentDisk?: { pdName?: string };
    nodeAffinity?: unknown;
  };
  status?: { phase?: string };
}

/** One change to an existing volume, with the reason printed in the plan. */
export interface PersistentVolumeChange {
  reason: string;
  type: 'json' | 'merge';
  patch: unknown;
}

/** What the claim must ask for so it fits this volume: the chart's `storage.storageClassName` and `storage.size`. */
export interface ClaimFit {
  storageClassName: string;
  size: string;
}

export type PersistentVolumePlan =
  | ({ action: 'create'; manifest: PersistentVolume; claimFit: ClaimFit } & Advice)
  /** `retain`, when set, is also among `changes`: the one change made before anything else. */
  | ({
      action: 'update' | 'keep';
      changes: PersistentVolumeChange[];
      claimFit: ClaimFit;
      retain?: PersistentVolumeChange;
    } & Advice)
  /** A volume the action will not use; `retain` is set anyway when the volume is on the state disk. */
  | (Refusal & { retain?: PersistentVolumeChange });

export interface PersistentVolumeFacts {
  name: string;
  created: boolean;
  changed: boolean;
  claimFit: ClaimFit;
}

/** The runbook's PersistentVolume, plus a zone affinity and a claimRef so no other claim can take the disk. */
export function persistentVolumeManifest(target: PersistentVolumeTarget): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: target.name,
      labels: { ...target.labels, 'app.kubernetes.io/managed-by': 'skyha-action' },
    },
    spec: {
      storageClassName: target.storageClassName,
      capacity: { storage: `${target.sizeGb}Gi` },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: claimRefFor(target.claim),
      csi: { driver: PD_CSI_DRIVER, volumeHandle: target.diskPath, fsType: 'ext4' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: ZONE_LABEL, operator: 'In', values: target.zones }] },
          ],
        },
      },
    },
  };
}

export async function observePersistentVolume(
  kube: KubernetesClient,
  name: string,
): Promise<PersistentVolume | undefined> {
  return kube.get<PersistentVolume>('v1', 'PersistentVolume', name);
}

/**
 * What must change so the chart's claim binds this disk and nothing else: a pure function of the target and
 * what the cluster has. Refuses what would serve the wrong state or take another claim's volume.
 */
export function planPersistentVolume(
  target: PersistentVolumeTarget,
  observed: PersistentVolume | undefined,
): PersistentVolumePlan {
  if (!observed) {
    const claimFit = { storageClassName: target.storageClassName, size: `${target.sizeGb}Gi` };
    return {
      action: 'create',
      manifest: persistentVolumeManifest(target),
      claimFit,
      warnings: [],
      notes: [],
    };
  }
  const handle = volumeDisk(observed);
  if (handle !== diskKey(target.diskPath)) {
    return refuse(
      `PersistentVolume ${target.name} points at ${handle ?? 'no GCE persistent disk'}, not at the disk ${target.diskPath}`,
      "The action never repoints a volume: that would serve another disk's state. Set pv-name to a new name for this " +
        `disk, or, if ${target.name} is truly unused, delete it yourself (its Retain policy keeps its disk)`,
    );
  }
  // From here on the volume is on the state disk: even a refusal carries the change back to Retain.
  const warnings: string[] = [];
  const retain = retainChange(target.name, observed, warnings);
  const refused = (refusal: Refusal): PersistentVolumePlan => (retain ? { ...refusal, retain } : refusal);

  const spec = observed.spec ?? {};
  const storageClassName = spec.storageClassName ?? '';
  if (!storageClassName) {
    return refused(
      refuse(
        `PersistentVolume ${target.name} has no storageClassName`,
        "A claim without a class gets the cluster's default class and a new empty disk instead. Set one with " +
          `\`kubectl patch pv ${target.name} -p '{"spec":{"storageClassName":"${target.storageClassName}"}}'\` and rerun`,
      ),
    );
  }
  if (storageClassName !== target.storageClassName) {
    warnings.push(
      `PersistentVolume ${target.name} has storage class '${storageClassName}', not '${target.storageClassName}': ` +
        "the claim will ask for the volume's class",
    );
  }
  const size = spec.capacity?.storage;
  if (!size)
    return refused(refuse(`PersistentVolume ${target.name} has no capacity`, 'Fix the volume by hand'));

  const binding = claimRefChange(target, observed);
  if (binding && 'action' in binding) return refused(binding);
  const changes = [...(retain ? [retain] : []), ...(binding ? [binding] : [])];
  const claimFit = { storageClassName, size };
  const action = changes.length ? 'update' : 'keep';
  return { action, changes, claimFit, ...(retain ? { retain } : {}), warnings, notes: [] };
}

/** A reclaim policy other than Retain would delete the disk with its claim: set it back, and say so. */
function retainChange(
  name: string,
  observed: PersistentVolume,
  warnings: string[],
): PersistentVolumeChange | undefined {
  const policy = observed.spec?.persistentVolumeReclaimPolicy ?? 'Delete';
  if (policy === 'Retain') return undefined;
  warnings.push(
    `PersistentVolume ${name} had reclaim policy ${policy}: setting it back to Retain so deleting the claim keeps the disk`,
  );
  return {
    reason: `reclaim policy ${policy} -> Retain`,
    type: 'merge',
    patch: { spec: { persistentVolumeReclaimPolicy: 'Retain' } },
  };
}

/** The claimRef must name the chart's claim: clear a stale one, add a missing one, refuse another claim's. */
function claimRefChange(
  target: PersistentVolumeTarget,
  observed: PersistentVolume,
): PersistentVolumeChange | Refusal | undefined {
  const claimRef = observed.spec?.claimRef;
  const phase = observed.status?.phase ?? '';
  const ours = claimRef?.namespace === target.claim.namespace && claimRef.name === target.claim.name;
  if (phase === 'Released') {
    // The claim named in claimRef was deleted (helm uninstall, a lost cluster's restore): it binds nothing until cleared.
    return {
      reason: `Released with a stale claim ${claimRef?.namespace}/${claimRef?.name}: pre-bind it to ${claimName(target.claim)}`,
      type: 'json',
      patch: [
        ...(claimRef?.uid ? [{ op: 'test', path: '/spec/claimRef/uid', value: claimRef.uid }] : []),
        { op: 'replace', path: '/spec/claimRef', value: claimRefFor(target.claim) },
      ],
    };
  }
  if (!claimRef) {
    if (phase === 'Bound') return boundElsewhere(target, 'an unknown claim');
    return {
      reason: `no claimRef: pre-bind it to ${claimName(target.claim)}`,
      type: 'merge',
      patch: { spec: { claimRef: claimRefFor(target.claim) } },
    };
  }
  if (ours) return undefined;
  const other = `${claimRef.namespace}/${claimRef.name}${phase === 'Bound' ? '' : ` (phase ${phase || 'unknown'})`}`;
  return boundElsewhere(target, other);
}

/** The return to Retain the plan carries, whether the volume is refused or updated; undefined when none is due. */
export function plannedRetain(plan: PersistentVolumePlan): PersistentVolumeChange | undefined {
  return plan.action === 'create' ? undefined : plan.retain;
}

/**
 * Sets the volume back to Retain, alone: the first write of a run, so that no later refusal or failure leaves a
 * volume whose claim's deletion deletes the disk. A patch of the existing volume, never a create.
 */
export async function applyRetainFirst(
  kube: KubernetesClient,
  name: string,
  plan: PersistentVolumePlan,
): Promise<PersistentVolume | undefined> {
  const change = plannedRetain(plan);
  if (!change) return undefined;
  if (isRefusal(plan))
    core.warning(
      `PersistentVolume ${name} is refused, but it is on the state disk: setting its reclaim policy to Retain first`,
    );
  else core.info(`Updating PersistentVolume ${name} before anything else: ${change.reason}`);
  return kube.patch<PersistentVolume>('v1', 'PersistentVolume', name, change.patch, change.type);
}

/** The volume is refused, but it is on the state disk: set Retain before the refusal is reported. */
export async function secureRefusedVolume(
  kube: KubernetesClient,
  name: string,
  plan: PersistentVolumePlan,
): Promise<void> {
  if (plan.action !== 'refuse' || !plan.retain) return;
  core.warning(
    `PersistentVolume ${name} is refused, but it is on the state disk: setting its reclaim policy to Retain`,
  );
  await kube.patch('v1', 'PersistentVolume', name, plan.retain.patch, plan.retain.type);
}

/**
 * Creates with a create (never an apply, which would also "create" a volume another run made a moment ago), or
 * patches only what the plan names; a kept volume sends no request. With `recheck`, a volume that appeared
 * between the read and the create is planned again against it and used, but not reported as created; without
 * it, that is a TakenError.
 */
export async function applyPersistentVolumePlan(
  kube: KubernetesClient,
  name: string,
  plan: PersistentVolumePlan,
  options: { recheck?: PersistentVolumeTarget } = {},
): Promise<PersistentVolumeFacts> {
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action !== 'create') return updateVolume(kube, name, plan);
  core.info(`Creating PersistentVolume ${name}`);
  if (await createVolume(kube, plan.manifest))
    return { name, created: true, changed: true, claimFit: plan.claimFit };
  if (!options.recheck)
    throw new TakenError(`PersistentVolume ${name}`, 'Nothing was changed on it; re-run the job');
  core.info(`PersistentVolume ${name} was created meanwhile by someone else; checking it instead`);
  const again = planPersistentVolume(options.recheck, await observePersistentVolume(kube, name));
  if (again.action === 'create') {
    throw new ActionError(`PersistentVolume ${name} was reported as existing, then not found`, {
      hint: 'Re-run the job',
    });
  }
  return { ...(await updateVolume(kube, name, again)), created: false };
}

async function updateVolume(
  kube: KubernetesClient,
  name: string,
  plan: PersistentVolumePlan,
): Promise<PersistentVolumeFacts> {
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action === 'create') throw new ActionError(`PersistentVolume ${name} is not there to update`);
  for (const change of plan.changes) {
    core.info(`Updating PersistentVolume ${name}: ${change.reason}`);
    await kube.patch('v1', 'PersistentVolume', name, change.patch, change.type);
  }
  return { name, created: false, changed: plan.changes.length > 0, claimFit: plan.claimFit };
}

/** POSTs the volume; false when the name is taken (409 AlreadyExists). */
async function createVolume(kube: KubernetesClient, manifest: PersistentVolume): Promise<boolean> {
  try {
    await kube.create(manifest);
    return true;
  } catch (error) {
    if (isKubeReason(error, 'AlreadyExists')) return false;
    throw error;
  }
}

/** One line per step for the printed plan. */
export function describePersistentVolumePlan(plan: PersistentVolumePlan): string[] {
  if (plan.action === 'refuse') return [`refuse: ${plan.reason}`];
  if (plan.action === 'create') return [`create (${plan.claimFit.size})`];
  if (plan.action === 'keep') return [`keep (${plan.claimFit.size})`];
  return plan.changes.map((c) => c.reason);
}

/** The GCE disk an existing volume uses, as `projects/P/{zones|regions}/L/disks/D`, whatever form it was written in. */
function volumeDisk(pv: PersistentVolume): string | undefined {
  const csi = pv.spec?.csi;
  if (csi?.driver === PD_CSI_DRIVER && csi.volumeHandle) return diskKey(csi.volumeHandle);
  return undefined;
}

// Hand-written handles may be full API URLs; compare from `projects/` on.
function diskKey(path: string): string {
  const at = path.indexOf('projects/');
  return at >= 0 ? path.slice(at) : path;
}

function claimRefFor(claim: { namespace: string; name: string }): ClaimRef {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.namespace, name: claim.name };
}

function claimName(claim: { namespace: string; name: string }): string {
  return `${claim.namespace}/${claim.name}`;
}

function boundElsewhere(target: PersistentVolumeTarget, other: string): Refusal {
  return refuse(
    `PersistentVolume ${target.name} is reserved for ${other}, not ${claimName(target.claim)}`,
    'The action will not take a volume from another claim. Check the release-name and namespace inputs; if the other ' +
      `claim is gone for good, clear the volume's claimRef (kubectl patch pv ${target.name} --type json -p ` +
      `'[{"op":"remove","path":"/spec/claimRef"}]') and rerun`,
  );
}
