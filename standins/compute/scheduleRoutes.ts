import { ApiError, alreadyExists, invalid, notFound } from './errors.js';
import { listPage, type ListQuery } from './listing.js';
import { patchPolicy } from './policyPatch.js';
import {
  RESOURCE_POLICY_FIELDS,
  policiesAfterAdd,
  policiesAfterRemove,
  snapshotSchedulePolicy,
} from './policies.js';
import {
  GCE_NAME,
  newId,
  timestamp,
  type DiskJson,
  type OperationJson,
  type OperationState,
  type Pending,
  type ResourcePolicyJson,
  type SnapshotJson,
} from './resources.js';

type Json = Record<string, unknown>;

export type Handler = (
  m: RegExpExecArray,
  body: Json,
  method: string,
  urlPath: string,
  query: Record<string, string>,
) => unknown;
export type Route = [method: string, pattern: RegExp, handler: Handler];

/** What the snapshot-schedule routes share with the rest of the stand-in. */
export interface ComputeState {
  disks: Map<string, DiskJson>;
  snapshots: Map<string, SnapshotJson>;
  policies: Map<string, ResourcePolicyJson>;
  pending: Map<string, Pending>;
  link(resourcePath: string): string;
  startOperation(
    scope: string,
    type: string,
    target: string,
    method: string,
    urlPath: string,
    onDone: () => void,
  ): OperationState;
  readResource<T extends { status: string }>(key: string, resource: T, ready: string, between?: string): T;
  /** The same requestId answers with the first operation and does nothing more. */
  once(query: Record<string, string>, start: () => OperationState): OperationJson;
}

/** The Snapshot fields a list filter may name (compute/v1 Snapshot). */
export const SNAPSHOT_FIELDS = [
  'architecture',
  'autoCreated',
  'chainName',
  'creationSizeBytes',
  'creationTimestamp',
  'description',
  'diskSizeGb',
  'downloadBytes',
  'id',
  'kind',
  'labelFingerprint',
  'labels',
  'licenses',
  'name',
  'region',
  'selfLink',
  'snapshotType',
  'sourceDisk',
  'sourceDiskId',
  'sourceSnapshotSchedulePolicy',
  'sourceSnapshotSchedulePolicyId',
  'status',
  'storageBytes',
  'storageBytesStatus',
  'storageLocations',
] as const;

