import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { credentialSecrets, type CredentialSecret } from './cloudCredentials.js';
import { InputError } from './errors.js';

/** Reads one input as the runner passes it (INPUT_<NAME>); injectable so tests need no environment. */
export type InputReader = (name: string) => string;

export type Mode = 'deploy' | 'plan' | 'drill';
export type ServiceType = 'LoadBalancer' | 'NodePort';

export interface DiskConfig {
  name: string;
  /** GCE sizes are in "GB" that are really GiB: a 10 GB disk holds 10 * 2^30 bytes. */
  sizeGb: number;
  type: string;
  sourceSnapshot: string | undefined;
}

export interface ReleaseConfig {
  name: string;
  namespace: string;
  chart: string;
  chartVersion: string | undefined;
  repoUrl: string;
  /** The user's `values` text, parsed; applied after ours. */
  values: Record<string, unknown>;
  valuesFiles: string[];
  serviceType: ServiceType;
}

export interface AuthConfig {
  username: string;
  password: string | undefined;
  authSecret: string | undefined;
}

export interface ToolVersions {
  helm: string;
  kubectl: string;
  gcloud: string;
  mirror: string | undefined;
  /** Google publishes no checksum file beside the gcloud archive: users pin one. */
  gcloudSha256?: string | undefined;
}

export interface CloudCredentials {
  gcpServiceAccountKey: string | undefined;
  aws: { accessKeyId: string; secretAccessKey: string } | undefined;
  kubeconfig: string | undefined;
}

export interface Config {
  mode: Mode;
  project: string;
  zone: string;
  region: string;
  /** Empty for a zonal disk; two zones of `region` for a regional one. */
  replicaZones: string[];
  disk: DiskConfig;
  computeEndpoint: string | undefined;
  cluster: string | undefined;
  clusterLocation: string;
  pvName: string;
  storageClassName: string;
  release: ReleaseConfig;
  auth: AuthConfig;
  credentials: CloudCredentials;
  /** The Secrets the given credentials become, already validated. */
  credentialSecrets: CredentialSecret[];
  timeoutMs: number;
  healthCheck: boolean;
  drillCleanup: boolean;
  tools: ToolVersions;
}

