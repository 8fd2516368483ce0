import { alreadyExists, inUse, invalid, notFound } from './errors.js';
import { listAnswer } from './listing.js';
import type { Operations } from './operations.js';
import { RESOURCE_POLICY_FIELDS, snapshotSchedulePolicy } from './policies.js';
import { patchPolicy } from './policyPatch.js';
import {
  DEFAULT_PROJECT,
  GCE_NAME,
  link,
  newId,
  timestamp,
  type OperationState,
  type ResourcePolicyJson,
} from './resources.js';
import type { ApiCall, Json, Route } from './routes.js';
import type { ResourcePolicySeed } from './seeds.js';

/** The disk (its path) a policy URL is attached to, if any: GCE will not delete a policy in use. */
export type PolicyUser = (policyUrl: string) => string | undefined;

/** compute/v1 resourcePolicies (snapshot schedules; regional, region operations): insert, get, list, patch, delete. */
export class ResourcePolicies {
  /** By path: projects/P/regions/R/resourcePolicies/N. */
  readonly byKey = new Map<string, ResourcePolicyJson>();

  constructor(
    private readonly ops: Operations,
    private readonly userOf: PolicyUser,
  ) {}

  routes(): Route[] {
    const collection = /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies$/;
    const one = /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies\/([^/]+)$/;
    return [
      ['POST', collection, (call) => this.ops.once(call, () => this.insert(call))],
      ['GET', one, ({ match: m }) => this.read(`projects/${m[1]}/regions/${m[2]}/resourcePolicies/${m[3]}`)],
      ['GET', collection, (call) => this.list(call)],
      ['PATCH', one, (call) => this.ops.once(call, () => patchPolicy(this.ops, this.byKey, call))],
      ['DELETE', one, (call) => this.ops.once(call, () => this.remove(call))],
    ];
  }

  /** A READY snapshot schedule, checked as resourcePolicies.insert checks one (an invalid seed throws). */
  put(seed: ResourcePolicySeed): ResourcePolicyJson {
    const projectId = seed.project ?? DEFAULT_PROJECT;
    const region = seed.region ?? 'us-east5';
    const policy = newResourcePolicy(projectId, region, {
      name: seed.name,
      ...(seed.description ? { description: seed.description } : {}),
      snapshotSchedulePolicy: seed.snapshotSchedulePolicy ?? {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:00' } },
        retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
      },
    });
    policy.status = 'READY';
    this.byKey.set(`projects/${projectId}/regions/${region}/resourcePolicies/${seed.name}`, policy);
    return policy;
  }

  private read(key: string): ResourcePolicyJson {
    const policy = this.byKey.get(key);
    if (!policy) throw notFound(key);
    return this.ops.read(key, policy, 'READY');
  }

  private list({ match: m, query }: ApiCall) {
    const collection = `projects/${m[1]}/regions/${m[2]}/resourcePolicies`;
    const all = [...this.byKey.entries()]
      .filter(([key]) => key.startsWith(`${collection}/`))
      .map(([key, p]) => this.ops.read(key, p, 'READY'));
    return listAnswer('compute#resourcePolicyList', collection, all, query, RESOURCE_POLICY_FIELDS);
  }

  private insert(call: ApiCall): OperationState {
    const [projectId, region] = [call.match[1]!, call.match[2]!];
    const policy = newResourcePolicy(projectId, region, call.body);
    const key = `projects/${projectId}/regions/${region}/resourcePolicies/${policy.name}`;
    if (this.byKey.has(key)) throw alreadyExists(key);
    const op = this.ops.start(call, `regions/${region}`, 'insert', key);
    op.json.targetId = policy.id;
    // A failing insert leaves nothing behind, as for disks.
    if (!op.failure) {
      this.byKey.set(key, policy);
      this.ops.awaitDone(key, op, 0);
    }
    return op;
  }

  /** GCE refuses to delete a policy a disk still uses, as it refuses to delete an attached disk. */
  private remove(call: ApiCall): OperationState {
    const m = call.match;
    const key = `projects/${m[1]}/regions/${m[2]}/resourcePolicies/${m[3]}`;
    const policy = this.byKey.get(key);
    if (!policy) throw notFound(key);
    const user = this.userOf(policy.selfLink);
    if (user) throw inUse('resource_policy', key, user);
    return this.ops.start(call, `regions/${m[2]}`, 'delete', key, () => this.byKey.delete(key));
  }
}

/** A ResourcePolicy from an insert body (or a seed); throws the 400 GCE answers for an invalid one. */
export function newResourcePolicy(projectId: string, region: string, body: Json): ResourcePolicyJson {
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
