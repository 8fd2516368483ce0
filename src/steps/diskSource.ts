import type { protos } from '@google-cloud/compute';
import { computeGet, httpStatus, type ComputeClients } from '../clients/compute.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';

// What an absent disk can be restored from: the snapshots of a disk of its name in its region (for
// `disk-source-snapshot: latest`, and so that a lost disk is never silently replaced by an empty one) or the
// named one. Read only when the disk is absent; the choice itself is pure and made by the disk's plan.

type Snapshot = protos.google.cloud.compute.v1.ISnapshot;
type ListRequest = protos.google.cloud.compute.v1.IListSnapshotsRequest;

/** A snapshot, reduced to what the restore looks at. */
export interface SnapshotFacts {
  name: string;
  /** projects/P/global/snapshots/S */
  resourcePath: string;
  /** The disk it was taken of, as a resource path (projects/P/zones/Z/disks/D); '' when GCE gives none. */
  sourceDisk: string;
  /** CREATING, UPLOADING, READY, FAILED, DELETING: only a READY snapshot can become a disk. */
  status: string;
  /** RFC 3339, as GCE writes it: when the state on it was captured. */
  createdAt: string;
  diskSizeGb: number;
  /** Its labels: the server version recorded on it (see versionRecord.ts) among them. */
  labels?: Record<string, string>;
}

/**
 * What observe found to restore an absent disk from: the snapshots GCE listed for a disk of this name in the
 * region (for `latest`, and to refuse replacing a lost disk by an empty one), or the named one.
 */
export type SnapshotObservation =
  { kind: 'listed'; snapshots: SnapshotFacts[] } | { kind: 'named'; snapshot: SnapshotFacts | undefined };

/**
 * A disk as its snapshots know it: a name in a project and region. Its state follows it from zone to zone (a
 * recovery into another zone makes a new zonal path), so a snapshot of a zonal disk of this name in any zone of
 * the region, or of the regional disk of this name, is a snapshot of it.
 */
export interface DiskIdentity {
  project: string;
  name: string;
  region: string;
}

/** Where the disk's state came from in this run: the `restored-from` output. */
export type RestoredFrom =
  { kind: 'disk' } | { kind: 'none' } | { kind: 'snapshot'; name: string; createdAt: string | undefined };

export function restoredFromOutput(from: RestoredFrom): string {
  return from.kind === 'snapshot' ? `snapshot:${from.name}` : from.kind;
}

const relative = (url: string): string => url.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');

export function snapshotFacts(snapshot: Snapshot, project: string): SnapshotFacts {
  const name = snapshot.name ?? '';
  return {
    name,
    resourcePath: `projects/${project}/global/snapshots/${name}`,
    sourceDisk: snapshot.sourceDisk ? relative(snapshot.sourceDisk) : '',
    status: snapshot.status ?? 'UNKNOWN',
    createdAt: snapshot.creationTimestamp ?? '',
    diskSizeGb: Number(snapshot.diskSizeGb ?? 0),
    labels: { ...(snapshot.labels ?? {}) },
  };
}

/**
 * GCE's regular-expression filter form (`field eq RE2`, the literal matching the whole field), so the list holds
 * only snapshots of a disk of this name in the region; GCE names and project ids hold no RE2 meta-characters but
 * the project's dots, written as `[.]` rather than an escape inside the quoted literal.
 */
export function snapshotFilter(disk: DiskIdentity): string {
  const project = disk.project.replace(/\./g, '[.]');
  const region = disk.region;
  return `sourceDisk eq ".*/projects/${project}/(zones/${region}-[a-z0-9]+|regions/${region})/disks/${disk.name}"`;
}

/**
 * Every snapshot GCE lists of a disk of this name in the region, page by page (each page retried on its own).
 * The filter only narrows the list; the plan checks each snapshot's source exactly.
 */
export async function observeSnapshotsOf(
  clients: ComputeClients,
  disk: DiskIdentity,
  deadline: Deadline,
): Promise<SnapshotFacts[]> {
  const project = disk.project;
  const what = `the snapshots of disk ${disk.name} in region ${disk.region}`;
  const found: SnapshotFacts[] = [];
  let request: ListRequest | null = { project, filter: snapshotFilter(disk) };
  for (let page = 1; request; page++) {
    deadline.check(`listing ${what}`);
    const asked: ListRequest = request;
    const answer = await computeGet(`listing ${what} (page ${page})`, deadline, async (o) => {
      const [items, next] = await clients.snapshots.list(asked, { ...o, autoPaginate: false });
      return [{ items, next }];
    });
    found.push(...(answer?.items ?? []).map((s) => snapshotFacts(s, project)));
    request = answer?.next ?? null;
  }
  return found;
}

