import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { protos } from '@google-cloud/compute';
import {
  computeGet,
  httpStatus,
  startOperation,
  waitForOperation,
  type ComputeClients,
  type Operation,
  type OperationScope,
} from '../clients/compute.js';
import type { Config } from '../config/config.js';
import type { CreateDisk } from '../config/disk.js';
import { Deadline, sleep } from '../lib/deadline.js';
import { backoffMs } from '../lib/retry.js';
import { ActionError, TakenError } from '../lib/errors.js';
import { isRefusal, refuse, refusalError, type Advice, type Refusal } from '../lib/plan.js';
import { withProgress } from '../lib/progress.js';
import { utcMinute } from '../lib/time.js';
import {
  describeCandidates,
  newestReadySnapshot,
  originOf,
  readySources,
  takenIn,
  type RestoredFrom,
  type SnapshotFacts,
  type SnapshotObservation,
} from './diskSource.js';
import { recordLabelsOf } from './versionRecord.js';

type Disk = protos.google.cloud.compute.v1.IDisk;

/** The disk the runbook's first step creates: `gcloud compute disks create $DISK --zone=$ZONE --size 10G`. */
export interface DiskTarget {
  project: string;
  name: string;
  zone: string;
  region: string;
  /** Two zones for a regional disk; empty for a zonal one. */
  replicaZones: string[];
  /** GCE "GB", which are GiB. */
  sizeGb: number;
  /** A disk type name such as pd-balanced. */
  type: string;
  /** A snapshot name or projects/P/global/snapshots/S, to restore from. */
  sourceSnapshot?: string;
  /** Restore an absent disk from its newest READY snapshot (`disk-source-snapshot: latest`). */
  fromLatestSnapshot?: boolean;
  /** `disk-source-snapshot: none`: an absent disk is created empty on purpose, whatever snapshots it has. */
  startEmpty?: boolean;
  /** `never`: an absent disk is refused rather than created empty. Default if-absent. */
  createDisk?: CreateDisk;
  labels: Record<string, string>;
  description: string;
}

/** The disk that is there, reduced to what the plan looks at. */
export interface ObservedDisk {
  resourcePath: string;
  name: string;
  selfLink: string;
  sizeGb: number;
  /** The type's short name (pd-balanced), read from its URL. */
  type: string;
  status: string;
  /** Instance URLs the disk is attached to. */
  users: string[];
  labels: Record<string, string>;
  /** What a setLabels must send back: GCE refuses it (412) once the labels changed since this read. */
  labelFingerprint?: string;
  /** The zone of a zonal disk, or the replica zones of a regional one (names, not URLs). */
  zones: string[];
  regional: boolean;
  sourceSnapshot: string | undefined;
  /** URLs of the resource policies (snapshot schedules) attached to it. */
  resourcePolicies?: string[];
}

/** The body of disks.insert / regionDisks.insert. */
export interface DiskInsert {
  resourcePath: string;
  regional: boolean;
  disk: {
    name: string;
    sizeGb: string;
    type: string;
    labels: Record<string, string>;
    description: string;
    replicaZones?: string[];
    sourceSnapshot?: string;
  };
}

export type DiskPlan =
  | ({ action: 'use'; disk: ObservedDisk } & Advice)
  | ({ action: 'create'; request: DiskInsert; source?: SnapshotFacts } & Advice)
  | Refusal;

/** What later steps (the PersistentVolume, outputs) need to know about the disk. */
export interface DiskFacts {
  /** projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D: the PV's csi.volumeHandle. */
  resourcePath: string;
  name: string;
  /** The real size, in GiB: the PV's capacity follows the disk, not the input. */
  sizeGb: number;
  zones: string[];
  regional: boolean;
  created: boolean;
  type: string;
  /** The labels as last read (with their fingerprint), when the disk was read: what the version record writes on. */
  labels?: Record<string, string>;
  labelFingerprint?: string;
}

export interface DiskPlanOptions {
  /** Nodes of the target cluster: a disk attached to one of them is in use by us, not by a lost cluster. */
  clusterNodeNames?: string[];
  /** Read only when the disk is absent: a disk of the same name in the other scope (zonal vs regional). */
  otherScope?: ObservedDisk | undefined;
  /** A drill only snapshots the disk: production's nodes holding it is expected. */
  attachedElsewhereIsExpected?: boolean;
  /** Read only when the disk is absent: the snapshots it can be restored from. */
  sources?: SnapshotObservation | undefined;
}

