import * as core from '@actions/core';
import { ActionError } from './errors.js';
import type { KubeObject, Kubectl } from './kubectl.js';

export const PD_CSI_DRIVER = 'pd.csi.storage.gke.io';
/** The node label GKE's PD CSI driver uses for a disk's zone. */
export const ZONE_LABEL = 'topology.gke.io/zone';

/** What the volume must be: the runbook's PV for one disk, pre-bound to the chart's claim. */
export interface PersistentVolumeTarget {
  name: string;
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
  | { action: 'create'; manifest: PersistentVolume; claimFit: ClaimFit; warnings: string[] }
  | { action: 'update' | 'keep'; changes: PersistentVolumeChange[]; claimFit: ClaimFit; warnings: string[] };

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
    metadata: { name: target.name, labels: { 'app.kubernetes.io/managed-by': 'skyha-action' } },
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
  kubectl: Kubectl,
  name: string,
): Promise<PersistentVolume | undefined> {
  return kubectl.getJson<PersistentVolume>('persistentvolume', name);
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
    return { action: 'create', manifest: persistentVolumeManifest(target), claimFit, warnings: [] };
  }
  const spec = observed.spec ?? {};
  const warnings: string[] = [];
  const changes: PersistentVolumeChange[] = [];

  const handle = volumeDisk(observed);
  if (handle !== diskKey(target.diskPath)) {
    throw new ActionError(
      `PersistentVolume ${target.name} points at ${handle ?? 'no GCE persistent disk'}, not at the disk ${target.diskPath}`,
      {
        hint:
          "The action never repoints a volume: that would serve another disk's state. Set pv-name to a new name for this " +
          `disk, or, if ${target.name} is truly unused, delete it yourself (its Retain policy keeps its disk)`,
      },
    );
  }

  const policy = spec.persistentVolumeReclaimPolicy ?? 'Delete';
  if (policy !== 'Retain') {
    warnings.push(
      `PersistentVolume ${target.name} had reclaim policy ${policy}: setting it back to Retain so deleting the claim keeps the disk`,
    );
    changes.push({
      reason: `reclaim policy ${policy} -> Retain`,
      type: 'merge',
      patch: { spec: { persistentVolumeReclaimPolicy: 'Retain' } },
    });
  }

  // From here on the volume is on the state disk: a refusal still sets Retain first (see VolumeRefusal).
  const retain = changes.find((c) => c.reason.startsWith('reclaim policy'));
  const refuse = (error: ActionError): VolumeRefusal => new VolumeRefusal(error, retain);

  const storageClassName = spec.storageClassName ?? '';
  if (!storageClassName) {
    throw refuse(
      new ActionError(`PersistentVolume ${target.name} has no storageClassName`, {
        hint:
          "A claim without a class gets the cluster's default class and a new empty disk instead. Set one with " +
          `\`kubectl patch pv ${target.name} -p '{"spec":{"storageClassName":"${target.storageClassName}"}}'\` and rerun`,
      }),
    );
  }
  if (storageClassName !== target.storageClassName) {
    warnings.push(
      `PersistentVolume ${target.name} has storage class '${storageClassName}', not '${target.storageClassName}': ` +
        "the claim will ask for the volume's class",
    );
  }
  const size = spec.capacity?.storage;
  if (!size) {
    throw refuse(
      new ActionError(`PersistentVolume ${target.name} has no capacity`, { hint: 'Fix the volume by hand' }),
    );
  }

  const claimRef = spec.claimRef;
  const phase = observed.status?.phase ?? '';
  const ours = claimRef?.namespace === target.claim.namespace && claimRef.name === target.claim.name;
  if (phase === 'Released') {
    // The claim named in claimRef was deleted (helm uninstall, a lost cluster's restore): it binds nothing until cleared.
    changes.push({
      reason: `Released with a stale claim ${claimRef?.namespace}/${claimRef?.name}: pre-bind it to ${claimName(target.claim)}`,
      type: 'json',
      patch: [
        ...(claimRef?.uid ? [{ op: 'test', path: '/spec/claimRef/uid', value: claimRef.uid }] : []),
        { op: 'replace', path: '/spec/claimRef', value: claimRefFor(target.claim) },
      ],
    });
  } else if (!claimRef) {
    if (phase === 'Bound') throw refuse(boundElsewhere(target, 'an unknown claim'));
    changes.push({
      reason: `no claimRef: pre-bind it to ${claimName(target.claim)}`,
      type: 'merge',
      patch: { spec: { claimRef: claimRefFor(target.claim) } },
    });
  } else if (!ours) {
    throw refuse(
      boundElsewhere(
        target,
        `${claimRef.namespace}/${claimRef.name}${phase === 'Bound' ? '' : ` (phase ${phase || 'unknown'})`}`,
      ),
    );
  }

  return {
    action: changes.length ? 'update' : 'keep',
    changes,
    claimFit: { storageClassName, size },
    warnings,
  };
}

/**
 * The action will not use this volume, but it is on the state disk: whoever holds it, its reclaim policy must
 * still be Retain, or deleting that claim would delete the disk. `secure` sets it before the refusal is reported.
 */
export class VolumeRefusal extends ActionError {
  constructor(
    readonly refusal: ActionError,
    readonly retain: PersistentVolumeChange | undefined,
  ) {
    super(refusal.message, refusal.hint === undefined ? {} : { hint: refusal.hint });
    this.name = 'VolumeRefusal';
  }

  /** Sets Retain on the refused volume (when it lacks it) and throws the refusal. */
  async secure(kubectl: Kubectl, name: string): Promise<never> {
    if (this.retain) {
      core.warning(
        `PersistentVolume ${name} is refused, but it is on the state disk: setting its reclaim policy to Retain`,
      );
      await kubectl.patch('persistentvolume', name, this.retain.patch, this.retain.type);
    }
    throw this;
  }
}

/** Creates with server-side apply, or patches only what the plan names; a kept volume sends no request. */
export async function applyPersistentVolumePlan(
  kubectl: Kubectl,
  name: string,
  plan: PersistentVolumePlan,
): Promise<PersistentVolumeFacts> {
  for (const warning of plan.warnings) core.warning(warning);
  if (plan.action === 'create') {
    core.info(`Creating PersistentVolume ${name}`);
    await kubectl.apply(plan.manifest);
    return { name, created: true, changed: true, claimFit: plan.claimFit };
  }
  for (const change of plan.changes) {
    core.info(`Updating PersistentVolume ${name}: ${change.reason}`);
    await kubectl.patch('persistentvolume', name, change.patch, change.type);
  }
  return { name, created: false, changed: plan.changes.length > 0, claimFit: plan.claimFit };
}

/** One line per step for the printed plan. */
export function describePersistentVolumePlan(name: string, plan: PersistentVolumePlan): string[] {
  if (plan.action === 'create') return [`PersistentVolume ${name}: create (${plan.claimFit.size})`];
  if (plan.action === 'keep') return [`PersistentVolume ${name}: keep (${plan.claimFit.size})`];
  return plan.changes.map((c) => `PersistentVolume ${name}: ${c.reason}`);
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

function boundElsewhere(target: PersistentVolumeTarget, other: string): ActionError {
  return new ActionError(
    `PersistentVolume ${target.name} is reserved for ${other}, not ${claimName(target.claim)}`,
    {
      hint:
        'The action will not take a volume from another claim. Check the release-name and namespace inputs; if the other ' +
        `claim is gone for good, clear the volume's claimRef (kubectl patch pv ${target.name} --type json -p ` +
        `'[{"op":"remove","path":"/spec/claimRef"}]') and rerun`,
    },
  );
}
