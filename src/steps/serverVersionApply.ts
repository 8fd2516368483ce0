import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  computeGet,
  httpStatus,
  startOperation,
  waitForOperation,
  type ComputeClients,
} from '../clients/compute.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { withProgress } from '../lib/progress.js';
import type { DiskFacts } from './disk.js';
import type { PreUpgradeSnapshot } from './serverVersion.js';
import { parseResourcePath, scopeOf, snapshotDisk, type TakenSnapshot } from './snapshot.js';
import { setScheduledSnapshotLabels } from './snapshotSchedule.js';

// Applying the server version's plan: the snapshot before a change (READY before the cluster is touched), and the
// record once the server answered healthy: the disk's labels, then the labels of the schedule's snapshots.

const LABEL_ATTEMPTS = 5;

/** Takes the planned snapshot and waits for it to be READY; the action never deletes it. */
export async function takePreUpgradeSnapshot(
  clients: ComputeClients,
  snapshot: PreUpgradeSnapshot,
  deadline: Deadline,
  options: { pollIntervalMs?: number } = {},
): Promise<TakenSnapshot> {
  const taking = snapshotDisk(
    clients,
    { resourcePath: snapshot.disk },
    snapshot.name,
    snapshot.labels,
    deadline,
    { ...options, description: snapshot.description },
  );
  return withProgress(`snapshot ${snapshot.name} of ${snapshot.disk} to be READY`, deadline, taking);
}

/** What the record wrote: nothing when the labels already said it (a converged rerun). */
export interface RecordWrites {
  disk: boolean;
  schedule: boolean;
}

/**
 * Records the version on the disk (its other labels kept; setLabels with the fingerprint last read, read again
 * and retried when someone changed the labels meanwhile), then on the schedule's snapshots when they lack it.
 */
export async function recordServerVersion(
  clients: ComputeClients,
  disk: Pick<DiskFacts, 'resourcePath' | 'labels' | 'labelFingerprint'>,
  record: Record<string, string>,
  schedule: { policyPath: string; labels: Record<string, string> } | undefined,
  deadline: Deadline,
  options: { pollIntervalMs?: number } = {},
): Promise<RecordWrites> {
  const wrote = await labelDisk(clients, disk, record, deadline, options);
  const scheduled = schedule && { ...schedule.labels, ...record };
  const relabel = schedule && !isDeepStrictEqual(scheduled, schedule.labels);
  if (relabel) await setScheduledSnapshotLabels(clients, schedule.policyPath, scheduled!, deadline, options);
  return { disk: wrote, schedule: relabel === true };
}

interface Labels {
  labels: Record<string, string>;
  fingerprint: string;
}

async function labelDisk(
  clients: ComputeClients,
  disk: Pick<DiskFacts, 'resourcePath' | 'labels' | 'labelFingerprint'>,
  record: Record<string, string>,
  deadline: Deadline,
  options: { pollIntervalMs?: number },
): Promise<boolean> {
  let current: Labels =
    disk.labels && disk.labelFingerprint !== undefined
      ? { labels: disk.labels, fingerprint: disk.labelFingerprint }
      : await readLabels(clients, disk.resourcePath, deadline);
  for (let attempt = 1; ; attempt++) {
    const wanted = { ...current.labels, ...record };
    if (isDeepStrictEqual(wanted, current.labels)) return false;
    try {
      await setDiskLabels(clients, disk.resourcePath, wanted, current.fingerprint, deadline, options);
      return true;
    } catch (error) {
      // 412 conditionNotMet: the labels changed since they were read; read them again and keep what is there.
      if (httpStatus(error) !== 412 || attempt >= LABEL_ATTEMPTS) throw error;
      current = await readLabels(clients, disk.resourcePath, deadline);
    }
  }
}

async function readLabels(clients: ComputeClients, diskPath: string, deadline: Deadline): Promise<Labels> {
  const disk = parseResourcePath(diskPath, 'disk');
  if (disk.kind !== 'disk') throw new ActionError(`${diskPath} is not a disk`);
  const { project, name } = disk;
  const found = await computeGet(`reading disk ${diskPath}`, deadline, (o) =>
    'zone' in disk
      ? clients.disks.get({ project, zone: disk.zone, disk: name }, o)
      : clients.regionDisks.get({ project, region: disk.region, disk: name }, o),
  );
  if (!found)
    throw new ActionError(`Disk ${diskPath} disappeared before the server version could be recorded on it`, {
      hint: 'The server runs; re-run the job to record its version with the state',
    });
  return { labels: { ...(found.labels ?? {}) }, fingerprint: found.labelFingerprint ?? '' };
}

async function setDiskLabels(
  clients: ComputeClients,
  diskPath: string,
  labels: Record<string, string>,
  labelFingerprint: string,
  deadline: Deadline,
  options: { pollIntervalMs?: number },
): Promise<void> {
  const disk = parseResourcePath(diskPath, 'disk');
  if (disk.kind !== 'disk') throw new ActionError(`${diskPath} is not a disk`);
  const { project, name: resource } = disk;
  // One requestId for every attempt of this body: a retried call is answered with the first operation.
  const requestId = randomUUID();
  const body = { labels, labelFingerprint };
  const what = `recording the server version on disk ${diskPath}`;
  const operation = await startOperation(what, deadline, (o) =>
    'zone' in disk
      ? clients.disks.setLabels(
          { project, zone: disk.zone, resource, requestId, zoneSetLabelsRequestResource: body },
          o,
        )
      : clients.regionDisks.setLabels(
          { project, region: disk.region, resource, requestId, regionSetLabelsRequestResource: body },
          o,
        ),
  );
  await waitForOperation(clients, operation, scopeOf(disk), deadline, what, options.pollIntervalMs);
}
