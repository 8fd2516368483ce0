import { createHash, randomUUID } from 'node:crypto';
import type { protos } from '@google-cloud/compute';
import {
  computeGet,
  httpStatus,
  startOperation,
  waitForOperation,
  type ComputeClients,
} from '../clients/compute.js';
import { describeSchedule, type SnapshotSchedule, WEEKDAYS } from '../config/backup.js';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import type { Advice } from '../lib/plan.js';
import { diskResourcePath, labelValue, MANAGED_BY_LABEL, type ObservedDisk } from './disk.js';
import { parseResourcePath, scopeOf } from './snapshot.js';

// The snapshot schedule on the state disk: a regional resource policy of the disk's own (named after the disk and,
// for a zonal disk, its zone: two disks of one name in two zones of a region must not share one) that the action
// makes and attaches. GCE allows one snapshot schedule per disk, so another one found there is kept; the action
// never deletes a snapshot and never detaches a policy. A changed schedule is patched in place
// (resourcePolicies.patch, as `gcloud compute resource-policies update snapshot-schedule` does), but only on the
// policy whose description names this disk: one made for another disk is never patched.

type ResourcePolicy = protos.google.cloud.compute.v1.IResourcePolicy;

const MARK = '(skyha-action)';
const SUFFIX = '-snapshots';
const GCE_NAME_MAX = 63;
const POLICY_PATH = /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies\/([^/]+)$/;

/** The snapshot schedule the inputs ask for, on this disk. */
export interface ScheduleTarget {
  project: string;
  region: string;
  /** `<disk>-<zone>-snapshots`, or `<disk>-snapshots` for a regional disk (see schedulePolicyName). */
  name: string;
  /** The state disk, projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D. */
  diskPath: string;
  /** undefined for `snapshot-schedule: none`: nothing is managed. */
  schedule: SnapshotSchedule | undefined;
  retentionDays: number;
  /** Put on every snapshot the schedule takes: they name the disk and the action. */
  snapshotLabels: Record<string, string>;
  description: string;
}

export function scheduleTarget(config: Config): ScheduleTarget {
  const disk = config.disk.name;
  const diskPath = diskResourcePath({ ...config, name: disk });
  const zone = config.replicaZones.length ? undefined : config.zone;
  return {
    project: config.project,
    region: config.region,
    name: schedulePolicyName(disk, zone, diskPath),
    diskPath,
    schedule: config.backup.schedule,
    retentionDays: config.backup.retentionDays,
    snapshotLabels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value, 'skyha-disk': labelValue(disk) },
    description: `Snapshot schedule of the SkyPilot API server state disk ${diskPath} ${MARK}`,
  };
}

/**
 * The disk's own policy name: a zonal disk's zone is in it (a regional disk's name is unique in its region), within
 * GCE's 63 characters; a name too long keeps its start and gets a short hash of the disk's path, so two long names
 * that start alike still get policies of their own.
 */
export function schedulePolicyName(disk: string, zone: string | undefined, diskPath: string): string {
  const base = zone ? `${disk}-${zone}` : disk;
  if (base.length + SUFFIX.length <= GCE_NAME_MAX) return `${base}${SUFFIX}`;
  const hash = createHash('sha256').update(diskPath).digest('hex').slice(0, 8);
  const kept = base.slice(0, GCE_NAME_MAX - SUFFIX.length - hash.length - 1).replace(/-+$/, '');
  return `${kept}-${hash}${SUFFIX}`;
}

/** The state disk a policy's description names (the action writes it there); undefined when it names none. */
export function describedDisk(policy: ObservedPolicy): string | undefined {
  return /\bprojects\/[^/\s]+\/(?:zones|regions)\/[^/\s]+\/disks\/[a-z0-9-]+/.exec(policy.description)?.[0];
}

export function policyPath(target: Pick<ScheduleTarget, 'project' | 'region' | 'name'>): string {
  return `projects/${target.project}/regions/${target.region}/resourcePolicies/${target.name}`;
}

