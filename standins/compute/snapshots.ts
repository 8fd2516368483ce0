import { randomBytes } from 'node:crypto';
import type { Contents } from './content.js';
import { alreadyExists, invalid, notFound } from './errors.js';
import { invalidLabel, labelFingerprint } from './labels.js';
import { listAnswer } from './listing.js';
import type { Operations } from './operations.js';
import { policyKey } from './policies.js';
import {
  DEFAULT_PROJECT,
  GCE_NAME,
  gceTimestamp,
  link,
  newId,
  relative,
  timestamp,
  type DiskJson,
  type OperationState,
  type ResourcePolicyJson,
  type SnapshotJson,
} from './resources.js';
import { ZONAL_OR_REGIONAL, type ApiCall, type Route } from './routes.js';
import type { SnapshotSeed } from './seeds.js';

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

/** The disks and schedules snapshots are taken of and by, looked up by path (projects/P/...). */
export interface SnapshotSources {
  disk(key: string): DiskJson | undefined;
  policy(key: string): ResourcePolicyJson | undefined;
}

/**
 * compute/v1 snapshots (global: get, list, delete) and what makes them: disks.createSnapshot (routed here, beside
 * the snapshots it makes) and a disk's snapshot schedule. A snapshot holds its disk's content as it was when taken.
 */
export class Snapshots {
  /** By path: projects/P/global/snapshots/N. */
  readonly byKey = new Map<string, SnapshotJson>();
  /** One sourceDiskId per absent source disk, shared by the seeds that name it. */
  private readonly goneDiskIds = new Map<string, string>();

  constructor(
    private readonly ops: Operations,
    private readonly contents: Contents,
    private readonly readyPolls: number,
    private readonly sources: SnapshotSources,
  ) {}

  routes(): Route[] {
    const one = /^projects\/([^/]+)\/global\/snapshots\/([^/]+)$/;
    return [
      [
        'POST',
        new RegExp(`${ZONAL_OR_REGIONAL}\\/disks\\/([^/]+)\\/createSnapshot$`),
        (call) => this.ops.once(call, () => this.take(call)),
      ],
      ['GET', one, ({ match: m }) => this.read(`projects/${m[1]}/global/snapshots/${m[2]}`)],
      ['GET', /^projects\/([^/]+)\/global\/snapshots$/, (call) => this.list(call)],
      ['DELETE', one, (call) => this.ops.once(call, () => this.remove(call))],
    ];
  }

  /** A snapshot by name (the first of that name in any project), path or URL. */
  find(nameOrPath: string): SnapshotJson | undefined {
    const key = relative(nameOrPath);
    if (key.includes('/')) return this.byKey.get(key);
    return [...this.byKey.values()].find((s) => s.name === key);
  }

