import { randomBytes, randomInt } from 'node:crypto';

/** A Compute Disk as the REST API serializes it (int64 fields are strings). */
export interface DiskJson {
  kind: 'compute#disk';
  id: string;
  creationTimestamp: string;
  name: string;
  description?: string;
  sizeGb: string;
  zone?: string;
  region?: string;
  replicaZones?: string[];
  status: string;
  selfLink: string;
  type: string;
  labels?: Record<string, string>;
  labelFingerprint: string;
  users?: string[];
  sourceSnapshot?: string;
  sourceSnapshotId?: string;
  physicalBlockSizeBytes: string;
}

export interface SnapshotJson {
  kind: 'compute#snapshot';
  id: string;
  creationTimestamp: string;
  name: string;
  description?: string;
  status: string;
  sourceDisk: string;
  sourceDiskId: string;
  diskSizeGb: string;
  storageBytes: string;
  selfLink: string;
  labels?: Record<string, string>;
  labelFingerprint: string;
}

export interface OperationJson {
  kind: 'compute#operation';
  id: string;
  name: string;
  zone?: string;
  region?: string;
  operationType: string;
  targetLink: string;
  targetId: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  user: string;
  progress: number;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  selfLink: string;
  error?: { errors: { code: string; message: string }[] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

export const newId = (): string => String(randomInt(1, 2 ** 47)) + String(randomInt(100000, 999999));

/** GCE's timestamps carry the Pacific offset; any RFC 3339 time is faithful enough. */
export const timestamp = (): string => new Date().toISOString().replace('Z', '-00:00');

export const fingerprint = (): string => randomBytes(8).toString('base64');

export const operationName = (): string =>
  `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/** The real API refuses labels that break these rules with 400 invalid. */
export function invalidLabel(labels: Record<string, string> | undefined): string | undefined {
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(key)) return `Invalid value for field 'resource.labels': label key '${key}'`;
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      return `Invalid value for field 'resource.labels': label value '${String(value)}' of key '${key}'`;
    }
  }
  return undefined;
}

export const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
