import { randomUUID } from 'node:crypto';
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

// The snapshot schedule on the state disk: a regional resource policy `<disk>-snapshots` the action makes and
// attaches. GCE allows one snapshot schedule per disk, so another one found there is kept; the action never
// deletes a snapshot and never detaches a policy. A changed schedule is patched in place
// (resourcePolicies.patch, as `gcloud compute resource-policies update snapshot-schedule` does).

type ResourcePolicy = protos.google.cloud.compute.v1.IResourcePolicy;

const MARK = '(skyha-action)';
const SUFFIX = '-snapshots';

/** The snapshot schedule the inputs ask for, on this disk. */
export interface ScheduleTarget {
  project: string;
  region: string;
  /** `<disk>-snapshots` (the disk name shortened to fit 63 characters). */
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
  return {
    project: config.project,
    region: config.region,
    name: `${disk.slice(0, 63 - SUFFIX.length).replace(/-+$/, '')}${SUFFIX}`,
    diskPath,
    schedule: config.backup.schedule,
    retentionDays: config.backup.retentionDays,
    snapshotLabels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value, 'skyha-disk': labelValue(disk) },
    description: `Snapshot schedule of the SkyPilot API server state disk ${diskPath} ${MARK}`,
  };
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
  const m = /^projects\/([^/]+)\/regions\/([^/]+)\/resourcePolicies\/([^/]+)$/.exec(resourcePath);
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
export function policyBody(target: ScheduleTarget, schedule: SnapshotSchedule) {
  return {
    name: target.name,
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
  /** Another snapshot schedule is on the disk (or holds our name): it is kept and nothing is attached. */
  | ({ action: 'foreign'; policyPath: string } & Advice)
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
  const foreign = observed.others.find((p) => p.snapshotSchedule);
  if (foreign) return foreignSchedule(target, foreign.resourcePath, asked);
  const own = observed.policy;
  if (own && !isOurs(own)) {
    if (attached) return foreignSchedule(target, path, asked);
    const warning = `A resource policy ${path} exists that skyha-action did not make: it is left alone and ${asked}. Rename or delete it, or use another disk-name`;
    return { action: 'foreign', policyPath: path, warnings: [warning], notes: [] };
  }
  const body = policyBody(target, target.schedule);
  if (!own) return { action: 'create', policyPath: path, attach: true, body, warnings: [], notes: [] };
  if (!matches(own, target))
    return { action: 'update', policyPath: path, attach: !attached, body, warnings: [], notes: [] };
  if (!attached) return { action: 'attach', policyPath: path, attach: true, body, warnings: [], notes: [] };
  return { action: 'keep', policyPath: path, warnings: [], notes: [] };
}

function foreignSchedule(target: ScheduleTarget, foreign: string, asked: string): SnapshotSchedulePlan {
  const [, scope, place, disk] = /\/(zones|regions)\/([^/]+)\/disks\/([^/]+)$/.exec(target.diskPath) ?? [];
  const where = scope === 'zones' ? `--zone ${place}` : `--region ${place}`;
  const warning =
    `Disk ${target.diskPath} already has the snapshot schedule ${foreign}, which skyha-action did not make: it is kept, and ${asked} ` +
    `(GCE allows one snapshot schedule per disk). To let the action manage it: gcloud compute disks remove-resource-policies ${disk} ${where} --resource-policies ${foreign.split('/').pop()} --project ${target.project}`;
  return { action: 'foreign', policyPath: foreign, warnings: [warning], notes: [] };
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
    case 'foreign':
      return `keep ${plan.policyPath.split('/').pop()} (not made by skyha-action); attach nothing`;
    case 'create':
      return `create (${what}) and attach it to the disk`;
    case 'update':
      return `update to ${what}${plan.attach ? ' and attach it to the disk' : ''}`;
    case 'attach':
      return `attach to the disk (${what})`;
  }
}

/** What the summary says about backups after this run. */
export function backupsLine(plan: SnapshotSchedulePlan, target: ScheduleTarget): string | undefined {
  if (plan.action === 'none') return undefined;
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
  if (plan.action === 'update') await writePolicy(clients, target, plan.body, 'patch', deadline, options);
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
  try {
    await writePolicy(clients, target, body, 'insert', deadline, options);
    return true;
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
  }
  const found = await readPolicy(clients, policyPath(target), deadline);
  if (!found || !isOurs(found)) {
    throw new ActionError(`Resource policy ${policyPath(target)} was created meanwhile by someone else`, {
      hint: 'Re-run the job: the plan then shows what to do about it',
    });
  }
  if (!matches(found, target)) await writePolicy(clients, target, body, 'patch', deadline, options);
  return true;
}

async function writePolicy(
  clients: ComputeClients,
  target: ScheduleTarget,
  body: PolicyBody,
  verb: 'insert' | 'patch',
  deadline: Deadline,
  options: ScheduleApplyOptions,
): Promise<void> {
  const { project, region, name } = target;
  // One requestId for every attempt: a retried write is answered with the first operation, never done twice.
  const requestId = randomUUID();
  const what = `${verb === 'insert' ? 'creating' : 'updating'} snapshot schedule ${policyPath(target)}`;
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
