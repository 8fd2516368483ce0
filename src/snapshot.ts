import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import {
  callOptions,
  computeCall,
  computeFailure,
  httpStatus,
  isTransientComputeError,
  waitForOperation,
  type ComputeClients,
  type Operation,
  type OperationScope,
} from './compute.js';
import { Deadline, sleep } from './deadline.js';
import type { DiskFacts } from './disk.js';
import { ActionError } from './errors.js';
import { withRetry } from './retry.js';

/** A resource path the drill may touch, split into its parts. */
type DrillResource =
  | { kind: 'disk'; project: string; zone: string; name: string }
  | { kind: 'disk'; project: string; region: string; name: string }
  | { kind: 'snapshot'; project: string; name: string };

/** The drill's first step: a snapshot of the state disk, READY before anything else happens. */
export async function snapshotDisk(
  clients: ComputeClients,
  disk: DiskFacts,
  snapshotName: string,
  labels: Record<string, string>,
  deadline: Deadline,
  options: { pollIntervalMs?: number } = {},
): Promise<{ resourcePath: string; selfLink: string }> {
  const source = parseResourcePath(disk.resourcePath, 'disk');
  if (source.kind !== 'disk') throw new ActionError(`${disk.resourcePath} is not a disk`);
  const project = source.project;
  const snapshotResource = {
    name: snapshotName,
    labels,
    description: `Drill snapshot of ${disk.resourcePath} (skyha-action)`,
  };
  // One requestId for every attempt: a retried createSnapshot never makes a second snapshot.
  const requestId = randomUUID();
  const what = `creating snapshot ${snapshotName} of ${disk.resourcePath}`;
  let operation: Operation;
  try {
    operation = await withRetry(
      async () => {
        const opts = callOptions(deadline);
        const [lro] =
          'zone' in source
            ? await clients.disks.createSnapshot(
                { project, zone: source.zone, disk: source.name, requestId, snapshotResource },
                opts,
              )
            : await clients.regionDisks.createSnapshot(
                { project, region: source.region, disk: source.name, requestId, snapshotResource },
                opts,
              );
        return (lro as unknown as { latestResponse: Operation }).latestResponse;
      },
      { what: `Compute API: ${what}`, isTransient: isTransientComputeError, deadline },
    );
  } catch (error) {
    throw computeFailure(error, what);
  }
  const scope: OperationScope = 'zone' in source ? { zone: source.zone } : { region: source.region };
  await waitForOperation(clients, operation, scope, deadline, what, options.pollIntervalMs);

  const resourcePath = `projects/${project}/global/snapshots/${snapshotName}`;
  let delay = options.pollIntervalMs ?? 500;
  for (;;) {
    deadline.check(`waiting for snapshot ${resourcePath} to be READY`);
    const [snapshot] = await computeCall(`reading snapshot ${resourcePath}`, deadline, () =>
      clients.snapshots.get({ project, snapshot: snapshotName }, callOptions(deadline)),
    );
    if (snapshot.status === 'READY') return { resourcePath, selfLink: snapshot.selfLink ?? resourcePath };
    if (snapshot.status === 'FAILED' || snapshot.status === 'DELETING') {
      throw new ActionError(`Snapshot ${resourcePath} is ${snapshot.status}`, {
        hint: 'The disk is untouched; re-run the drill',
      });
    }
    await sleep(Math.min(delay, deadline.remainingMs()));
    delay = Math.min(delay * 2, 5_000);
  }
}

/**
 * Deletes a disk or snapshot the drill made, and nothing else: it reads the resource first and refuses
 * unless every required label matches (only resources labelled with this drill run are ever deleted).
 */
export async function deleteDrillResource(
  clients: ComputeClients,
  kind: 'disk' | 'snapshot',
  resourcePath: string,
  requiredLabels: Record<string, string>,
  deadline: Deadline,
  options: { pollIntervalMs?: number } = {},
): Promise<void> {
  const resource = parseResourcePath(resourcePath, kind);
  if (!Object.keys(requiredLabels).length) {
    throw new ActionError(`Refusing to delete ${resourcePath}: no drill labels to check it against`, {
      hint: 'This is a bug in the drill: it must name the labels it put on what it created',
    });
  }
  let labels: Record<string, string>;
  let users: string[] = [];
  try {
    const opts = callOptions(deadline);
    const found = await withRetry(
      async () => {
        if (resource.kind === 'snapshot')
          return (
            await clients.snapshots.get({ project: resource.project, snapshot: resource.name }, opts)
          )[0];
        return 'zone' in resource
          ? (
              await clients.disks.get(
                { project: resource.project, zone: resource.zone, disk: resource.name },
                opts,
              )
            )[0]
          : (
              await clients.regionDisks.get(
                { project: resource.project, region: resource.region, disk: resource.name },
                opts,
              )
            )[0];
      },
      { what: `Compute API: reading ${resourcePath}`, isTransient: isTransientComputeError, deadline },
    );
    labels = { ...(found.labels ?? {}) };
    users = 'users' in found && Array.isArray(found.users) ? found.users : [];
  } catch (error) {
    if (httpStatus(error) === 404) {
      core.info(`${resourcePath} is already gone`);
      return;
    }
    throw computeFailure(error, `reading ${resourcePath}`);
  }

  const mismatched = Object.entries(requiredLabels).filter(([key, value]) => labels[key] !== value);
  if (mismatched.length) {
    throw new ActionError(
      `Refusing to delete ${resourcePath}: its labels do not show it was made by this drill (${mismatched
        .map(([key, value]) => `${key}=${value} expected, found ${labels[key] ?? 'none'}`)
        .join('; ')})`,
      {
        hint: 'Only resources labelled with this drill run are deleted; remove it yourself if it really is a leftover',
      },
    );
  }
  if (users.length) {
    throw new ActionError(`Refusing to delete ${resourcePath}: it is attached to ${users.join(', ')}`, {
      hint: 'Tear down what uses the drill disk first (the drill release and its volume), then delete it',
    });
  }

  const requestId = randomUUID();
  const what = `deleting ${resourcePath}`;
  let operation: Operation;
  try {
    operation = await withRetry(
      async () => {
        const opts = callOptions(deadline);
        if (resource.kind === 'snapshot') {
          const [lro] = await clients.snapshots.delete(
            { project: resource.project, snapshot: resource.name, requestId },
            opts,
          );
          return (lro as unknown as { latestResponse: Operation }).latestResponse;
        }
        const [lro] =
          'zone' in resource
            ? await clients.disks.delete(
                { project: resource.project, zone: resource.zone, disk: resource.name, requestId },
                opts,
              )
            : await clients.regionDisks.delete(
                { project: resource.project, region: resource.region, disk: resource.name, requestId },
                opts,
              );
        return (lro as unknown as { latestResponse: Operation }).latestResponse;
      },
      { what: `Compute API: ${what}`, isTransient: isTransientComputeError, deadline },
    );
  } catch (error) {
    if (httpStatus(error) === 404) return;
    throw computeFailure(error, what);
  }
  const scope: OperationScope =
    resource.kind === 'snapshot'
      ? { global: true }
      : 'zone' in resource
        ? { zone: resource.zone }
        : { region: resource.region };
  await waitForOperation(clients, operation, scope, deadline, what, options.pollIntervalMs);
  core.info(`Deleted drill ${kind} ${resourcePath}`);
}

function parseResourcePath(resourcePath: string, kind: 'disk' | 'snapshot'): DrillResource {
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
