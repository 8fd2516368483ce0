import { ApiError, invalid, notFound } from './errors.js';
import {
  invalidLabel,
  type DiskJson,
  type ResourcePolicyJson,
  type SnapshotSchedulePolicyJson,
} from './resources.js';

/** The ResourcePolicy fields a list filter may name (compute/v1 ResourcePolicy). */
export const RESOURCE_POLICY_FIELDS = [
  'creationTimestamp',
  'description',
  'diskConsistencyGroupPolicy',
  'groupPlacementPolicy',
  'id',
  'instanceSchedulePolicy',
  'kind',
  'name',
  'region',
  'resourceStatus',
  'selfLink',
  'snapshotSchedulePolicy',
  'status',
  'workloadPolicy',
] as const;

const OTHER_POLICY_TYPES = [
  'groupPlacementPolicy',
  'instanceSchedulePolicy',
  'diskConsistencyGroupPolicy',
  'workloadPolicy',
];
const DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
const ON_SOURCE_DISK_DELETE = ['KEEP_AUTO_SNAPSHOTS', 'APPLY_RETENTION_POLICY'];
/** startTime: "It must be in format "HH:MM", where HH : [00-23] and MM : [00-00] GMT" (ResourcePolicyHourlyCycle). */
const ON_THE_HOUR = /^([01]\d|2[0-3]):00$/;
const FIELD = 'resource.snapshotSchedulePolicy';

type Json = Record<string, unknown>;

const bad = (field: string, value: unknown, why: string): ApiError =>
  invalid(
    `Invalid value for field '${field}': '${typeof value === 'object' ? JSON.stringify(value) : String(value)}'. ${why}`,
  );