export const DEFAULTS = {
  diskName: 'sky-api-server-state',
  diskSize: '10G',
  diskType: 'pd-balanced',
  pvName: 'sky-api-server-pv',
  storageClassName: 'sky-api-server-pv-class',
  releaseName: 'skypilot',
  namespace: 'skypilot',
  chart: 'skypilot/skypilot-nightly',
  helmRepoUrl: 'https://helm.skypilot.co',
  webUsername: 'skypilot',
  serviceType: 'LoadBalancer',
  timeout: '15m',
  mode: 'deploy',
} as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GCE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ZONE = /^([a-z]+-[a-z]+[0-9]+)-([a-z])$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const PROJECT = /^([a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const TOOL_VERSION = /^(latest|v?\d+(\.\d+)?|v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)$/;

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
export const MIN_DISK_GB = 10;
export const MAX_DISK_GB = 64 * 1024;

/** Parses every input once, checking every rule before anything is changed anywhere. */
export function parseConfig(read: InputReader, env: NodeJS.ProcessEnv = process.env): Config {
  const get = (name: string): string => read(name).trim();
  const opt = (name: string): string | undefined => get(name) || undefined;

  const mode = oneOf('mode', get('mode') || DEFAULTS.mode, ['deploy', 'plan', 'drill'] as const);

  const project =
    opt('project') ?? env.GOOGLE_CLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT ?? env.GCLOUD_PROJECT ?? '';
  if (!project) {
    throw new InputError(
      'project',
      'no Google Cloud project given',
      'Set the input, or run google-github-actions/auth before this step so it exports GOOGLE_CLOUD_PROJECT',
    );
  }
  matches(
    'project',
    project,
    PROJECT,
    'a project ID such as my-project-123 (6-30 lowercase letters, digits, hyphens)',
  );

  const zone = required('zone', get('zone'));
  const zoneMatch = ZONE.exec(zone);
  if (!zoneMatch) {
    throw new InputError(
      'zone',
      `'${zone}' is not a zone name`,
      'Use a zone such as us-east5-b, the zone of the GKE cluster',
    );
  }
  const region = zoneMatch[1]!;
  const replicaZones = parseReplicaZones(opt('replica-zones'), zone, region);

  const diskType = get('disk-type') || DEFAULTS.diskType;
  const allowedTypes = replicaZones.length ? REGIONAL_DISK_TYPES : ZONAL_DISK_TYPES;
  if (!allowedTypes.includes(diskType)) {
    throw new InputError(
      'disk-type',
      `'${diskType}' is not a ${replicaZones.length ? 'regional' : 'zonal'} persistent disk type`,
      `Use one of: ${allowedTypes.join(', ')}`,
    );
  }

  const disk: DiskConfig = {
    name: gceName('disk-name', get('disk-name') || DEFAULTS.diskName),
    sizeGb: parseDiskSize(get('disk-size') || DEFAULTS.diskSize),
    type: diskType,
    sourceSnapshot: parseSnapshot(opt('disk-source-snapshot')),
  };

  const computeEndpoint = parseEndpoint('compute-endpoint', opt('compute-endpoint'));
  const cluster = opt('cluster');
  if (cluster !== undefined) {
    matches(
      'cluster',
      cluster,
      /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/,
      'a GKE cluster name (1-40 lowercase letters, digits, hyphens)',
    );
  }
  const clusterLocation = opt('cluster-location') ?? zone;
  if (!ZONE.test(clusterLocation) && !REGION.test(clusterLocation)) {
    throw new InputError(
      'cluster-location',
      `'${clusterLocation}' is neither a zone nor a region`,
      'Use e.g. us-east5-b or us-east5',
    );
  }
  const clusterRegion = ZONE.exec(clusterLocation)?.[1] ?? clusterLocation;
  if (clusterRegion !== region) {
    throw new InputError(
      'cluster-location',
      `'${clusterLocation}' is not in the zone's region ${region}`,
      `A disk in ${zone} attaches only to nodes there: use ${zone}, ${region} or another zone of ${region}`,
    );
  }

  const releaseName = get('release-name') || DEFAULTS.releaseName;
  matches(
    'release-name',
    releaseName,
    DNS_LABEL,
    'lowercase letters, digits and hyphens, starting and ending alphanumeric',
  );
  if (releaseName.length > 53) {
    throw new InputError(
      'release-name',
      `'${releaseName}' is ${releaseName.length} characters`,
      'Helm allows at most 53',
    );
  }
  const namespace = get('namespace') || DEFAULTS.namespace;
  matches('namespace', namespace, DNS_LABEL, 'a DNS-1123 label: lowercase letters, digits and hyphens');
  if (namespace.length > 63)
    throw new InputError('namespace', `'${namespace}' is longer than 63 characters`, 'Shorten it');

  const pvName = get('pv-name') || DEFAULTS.pvName;
  subdomain('pv-name', pvName);
  const storageClassName = get('storage-class-name') || DEFAULTS.storageClassName;
  subdomain('storage-class-name', storageClassName);

  const chart = safeArg('chart', get('chart') || DEFAULTS.chart);
  if (/\s/.test(chart))
    throw new InputError('chart', `'${chart}' contains white space`, 'Use REPO/NAME or oci://HOST/PATH');
  const chartVersion = opt('chart-version');
  if (chartVersion !== undefined) {
    safeArg('chart-version', chartVersion);
    matches(
      'chart-version',
      chartVersion,
      /^[\w.+<>=~^*| -]+$/,
      'a chart version or semver range such as 1.0.0-dev.20250218',
    );
  }
  const repoUrl = parseEndpoint('helm-repo-url', get('helm-repo-url') || DEFAULTS.helmRepoUrl)!;

  const username = get('web-username') || DEFAULTS.webUsername;
  matches(
    'web-username',
    username,
    /^[A-Za-z0-9._@+-]{1,64}$/,
    'letters, digits and . _ @ + - (no colon: htpasswd uses it)',
  );
  safeArg('web-username', username);
  const password = read('web-password') || undefined;
  if (password !== undefined && /[\r\n]/.test(password)) {
    throw new InputError('web-password', 'contains a line break', 'Use a single-line password');
  }
  const authSecret = opt('auth-secret');
  if (authSecret !== undefined) subdomain('auth-secret', authSecret);
  if (password === undefined && authSecret === undefined && mode !== 'plan') {
    throw new InputError(
      'web-password',
      'is required unless auth-secret is given',
      'Without either, the API server would be deployed with no authentication. Pass a repository secret',
    );
  }
  if (password !== undefined && authSecret !== undefined) {
    throw new InputError(
      'auth-secret',
      'cannot be combined with web-password',
      'Give one way of authenticating, not both',
    );
  }

  const values = parseValues(read('values'));
  const valuesFiles = parseValuesFiles(read('values-files'));
  const serviceType = oneOf('service-type', get('service-type') || DEFAULTS.serviceType, [
    'LoadBalancer',
    'NodePort',
  ] as const);

  const tools: ToolVersions = {
    helm: toolVersion('helm-version', get('helm-version') || 'default'),
    kubectl: toolVersion('kubectl-version', get('kubectl-version') || 'default'),
    gcloud: toolVersion('gcloud-version', get('gcloud-version') || 'default', true),
    mirror: parseEndpoint('tools-mirror', opt('tools-mirror')),
    gcloudSha256: opt('gcloud-sha256')?.toLowerCase(),
  };
  if (tools.gcloudSha256 !== undefined && !/^[0-9a-f]{64}$/.test(tools.gcloudSha256)) {
    throw new InputError(
      'gcloud-sha256',
      `'${tools.gcloudSha256}' is not a SHA-256`,
      "Give the 64 hex digits of the archive's SHA-256",
    );
  }
  if (cluster !== undefined && tools.gcloud === 'none') {
    throw new InputError(
      'gcloud-version',
      "is 'none' but 'cluster' is set",
      'gcloud fetches the cluster credentials: drop one of the two',
    );
  }

  const credentials = parseCloudCredentials(read);
  return {
    mode,
    project,
    zone,
    region,
    replicaZones,
    disk,
    computeEndpoint,
    cluster,
    clusterLocation,
    pvName,
    storageClassName,
    release: {
      name: releaseName,
      namespace,
      chart,
      chartVersion,
      repoUrl,
      values,
      valuesFiles,
      serviceType,
    },
    auth: { username, password, authSecret },
    credentials,
    credentialSecrets: credentialSecrets(credentials, project),
    timeoutMs: parseDuration('timeout', get('timeout') || DEFAULTS.timeout),
    healthCheck: parseBoolean('health-check', get('health-check') || 'true'),
    drillCleanup: parseBoolean('drill-cleanup', get('drill-cleanup') || 'false'),
    tools,
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

/** Go-style durations (`15m`, `1h30m`, `90s`) or plain seconds. */
export function parseDuration(input: string, raw: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const text = raw.trim();
  if (/^\d+$/.test(text) && Number(text) > 0) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
  if (!parts.length || parts.map((p) => p[0]).join('') !== text || ms <= 0) {
    throw new InputError(input, `'${raw}' is not a duration`, 'Use e.g. 90s, 15m or 1h30m');
  }
  return ms;
}

/** Like the YAML 1.2 core schema, and unlike `Boolean(x)`: a typo such as `ture` is an error. */
export function parseBoolean(input: string, raw: string): boolean {
  const text = raw.trim();
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  throw new InputError(input, `'${raw}' is not a boolean`, 'Use true or false');
}

function parseReplicaZones(raw: string | undefined, zone: string, region: string): string[] {
  if (raw === undefined) return [];
  const zones = raw.split(/[\s,]+/).filter(Boolean);
  const hint = `Give two zones of ${region}, one of them ${zone}, e.g. ${zone},${region}-${zone.endsWith('-a') ? 'b' : 'a'}`;
  if (zones.length !== 2 || zones[0] === zones[1]) {
    throw new InputError('replica-zones', `'${raw}' must name exactly two different zones`, hint);
  }
  for (const z of zones) {
    const m = ZONE.exec(z);
    if (!m) throw new InputError('replica-zones', `'${z}' is not a zone name`, hint);
    if (m[1] !== region)
      throw new InputError('replica-zones', `'${z}' is not in the zone's region ${region}`, hint);
  }
  if (!zones.includes(zone))
    throw new InputError('replica-zones', `'${raw}' does not include the zone ${zone}`, hint);
  return zones;
}

function parseSnapshot(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const full =
    /^(https:\/\/[^/]+\/compute\/v1\/)?projects\/[-a-z0-9.:]+\/global\/snapshots\/[a-z]([-a-z0-9]*[a-z0-9])?$/;
  if (GCE_NAME.test(raw) || full.test(raw)) return raw;
  throw new InputError(
    'disk-source-snapshot',
    `'${raw}' is not a snapshot`,
    'Give a snapshot name or projects/PROJECT/global/snapshots/NAME',
  );
}

function parseEndpoint(input: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(input, `'${raw}' is not a URL`, 'Give an absolute https:// URL');
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  // Plain http only reaches loopback (the local stand-ins); anything else would send tokens in clear text.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InputError(
      input,
      `'${raw}' is not an https:// URL`,
      'Use https (http is accepted only for localhost)',
    );
  }
  if (url.username || url.password) {
    throw new InputError(input, 'must not carry credentials in the URL', 'Remove the user:password@ part');
  }
  return url.toString().replace(/\/$/, '');
}

function parseValues(raw: string): Record<string, unknown> {
  if (!raw.trim()) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(raw, { version: '1.1', merge: true });
  } catch (error) {
    throw new InputError(
      'values',
      `is not valid YAML (${(error as Error).message.split('\n')[0]})`,
      'Give a YAML mapping of chart values',
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError(
      'values',
      'is not a YAML mapping',
      'Give chart values such as `apiService:\\n  skipResourceCheck: true`',
    );
  }
  guardStateValues('values', parsed as Record<string, unknown>);
  return parsed as Record<string, unknown>;
}

function parseValuesFiles(raw: string): string[] {
  const files = raw
    .split(/[\n,]/)
    .map((f) => f.trim())
    .filter(Boolean);
  for (const file of files) {
    safeArg('values-files', file);
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(file), 'utf8');
    } catch {
      throw new InputError(
        'values-files',
        `cannot read '${file}'`,
        'Give paths relative to the workspace, one per line',
      );
    }
    let parsed: unknown;
    try {
      // Helm reads values as YAML 1.1 (merge keys, yes/no): check what helm will see.
      parsed = parseYaml(text, { version: '1.1', merge: true });
    } catch {
      throw new InputError('values-files', `'${file}' is not valid YAML`, 'Fix the file');
    }
    if (parsed === null || parsed === undefined) continue;
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InputError(
        'values-files',
        `'${file}' is not a YAML mapping`,
        'A values file holds chart values as a mapping',
      );
    }
    guardStateValues('values-files', parsed as Record<string, unknown>);
  }
  return files;
}

