import type { ServerState } from '../serverState.js';

// What a test can put into the stand-in directly, without an API call: the world as it was before the run.

export interface DiskSeed {
  project?: string;
  zone?: string;
  region?: string;
  replicaZones?: string[];
  name: string;
  sizeGb: number;
  /** A disk type name such as pd-ssd; default pd-balanced. */
  type?: string;
  /** Instance names (in the disk's zone) or full instance URLs. */
  users?: string[];
  labels?: Record<string, string>;
  status?: string;
  description?: string;
  /** Resource policy names in the disk's region, or their URLs; they must have been put first. */
  resourcePolicies?: string[];
  /** What is written on it: the SkyPilot server's state (copied; default none, an empty disk). */
  state?: ServerState;
}

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
  /** The server's state it holds (copied; default none). */
  state?: ServerState;
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

export interface AddressSeed {
  project?: string;
  /** Default us-east5. */
  region?: string;
  name: string;
  /** The IP: a 127.X.Y.Z (X not 0) no other address of this stand-in has; default a fresh random one. */
  address?: string;
  networkTier?: 'PREMIUM' | 'STANDARD';
  labels?: Record<string, string>;
  description?: string;
  /** Forwarding rule names (in the address's region) or URLs using it: IN_USE; default none, RESERVED. */
  users?: string[];
}