/** proto3 JSON takes an int32 as a number or a numeric string. */
function int(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function object(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The snapshotSchedulePolicy of a resourcePolicies.insert body, checked and with GCE's defaults filled in. */
export function snapshotSchedulePolicy(body: Json): SnapshotSchedulePolicyJson {
  const other = OTHER_POLICY_TYPES.find((t) => body[t] !== undefined);
  if (other) throw invalid(`The stand-in implements snapshot schedules only, not '${other}'`);
  const policy = object(body.snapshotSchedulePolicy);
  if (!policy)
    throw invalid(
      `Invalid value for field '${FIELD}': a resource policy needs a policy, e.g. snapshotSchedulePolicy`,
    );
  return {
    schedule: schedule(policy.schedule),
    ...(policy.retentionPolicy !== undefined ? { retentionPolicy: retention(policy.retentionPolicy) } : {}),
    ...(policy.snapshotProperties !== undefined
      ? { snapshotProperties: properties(policy.snapshotProperties) }
      : {}),
  };
}

/** "You can't combine snapshot frequency options" (About snapshot schedules): exactly one of the three. */
function schedule(value: unknown): SnapshotSchedulePolicyJson['schedule'] {
  const field = `${FIELD}.schedule`;
  const given = object(value) ?? {};
  const kinds = ['hourlySchedule', 'dailySchedule', 'weeklySchedule'].filter((k) => given[k] !== undefined);
  if (kinds.length !== 1)
    throw bad(
      field,
      value ?? '',
      'Exactly one of hourlySchedule, dailySchedule or weeklySchedule must be set.',
    );
  const kind = kinds[0]!;
  const cycle = object(given[kind]);
  if (!cycle) throw bad(`${field}.${kind}`, given[kind], 'Must be an object.');
  if (kind === 'hourlySchedule') {
    // "choose a snapshot interval using an integer between 1 and 23" (About snapshot schedules).
    const hours = int(cycle.hoursInCycle);
    if (hours === undefined || hours < 1 || hours > 23)
      throw bad(`${field}.hourlySchedule.hoursInCycle`, cycle.hoursInCycle, 'Must be between 1 and 23.');
    return {
      hourlySchedule: { hoursInCycle: hours, startTime: startTime(cycle, `${field}.hourlySchedule`) },
    };
  }
  if (kind === 'dailySchedule') {
    const days = int(cycle.daysInCycle);
    if (days !== 1) throw bad(`${field}.dailySchedule.daysInCycle`, cycle.daysInCycle, 'Must be 1.');
    return { dailySchedule: { daysInCycle: 1, startTime: startTime(cycle, `${field}.dailySchedule`) } };
  }
  const days = Array.isArray(cycle.dayOfWeeks) ? cycle.dayOfWeeks : [];
  if (!days.length)
    throw bad(`${field}.weeklySchedule.dayOfWeeks`, cycle.dayOfWeeks ?? '', 'At least one day is required.');
  return {
    weeklySchedule: {
      dayOfWeeks: days.map((d: unknown, i) => {
        const entry = object(d) ?? {};
        const at = `${field}.weeklySchedule.dayOfWeeks[${i}]`;
        if (!DAYS.includes(String(entry.day)))
          throw bad(`${at}.day`, entry.day ?? '', `Must be one of ${DAYS.join(', ')}.`);
        return { day: String(entry.day), startTime: startTime(entry, at) };
      }),
    },
  };
}

/** "The schedule uses the UTC time standard" and "begins within the hour of the specified start time". */
function startTime(cycle: Json, at: string): string {
  const value = cycle.startTime;
  if (typeof value !== 'string' || !ON_THE_HOUR.test(value))
    throw bad(`${at}.startTime`, value ?? '', "Must be in format 'HH:00' (UTC, on the hour), e.g. '04:00'.");
  return value;
}

function retention(value: unknown): NonNullable<SnapshotSchedulePolicyJson['retentionPolicy']> {
  const field = `${FIELD}.retentionPolicy`;
  const given = object(value);
  if (!given) throw bad(field, value, 'Must be an object.');
  const days = int(given.maxRetentionDays);
  if (days === undefined || days < 1)
    throw bad(
      `${field}.maxRetentionDays`,
      given.maxRetentionDays ?? '',
      'Must be greater than or equal to 1.',
    );
  // gcloud's --on-source-disk-delete defaults to keep-auto-snapshots.
  const onDelete =
    given.onSourceDiskDelete === undefined ? 'KEEP_AUTO_SNAPSHOTS' : String(given.onSourceDiskDelete);
  if (!ON_SOURCE_DISK_DELETE.includes(onDelete))
    throw bad(`${field}.onSourceDiskDelete`, onDelete, `Must be one of ${ON_SOURCE_DISK_DELETE.join(', ')}.`);
  return { maxRetentionDays: days, onSourceDiskDelete: onDelete };
}

function properties(value: unknown): NonNullable<SnapshotSchedulePolicyJson['snapshotProperties']> {
  const field = `${FIELD}.snapshotProperties`;
  const given = object(value);
  if (!given) throw bad(field, value, 'Must be an object.');
  const labels = given.labels === undefined ? undefined : object(given.labels);
  if (given.labels !== undefined && !labels) throw bad(`${field}.labels`, given.labels, 'Must be a map.');
  const labelProblem = invalidLabel(labels as Record<string, string> | undefined, `${field}.labels`);
  if (labelProblem) throw invalid(labelProblem);
  const locations = given.storageLocations;
  if (
    locations !== undefined &&
    (!Array.isArray(locations) ||
      locations.length > 1 ||
      !locations.every((l) => typeof l === 'string' && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(l)))
  ) {
    // Snapshots live in one storage location (a region or a multi-region such as "us").
    throw bad(`${field}.storageLocations`, locations, 'Must name one region or multi-region, e.g. "us".');
  }
  return {
    ...(labels ? { labels: { ...(labels as Record<string, string>) } } : {}),
    ...(locations ? { storageLocations: [...(locations as string[])] } : {}),
    ...(typeof given.guestFlush === 'boolean' ? { guestFlush: given.guestFlush } : {}),
  };
}

/** A resource policy reference as its key: full URL (any host), projects/P/regions/R/... or regions/R/.... */
export function policyKey(reference: unknown, projectId: string, field: string): string {
  const rel = String(reference).replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');
  if (/^projects\/[^/]+\/regions\/[^/]+\/resourcePolicies\/[^/]+$/.test(rel)) return rel;
  if (/^regions\/[^/]+\/resourcePolicies\/[^/]+$/.test(rel)) return `projects/${projectId}/${rel}`;
  throw bad(field, reference, 'The URL is malformed.');
}

/** A zonal disk's region is its zone without the suffix (us-east5-b -> us-east5). */
export function diskRegion(disk: DiskJson): string {
  if (disk.region) return disk.region.replace(/^.*\/regions\//, '');
  return String(disk.zone)
    .replace(/^.*\/zones\//, '')
    .replace(/-[a-z]$/, '');
}

/**
 * The disk's resourcePolicies after adding `references`. Documented: "The policies must exist in the same
 * region as the disk" (gcloud disks add-resource-policies) and one snapshot schedule per disk ("You can only
 * add one policy", google_compute_disk_resource_policy_attachment). GCE's exact wording for these refusals was
 * not found; re-adding an attached policy is refused too (unconfirmed), so the action must observe before it adds.
 */
export function policiesAfterAdd(
  disk: DiskJson,
  references: unknown,
  policies: Map<string, ResourcePolicyJson>,
  projectId: string,
  diskKey: string,
): ResourcePolicyJson[] {
  const attached = (disk.resourcePolicies ?? []).map((url) => policyKey(url, projectId, 'resourcePolicies'));
  const result = attached.map((key) => policies.get(key)).filter((p): p is ResourcePolicyJson => !!p);
  requestedKeys(references, projectId).forEach((key, i) => {
    const policy = policies.get(key);
    if (!policy) throw notFound(key);
    if (diskRegion(disk) !== policy.region.replace(/^.*\/regions\//, '')) {
      throw invalid(
        `Invalid value for field 'resourcePolicies[${i}]': '${key}'. Resource policy must be in the same region as the disk '${diskKey}'.`,
      );
    }
    if (result.includes(policy)) {
      throw new ApiError(
        400,
        'invalidResourceUsage',
        `Invalid resource usage: 'Resource policy '${key}' is already attached to disk '${diskKey}'.'`,
      );
    }
    if (result.some((p) => p.snapshotSchedulePolicy)) {
      throw new ApiError(
        400,
        'invalidResourceUsage',
        `Invalid resource usage: 'Disk '${diskKey}' already has a snapshot schedule; a disk can have only one snapshot schedule resource policy.'`,
      );
    }
    result.push(policy);
  });
  return result;
}

/** The disk's resourcePolicies after removing `references`; removing one that is not attached is refused (unconfirmed). */
export function policiesAfterRemove(
  disk: DiskJson,
  references: unknown,
  projectId: string,
  diskKey: string,
): string[] {
  const remaining = [...(disk.resourcePolicies ?? [])];
  for (const key of requestedKeys(references, projectId)) {
    const index = remaining.findIndex((url) => policyKey(url, projectId, 'resourcePolicies') === key);
    if (index < 0) {
      throw new ApiError(
        400,
        'invalidResourceUsage',
        `Invalid resource usage: 'Resource policy '${key}' is not attached to disk '${diskKey}'.'`,
      );
    }
    remaining.splice(index, 1);
  }
  return remaining;
}

function requestedKeys(references: unknown, projectId: string): string[] {
  if (!Array.isArray(references) || references.length === 0)
    throw invalid(
      "Invalid value for field 'resourcePolicies': ''. At least one resource policy is required.",
    );
  return references.map((r, i) => policyKey(r, projectId, `resourcePolicies[${i}]`));
}
