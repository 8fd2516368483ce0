import type { Contents } from './content.js';
import { alreadyExists, inUse, invalid, notFound } from './errors.js';
import { applyLabels, invalidLabel, labelFingerprint, labelsToSet } from './labels.js';
import type { Operations } from './operations.js';
import { diskRegion, policiesAfterAdd } from './policies.js';
import {
  DEFAULT_PROJECT,
  GCE_NAME,
  link,
  newId,
  relative,
  timestamp,
  type DiskJson,
  type OperationState,
  type ResourcePolicyJson,
  type SnapshotJson,
} from './resources.js';
import { ZONAL_OR_REGIONAL, type ApiCall, type Json, type Route } from './routes.js';
import type { DiskSeed } from './seeds.js';
import type { Snapshots } from './snapshots.js';

/**
 * compute/v1 disks and regionDisks: insert (empty, or from a snapshot whose content it gets), get, delete,
 * setLabels. Their resource policies are in diskPolicies.ts, createSnapshot in snapshots.ts.
 */
export class Disks {
  /** By path: projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D. */
  readonly byKey = new Map<string, DiskJson>();

  constructor(
    private readonly ops: Operations,
    private readonly contents: Contents,
    private readonly readyPolls: number,
    private readonly snapshots: Snapshots,
    private readonly policies: Map<string, ResourcePolicyJson>,
  ) {}

  routes(): Route[] {
    const one = new RegExp(`${ZONAL_OR_REGIONAL}\\/disks\\/([^/]+)$`);
    return [
      [
        'POST',
        new RegExp(`${ZONAL_OR_REGIONAL}\\/disks$`),
        (call) => this.ops.once(call, () => this.insert(call)),
      ],
      ['GET', one, ({ match: m }) => this.read(`projects/${m[1]}/${m[2]}/disks/${m[3]}`)],
      ['DELETE', one, (call) => this.ops.once(call, () => this.deleteDisk(call))],
      [
        'POST',
        new RegExp(`${ZONAL_OR_REGIONAL}\\/disks\\/([^/]+)\\/setLabels$`),
        (call) => this.ops.once(call, () => this.setLabels(call)),
      ],
    ];
  }

  /** A disk by path (projects/P/zones/Z/disks/D), URL, or the volumeHandle of its PersistentVolume (the same path). */
  get(pathOrUrl: string): DiskJson | undefined {
    return this.byKey.get(relative(pathOrUrl));
  }

  /** The disk (its path) a resource policy is attached to, if any. */
  userOf(policyUrl: string): string | undefined {
    return [...this.byKey.entries()].find(([, d]) => d.resourcePolicies?.includes(policyUrl))?.[0];
  }

  put(seed: DiskSeed): DiskJson {
    const projectId = seed.project ?? DEFAULT_PROJECT;
    const regional = seed.region !== undefined;
    const scope = regional ? `regions/${seed.region}` : `zones/${seed.zone ?? 'us-east5-b'}`;
    const key = `projects/${projectId}/${scope}/disks/${seed.name}`;
    const userZone = seed.zone ?? seed.replicaZones?.[0] ?? 'us-east5-b';
    const disk: DiskJson = {
      kind: 'compute#disk',
      id: newId(),
      creationTimestamp: timestamp(),
      name: seed.name,
      ...(seed.description ? { description: seed.description } : {}),
      sizeGb: String(seed.sizeGb),
      ...(regional
        ? {
            region: link(`projects/${projectId}/${scope}`),
            replicaZones: (seed.replicaZones ?? []).map((z) => link(`projects/${projectId}/zones/${z}`)),
          }
        : { zone: link(`projects/${projectId}/${scope}`) }),
      status: seed.status ?? 'READY',
      selfLink: link(key),
      type: link(`projects/${projectId}/${scope}/diskTypes/${seed.type ?? 'pd-balanced'}`),
      ...(seed.labels ? { labels: { ...seed.labels } } : {}),
      labelFingerprint: labelFingerprint(seed.labels),
      ...(seed.users?.length
        ? {
            users: seed.users.map((u) =>
              u.includes('/') ? u : link(`projects/${projectId}/zones/${userZone}/instances/${u}`),
            ),
          }
        : {}),
      physicalBlockSizeBytes: '4096',
    };
    // Seeds go through the same rules as the API: a policy a disk names must exist and fit the disk.
    if (seed.resourcePolicies?.length) {
      const urls = seed.resourcePolicies.map((n) =>
        n.includes('/') ? n : `projects/${projectId}/regions/${diskRegion(disk)}/resourcePolicies/${n}`,
      );
      disk.resourcePolicies = policiesAfterAdd(disk, urls, this.policies, projectId, key).map(
        (p) => p.selfLink,
      );
    }
    this.byKey.set(key, disk);
    this.contents.set(disk, seed.state);
    return disk;
  }

