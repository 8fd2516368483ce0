import type { protos } from '@google-cloud/compute';
import { computeGet, type ComputeClients } from '../clients/compute.js';
import type { Deadline } from '../lib/deadline.js';

// What an absent disk can be restored from: its snapshots (for `disk-source-snapshot: latest`) or the named
// one. Read only when the disk is absent; the choice itself is pure and made by the disk's plan.

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
}

/** What observe found to restore an absent disk from. */
export type SnapshotObservation =
  { kind: 'latest'; snapshots: SnapshotFacts[] } | { kind: 'named'; snapshot: SnapshotFacts | undefined };

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
  };
}

/**
 * Every snapshot GCE lists for this disk, page by page (each page retried on its own). The filter only narrows
 * the list: a substring match, so the host in GCE's URLs does not matter; the plan checks the path exactly.
 */
export async function observeSnapshotsOf(
  clients: ComputeClients,
  diskPath: string,
  deadline: Deadline,
): Promise<SnapshotFacts[]> {
  const project = clients.project;
  const found: SnapshotFacts[] = [];
  let request: ListRequest | null = { project, filter: `sourceDisk : "${diskPath}"` };
  for (let page = 1; request; page++) {
    deadline.check(`listing the snapshots of ${diskPath}`);
    const asked: ListRequest = request;
    const answer = await computeGet(
      `listing snapshots of ${diskPath} (page ${page})`,
      deadline,
      async (o) => {
        const [items, next] = await clients.snapshots.list(asked, { ...o, autoPaginate: false });
        return [{ items, next }];
      },
    );
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

/** Pure: the newest READY snapshot taken of exactly this disk; the others (other disks, not READY) never count. */
export function newestReadySnapshot(snapshots: SnapshotFacts[], diskPath: string): SnapshotFacts | undefined {
  const time = (s: SnapshotFacts) => Date.parse(s.createdAt) || 0;
  return snapshots
    .filter((s) => s.status === 'READY' && s.sourceDisk === diskPath)
    .sort((a, b) => time(b) - time(a) || b.name.localeCompare(a.name))[0];
}

/** Read before an absent disk is created: its snapshots for `latest`, the named snapshot, or nothing. */
export async function observeDiskSources(
  clients: ComputeClients,
  ask: { diskPath: string; latest: boolean; named: string | undefined },
  deadline: Deadline,
): Promise<SnapshotObservation | undefined> {
  if (ask.latest)
    return { kind: 'latest', snapshots: await observeSnapshotsOf(clients, ask.diskPath, deadline) };
  if (ask.named) return { kind: 'named', snapshot: await observeNamedSnapshot(clients, ask.named, deadline) };
  return undefined;
}