/** The snapshot `disk-source-snapshot` names; undefined when it does not exist. */
export async function observeNamedSnapshot(
  clients: ComputeClients,
  snapshot: string,
  deadline: Deadline,
): Promise<SnapshotFacts | undefined> {
  const path = relative(snapshot);
  const project = /^projects\/([^/]+)\//.exec(path)?.[1] ?? clients.project;
  const name = path.split('/').pop()!;
  const found = await computeGet(`reading snapshot ${name}`, deadline, (o) =>
    clients.snapshots.get({ project, snapshot: name }, o),
  );
  return found && snapshotFacts(found, project);
}

const DISK_PATH = /^projects\/([^/]+)\/(?:zones\/([^/]+)|regions\/([^/]+))\/disks\/([^/]+)$/;

/** The region of a zone: us-east5-b -> us-east5. */
export function regionOf(zone: string): string {
  return zone.replace(/-[^-]+$/, '');
}

/** Pure: whether a snapshot was taken of this disk: its name, in its project, in a zone of its region or the region. */
export function isSnapshotOf(snapshot: SnapshotFacts, disk: DiskIdentity): boolean {
  const m = DISK_PATH.exec(snapshot.sourceDisk);
  if (!m) return false;
  const [, project, zone, region, name] = m;
  return project === disk.project && name === disk.name && (zone ? regionOf(zone) : region) === disk.region;
}

/** Where the disk a snapshot was taken of lived: "zone us-east5-b", "region us-east5". */
export function takenIn(snapshot: SnapshotFacts): string {
  const m = DISK_PATH.exec(snapshot.sourceDisk);
  if (!m) return snapshot.sourceDisk ? `disk ${snapshot.sourceDisk}` : 'an unknown disk';
  return m[2] ? `zone ${m[2]}` : `region ${m[3]}`;
}

/** The disk a snapshot was taken of, in words: "disk D in zone us-east5-b". */
export function originOf(snapshot: SnapshotFacts): string {
  const m = DISK_PATH.exec(snapshot.sourceDisk);
  return m ? `disk ${m[4]} in ${takenIn(snapshot)}` : takenIn(snapshot);
}

const time = (s: SnapshotFacts): number => Date.parse(s.createdAt) || 0;
const newestFirst = (a: SnapshotFacts, b: SnapshotFacts): number =>
  time(b) - time(a) || b.name.localeCompare(a.name);

/** Pure: the snapshots of this disk, newest first; snapshots of other disks never count. */
export function snapshotsOf(snapshots: SnapshotFacts[], disk: DiskIdentity): SnapshotFacts[] {
  return snapshots.filter((s) => isSnapshotOf(s, disk)).sort(newestFirst);
}

/** Pure: the newest READY snapshot of this disk (in any zone of its region); others (not READY) never count. */
export function newestReadySnapshot(
  snapshots: SnapshotFacts[],
  disk: DiskIdentity,
): SnapshotFacts | undefined {
  return snapshotsOf(snapshots, disk).find((s) => s.status === 'READY');
}

/** Pure: the zonal or regional disks (paths) the READY snapshots of this disk were taken of. */
export function readySources(snapshots: SnapshotFacts[], disk: DiskIdentity): string[] {
  const ready = snapshotsOf(snapshots, disk).filter((s) => s.status === 'READY');
  return [...new Set(ready.map((s) => s.sourceDisk))];
}

/** The snapshots a refusal or warning says it saw: at most `max`, newest first, with status and origin ('' for none). */
export function describeCandidates(snapshots: SnapshotFacts[], disk: DiskIdentity, max = 3): string {
  const mine = snapshotsOf(snapshots, disk);
  if (!mine.length) return '';
  const listed = mine.slice(0, max).map((s) => `${s.name} (${s.status}, ${takenIn(s)})`);
  const more = mine.length > max ? ` and ${mine.length - max} more` : '';
  return `snapshots seen: ${listed.join(', ')}${more}`;
}

const WITHOUT_LIST =
  'Or choose without the list: disk-source-snapshot: none creates an empty disk on purpose, a snapshot name restores that one';

/**
 * Read before an absent disk is created: the named snapshot, or the snapshots of a disk of this name in the
 * region (unless the inputs ask for an empty disk on purpose, which needs none).
 */
export async function observeDiskSources(
  clients: ComputeClients,
  ask: { disk: DiskIdentity; named: string | undefined; startEmpty: boolean },
  deadline: Deadline,
): Promise<SnapshotObservation | undefined> {
  if (ask.named) return { kind: 'named', snapshot: await observeNamedSnapshot(clients, ask.named, deadline) };
  if (ask.startEmpty) return undefined;
  try {
    return { kind: 'listed', snapshots: await observeSnapshotsOf(clients, ask.disk, deadline) };
  } catch (error) {
    if (!(error instanceof ActionError) || httpStatus(error) !== 403) throw error;
    // Without the list the action cannot tell a first deploy from a lost disk: say how to choose on purpose.
    throw new ActionError(error.message, {
      cause: error.cause,
      hint: [error.hint, WITHOUT_LIST].filter(Boolean).join('. '),
    });
  }
}