export const MANAGED_BY_LABEL = { key: 'managed-by', value: 'skyha-action' } as const;
const RELEASE_LABEL = 'skyha-release';

/** The disk the inputs ask for, labelled so a later run (and a person) can tell who made it. */
export function diskTarget(config: Config): DiskTarget {
  return {
    project: config.project,
    name: config.disk.name,
    zone: config.zone,
    region: config.region,
    replicaZones: config.replicaZones,
    sizeGb: config.disk.sizeGb,
    type: config.disk.type,
    ...(config.disk.sourceSnapshot === undefined ? {} : { sourceSnapshot: config.disk.sourceSnapshot }),
    fromLatestSnapshot: config.disk.fromLatestSnapshot,
    startEmpty: config.disk.startEmpty,
    createDisk: config.disk.createDisk,
    labels: {
      [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value,
      [RELEASE_LABEL]: labelValue(config.release.name),
    },
    description: `SkyPilot API server state for release ${config.release.namespace}/${config.release.name} (skyha-action)`,
  };
}

/** GCE label values: lowercase letters, digits, '-' and '_', at most 63 characters. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

export function diskResourcePath(
  target: Pick<DiskTarget, 'project' | 'name' | 'zone' | 'region' | 'replicaZones'>,
): string {
  return target.replicaZones.length
    ? `projects/${target.project}/regions/${target.region}/disks/${target.name}`
    : `projects/${target.project}/zones/${target.zone}/disks/${target.name}`;
}

/** Reads the disk with exactly one GET (retried only on transient failures); undefined when it is absent. */
export async function observeDisk(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
): Promise<ObservedDisk | undefined> {
  const resourcePath = diskResourcePath(target);
  const disk = await getDisk(clients, target, deadline);
  return disk && observedFrom(disk, resourcePath);
}

/**
 * The same disk name in the other scope (zonal vs regional). Asked only before a create: a state disk that is zonal
 * while the inputs now say regional (or the reverse) must not be shadowed by a new, empty disk of the same name.
 */
export async function observeDiskInOtherScope(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
): Promise<ObservedDisk | undefined> {
  // Only the emptiness of replicaZones picks the scope here; the zones themselves are not read.
  const other: DiskTarget = {
    ...target,
    replicaZones: target.replicaZones.length ? [] : [target.zone, target.zone],
  };
  return observeDisk(clients, other, deadline);
}

async function getDisk(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
): Promise<Disk | undefined> {
  const { project, region, zone, name: disk } = target;
  return computeGet(`reading disk ${diskResourcePath(target)}`, deadline, (options) =>
    target.replicaZones.length
      ? clients.regionDisks.get({ project, region, disk }, options)
      : clients.disks.get({ project, zone, disk }, options),
  );
}

function observedFrom(disk: Disk, resourcePath: string): ObservedDisk {
  const regional = Boolean(disk.region);
  const zones = regional
    ? (disk.replicaZones ?? []).map(lastSegment)
    : disk.zone
      ? [lastSegment(disk.zone)]
      : [];
  return {
    resourcePath,
    name: disk.name ?? lastSegment(resourcePath),
    selfLink: disk.selfLink ?? '',
    sizeGb: Number(disk.sizeGb ?? 0),
    type: disk.type ? lastSegment(disk.type) : '',
    status: disk.status ?? 'UNKNOWN',
    users: [...(disk.users ?? [])],
    labels: { ...(disk.labels ?? {}) },
    labelFingerprint: disk.labelFingerprint ?? '',
    zones,
    regional,
    sourceSnapshot: disk.sourceSnapshot || undefined,
    resourcePolicies: [...(disk.resourcePolicies ?? [])],
  };
}

function lastSegment(url: string): string {
  return url.replace(/\/+$/, '').split('/').pop() ?? url;
}

/** The instance name in a users[] URL such as .../zones/Z/instances/gke-node-1. */
function instanceName(userUrl: string): string {
  return /\/instances\/([^/?]+)/.exec(userUrl)?.[1] ?? lastSegment(userUrl);
}

/** Pure: what must happen to the disk, given the one the inputs ask for and the one that is there. */
export function planDisk(
  target: DiskTarget,
  observed: ObservedDisk | undefined,
  options: DiskPlanOptions = {},
): DiskPlan {
  if (!observed) {
    if (options.otherScope) return shadowRefusal(target, options.otherScope);
    return planCreate(target, options.sources);
  }
  const holders = options.attachedElsewhereIsExpected ? observed.users.map(instanceName) : [];
  const refusal = refuseDisk(target, observed, new Set([...(options.clusterNodeNames ?? []), ...holders]));
  if (refusal) return refusal;

  const warnings: string[] = [];
  const notes: string[] = [];
  if (observed.type && observed.type !== target.type) {
    warnings.push(
      `Disk ${target.name} is ${observed.type}, not disk-type ${target.type}; it is used as it is (a disk's type cannot change)`,
    );
  }
  if (target.sourceSnapshot) {
    warnings.push(
      `disk-source-snapshot ${target.sourceSnapshot} is ignored: disk ${target.name} already exists and holds the state`,
    );
  }
  const reserved = target.fromLatestSnapshot ? 'latest' : target.startEmpty ? 'none' : undefined;
  if (reserved) {
    notes.push(
      `disk-source-snapshot: ${reserved} was not used: disk ${observed.resourcePath} exists and is used as it is, with its state (it applies only to a disk that does not exist)`,
    );
  }
  if (observed.sizeGb > target.sizeGb) {
    notes.push(
      `Disk ${target.name} is ${observed.sizeGb} GB (disk-size asks ${target.sizeGb} GB): the volume uses the real ${observed.sizeGb} GB`,
    );
  }
  if (observed.labels[MANAGED_BY_LABEL.key] !== MANAGED_BY_LABEL.value) {
    notes.push(
      `Disk ${target.name} was not created by this action (no ${MANAGED_BY_LABEL.key}=${MANAGED_BY_LABEL.value} label): it is used as the state disk as it is`,
    );
  }
  return { action: 'use', disk: observed, warnings, notes };
}

/**
 * An absent disk: restored from a snapshot when one is asked for; created empty only when no READY snapshot of
 * it exists, or on purpose (`none`): a lost disk is never silently replaced by an empty one.
 */
function planCreate(target: DiskTarget, sources: SnapshotObservation | undefined): DiskPlan {
  if (target.sourceSnapshot) return planNamedSource(target, sources);
  const listed = sources?.kind === 'listed' ? sources.snapshots : undefined;
  const newest = newestReadySnapshot(listed ?? [], target);
  if (target.fromLatestSnapshot) return planLatest(target, listed ?? [], newest);
  if (target.startEmpty) {
    const note = `Disk ${diskResourcePath(target)} does not exist: a new, empty disk is created on purpose (disk-source-snapshot: none), and the server starts without any earlier state; snapshots are not looked for`;
    return createEmpty(target, [], [note]);
  }
  if (newest) return lostDiskRefusal(target, newest);
  if (target.createDisk === 'never') return noStateRefusal(target, listed ? noneReady(listed, target) : '');
  return createEmpty(target, [], []);
}

/** `latest`: the newest READY snapshot of a disk of this name in the region, whichever zone it was in. */
function planLatest(
  target: DiskTarget,
  listed: SnapshotFacts[],
  newest: SnapshotFacts | undefined,
): DiskPlan {
  if (newest) {
    const plan = createFrom(target, newest, 'the newest READY snapshot of it');
    const sources = readySources(listed, target);
    if (sources.length > 1 && plan.action === 'create') {
      plan.warnings.push(
        `READY snapshots of ${sources.length} disks named ${target.name} in region ${target.region} were found (${sources.join(', ')}): the newest, ${newest.name} of ${originOf(newest)}, is restored. If that disk is another deployment's, name the snapshot to restore in disk-source-snapshot`,
      );
    }
    return plan;
  }
  if (target.createDisk === 'never') return noStateRefusal(target, noneReady(listed, target));
  const warning = `Disk ${diskResourcePath(target)} does not exist ${noneReady(listed, target)} (disk-source-snapshot: latest): a new, empty disk is created and the server starts without its state`;
  return createEmpty(target, [warning], []);
}

/** What the list held when no READY snapshot was in it: the candidates a refusal or warning names. */
function noneReady(listed: SnapshotFacts[], target: DiskTarget): string {
  const seen = describeCandidates(listed, target);
  return `and no READY snapshot of it was found${seen ? ` (${seen})` : ''}`;
}

function planNamedSource(target: DiskTarget, sources: SnapshotObservation | undefined): DiskPlan {
  const named = sources?.kind === 'named' ? sources.snapshot : undefined;
  if (sources?.kind === 'named' && !named) {
    return refuse(
      `Snapshot ${target.sourceSnapshot} (disk-source-snapshot) does not exist`,
      `Nothing was changed. List the snapshots of the disk with: gcloud compute snapshots list --filter="sourceDisk:disks/${target.name}" --project ${target.project}`,
    );
  }
  if (named && named.status !== 'READY') {
    return refuse(
      `Snapshot ${named.resourcePath} is ${named.status}, not READY: a disk cannot be made from it yet`,
      'Nothing was changed. Re-run once the snapshot is READY, or name another snapshot',
    );
  }
  return named ? createFrom(target, named, 'disk-source-snapshot') : createEmpty(target, [], []);
}

function createEmpty(target: DiskTarget, warnings: string[], notes: string[]): DiskPlan {
  return { action: 'create', request: diskInsert(target), warnings, notes };
}

/**
 * A disk made from a snapshot is at least as large as the disk the snapshot was taken of, and records the server
 * version the snapshot records (GCE copies no label from a snapshot to a disk).
 */
function createFrom(target: DiskTarget, snapshot: SnapshotFacts, which: string): DiskPlan {
  const request = diskInsert({
    ...target,
    labels: { ...target.labels, ...recordLabelsOf(snapshot.labels) },
    sourceSnapshot: snapshot.resourcePath,
    sizeGb: Math.max(target.sizeGb, snapshot.diskSizeGb),
  });
  const note = `Disk ${request.resourcePath} does not exist: it is restored from snapshot ${snapshot.name} (${which}), taken ${utcMinute(snapshot.createdAt)} of ${originOf(snapshot)}`;
  return { action: 'create', request, source: snapshot, warnings: [], notes: [note] };
}

function whereTarget(target: DiskTarget): string {
  return target.replicaZones.length ? `region ${target.region}` : `zone ${target.zone}`;
}

/** No disk, but READY snapshots of it: it was lost (deleted, or its zone), and an empty disk would hide that. */
function lostDiskRefusal(target: DiskTarget, newest: SnapshotFacts): Refusal {
  const restore = `restore it with disk-source-snapshot: latest (or disk-source-snapshot: ${newest.name})`;
  return refuse(
    `Disk ${target.name} does not exist in ${whereTarget(target)} of project ${target.project}, but READY snapshots of it do: the newest is ${newest.name}, taken ${utcMinute(newest.createdAt)} of ${originOf(newest)}`,
    target.createDisk === 'never'
      ? `Nothing was changed. To bring the state back, ${restore}`
      : `Nothing was changed: the action never replaces a lost disk by an empty one. To bring the state back, ${restore}; to start a new, empty server on purpose, set disk-source-snapshot: none`,
  );
}

/** `create-disk: never`: a mistyped disk-name, zone or project must not start an empty server. */
function noStateRefusal(target: DiskTarget, more: string): Refusal {
  const restore = target.fromLatestSnapshot
    ? `list its snapshots with gcloud compute snapshots list --filter="sourceDisk:disks/${target.name}" --project ${target.project}`
    : 'restore it with disk-source-snapshot: latest (or a snapshot name)';
  return refuse(
    `Disk ${target.name} does not exist in ${whereTarget(target)} of project ${target.project}${more ? `, ${more}` : ''}`,
    `Nothing was changed (create-disk: never). Check disk-name, zone and project, or ${restore}; create-disk: if-absent starts a new, empty server instead`,
  );
}

/** Pure: where this run's disk state came from, once the disk plan is applied. */
export function restoredFrom(plan: DiskPlan, facts: Pick<DiskFacts, 'created'>): RestoredFrom {
  if (!facts.created || plan.action !== 'create') return { kind: 'disk' };
  const snapshot = plan.request.disk.sourceSnapshot;
  if (!snapshot) return { kind: 'none' };
  return { kind: 'snapshot', name: lastSegment(snapshot), createdAt: plan.source?.createdAt };
}

/** The body of the insert: the runbook's `gcloud compute disks create`, labelled, from a snapshot if asked. */
function diskInsert(target: DiskTarget): DiskInsert {
  const regional = target.replicaZones.length > 0;
  const scope = regional ? `regions/${target.region}` : `zones/${target.zone}`;
  return {
    resourcePath: diskResourcePath(target),
    regional,
    disk: {
      name: target.name,
      // int64 travels as a string in the REST API.
      sizeGb: String(target.sizeGb),
      type: `projects/${target.project}/${scope}/diskTypes/${target.type}`,
      labels: { ...target.labels },
      description: target.description,
      ...(regional
        ? { replicaZones: target.replicaZones.map((z) => `projects/${target.project}/zones/${z}`) }
        : {}),
      ...(target.sourceSnapshot
        ? { sourceSnapshot: snapshotPath(target.sourceSnapshot, target.project) }
        : {}),
    },
  };
}

/** An existing disk the action must not use as it is: failed, too small, or held by another cluster's nodes. */
function refuseDisk(
  target: DiskTarget,
  observed: ObservedDisk,
  clusterNodes: Set<string>,
): Refusal | undefined {
  const resourcePath = diskResourcePath(target);
  const where = target.replicaZones.length ? `--region ${target.region}` : `--zone ${target.zone}`;
  if (['FAILED', 'DELETING', 'UNAVAILABLE'].includes(observed.status)) {
    return refuse(
      `Disk ${resourcePath} is ${observed.status}`,
      `Inspect it with: gcloud compute disks describe ${target.name} ${where} --project ${target.project}. The action never deletes or replaces a disk: restore it or choose another disk-name`,
    );
  }
  if (observed.sizeGb < target.sizeGb) {
    return refuse(
      `Disk ${resourcePath} is ${observed.sizeGb} GB, smaller than disk-size ${target.sizeGb} GB`,
      `The action never resizes a disk (it cannot be undone). Set disk-size to ${observed.sizeGb}G to use it as it is, or grow it yourself: gcloud compute disks resize ${target.name} ${where} --size ${target.sizeGb}GB --project ${target.project}`,
    );
  }
  const elsewhere = observed.users.filter((u) => !clusterNodes.has(instanceName(u)));
  if (!elsewhere.length) return undefined;
  const names = elsewhere.map(instanceName).join(', ');
  return refuse(
    `Disk ${resourcePath} is attached to ${names}, which ${elsewhere.length === 1 ? 'is not a node' : 'are not nodes'} of the target cluster`,
    `The old cluster's nodes still hold the disk, and a ReadWriteOnce disk cannot be attached twice. Delete the old cluster (or its API server pod), or detach it: gcloud compute instances detach-disk ${instanceName(elsewhere[0]!)} --disk ${target.name} --zone ${observed.zones[0] ?? target.zone} --project ${target.project}`,
  );
}

/** The state already lives on a disk of this name in the other scope: a new disk would start the server empty. */
function shadowRefusal(target: DiskTarget, other: ObservedDisk): Refusal {
  const want = target.replicaZones.length ? 'regional' : 'zonal';
  return refuse(
    `The inputs ask for a ${want} disk ${target.name}, but the state is on the ${other.regional ? 'regional' : 'zonal'} disk ${other.resourcePath}`,
    `Creating a new ${want} disk would start the server empty. Keep replica-zones as it was, or move the state: ` +
      'snapshot the disk and pass the snapshot as disk-source-snapshot with a new disk-name',
  );
}

/** A snapshot name becomes the partial URL the API expects; full URLs and paths pass through. */
function snapshotPath(snapshot: string, project: string): string {
  return snapshot.includes('/') ? snapshot : `projects/${project}/global/snapshots/${snapshot}`;
}

/** One line per plan, for the log and the plan-only mode. */
export function describeDiskPlan(plan: DiskPlan): string {
  switch (plan.action) {
    case 'use':
      return `use disk ${plan.disk.resourcePath} (${plan.disk.sizeGb} GB ${plan.disk.type}, ${plan.disk.status})`;
    case 'create': {
      const d = plan.request.disk;
      const taken = plan.source
        ? `, taken ${utcMinute(plan.source.createdAt)} in ${takenIn(plan.source)}`
        : '';
      const from = d.sourceSnapshot ? ` from snapshot ${d.sourceSnapshot}${taken}` : '';
      return `create disk ${plan.request.resourcePath} (${d.sizeGb} GB ${lastSegment(d.type)}${from})`;
    }
    case 'refuse':
      return `refuse: ${plan.reason}`;
  }
}

export interface ApplyOptions extends DiskPlanOptions {
  /** First pause between reads while the disk is not READY yet. */
  pollIntervalMs?: number;
  /** A disk someone else created between the read and the insert is refused (TakenError) instead of used. */
  refuseTaken?: boolean;
}

/** Carries out the plan: insert (safe to retry) and wait, or just wait for an existing disk to be READY. */
export async function applyDiskPlan(
  clients: ComputeClients,
  target: DiskTarget,
  plan: DiskPlan,
  deadline: Deadline,
  options: ApplyOptions = {},
): Promise<DiskFacts> {
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action === 'use')
    return factsOf(await readyDisk(clients, target, plan.disk, deadline, options), false);

  const { request } = plan;
  const { project, region, zone } = target;
  // One requestId for every attempt: the API answers a repeated insert with the first operation, never a second disk.
  const requestId = randomUUID();
  const what = `creating disk ${request.resourcePath}`;
  let operation: Operation;
  try {
    operation = await startOperation(what, deadline, (options) => {
      const diskResource = request.disk;
      return request.regional
        ? clients.regionDisks.insert({ project, region, requestId, diskResource }, options)
        : clients.disks.insert({ project, zone, requestId, diskResource }, options);
    });
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
    // Our own retries share one requestId and never see 409: another run or a person created it meanwhile.
    if (options.refuseTaken) {
      throw new TakenError(`Disk ${request.resourcePath}`, 'Nothing was changed on it; re-run the job');
    }
    core.info(`Disk ${request.resourcePath} was created meanwhile by someone else; checking it instead`);
    return factsOf(await recheckExisting(clients, target, deadline, options), false);
  }
  const scope: OperationScope = request.regional ? { region } : { zone };
  const created = waitForOperation(clients, operation, scope, deadline, what, options.pollIntervalMs).then(
    () => waitUntilReady(clients, target, deadline, options),
  );
  return factsOf(await withProgress(`GCE to create disk ${request.resourcePath}`, deadline, created), true);
}