/** The storage values bind the chart's claim to our volume; letting a user override them loses the state. */
function guardStateValues(input: string, values: Record<string, unknown>): void {
  // All of `storage` is ours: any key under it (even an access mode) can stop the claim binding the state volume.
  if ('storage' in values) {
    throw new InputError(
      input,
      'sets storage, which the action owns',
      'The action binds the chart to the persistent disk itself; use disk-size, pv-name and storage-class-name instead',
    );
  }
}

function parseCloudCredentials(read: InputReader): CloudCredentials {
  // Read once: each read of a secret input registers its mask again.
  const text = (name: string): string | undefined => {
    const value = read(name);
    return value.trim() ? value : undefined;
  };
  const gcp = text('gcp-credentials');
  const awsId = text('aws-access-key-id')?.trim();
  const awsSecret = text('aws-secret-access-key')?.trim();
  if ((awsId === undefined) !== (awsSecret === undefined)) {
    throw new InputError(
      awsId === undefined ? 'aws-access-key-id' : 'aws-secret-access-key',
      'is missing: the AWS key pair comes together',
      'Give both aws-access-key-id and aws-secret-access-key, or neither',
    );
  }
  return {
    gcpServiceAccountKey: gcp,
    aws: awsId && awsSecret ? { accessKeyId: awsId, secretAccessKey: awsSecret } : undefined,
    kubeconfig: text('kubeconfig-credentials'),
  };
}