/** A resource policy, reduced to what the plan compares. */
export interface ObservedPolicy {
  resourcePath: string;
  name: string;
  description: string;
  status: string;
  /** undefined when the policy is no snapshot schedule (e.g. a consistency group). */
  snapshotSchedule:
    | {
        /** undefined for a schedule the inputs cannot express (several week days, daysInCycle > 1). */
        schedule: SnapshotSchedule | undefined;
        retentionDays: number | undefined;
        onSourceDiskDelete: string | undefined;
        labels: Record<string, string>;
      }
    | undefined;
}

/** What the plan looks at: the policy of our name, and what is attached to the disk. */
export interface ObservedSchedules {
  /** The policy named `<disk>-snapshots`, whoever made it; undefined when absent or not asked for. */
  policy: ObservedPolicy | undefined;
  /** Resource paths of the policies attached to the disk ([] for a disk that does not exist yet). */
  attached: string[];
  /** The attached policies other than ours, read to tell a snapshot schedule from other kinds. */
  others: ObservedPolicy[];
}

const relative = (url: string): string => url.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');

/** One GET of the policy of our name; none at all for `snapshot-schedule: none`. */
export async function observeOwnPolicy(
  clients: ComputeClients,
  target: ScheduleTarget,
  deadline: Deadline,
): Promise<ObservedPolicy | undefined> {
  return target.schedule ? readPolicy(clients, policyPath(target), deadline) : undefined;
}

/** The disk's other policies, one GET each (usually none): only a snapshot schedule among them matters. */
export async function observeAttachedPolicies(
  clients: ComputeClients,
  target: ScheduleTarget,
  disk: ObservedDisk | undefined,
  deadline: Deadline,
): Promise<Pick<ObservedSchedules, 'attached' | 'others'>> {
  const attached = (disk?.resourcePolicies ?? []).map(relative);
  if (!target.schedule) return { attached, others: [] };
  const others = await Promise.all(
    attached.filter((p) => p !== policyPath(target)).map((p) => readPolicy(clients, p, deadline)),
  );
  return { attached, others: others.filter((p): p is ObservedPolicy => p !== undefined) };
}

async function readPolicy(
  clients: ComputeClients,
  resourcePath: string,
  deadline: Deadline,
): Promise<ObservedPolicy | undefined> {
  const m = POLICY_PATH.exec(resourcePath);
  if (!m) return undefined;
  const found = await computeGet(`reading resource policy ${resourcePath}`, deadline, (o) =>
    clients.resourcePolicies.get({ project: m[1]!, region: m[2]!, resourcePolicy: m[3]! }, o),
  );
  return found && observedPolicy(found, resourcePath);
}

export function observedPolicy(policy: ResourcePolicy, resourcePath: string): ObservedPolicy {
  const snapshot = policy.snapshotSchedulePolicy;
  return {
    resourcePath,
    name: policy.name ?? resourcePath.split('/').pop()!,
    description: policy.description ?? '',
    status: policy.status ?? 'UNKNOWN',
    snapshotSchedule: snapshot
      ? {
          schedule: scheduleOf(snapshot.schedule),
          retentionDays: snapshot.retentionPolicy?.maxRetentionDays ?? undefined,
          onSourceDiskDelete: snapshot.retentionPolicy?.onSourceDiskDelete ?? undefined,
          labels: { ...(snapshot.snapshotProperties?.labels ?? {}) },
        }
      : undefined,
  };
}

/** GCE's schedule as the input grammar's; undefined for what the grammar cannot say. */
function scheduleOf(
  given: protos.google.cloud.compute.v1.IResourcePolicySnapshotSchedulePolicySchedule | null | undefined,
): SnapshotSchedule | undefined {
  const { hourlySchedule: h, dailySchedule: d, weeklySchedule: w } = given ?? {};
  if (h && !d && !w)
    return { kind: 'hourly', hoursInCycle: Number(h.hoursInCycle), startTime: h.startTime ?? '' };
  if (d && !h && !w && Number(d.daysInCycle) === 1) return { kind: 'daily', startTime: d.startTime ?? '' };
  const days = w?.dayOfWeeks ?? [];
  const day = WEEKDAYS.find((x) => x === days[0]?.day);
  if (w && !h && !d && days.length === 1 && day)
    return { kind: 'weekly', day, startTime: days[0]!.startTime ?? '' };
  return undefined;
}

