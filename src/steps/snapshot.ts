import { randomUUID } from 'node:crypto';
import {
  computeGet,
  startOperation,
  waitForOperation,
  type ComputeClients,
  type OperationScope,
} from '../clients/compute.js';
import { Deadline, sleep } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import type { DiskFacts } from './disk.js';

/** A disk or snapshot resource path, split into its parts. */
export type ComputeResource =
  | { kind: 'disk'; project: string; zone: string; name: string }
  | { kind: 'disk'; project: string; region: string; name: string }
  | { kind: 'snapshot'; project: string; name: string };

/** A READY snapshot the drill took; createdAt (RFC 3339) is when its state was captured. */
export interface TakenSnapshot {
  resourcePath: string;
  selfLink: string;
  createdAt: string;
}

/**
 * A snapshot of the state disk, READY before anything else happens: the drill's first step, and the one taken
 * before the server's version changes (with its own description).
 */
export async function snapshotDisk(
  clients: ComputeClients,
  disk: Pick<DiskFacts, 'resourcePath'>,
  snapshotName: string,
  labels: Record<string, string>,
  deadline: Deadline,
  options: { pollIntervalMs?: number; description?: string } = {},
): Promise<TakenSnapshot> {
  const source = parseResourcePath(disk.resourcePath, 'disk');
  if (source.kind !== 'disk') throw new ActionError(`${disk.resourcePath} is not a disk`);
  const { project, name } = source;
  const snapshotResource = {
    name: snapshotName,
    labels,
    description: options.description ?? `Drill snapshot of ${disk.resourcePath} (skyha-action)`,
  };
  // One requestId for every attempt: a retried createSnapshot never makes a second snapshot.
  const requestId = randomUUID();
  const what = `creating snapshot ${snapshotName} of ${disk.resourcePath}`;
  const operation = await startOperation(what, deadline, (opts) =>
    'zone' in source
      ? clients.disks.createSnapshot(
          { project, zone: source.zone, disk: name, requestId, snapshotResource },
          opts,
        )
      : clients.regionDisks.createSnapshot(
          { project, region: source.region, disk: name, requestId, snapshotResource },
          opts,
        ),
  );
  await waitForOperation(clients, operation, scopeOf(source), deadline, what, options.pollIntervalMs);
  return waitForSnapshot(clients, project, snapshotName, deadline, options.pollIntervalMs ?? 500);
}

/** A snapshot reads UPLOADING for a while after its operation is DONE; a disk can only be made from a READY one. */
async function waitForSnapshot(
  clients: ComputeClients,
  project: string,
  snapshot: string,
  deadline: Deadline,
  pollMs: number,
): Promise<TakenSnapshot> {
  const resourcePath = `projects/${project}/global/snapshots/${snapshot}`;
  let delay = pollMs;
  for (;;) {
    deadline.check(`waiting for snapshot ${resourcePath} to be READY`);
    const found = await computeGet(`reading snapshot ${resourcePath}`, deadline, (opts) =>
      clients.snapshots.get({ project, snapshot }, opts),
    );
    if (found?.status === 'READY')
      return {
        resourcePath,
        selfLink: found.selfLink ?? resourcePath,
        createdAt: found.creationTimestamp ?? '',
      };
    if (!found || found.status === 'FAILED' || found.status === 'DELETING') {
      throw new ActionError(`Snapshot ${resourcePath} is ${found?.status ?? 'gone'}`, {
        hint: 'The disk is untouched; re-run the drill',
      });
    }
    await sleep(Math.min(delay, deadline.remainingMs()));
    delay = Math.min(delay * 2, 5_000);
  }
}

/** Where an operation on this resource lives, for the Operations client that waits on it. */
export function scopeOf(resource: ComputeResource): OperationScope {
  if (resource.kind === 'snapshot') return { global: true };
  return 'zone' in resource ? { zone: resource.zone } : { region: resource.region };
}

export function parseResourcePath(resourcePath: string, kind: 'disk' | 'snapshot'): ComputeResource {
  const path = resourcePath.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');
  const zonal = /^projects\/([^/]+)\/zones\/([^/]+)\/disks\/([^/]+)$/.exec(path);
  const regional = /^projects\/([^/]+)\/regions\/([^/]+)\/disks\/([^/]+)$/.exec(path);
  const snapshot = /^projects\/([^/]+)\/global\/snapshots\/([^/]+)$/.exec(path);
  if (kind === 'disk' && zonal) return { kind, project: zonal[1]!, zone: zonal[2]!, name: zonal[3]! };
  if (kind === 'disk' && regional)
    return { kind, project: regional[1]!, region: regional[2]!, name: regional[3]! };
  if (kind === 'snapshot' && snapshot) return { kind, project: snapshot[1]!, name: snapshot[2]! };
  throw new ActionError(`'${resourcePath}' is not a ${kind} resource path`, {
    hint:
      kind === 'disk'
        ? 'Expected projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D'
        : 'Expected projects/P/global/snapshots/S',
  });
}
