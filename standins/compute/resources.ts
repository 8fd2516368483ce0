import { randomBytes, randomInt } from 'node:crypto';
import { labelFingerprint } from './labels.js';

export { invalidLabel } from './labels.js';

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
  /** Full URLs of the attached resource policies (snapshot schedules); absent when none, as GCE omits empty lists. */
  resourcePolicies?: string[];
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
  /** Set on snapshots a snapshot schedule took. */
  autoCreated?: boolean;
  sourceSnapshotSchedulePolicy?: string;
  sourceSnapshotSchedulePolicyId?: string;
}

/** A snapshot schedule as ResourcePolicy JSON (compute/v1 resourcePolicies); int32 fields are JSON numbers. */
export interface SnapshotSchedulePolicyJson {
  schedule: {
    hourlySchedule?: { hoursInCycle: number; startTime: string };
    dailySchedule?: { daysInCycle: number; startTime: string };
    weeklySchedule?: { dayOfWeeks: { day: string; startTime: string }[] };
  };
  retentionPolicy?: { maxRetentionDays: number; onSourceDiskDelete: string };
  snapshotProperties?: { labels?: Record<string, string>; storageLocations?: string[]; guestFlush?: boolean };
}

export interface ResourcePolicyJson {
  kind: 'compute#resourcePolicy';
  id: string;
  creationTimestamp: string;
  selfLink: string;
  region: string;
  name: string;
  description?: string;
  status: string;
  snapshotSchedulePolicy: SnapshotSchedulePolicyJson;
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

/** A regional address (compute/v1 Address) as the REST API serializes it; the stand-in's are loopback IPs. */
export interface AddressJson {
  kind: 'compute#address';
  id: string;
  creationTimestamp: string;
  name: string;
  description?: string;
  /** The IP: 127.X.Y.Z here, so a test's load balancer can listen on it. */
  address: string;
  /** RESERVING while its insert runs, RESERVED, or IN_USE by the forwarding rules in `users`. */
  status: 'RESERVING' | 'RESERVED' | 'IN_USE';
  region: string;
  selfLink: string;
  /** Forwarding rule URLs; absent when none, as GCE omits empty lists. */
  users?: string[];
  networkTier: 'PREMIUM' | 'STANDARD';
  addressType: 'EXTERNAL';
  labels?: Record<string, string>;
  labelFingerprint: string;
}

/** One operation the stand-in runs: it turns DONE after `pollsToDone` polls (GET or wait). */
export interface OperationState {
  json: OperationJson;
  polls: number;
  pollsToDone: number;
  failure?: { code: string; message: string; httpStatus: number };
  /** Runs once when the operation turns DONE without error. */
  onDone: () => void;
}

/** The resource stays CREATING until its operation is DONE and it was read this many more times. */
export interface Pending {
  op: OperationState;
  reads: number;
}

/** GCE writes selfLinks on www.googleapis.com whichever endpoint was called; so does the stand-in. */
export const SELF_LINK_BASE = 'https://www.googleapis.com/compute/v1/';

/** The project seeds and unparsable paths fall back to. */
export const DEFAULT_PROJECT = 'standin-project';

/** The full URL GCE writes for a resource path (projects/P/...). */
export const link = (resourcePath: string): string => `${SELF_LINK_BASE}${resourcePath}`;

/** A resource's path (projects/P/...) from its URL on any host, or the path itself. */
export const relative = (urlOrPath: string): string =>
  urlOrPath.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');

/** The project a request path names. */
export const projectOf = (urlPath: string): string =>
  /\/projects\/([^/]+)\//.exec(urlPath)?.[1] ?? DEFAULT_PROJECT;

/** 19 digits below 2^63, like GCE's ids: the client decodes `id` as uint64, so a larger one would wrap. */
export const newId = (): string =>
  String(randomInt(100_000_000, 900_000_000)) + String(randomInt(0, 10_000_000_000)).padStart(10, '0');

const PACIFIC = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'longOffset',
});

/**
 * RFC 3339 in Pacific time with its offset, as GCE writes creationTimestamp (e.g. 2024-05-01T09:12:34.567-07:00):
 * the offset changes with daylight saving time, so only parsed times compare correctly, not strings.
 */
export function gceTimestamp(date: Date): string {
  const part = Object.fromEntries(PACIFIC.formatToParts(date).map((p) => [p.type, p.value]));
  const offset = String(part.timeZoneName).replace(/^GMT$/, 'GMT+00:00').replace('GMT', '');
  const millis = String(date.getUTCMilliseconds()).padStart(3, '0');
  return `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}:${part.second}.${millis}${offset}`;
}

export const timestamp = (): string => gceTimestamp(new Date());

/** The fingerprint of these labels (of none: GCE's fingerprint of a resource without labels). */
export const fingerprint = (labels?: Record<string, string>): string => labelFingerprint(labels);

export const operationName = (): string =>
  `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

export const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