  /** The disaster: the disk is gone at once, without an operation; its snapshots remain. */
  remove(pathOrUrl: string): boolean {
    return this.byKey.delete(relative(pathOrUrl));
  }

  private read(key: string): DiskJson {
    const disk = this.byKey.get(key);
    if (!disk) throw notFound(key);
    return this.ops.read(key, disk, 'READY');
  }

  private insert(call: ApiCall): OperationState {
    const [projectId, scope] = [call.match[1]!, call.match[2]!];
    const name = typeof call.body.name === 'string' ? call.body.name : '';
    if (!GCE_NAME.test(name))
      throw invalid(
        `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    const key = `projects/${projectId}/${scope}/disks/${name}`;
    if (this.byKey.has(key)) throw alreadyExists(key);
    const disk = newDisk(projectId, scope, name, call.body, (source) =>
      this.sourceSnapshot(source, projectId),
    );
    // disks.insert takes resourcePolicies too: a restored disk can get its schedule in the same call.
    if (call.body.resourcePolicies !== undefined) {
      const attached = policiesAfterAdd(disk, call.body.resourcePolicies, this.policies, projectId, key);
      disk.resourcePolicies = attached.map((p) => p.selfLink);
    }
    const op = this.ops.start(call, scope, 'insert', key);
    op.json.targetId = disk.id;
    // A failing insert leaves no disk behind, as a capacity or quota failure does.
    if (!op.failure) {
      this.byKey.set(key, disk);
      const snapshot = disk.sourceSnapshot
        ? this.snapshots.byKey.get(relative(disk.sourceSnapshot))
        : undefined;
      if (snapshot) this.contents.copy(snapshot, disk);
      this.ops.awaitDone(key, op, this.readyPolls);
    }
    return op;
  }

  private sourceSnapshot(source: unknown, projectId: string): SnapshotJson {
    const snapshotPath = snapshotKey(String(source), projectId);
    const snapshot = this.snapshots.byKey.get(snapshotPath);
    if (!snapshot) throw notFound(snapshotPath);
    return snapshot;
  }

  private deleteDisk(call: ApiCall): OperationState {
    const m = call.match;
    const key = `projects/${m[1]}/${m[2]}/disks/${m[3]}`;
    const disk = this.byKey.get(key);
    if (!disk) throw notFound(key);
    if (disk.users?.length) throw inUse('disk', key, relative(disk.users[0]!));
    return this.ops.start(call, m[2]!, 'delete', key, () => this.byKey.delete(key));
  }

  /** disks.setLabels / regionDisks.setLabels: checked against the fingerprint, applied when accepted. */
  private setLabels(call: ApiCall): OperationState {
    const m = call.match;
    const key = `projects/${m[1]}/${m[2]}/disks/${m[3]}`;
    const disk = this.byKey.get(key);
    if (!disk) throw notFound(key);
    const labels = labelsToSet(disk, call.body);
    const op = this.ops.start(call, m[2]!, 'setLabels', key);
    op.json.targetId = disk.id;
    if (!op.failure) applyLabels(disk, labels);
    return op;
  }
}

/** A CREATING disk from an insert body, checked as GCE checks one (400 invalid, 404 for an absent snapshot). */
function newDisk(
  projectId: string,
  scope: string,
  name: string,
  body: Json,
  sourceSnapshot: (source: unknown) => SnapshotJson,
): DiskJson {
  const regional = scope.startsWith('regions/');
  const typeName = diskTypeName(body.type, regional);
  const labels = body.labels as Record<string, string> | undefined;
  const labelProblem = invalidLabel(labels);
  if (labelProblem) throw invalid(labelProblem);
  const snapshot = body.sourceSnapshot !== undefined ? sourceSnapshot(body.sourceSnapshot) : undefined;
  const sizeGb = body.sizeGb === undefined ? Number(snapshot?.diskSizeGb ?? 500) : Number(body.sizeGb);
  if (!Number.isSafeInteger(sizeGb) || sizeGb < 10)
    throw invalid(`Invalid value for field 'resource.sizeGb': '${String(body.sizeGb)}'`);
  if (snapshot && sizeGb < Number(snapshot.diskSizeGb))
    throw invalid(`Requested disk size cannot be smaller than the snapshot size (${snapshot.diskSizeGb} GB)`);
  const key = `projects/${projectId}/${scope}/disks/${name}`;
  return {
    kind: 'compute#disk',
    id: newId(),
    creationTimestamp: timestamp(),
    name,
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    sizeGb: String(sizeGb),
    ...(regional
      ? { region: link(`projects/${projectId}/${scope}`), replicaZones: replicaZones(body, projectId) }
      : { zone: link(`projects/${projectId}/${scope}`) }),
    status: 'CREATING',
    selfLink: link(key),
    type: link(`projects/${projectId}/${scope}/diskTypes/${typeName}`),
    ...(labels ? { labels: { ...labels } } : {}),
    labelFingerprint: labelFingerprint(labels),
    ...(snapshot ? { sourceSnapshot: snapshot.selfLink, sourceSnapshotId: snapshot.id } : {}),
    physicalBlockSizeBytes: '4096',
  };
}

function replicaZones(body: Json, projectId: string): string[] {
  const zones = Array.isArray(body.replicaZones) ? body.replicaZones.map(String) : [];
  if (zones.length !== 2)
    throw invalid("Invalid value for field 'resource.replicaZones': exactly two zones are required");
  return zones.map((z) => link(`projects/${projectId}/zones/${z.replace(/^.*\/zones\//, '')}`));
}

const DISK_TYPES = [
  'pd-balanced',
  'pd-ssd',
  'pd-standard',
  'pd-extreme',
  'hyperdisk-balanced',
  'hyperdisk-extreme',
  'hyperdisk-throughput',
  'hyperdisk-ml',
  'hyperdisk-balanced-high-availability',
];

/** The API wants the type as a URL (full or partial); a bare name is malformed. */
function diskTypeName(type: unknown, regional: boolean): string {
  if (type === undefined) return 'pd-standard';
  const m = /(?:^|\/)(zones|regions)\/[^/]+\/diskTypes\/([a-z0-9-]+)$/.exec(String(type));
  if (!m) throw invalid(`Invalid value for field 'resource.type': '${String(type)}'. The URL is malformed.`);
  if ((m[1] === 'regions') !== regional) {
    throw invalid(
      `Invalid value for field 'resource.type': '${String(type)}'. ${regional ? 'Regional' : 'Zonal'} disks need a ${regional ? 'regional' : 'zonal'} disk type.`,
    );
  }
  if (!DISK_TYPES.includes(m[2]!)) throw notFound(String(type));
  return m[2]!;
}

function snapshotKey(source: string, projectId: string): string {
  const rel = relative(source);
  if (/^projects\/[^/]+\/global\/snapshots\/[^/]+$/.test(rel)) return rel;
  if (/^global\/snapshots\/[^/]+$/.test(rel)) return `projects/${projectId}/${rel}`;
  throw invalid(`Invalid value for field 'resource.sourceSnapshot': '${source}'. The URL is malformed.`);
}