function toolVersion(input: string, raw: string, allowNone = false): string {
  if (raw === 'default' || (allowNone && raw === 'none')) return raw;
  safeArg(input, raw);
  if (!TOOL_VERSION.test(raw) && !(input === 'gcloud-version' && /^\d+\.\d+\.\d+$/.test(raw))) {
    throw new InputError(
      input,
      `'${raw}' is not a version`,
      `Use latest, a major such as 4, a major.minor such as 1.35, or an exact version${allowNone ? ', or none' : ''}`,
    );
  }
  return raw.replace(/^v/, '');
}

function oneOf<T extends string>(input: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new InputError(input, `'${raw}' is not accepted`, `Use one of: ${allowed.join(', ')}`);
}

function required(input: string, value: string): string {
  if (!value) throw new InputError(input, 'is required', `Set '${input}' in the step's with: block`);
  return value;
}

function matches(input: string, value: string, pattern: RegExp, accepted: string): string {
  safeArg(input, value);
  if (!pattern.test(value)) throw new InputError(input, `'${value}' is not valid`, `Use ${accepted}`);
  return value;
}

function gceName(input: string, value: string): string {
  matches(
    input,
    value,
    GCE_NAME,
    'a GCE name: a lowercase letter, then lowercase letters, digits or hyphens, not ending in a hyphen',
  );
  if (value.length > 63)
    throw new InputError(input, `'${value}' is longer than 63 characters`, 'GCE names are 1-63 characters');
  return value;
}

function subdomain(input: string, value: string): string {
  matches(input, value, DNS_SUBDOMAIN, 'a DNS-1123 name: lowercase letters, digits, hyphens and dots');
  if (value.length > 253) throw new InputError(input, 'is longer than 253 characters', 'Shorten it');
  return value;
}

/** A value that starts with '-' or spans lines could become a flag or a second argument of helm/kubectl/gcloud. */
function safeArg(input: string, value: string): string {
  if (value.startsWith('-')) {
    throw new InputError(
      input,
      `'${value}' starts with '-'`,
      'Values that look like command-line flags are refused',
    );
  }
  if (/[\r\n\0]/.test(value))
    throw new InputError(input, 'contains a line break', 'Give a single-line value');
  return value;
}
