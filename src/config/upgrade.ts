import { parseBoolean, type Inputs } from './fields.js';

// How the server's version may change over the state: SkyPilot's database migrations run one way only.

export interface UpgradeConfig {
  /** A chart version older than the one that last ran on the state is installed only when this is true. */
  allowDowngrade: boolean;
  /** A snapshot of the disk, READY, before any change of the server's chart or version over existing state. */
  snapshotBeforeUpgrade: boolean;
  /** An upgrade that does not become healthy in time is rolled back to the revision that was deployed. */
  rollbackOnFailure: boolean;
}

export function parseUpgradeConfig(inputs: Inputs): UpgradeConfig {
  return {
    allowDowngrade: parseBoolean('allow-downgrade', inputs.get('allow-downgrade') || 'false'),
    snapshotBeforeUpgrade: parseBoolean(
      'snapshot-before-upgrade',
      inputs.get('snapshot-before-upgrade') || 'true',
    ),
    rollbackOnFailure: parseBoolean('rollback-on-failure', inputs.get('rollback-on-failure') || 'true'),
  };
}

/**
 * The part of `timeout` kept for a rollback when an upgrade may need one: the upgrade's wait ends this much
 * earlier. A third of the timeout, at most 5 minutes: what `helm rollback`, the old pod's start and its health need.
 */
export function rollbackReserveMs(timeoutMs: number): number {
  return Math.min(5 * 60_000, Math.floor(timeoutMs / 3));
}