/** A ResourcePolicy from an insert body (or a seed); throws the 400 GCE answers for an invalid one. */
export function newResourcePolicy(
  link: (resourcePath: string) => string,
  projectId: string,
  region: string,
  body: Json,
): ResourcePolicyJson {
  const name = typeof body.name === 'string' ? body.name : '';
  if (!GCE_NAME.test(name))
    throw invalid(
      `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
    );
  return {
    kind: 'compute#resourcePolicy',
    id: newId(),
    creationTimestamp: timestamp(),
    selfLink: link(`projects/${projectId}/regions/${region}/resourcePolicies/${name}`),
    region: link(`projects/${projectId}/regions/${region}`),
    name,
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    status: 'CREATING',
    snapshotSchedulePolicy: snapshotSchedulePolicy(body),
  };
}

/** compute/v1 resourcePolicies (regional, with patch; region operations) and disks.add/removeResourcePolicies, snapshots.list. */
export function scheduleRoutes(state: ComputeState): Route[] {
  const policyPath = /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies\/([^/]+)$/;
  const diskAction = (verb: string) =>
    new RegExp(`^projects\\/([^/]+)\\/((?:zones|regions)\\/[^/]+)\\/disks\\/([^/]+)\\/${verb}$`);
  return [
    [
      'POST',
      /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies$/,
      (m, body, method, urlPath, query) =>
        state.once(query, () => insertPolicy(state, m[1]!, m[2]!, body, method, urlPath)),
    ],
    [
      'GET',
      policyPath,
      (m) => {
        const key = `projects/${m[1]}/regions/${m[2]}/resourcePolicies/${m[3]}`;
        const policy = state.policies.get(key);
        if (!policy) throw notFound(key);
        return state.readResource(key, policy, 'READY');
      },
    ],
    [
      'GET',
      /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies$/,
      (m, _body, _method, _urlPath, query) => {
        const prefix = `projects/${m[1]}/regions/${m[2]}/resourcePolicies`;
        const all = [...state.policies.entries()]
          .filter(([key]) => key.startsWith(`${prefix}/`))
          .map(([key, p]) => state.readResource(key, p, 'READY'));
        return list('compute#resourcePolicyList', prefix, state, all, query, RESOURCE_POLICY_FIELDS);
      },
    ],
    [
      'PATCH',
      policyPath,
      (m, body, method, urlPath, query) =>
        state.once(query, () => patchPolicy(state, m, body, query, method, urlPath)),
    ],
    [
      'DELETE',
      policyPath,
      (m, _body, method, urlPath, query) => state.once(query, () => deletePolicy(state, m, method, urlPath)),
    ],
    [
      'POST',
      diskAction('addResourcePolicies'),
      (m, body, method, urlPath, query) =>
        state.once(query, () => changePolicies(state, m, body, method, urlPath, 'add')),
    ],
    [
      'POST',
      diskAction('removeResourcePolicies'),
      (m, body, method, urlPath, query) =>
        state.once(query, () => changePolicies(state, m, body, method, urlPath, 'remove')),
    ],
    [
      'GET',
      /^projects\/([^/]+)\/global\/snapshots$/,
      (m, _body, _method, _urlPath, query) => {
        const prefix = `projects/${m[1]}/global/snapshots`;
        const all = [...state.snapshots.entries()]
          .filter(([key]) => key.startsWith(`${prefix}/`))
          .map(([key, s]) => state.readResource(key, s, 'READY', 'UPLOADING'));
        return list('compute#snapshotList', prefix, state, all, query, SNAPSHOT_FIELDS);
      },
    ],
  ];
}

function list<T extends object>(
  kind: string,
  prefix: string,
  state: ComputeState,
  all: T[],
  query: ListQuery,
  fields: readonly string[],
) {
  return { kind, id: prefix, ...listPage(all, query, fields), selfLink: state.link(prefix) };
}

function insertPolicy(
  state: ComputeState,
  projectId: string,
  region: string,
  body: Json,
  method: string,
  urlPath: string,
): OperationState {
  const policy = newResourcePolicy(state.link, projectId, region, body);
  const key = `projects/${projectId}/regions/${region}/resourcePolicies/${policy.name}`;
  if (state.policies.has(key)) throw alreadyExists(key);
  const op = state.startOperation(`regions/${region}`, 'insert', key, method, urlPath, () => undefined);
  op.json.targetId = policy.id;
  // A failing insert leaves nothing behind, as for disks.
  if (!op.failure) {
    state.policies.set(key, policy);
    state.pending.set(key, { op, reads: 0 });
  }
  return op;
}

/** GCE refuses to delete a policy a disk still uses, as it refuses to delete an attached disk. */
function deletePolicy(state: ComputeState, m: RegExpExecArray, method: string, urlPath: string) {
  const key = `projects/${m[1]}/regions/${m[2]}/resourcePolicies/${m[3]}`;
  const policy = state.policies.get(key);
  if (!policy) throw notFound(key);
  const user = [...state.disks.entries()].find(([, d]) => d.resourcePolicies?.includes(policy.selfLink));
  if (user) {
    throw new ApiError(
      400,
      'resourceInUseByAnotherResource',
      `The resource_policy resource '${key}' is already being used by '${user[0]}'`,
    );
  }
  return state.startOperation(`regions/${m[2]}`, 'delete', key, method, urlPath, () =>
    state.policies.delete(key),
  );
}

/** Applied when accepted, as a disk insert is: a dropped answer still leaves the change made. */
function changePolicies(
  state: ComputeState,
  m: RegExpExecArray,
  body: Json,
  method: string,
  urlPath: string,
  verb: 'add' | 'remove',
): OperationState {
  const [projectId, scope] = [m[1]!, m[2]!];
  const diskKey = `projects/${projectId}/${scope}/disks/${m[3]}`;
  const disk = state.disks.get(diskKey);
  if (!disk) throw notFound(diskKey);
  const next =
    verb === 'add'
      ? policiesAfterAdd(disk, body.resourcePolicies, state.policies, projectId, diskKey).map(
          (p) => p.selfLink,
        )
      : policiesAfterRemove(disk, body.resourcePolicies, projectId, diskKey);
  const op = state.startOperation(
    scope,
    `${verb}ResourcePolicies`,
    diskKey,
    method,
    urlPath,
    () => undefined,
  );
  op.json.targetId = disk.id;
  if (!op.failure) {
    if (next.length) disk.resourcePolicies = next;
    else delete disk.resourcePolicies;
  }
  return op;
}