  /** A snapshot as GCE lists it, holding `seed.state` if given. */
  put(seed: SnapshotSeed): SnapshotJson {
    const projectId = seed.project ?? DEFAULT_PROJECT;
    const key = `projects/${projectId}/global/snapshots/${seed.name}`;
    const diskPath = relative(seed.sourceDisk ?? `projects/${projectId}/zones/us-east5-b/disks/deleted-disk`);
    const sourceDiskId = seed.sourceDiskId ?? this.sources.disk(diskPath)?.id ?? this.goneDiskId(diskPath);
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
      sourceDisk: link(diskPath),
      sourceDiskId,
      diskSizeGb: String(seed.diskSizeGb),
      storageBytes: String(seed.storageBytes ?? seed.diskSizeGb * 1024 ** 2),
      selfLink: link(key),
      ...(seed.labels ? { labels: { ...seed.labels } } : {}),
      labelFingerprint: labelFingerprint(seed.labels),
      ...(policyPath
        ? {
            autoCreated: true,
            sourceSnapshotSchedulePolicy: link(policyPath),
            sourceSnapshotSchedulePolicyId: this.sources.policy(policyPath)?.id ?? newId(),
          }
        : {}),
    };
    this.byKey.set(key, snapshot);
    this.contents.set(snapshot, seed.state);
    return snapshot;
  }

  /**
   * What the snapshot schedule attached to the disk at `diskPath` takes when its time comes: a READY snapshot
   * named as GCE names them, autoCreated, with the schedule's snapshotProperties.labels and the disk's content.
   */
  takeScheduled(diskPath: string): SnapshotJson {
    const diskKey = relative(diskPath);
    const disk = this.sources.disk(diskKey);
    if (!disk) throw new Error(`takeScheduledSnapshot: no disk ${diskKey}`);
    const projectId = diskKey.split('/')[1]!;
    const schedules = (disk.resourcePolicies ?? [])
      .map((url) => this.sources.policy(relative(url)))
      .filter((p): p is ResourcePolicyJson => !!p?.snapshotSchedulePolicy);
    const policy = schedules[0];
    if (!policy) throw new Error(`takeScheduledSnapshot: disk ${diskKey} has no snapshot schedule attached`);
    const name = scheduledName(disk);
    const labels = policy.snapshotSchedulePolicy.snapshotProperties?.labels;
    const snapshot = this.put({
      project: projectId,
      name,
      diskSizeGb: Number(disk.sizeGb),
      sourceDisk: diskKey,
      ...(labels ? { labels } : {}),
      sourceSnapshotSchedulePolicy: policy.selfLink,
    });
    this.contents.copy(disk, snapshot);
    return snapshot;
  }

  private goneDiskId(diskPath: string): string {
    const id = this.goneDiskIds.get(diskPath) ?? newId();
    this.goneDiskIds.set(diskPath, id);
    return id;
  }

  private read(key: string): SnapshotJson {
    const snapshot = this.byKey.get(key);
    if (!snapshot) throw notFound(key);
    return this.ops.read(key, snapshot, 'READY', 'UPLOADING');
  }

  private list({ match: m, query }: ApiCall) {
    const collection = `projects/${m[1]}/global/snapshots`;
    const all = [...this.byKey.entries()]
      .filter(([key]) => key.startsWith(`${collection}/`))
      .map(([key, s]) => this.ops.read(key, s, 'READY', 'UPLOADING'));
    return listAnswer('compute#snapshotList', collection, all, query, SNAPSHOT_FIELDS);
  }

  /** disks.createSnapshot: the disk's content is copied as the call is accepted, the moment it is taken. */
  private take(call: ApiCall): OperationState {
    const [projectId, scope, diskName] = [call.match[1]!, call.match[2]!, call.match[3]!];
    const diskPath = `projects/${projectId}/${scope}/disks/${diskName}`;
    const disk = this.sources.disk(diskPath);
    if (!disk) throw notFound(diskPath);
    const body = call.body;
    const name = typeof body.name === 'string' ? body.name : '';
    if (!GCE_NAME.test(name)) throw invalid(`Invalid value for field 'resource.name': '${name}'`);
    const key = `projects/${projectId}/global/snapshots/${name}`;
    if (this.byKey.has(key)) throw alreadyExists(key);
    const labels = body.labels as Record<string, string> | undefined;
    const labelProblem = invalidLabel(labels);
    if (labelProblem) throw invalid(labelProblem);
    const snapshot: SnapshotJson = {
      kind: 'compute#snapshot',
      id: newId(),
      creationTimestamp: timestamp(),
      name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      status: 'CREATING',
      sourceDisk: disk.selfLink,
      sourceDiskId: disk.id,
      diskSizeGb: disk.sizeGb,
      storageBytes: '0',
      selfLink: link(key),
      ...(labels ? { labels: { ...labels } } : {}),
      labelFingerprint: labelFingerprint(labels),
    };
    const op = this.ops.start(call, scope, 'createSnapshot', diskPath, () => {
      snapshot.storageBytes = String(Number(disk.sizeGb) * 1024 ** 3 * 0.01);
    });
    if (!op.failure) {
      this.byKey.set(key, snapshot);
      this.contents.copy(disk, snapshot);
      this.ops.awaitDone(key, op, this.readyPolls);
    }
    return op;
  }

  private remove(call: ApiCall): OperationState {
    const key = `projects/${call.match[1]}/global/snapshots/${call.match[2]}`;
    if (!this.byKey.has(key)) throw notFound(key);
    return this.ops.start(call, 'global', 'delete', key, () => this.byKey.delete(key));
  }
}

/** GCE names a scheduled snapshot <disk>-<zone or region>-<UTC yyyymmddhhmmss>-<8 random>, within 63 characters. */
function scheduledName(disk: DiskJson): string {
  const where = String(disk.zone ?? disk.region).replace(/^.*\//, '');
  const time = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const random = [...randomBytes(8)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const suffix = `-${time}-${random}`;
  const prefix = `${disk.name}-${where}`.slice(0, 63 - suffix.length).replace(/-+$/, '');
  return `${prefix}${suffix}`;
}