async function recheckExisting(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
  options: ApplyOptions,
): Promise<ObservedDisk> {
  const again = planDisk(target, await observeDisk(clients, target, deadline), options);
  if (isRefusal(again)) throw refusalError(again);
  if (again.action !== 'use') {
    throw new ActionError(`Disk ${diskResourcePath(target)} was reported as existing, then not found`, {
      hint: 'Re-run the job',
    });
  }
  return readyDisk(clients, target, again.disk, deadline, options);
}

function readyDisk(
  clients: ComputeClients,
  target: DiskTarget,
  disk: ObservedDisk,
  deadline: Deadline,
  options: ApplyOptions,
): Promise<ObservedDisk> {
  return disk.status === 'READY' ? Promise.resolve(disk) : waitUntilReady(clients, target, deadline, options);
}

/** A new disk reads CREATING for a while after its operation is DONE; the volume needs it READY. */
async function waitUntilReady(
  clients: ComputeClients,
  target: DiskTarget,
  deadline: Deadline,
  options: ApplyOptions,
): Promise<ObservedDisk> {
  const resourcePath = diskResourcePath(target);
  // From a short pause up: the disk is most often READY by the next read, and the volume waits for it.
  let reads = 0;
  for (;;) {
    deadline.check(`waiting for disk ${resourcePath} to be READY`);
    const disk = await getDisk(clients, target, deadline);
    if (!disk)
      throw new ActionError(`Disk ${resourcePath} disappeared while the action waited for it`, {
        hint: 'Re-run the job',
      });
    const observed = observedFrom(disk, resourcePath);
    if (observed.status === 'READY') return observed;
    if (['FAILED', 'DELETING'].includes(observed.status)) {
      throw new ActionError(`Disk ${resourcePath} is ${observed.status}`, {
        hint: `Inspect it with gcloud compute disks describe ${target.name}; the action never deletes a disk`,
      });
    }
    await sleep(Math.min(backoffMs(++reads, options.pollIntervalMs ?? 25, 5_000), deadline.remainingMs()));
  }
}

function factsOf(disk: ObservedDisk, created: boolean): DiskFacts {
  return {
    resourcePath: disk.resourcePath,
    name: disk.name,
    sizeGb: disk.sizeGb,
    zones: disk.zones,
    regional: disk.regional,
    created,
    type: disk.type,
    labels: disk.labels,
    labelFingerprint: disk.labelFingerprint,
  };
}
