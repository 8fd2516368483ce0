import { InputError } from '../lib/errors.js';
import { GCE_NAME, gceName, oneOf, subdomain, type Inputs } from './fields.js';
import type { Mode } from './mode.js';

/** The GCE persistent disk that holds the state (the runbook's `gcloud compute disks create`). */
export interface DiskConfig {
  name: string;
  /** GCE sizes are in "GB" that are really GiB: a 10 GB disk holds 10 * 2^30 bytes. */
  sizeGb: number;
  type: string;
  /** A snapshot name or path to create the disk from when it is absent. */
  sourceSnapshot: string | undefined;
  /** `disk-source-snapshot: latest`: when absent, the disk comes back from its newest READY snapshot. */
  fromLatestSnapshot: boolean;
  /**
   * `disk-source-snapshot: none`: an absent disk is created empty on purpose. Without it, an absent disk with READY
   * snapshots is refused rather than silently replaced by an empty one.
   */
  startEmpty: boolean;
  /** `never`: an absent disk is never created empty (a recovery must find the state, not start anew). */
  createDisk: CreateDisk;
}

export type CreateDisk = 'if-absent' | 'never';

/** The static PersistentVolume that points at the disk, and the class that ties the chart's claim to it. */
export interface VolumeConfig {
  pvName: string;
  storageClassName: string;
}

export const DISK_DEFAULTS = {
  diskName: 'sky-api-server-state',
  diskSize: '10G',
  diskType: 'pd-balanced',
  pvName: 'sky-api-server-pv',
  storageClassName: 'sky-api-server-pv-class',
} as const;

const ZONAL_DISK_TYPES = [
  'pd-balanced',
  'pd-ssd',
  'pd-standard',
  'pd-extreme',
  'hyperdisk-balanced',
  'hyperdisk-extreme',
  'hyperdisk-throughput',
  'hyperdisk-ml',
];
const REGIONAL_DISK_TYPES = ['pd-balanced', 'pd-ssd', 'pd-standard', 'hyperdisk-balanced-high-availability'];

/** 10 GB is the smallest pd-balanced disk; 64 TB the largest persistent disk. */
const MIN_DISK_GB = 10;
const MAX_DISK_GB = 64 * 1024;

/** Values of disk-source-snapshot that are no snapshot name (GCE names could be these words: they are reserved). */
const RESERVED_SOURCES = ['latest', 'none'];

export function parseDiskConfig(inputs: Inputs, regional: boolean, mode: Mode = 'deploy'): DiskConfig {
  const type = inputs.get('disk-type') || DISK_DEFAULTS.diskType;
  const allowed = regional ? REGIONAL_DISK_TYPES : ZONAL_DISK_TYPES;
  if (!allowed.includes(type)) {
    throw new InputError(
      'disk-type',
      `'${type}' is not a ${regional ? 'regional' : 'zonal'} persistent disk type`,
      `Use one of: ${allowed.join(', ')}`,
    );
  }
  const snapshot = inputs.opt('disk-source-snapshot');
  const createDisk = oneOf('create-disk', inputs.get('create-disk') || 'if-absent', [
    'if-absent',
    'never',
  ] as const);
  if (snapshot === 'none') checkStartEmpty(createDisk, mode);
  return {
    name: gceName('disk-name', inputs.get('disk-name') || DISK_DEFAULTS.diskName),
    sizeGb: parseDiskSize(inputs.get('disk-size') || DISK_DEFAULTS.diskSize),
    type,
    sourceSnapshot: RESERVED_SOURCES.includes(snapshot ?? '') ? undefined : parseSnapshot(snapshot),
    fromLatestSnapshot: snapshot === 'latest',
    startEmpty: snapshot === 'none',
    createDisk,
  };
}

/** `none` asks for an empty disk: contradicted by a recovery that must find the state, and by a drill. */
function checkStartEmpty(createDisk: CreateDisk, mode: Mode): void {
  if (createDisk === 'never') {
    throw new InputError(
      'disk-source-snapshot',
      "'none' starts a new, empty disk, which create-disk: never forbids",
      'Use create-disk: if-absent to start an empty server on purpose, or disk-source-snapshot: latest (or a snapshot name) to restore the state',
    );
  }
  if (mode === 'drill') {
    throw new InputError(
      'disk-source-snapshot',
      "'none' has no meaning in drill mode: a drill always restores a snapshot of the disk",
      'Leave disk-source-snapshot empty (the drill takes a snapshot) or use latest (the drill restores the newest one)',
    );
  }
}

export function parseVolumeConfig(inputs: Inputs): VolumeConfig {
  return {
    pvName: subdomain('pv-name', inputs.get('pv-name') || DISK_DEFAULTS.pvName),
    storageClassName: subdomain(
      'storage-class-name',
      inputs.get('storage-class-name') || DISK_DEFAULTS.storageClassName,
    ),
  };
}

/**
 * Disk sizes as users write them. GCE's "GB" is a GiB, so `10`, `10G`, `10GB` and `10Gi` all mean the
 * same 10 GiB disk; `T`, `TB` and `Ti` are 1024 of those.
 */
export function parseDiskSize(raw: string): number {
  const match = /^(\d+)\s*(G|GB|Gi|GiB|T|TB|Ti|TiB)?$/i.exec(raw.trim());
  const hint = 'Write a whole number of GB: 10, 10G, 10GB, 10Gi (all the same 10 GiB disk) or 1T';
  if (!match) throw new InputError('disk-size', `'${raw}' is not a disk size`, hint);
  const gb = Number(match[1]) * (/^t/i.test(match[2] ?? '') ? 1024 : 1);
  if (!Number.isSafeInteger(gb) || gb < MIN_DISK_GB || gb > MAX_DISK_GB) {
    throw new InputError('disk-size', `'${raw}' is outside ${MIN_DISK_GB} GB to 64 TB`, hint);
  }
  return gb;
}

function parseSnapshot(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const full =
    /^(https:\/\/[^/]+\/compute\/v1\/)?projects\/[-a-z0-9.:]+\/global\/snapshots\/[a-z]([-a-z0-9]*[a-z0-9])?$/;
  if (GCE_NAME.test(raw) || full.test(raw)) return raw;
  throw new InputError(
    'disk-source-snapshot',
    `'${raw}' is not a snapshot`,
    'Give latest (the newest READY snapshot of the disk), none (an empty disk on purpose), a snapshot name or projects/PROJECT/global/snapshots/NAME',
  );
}