/** The schedule the inputs ask for, as GCE's JSON (int32 as numbers). */
export function gceSchedule(schedule: SnapshotSchedule) {
  switch (schedule.kind) {
    case 'hourly':
      return { hourlySchedule: { hoursInCycle: schedule.hoursInCycle, startTime: schedule.startTime } };
    case 'daily':
      return { dailySchedule: { daysInCycle: 1, startTime: schedule.startTime } };
    case 'weekly':
      return { weeklySchedule: { dayOfWeeks: [{ day: schedule.day, startTime: schedule.startTime }] } };
  }
}

/** The resourcePolicies.insert (and patch) body: schedule, retention that outlives the disk, labelled snapshots. */
export function policyBody(target: ScheduleTarget, schedule: SnapshotSchedule, name = target.name) {
  return {
    name,
    description: target.description,
    snapshotSchedulePolicy: {
      schedule: gceSchedule(schedule),
      // A lost or deleted disk must keep its snapshots: they are what it is restored from.
      retentionPolicy: { maxRetentionDays: target.retentionDays, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
      snapshotProperties: { labels: { ...target.snapshotLabels } },
    },
  };
}

export type PolicyBody = ReturnType<typeof policyBody>;

export type SnapshotSchedulePlan =
  /** `snapshot-schedule: none`: nothing is read or changed. */
  | ({ action: 'none' } & Advice)
  | ({ action: 'keep'; policyPath: string } & Advice)
  /**
   * Another snapshot schedule is on the disk (or holds our name): it is kept, unchanged, and nothing is attached.
   * `of`: the disk whose schedule the action made it for, when that is another disk.
   */
  | ({ action: 'foreign'; policyPath: string; attached: boolean; of?: string } & Advice)
  | ({
      action: 'create' | 'update' | 'attach';
      policyPath: string;
      attach: boolean;
      body: PolicyBody;
    } & Advice);

/** A policy is ours when it carries our mark: our name alone could be anyone's. */
export function isOurs(policy: ObservedPolicy): boolean {
  const labels = policy.snapshotSchedule?.labels ?? {};
  return (
    policy.snapshotSchedule !== undefined &&
    (policy.description.includes(MARK) || labels[MANAGED_BY_LABEL.key] === MANAGED_BY_LABEL.value)
  );
}

/** Pure: what must happen to the disk's snapshot schedule. */
export function planSnapshotSchedule(
  target: ScheduleTarget,
  observed: ObservedSchedules,
): SnapshotSchedulePlan {
  const path = policyPath(target);
  const attached = observed.attached.includes(path);
  if (!target.schedule) {
    const notes = attached
      ? [
          `snapshot-schedule is none: the schedule ${target.name} an earlier run attached stays on the disk (the action never detaches one)`,
        ]
      : [];
    return { action: 'none', warnings: [], notes };
  }
  const asked = `snapshot-schedule (${describeSchedule(target.schedule)}) is not applied`;
  const other = observed.others.find((p) => p.snapshotSchedule);
  // GCE allows one snapshot schedule per disk: the one attached is the disk's, whatever its name.
  if (other) return planAttachedSchedule(target, other, asked);
  const own = observed.policy;
  if (own && !isOurs(own)) {
    if (attached) return foreignSchedule(target, path, asked);
    const warning = `A resource policy ${path} exists that skyha-action did not make: it is left alone and ${asked}. Rename or delete it, or use another disk-name`;
    return { action: 'foreign', policyPath: path, attached: false, warnings: [warning], notes: [] };
  }
  if (own && describedDisk(own) !== target.diskPath) return anotherDisks(target, own, attached, asked);
  return manage(target, own, attached);
}

/** A snapshot schedule already on the disk under another name: ours for this disk is managed, any other kept. */
function planAttachedSchedule(
  target: ScheduleTarget,
  policy: ObservedPolicy,
  asked: string,
): SnapshotSchedulePlan {
  if (!isOurs(policy)) return foreignSchedule(target, policy.resourcePath, asked);
  // A schedule an earlier version named `<disk>-snapshots` per region: kept in use while it names this disk, so
  // the disk is never left with two schedules, or none, on the way to a name of its own.
  if (describedDisk(policy) === target.diskPath) return manage(target, policy, true);
  return anotherDisks(target, policy, true, asked);
}

/** Create, patch, attach or keep the policy that is this disk's (`policy` undefined: none yet). */
function manage(
  target: ScheduleTarget,
  policy: ObservedPolicy | undefined,
  attached: boolean,
): SnapshotSchedulePlan {
  const advice = { warnings: [], notes: [] };
  const path = policy?.resourcePath ?? policyPath(target);
  const body = policyBody(target, target.schedule!, policy?.name ?? target.name);
  if (!policy) return { action: 'create', policyPath: path, attach: true, body, ...advice };
  if (!matches(policy, target))
    return { action: 'update', policyPath: path, attach: !attached, body, ...advice };
  if (!attached) return { action: 'attach', policyPath: path, attach: true, body, ...advice };
  return { action: 'keep', policyPath: path, ...advice };
}

/** The action's schedule of another disk (a name two disks shared before, or a collision): never patched. */
function anotherDisks(
  target: ScheduleTarget,
  policy: ObservedPolicy,
  attached: boolean,
  asked: string,
): SnapshotSchedulePlan {
  const of = describedDisk(policy) ?? 'no disk it names';
  const path = policy.resourcePath;
  const [, scope, place, disk] = /\/(zones|regions)\/([^/]+)\/disks\/([^/]+)$/.exec(target.diskPath) ?? [];
  const where = scope === 'zones' ? `--zone ${place}` : `--region ${place}`;
  const warning = attached
    ? `Disk ${target.diskPath} has the snapshot schedule ${path}, which skyha-action made for ${of}: it is kept and not patched (that would change the other disk's schedule), and ${asked}. ` +
      `To give this disk a schedule of its own (${target.name}, attached by the next run): gcloud compute disks remove-resource-policies ${disk} ${where} --resource-policies ${policy.name} --project ${target.project}`
    : `The resource policy ${path} is the snapshot schedule skyha-action made for ${of}: it is left alone (neither patched nor attached), and ${asked}. Use another disk-name`;
  const named = describedDisk(policy);
  return {
    action: 'foreign',
    policyPath: path,
    attached,
    ...(named ? { of: named } : {}),
    warnings: [warning],
    notes: [],
  };
}

function foreignSchedule(target: ScheduleTarget, foreign: string, asked: string): SnapshotSchedulePlan {
  const [, scope, place, disk] = /\/(zones|regions)\/([^/]+)\/disks\/([^/]+)$/.exec(target.diskPath) ?? [];
  const where = scope === 'zones' ? `--zone ${place}` : `--region ${place}`;
  const warning =
    `Disk ${target.diskPath} already has the snapshot schedule ${foreign}, which skyha-action did not make: it is kept, and ${asked} ` +
    `(GCE allows one snapshot schedule per disk). To let the action manage it: gcloud compute disks remove-resource-policies ${disk} ${where} --resource-policies ${foreign.split('/').pop()} --project ${target.project}`;
  return { action: 'foreign', policyPath: foreign, attached: true, warnings: [warning], notes: [] };
}

function matches(own: ObservedPolicy, target: ScheduleTarget): boolean {
  const s = own.snapshotSchedule;
  if (!s?.schedule || !target.schedule) return false;
  const labelsKept = Object.entries(target.snapshotLabels).every(([k, v]) => s.labels[k] === v);
  return (
    JSON.stringify(s.schedule) === JSON.stringify(target.schedule) &&
    s.retentionDays === target.retentionDays &&
    s.onSourceDiskDelete === 'KEEP_AUTO_SNAPSHOTS' &&
    labelsKept
  );
}

/** One line for the printed plan. */
export function describeSnapshotSchedulePlan(plan: SnapshotSchedulePlan, target: ScheduleTarget): string {
  const what = target.schedule
    ? `${describeSchedule(target.schedule)}, snapshots kept ${target.retentionDays} days`
    : '';
  switch (plan.action) {
    case 'none':
      return 'none (snapshot-schedule is none)';
    case 'keep':
      return `keep (${what})`;
    case 'foreign': {
      const name = plan.policyPath.split('/').pop();
      if (plan.of) return `leave ${name} as it is (skyha-action's schedule of ${plan.of}); attach nothing`;
      return `${plan.attached ? 'keep' : 'leave'} ${name} (not made by skyha-action); attach nothing`;
    }
    case 'create':
      return `create (${what}) and attach it to the disk`;
    case 'update':
      return `update to ${what}${plan.attach ? ' and attach it to the disk' : ''}`;
    case 'attach':
      return `attach to the disk (${what})`;
  }
}

/** The policy the plan manages for the disk (its own, or the earlier `<disk>-snapshots` still in use). */
export function managedPolicyName(plan: SnapshotSchedulePlan): string | undefined {
  return plan.action === 'none' || plan.action === 'foreign' ? undefined : plan.policyPath.split('/').pop();
}

/** What the summary says about backups after this run. */
export function backupsLine(plan: SnapshotSchedulePlan, target: ScheduleTarget): string | undefined {
  if (plan.action === 'none') return undefined;
  if (plan.action === 'foreign' && !plan.attached)
    return `none: \`${plan.policyPath}\` is not this disk's, and nothing was attached (see the warnings)`;
  if (plan.action === 'foreign' && plan.of)
    return `the disk keeps the snapshot schedule \`${plan.policyPath}\` of ${plan.of} (not changed by this run)`;
  if (plan.action === 'foreign')
    return `the disk keeps the snapshot schedule \`${plan.policyPath}\` (not managed by this action)`;
  return `${describeSchedule(target.schedule!)}, snapshots kept ${target.retentionDays} days (\`${plan.policyPath}\`)`;
}

export interface ScheduleApplyOptions {
  pollIntervalMs?: number;
}

/** Carries out the plan once the disk exists: create or patch the policy, then attach it; each write waited on. */
export async function applySnapshotSchedulePlan(
  clients: ComputeClients,
  target: ScheduleTarget,
  plan: SnapshotSchedulePlan,
  diskPath: string,
  deadline: Deadline,
  options: ScheduleApplyOptions = {},
): Promise<void> {
  if (plan.action !== 'create' && plan.action !== 'update' && plan.action !== 'attach') return;
  let attach = plan.attach;
  if (plan.action === 'create')
    attach = (await createPolicy(clients, target, plan.body, deadline, options)) || attach;
  if (plan.action === 'update')
    await writePolicy(clients, plan.policyPath, plan.body, 'patch', deadline, options);
  if (attach) await attachPolicy(clients, plan.policyPath, diskPath, deadline, options);
}

/** An insert that met our policy made meanwhile (409) patches it if it differs; one of another maker stops here. */
async function createPolicy(
  clients: ComputeClients,
  target: ScheduleTarget,
  body: PolicyBody,
  deadline: Deadline,
  options: ScheduleApplyOptions,
): Promise<boolean> {
  const path = policyPath(target);
  try {
    await writePolicy(clients, path, body, 'insert', deadline, options);
    return true;
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
  }
  const found = await readPolicy(clients, path, deadline);
  if (!found || !isOurs(found) || describedDisk(found) !== target.diskPath) {
    throw new ActionError(`Resource policy ${path} was created meanwhile by someone else`, {
      hint: 'Re-run the job: the plan then shows what to do about it',
    });
  }
  if (!matches(found, target)) await writePolicy(clients, path, body, 'patch', deadline, options);
  return true;
}

async function writePolicy(
  clients: ComputeClients,
  path: string,
  body: PolicyBody,
  verb: 'insert' | 'patch',
  deadline: Deadline,
  options: ScheduleApplyOptions,
): Promise<void> {
  const [, project = '', region = '', name = ''] = POLICY_PATH.exec(path) ?? [];
  // One requestId for every attempt: a retried write is answered with the first operation, never done twice.
  const requestId = randomUUID();
  const what = `${verb === 'insert' ? 'creating' : 'updating'} snapshot schedule ${path}`;
  const operation = await startOperation(what, deadline, (o) =>
    verb === 'insert'
      ? clients.resourcePolicies.insert({ project, region, requestId, resourcePolicyResource: body }, o)
      : clients.resourcePolicies.patch(
          { project, region, resourcePolicy: name, requestId, resourcePolicyResource: body },
          o,
        ),
  );
  await waitForOperation(clients, operation, { region }, deadline, what, options.pollIntervalMs);
}

/** addResourcePolicies on the zonal or regional disk; a failure is checked against the disk before it counts. */
async function attachPolicy(
  clients: ComputeClients,
  policy: string,
  diskPath: string,
  deadline: Deadline,
  options: ScheduleApplyOptions,
): Promise<void> {
  const disk = parseResourcePath(diskPath, 'disk');
  if (disk.kind !== 'disk') return;
  const requestId = randomUUID();
  const what = `attaching snapshot schedule ${policy} to disk ${diskPath}`;
  const disksAddResourcePoliciesRequestResource = { resourcePolicies: [policy] };
  const regionDisksAddResourcePoliciesRequestResource = disksAddResourcePoliciesRequestResource;
  try {
    const operation = await startOperation(what, deadline, (o) =>
      'zone' in disk
        ? clients.disks.addResourcePolicies(
            {
              project: disk.project,
              zone: disk.zone,
              disk: disk.name,
              requestId,
              disksAddResourcePoliciesRequestResource,
            },
            o,
          )
        : clients.regionDisks.addResourcePolicies(
            {
              project: disk.project,
              region: disk.region,
              disk: disk.name,
              requestId,
              regionDisksAddResourcePoliciesRequestResource,
            },
            o,
          ),
    );
    await waitForOperation(clients, operation, scopeOf(disk), deadline, what, options.pollIntervalMs);
  } catch (error) {
    // Attached meanwhile (another run, or an earlier attempt whose answer was lost): that is the goal.
    if (!(await isAttached(clients, disk, policy, deadline))) throw error;
  }
}

async function isAttached(
  clients: ComputeClients,
  disk: Extract<ReturnType<typeof parseResourcePath>, { kind: 'disk' }>,
  policy: string,
  deadline: Deadline,
): Promise<boolean> {
  const { project, name } = disk;
  const found = await computeGet(`reading disk ${name}`, deadline, (o) =>
    'zone' in disk
      ? clients.disks.get({ project, zone: disk.zone, disk: name }, o)
      : clients.regionDisks.get({ project, region: disk.region, disk: name }, o),
  );
  return (found?.resourcePolicies ?? []).map(relative).includes(policy);
}

/**
 * The policy the plan keeps for the disk, with the labels its snapshots get once this run's schedule step is done:
 * what the server version's record is compared with. Undefined when the action manages no schedule there.
 */
export function scheduledSnapshotLabels(
  plan: SnapshotSchedulePlan,
  observed: ObservedSchedules,
): { policyPath: string; labels: Record<string, string> } | undefined {
  if (plan.action === 'none' || plan.action === 'foreign') return undefined;
  if (plan.action === 'create' || plan.action === 'update')
    return {
      policyPath: plan.policyPath,
      labels: plan.body.snapshotSchedulePolicy.snapshotProperties.labels,
    };
  const policy = [observed.policy, ...observed.others].find((p) => p?.resourcePath === plan.policyPath);
  return { policyPath: plan.policyPath, labels: { ...(policy?.snapshotSchedule?.labels ?? {}) } };
}

/**
 * Sets the labels of the snapshots the schedule takes (only snapshotProperties is sent, as gcloud's
 * `resource-policies update snapshot-schedule --snapshot-labels` does); the schedule and retention stay as they are.
 */
export async function setScheduledSnapshotLabels(
  clients: ComputeClients,
  policyPath: string,
  labels: Record<string, string>,
  deadline: Deadline,
  options: ScheduleApplyOptions = {},
): Promise<void> {
  const [, project = '', region = '', name = ''] = POLICY_PATH.exec(policyPath) ?? [];
  const requestId = randomUUID();
  const what = `setting the snapshot labels of schedule ${policyPath}`;
  const resourcePolicyResource = { name, snapshotSchedulePolicy: { snapshotProperties: { labels } } };
  const operation = await startOperation(what, deadline, (o) =>
    clients.resourcePolicies.patch(
      { project, region, resourcePolicy: name, requestId, resourcePolicyResource },
      o,
    ),
  );
  await waitForOperation(clients, operation, { region }, deadline, what, options.pollIntervalMs);
}
