import { policyKey } from './policies.js';
import {
  fingerprint,
  gceTimestamp,
  newId,
  timestamp,
  type ResourcePolicyJson,
  type SnapshotJson,
} from './resources.js';
import { newResourcePolicy, type ComputeState } from './scheduleRoutes.js';

export interface SnapshotSeed {
  project?: string;
  name: string;
  diskSizeGb: number;
  labels?: Record<string, string>;
  status?: string;
  /** A Date is written as GCE writes it (Pacific time with its offset); a string is kept as given. */
  creationTimestamp?: Date | string;
  /**
   * The disk it was taken of: a full URL or projects/P/zones/Z/disks/D (default: a disk that no longer exists).
   * The disk need not exist: its snapshots outlive it. Snapshots of the same absent disk share one sourceDiskId.
   */
  sourceDisk?: string;
  sourceDiskId?: string;
  storageBytes?: number;
  description?: string;
  /** Marks it as taken by this snapshot schedule (URL or projects/P/regions/R/resourcePolicies/N): autoCreated. */
  sourceSnapshotSchedulePolicy?: string;
}

export interface ResourcePolicySeed {
  project?: string;
  /** Default us-east5, the region of the default zone us-east5-b. */
  region?: string;
  name: string;
  /** Checked as an insert is; default a daily 04:00 UTC schedule keeping 14 days. */
  snapshotSchedulePolicy?: Record<string, unknown>;
  description?: string;
}

const relative = (urlOrPath: string): string => urlOrPath.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');

/** A snapshot as GCE lists it; `goneDiskIds` keeps one id per absent source disk across seeds. */
export function seedSnapshot(
  state: ComputeState,
  seed: SnapshotSeed,
  projectId: string,
  goneDiskIds: Map<string, string>,
): SnapshotJson {
  const key = `projects/${projectId}/global/snapshots/${seed.name}`;
  const diskPath = relative(seed.sourceDisk ?? `projects/${projectId}/zones/us-east5-b/disks/deleted-disk`);
  const disk = state.disks.get(diskPath);
  const sourceDiskId =
    seed.sourceDiskId ??
    disk?.id ??
    goneDiskIds.get(diskPath) ??
    (goneDiskIds.set(diskPath, newId()), goneDiskIds.get(diskPath)!);
  const policyPath = seed.sourceSnapshotSchedulePolicy
    ? policyKey(seed.sourceSnapshotSchedulePolicy, projectId, 'sourceSnapshotSchedulePolicy')
    : undefined;
  const created = seed.creationTimestamp;
  const snapshot: SnapshotJson = {
    kind: 'compute#snapshot',
    id: newId(),
    creationTimestamp:
      created === undefined ? timestamp() : typeof created === 'string' ? created : gceTimestamp(created),
    name: seed.name,
    ...(seed.description ? { description: seed.description } : {}),
    status: seed.status ?? 'READY',
    sourceDisk: state.link(diskPath),
    sourceDiskId,
    diskSizeGb: String(seed.diskSizeGb),
    storageBytes: String(seed.storageBytes ?? seed.diskSizeGb * 1024 ** 2),
    selfLink: state.link(key),
    ...(seed.labels ? { labels: { ...seed.labels } } : {}),
    labelFingerprint: fingerprint(),
    ...(policyPath
      ? {
          autoCreated: true,
          sourceSnapshotSchedulePolicy: state.link(policyPath),
          sourceSnapshotSchedulePolicyId: state.policies.get(policyPath)?.id ?? newId(),
        }
      : {}),
  };
  state.snapshots.set(key, snapshot);
  return snapshot;
}

/** A READY snapshot schedule, checked as resourcePolicies.insert checks one (an invalid seed throws). */
export function seedResourcePolicy(
  state: ComputeState,
  seed: ResourcePolicySeed,
  projectId: string,
): ResourcePolicyJson {
  const region = seed.region ?? 'us-east5';
  const policy = newResourcePolicy(state.link, projectId, region, {
    name: seed.name,
    ...(seed.description ? { description: seed.description } : {}),
    snapshotSchedulePolicy: seed.snapshotSchedulePolicy ?? {
      schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:00' } },
      retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
    },
  });
  policy.status = 'READY';
  state.policies.set(`projects/${projectId}/regions/${region}/resourcePolicies/${seed.name}`, policy);
  return policy;
}
