import { parseStaticIp } from './address.js';
import { parseAuthConfig, type AuthConfig } from './auth.js';
import { parseBackupConfig, type BackupConfig } from './backup.js';
import { parseCredentialSecrets, type CredentialSecret } from './credentials.js';
import {
  DISK_DEFAULTS,
  parseDiskConfig,
  parseVolumeConfig,
  type DiskConfig,
  type VolumeConfig,
} from './disk.js';
import { inputsOf, parseBoolean, parseDuration, type InputReader } from './fields.js';
import { parseLocation, type LocationConfig } from './location.js';
import { parseMode, type Mode } from './mode.js';
import { parseReleaseConfig, RELEASE_DEFAULTS, type ReleaseConfig } from './release.js';
import { parseToolRequests, toolInputs } from './tools.js';
import { parseUpgradeConfig, type UpgradeConfig } from './upgrade.js';
import type { ToolRequests } from '../tools/index.js';

export type { InputReader } from './fields.js';
export type { Mode } from './mode.js';
export type { AuthConfig } from './auth.js';
export type { BackupConfig, SnapshotSchedule } from './backup.js';
export type { DiskConfig } from './disk.js';
export type { ReleaseConfig, ServiceType } from './release.js';
export type { UpgradeConfig } from './upgrade.js';

/** Every input, parsed once into the value its user needs, and checked before anything changes anywhere. */
export interface Config extends LocationConfig, VolumeConfig {
  mode: Mode;
  disk: DiskConfig;
  /** The snapshot schedule kept on the disk. */
  backup: BackupConfig;
  release: ReleaseConfig;
  /** The `static-ip` input: the name of the regional address users log in to; undefined for an ephemeral one. */
  staticIp: string | undefined;
  /** How the server's chart version may change over the state (downgrades, snapshots, rollbacks). */
  upgrades: UpgradeConfig;
  auth: AuthConfig;
  /** The Secrets the given cloud credentials become, already validated. */
  credentialSecrets: CredentialSecret[];
  timeoutMs: number;
  healthCheck: boolean;
  drillCleanup: boolean;
  tools: ToolRequests;
}

export const DEFAULTS = {
  ...DISK_DEFAULTS,
  ...RELEASE_DEFAULTS,
  webUsername: 'skypilot',
  timeout: '15m',
  mode: 'deploy',
} as const;

export function parseConfig(read: InputReader, env: NodeJS.ProcessEnv = process.env): Config {
  const inputs = inputsOf(read);
  const mode = parseMode(inputs.get('mode'));
  const location = parseLocation(inputs, env);
  const release = parseReleaseConfig(inputs, env);
  return {
    mode,
    ...location,
    disk: parseDiskConfig(inputs, location.replicaZones.length > 0, mode),
    backup: parseBackupConfig(inputs),
    ...parseVolumeConfig(inputs),
    release,
    staticIp: parseStaticIp(inputs, {
      ...location,
      serviceType: release.serviceType,
      values: [...release.fileValues, release.values],
    }),
    upgrades: parseUpgradeConfig(inputs),
    auth: parseAuthConfig(inputs, mode),
    tools: parseToolRequests(toolInputs(inputs), location.cluster !== undefined),
    credentialSecrets: parseCredentialSecrets(read, location.project),
    timeoutMs: parseDuration('timeout', inputs.get('timeout') || DEFAULTS.timeout),
    healthCheck: parseBoolean('health-check', inputs.get('health-check') || 'true'),
    drillCleanup: parseBoolean('drill-cleanup', inputs.get('drill-cleanup') || 'false'),
  };
}
