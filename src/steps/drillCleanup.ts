import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import {
  computeGet,
  httpStatus,
  startOperation,
  waitForOperation,
  type ComputeClients,
} from '../clients/compute.js';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import type { Budget, Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { isRefusal, refuse, refusalError, type Refusal } from '../lib/plan.js';
import { parseResourcePath, scopeOf, type ComputeResource } from './snapshot.js';

// A drill removes what it made, and only that: each deletion reads the resource first and refuses unless every
// label of this drill run is on it (and, for a disk, nothing has it attached).

/** What a deletion looks at: the resource's labels and who has it attached; undefined when it is gone. */
export interface ObservedDrillResource {
  labels: Record<string, string>;
  users: string[];
}

export type DrillDeletePlan = { action: 'delete' | 'gone' } | Refusal;

async function observeDrillResource(
  clients: ComputeClients,
  resource: ComputeResource,
  resourcePath: string,
  deadline: Deadline,
): Promise<ObservedDrillResource | undefined> {
  const { project, name } = resource;
  const found = await computeGet(`reading ${resourcePath}`, deadline, (opts) => {
    if (resource.kind === 'snapshot') return clients.snapshots.get({ project, snapshot: name }, opts);
    return 'zone' in resource
      ? clients.disks.get({ project, zone: resource.zone, disk: name }, opts)
      : clients.regionDisks.get({ project, region: resource.region, disk: name }, opts);
  });
  if (!found) return undefined;
  const users = 'users' in found && Array.isArray(found.users) ? found.users : [];
  return { labels: { ...(found.labels ?? {}) }, users };
}

/** Pure: delete only what carries every required label and is attached to nothing. */
function planDrillDelete(
  resourcePath: string,
  observed: ObservedDrillResource | undefined,
  requiredLabels: Record<string, string>,
): DrillDeletePlan {
  if (!Object.keys(requiredLabels).length) {
    return refuse(
      `Refusing to delete ${resourcePath}: no drill labels to check it against`,
      'This is a bug in the drill: it must name the labels it put on what it created',
    );
  }
  if (!observed) return { action: 'gone' };
  const labels = observed.labels;
  const mismatched = Object.entries(requiredLabels).filter(([key, value]) => labels[key] !== value);
  if (mismatched.length) {
    const found = mismatched.map(
      ([key, value]) => `${key}=${value} expected, found ${labels[key] ?? 'none'}`,
    );
    return refuse(
      `Refusing to delete ${resourcePath}: its labels do not show it was made by this drill (${found.join('; ')})`,
      'Only resources labelled with this drill run are deleted; remove it yourself if it really is a leftover',
    );
  }
  if (observed.users.length) {
    return refuse(
      `Refusing to delete ${resourcePath}: it is attached to ${observed.users.join(', ')}`,
      'Tear down what uses the drill disk first (the drill release and its volume), then delete it',
    );
  }
  return { action: 'delete' };
}

/** Deletes a disk or snapshot the drill made, after observing and planning it; never anything else. */
export async function deleteDrillResource(
  clients: ComputeClients,
  kind: 'disk' | 'snapshot',
  resourcePath: string,
  requiredLabels: Record<string, string>,
  deadline: Deadline,
  options: { pollIntervalMs?: number } = {},
): Promise<void> {
  const resource = parseResourcePath(resourcePath, kind);
  const observed = Object.keys(requiredLabels).length
    ? await observeDrillResource(clients, resource, resourcePath, deadline)
    : undefined;
  const plan = planDrillDelete(resourcePath, observed, requiredLabels);
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action === 'gone') {
    core.info(`${resourcePath} is already gone`);
    return;
  }
  const what = `deleting ${resourcePath}`;
  const requestId = randomUUID();
  const { project, name } = resource;
  const operation = await startOperation(what, deadline, (opts) => {
    if (resource.kind === 'snapshot')
      return clients.snapshots.delete({ project, snapshot: name, requestId }, opts);
    return 'zone' in resource
      ? clients.disks.delete({ project, zone: resource.zone, disk: name, requestId }, opts)
      : clients.regionDisks.delete({ project, region: resource.region, disk: name, requestId }, opts);
  }).catch((error: unknown) => {
    // Gone between the read and the delete: what the deletion wanted.
    if (httpStatus(error) === 404) return undefined;
    throw error;
  });
  if (!operation) return;
  await waitForOperation(clients, operation, scopeOf(resource), deadline, what, options.pollIntervalMs);
  core.info(`Deleted drill ${kind} ${resourcePath}`);
}

/** A Kubernetes object a drill made, by where it lives. */
export interface DrillObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Pure: why the object's labels do not show it was made by this drill run, or undefined when they do. */
export function drillLabelsMismatch(found: KubeObject, required: Record<string, string>): string | undefined {
  if (!Object.keys(required).length) return 'no drill labels to check it against';
  const labels = found.metadata?.labels ?? {};
  const wrong = Object.entries(required).filter(([key, value]) => labels[key] !== value);
  return wrong.length
    ? `its labels do not show it was made by this drill (${wrong.map(([k, v]) => `${k}=${v} expected, found ${labels[k] ?? 'none'}`).join('; ')})`
    : undefined;
}

/**
 * Deletes a Kubernetes object the drill made: read first, refused unless `notOurs` finds nothing against it, then
 * deleted by its uid only (never an object of the same name made meanwhile), and with `wait` watched until gone.
 * With `leaveOthers`, an object that is not the drill's is left as it is (a best-effort sweep) instead.
 * Every call takes `budget`: a cleanup never runs on the run's spent deadline.
 */
export async function deleteDrillObject(
  kube: KubernetesClient,
  object: DrillObject,
  notOurs: (found: KubeObject) => string | undefined,
  budget: Budget,
  options: { wait?: boolean; leaveOthers?: boolean } = {},
): Promise<'deleted' | 'gone' | 'left'> {
  const { apiVersion, kind, name } = object;
  const scope = { budget, ...(object.namespace ? { namespace: object.namespace } : {}) };
  const found = await kube.get(apiVersion, kind, name, scope);
  if (!found) return 'gone';
  const why = notOurs(found);
  if (why && options.leaveOthers) {
    core.info(`Left ${kind} ${name}: ${why}`);
    return 'left';
  }
  if (why) {
    throw new ActionError(`Refusing to delete ${kind} ${name}: ${why}`, {
      hint: 'Only what this drill run made is deleted; remove it yourself if it really is a leftover',
    });
  }
  const preconditions = found.metadata?.uid ? { uid: found.metadata.uid } : undefined;
  const left = await kube.delete(apiVersion, kind, name, {
    ...scope,
    ...(preconditions ? { preconditions } : {}),
  });
  if (options.wait && left !== undefined)
    await kube.waitFor(apiVersion, kind, name, (o) => o === undefined, {
      ...scope,
      what: `${kind} ${name} to be gone`,
    });
  return 'deleted';
}
