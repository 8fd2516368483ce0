import * as zlib from 'node:zlib';
import { ActionError } from '../lib/errors.js';
import type { Budget, KubeObject, KubernetesClient } from './kubernetes.js';

/** Where helm keeps release records (HELM_DRIVER): Secrets by default in helm 3 and 4, or ConfigMaps. */
export type HelmDriver = 'secret' | 'configmap';

export interface HelmHook {
  name: string;
  kind: string;
  path: string;
  manifest: string;
  events: string[];
  weight: number;
  deletePolicies: string[];
}

/** One revision as `helm history` lists it, read from the storage object's labels (no decoding). */
export interface StoredRevision {
  revision: number;
  status: string;
}

/** The latest revision of a release as helm stored it: what `helm get metadata/values/manifest/hooks` print. */
export interface StoredRelease {
  name: string;
  namespace: string;
  revision: number;
  /** deployed, failed, pending-install, pending-upgrade, pending-rollback, superseded, uninstalling, ... */
  status: string;
  description: string;
  chart: { name: string; version: string; appVersion: string | undefined; metadata: Record<string, unknown> };
  /** The user-supplied values (`helm get values`): what -f and --set gave, merged. */
  config: Record<string, unknown>;
  manifest: string;
  hooks: HelmHook[];
  firstDeployed: string | undefined;
  lastDeployed: string | undefined;
  /** helm 4 only: `ssa` (server-side apply) or `csa`. */
  applyMethod: string | undefined;
  /** Every revision the storage holds, oldest first. */
  history: StoredRevision[];
  /** The storage object read, e.g. `Secret skypilot/sh.helm.release.v1.skypilot.v3`, for messages. */
  source: string;
}

export interface ReadReleaseOptions {
  /** Default from HELM_DRIVER, as helm chooses. */
  driver?: HelmDriver;
  budget?: Budget;
}

/** HELM_DRIVER as helm reads it; the memory and sql drivers keep nothing this process could read. */
export function helmDriver(env: NodeJS.ProcessEnv = process.env): HelmDriver {
  const value = (env.HELM_DRIVER ?? '').trim().toLowerCase();
  if (value === '' || value === 'secret' || value === 'secrets') return 'secret';
  if (value === 'configmap' || value === 'configmaps') return 'configmap';
  throw new ActionError(`HELM_DRIVER=${env.HELM_DRIVER} keeps releases where the action cannot read them`, {
    hint: 'Unset HELM_DRIVER (Secrets, the default) or set it to configmap',
  });
}

/** The latest revision of a release, from its storage objects in one list call; undefined when there is none. */
export async function readHelmRelease(
  client: KubernetesClient,
  name: string,
  namespace: string,
  options: ReadReleaseOptions = {},
): Promise<StoredRelease | undefined> {
  const driver = options.driver ?? helmDriver();
  const kind = driver === 'secret' ? 'Secret' : 'ConfigMap';
  const listed = await client.list('v1', kind, {
    namespace,
    labelSelector: `owner=helm,name=${name}`,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  const records = listed.items
    .filter((o) => driver === 'configmap' || o.type === 'helm.sh/release.v1')
    .map((object) => ({ object, revision: revisionOf(object) }))
    .filter((r) => r.revision > 0)
    .sort((a, b) => a.revision - b.revision);
  const latest = records.at(-1);
  if (!latest) return undefined;
  const source = `${kind} ${namespace}/${latest.object.metadata?.name ?? ''}`;
  const record = decodeReleaseRecord(releaseData(latest.object, source), driver, source);
  const history = records.map((r) => ({
    revision: r.revision,
    status: r.object.metadata?.labels?.status ?? '',
  }));
  return toStoredRelease(record, history, source);
}

/** The revision the release could roll back to: the newest deployed or superseded one. */
export function lastDeployedRevision(history: readonly StoredRevision[]): number | undefined {
  const good = history.filter((r) => r.status === 'deployed' || r.status === 'superseded');
  return good.length ? Math.max(...good.map((r) => r.revision)) : undefined;
}

/** What `helm get metadata -o json` prints for this revision (the fields helm 3.13+ and helm 4 share). */
export function releaseMetadata(release: StoredRelease): Record<string, unknown> {
  const meta = release.chart.metadata;
  return {
    name: release.name,
    chart: release.chart.name,
    version: release.chart.version,
    ...(release.chart.appVersion ? { appVersion: release.chart.appVersion } : {}),
    ...(isMap(meta.annotations) && Object.keys(meta.annotations).length
      ? { annotations: meta.annotations }
      : {}),
    ...(Array.isArray(meta.dependencies) && meta.dependencies.length
      ? { dependencies: meta.dependencies }
      : {}),
    namespace: release.namespace,
    revision: release.revision,
    status: release.status,
    deployedAt: release.lastDeployed ? rfc3339Seconds(release.lastDeployed) : '',
  };
}

/**
 * A release record's JSON: Secrets hold base64 (the API's encoding of `data`) of base64 of gzip; ConfigMaps the
 * inner base64 as text. Helm writes gzip always, and reads a record without the gzip magic as plain JSON.
 */
export function decodeReleaseRecord(
  data: string,
  driver: HelmDriver,
  source = 'the release record',
): Record<string, unknown> {
  try {
    const text = driver === 'secret' ? Buffer.from(data, 'base64').toString('latin1') : data;
    const bytes = Buffer.from(text, 'base64');
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
    const parsed: unknown = JSON.parse((gzipped ? zlib.gunzipSync(bytes) : bytes).toString('utf8'));
    if (!isMap(parsed)) throw new Error('the record is not a JSON object');
    return parsed;
  } catch (error) {
    throw new ActionError(`Helm's release record in ${source} cannot be decoded`, {
      cause: error,
      hint: 'Check it with `helm history`; a record helm itself cannot read needs `helm rollback` or removal',
    });
  }
}

function releaseData(object: KubeObject, source: string): string {
  const data = object.data;
  const release = isMap(data) ? data.release : undefined;
  if (typeof release !== 'string' || !release) {
    throw new ActionError(`${source} has no data.release`, { hint: 'It is not a helm release record' });
  }
  return release;
}

function revisionOf(object: KubeObject): number {
  const label = Number(object.metadata?.labels?.version);
  if (Number.isInteger(label) && label > 0) return label;
  const fromName = /\.v(\d+)$/.exec(object.metadata?.name ?? '')?.[1];
  return fromName ? Number(fromName) : 0;
}

function toStoredRelease(
  record: Record<string, unknown>,
  history: StoredRevision[],
  source: string,
): StoredRelease {
  const info = map(record.info);
  const chart = map(record.chart);
  const metadata = map(chart.metadata);
  return {
    name: text(record.name),
    namespace: text(record.namespace),
    revision: typeof record.version === 'number' ? record.version : (history.at(-1)?.revision ?? 0),
    status: text(info.status),
    description: text(info.description),
    chart: {
      name: text(metadata.name),
      version: text(metadata.version),
      appVersion: optional(metadata.appVersion),
      metadata,
    },
    config: map(record.config),
    manifest: text(record.manifest),
    hooks: (Array.isArray(record.hooks) ? record.hooks : []).map(toHook),
    firstDeployed: optional(info.first_deployed),
    lastDeployed: optional(info.last_deployed),
    applyMethod: optional(record.apply_method),
    history,
    source,
  };
}

function toHook(value: unknown): HelmHook {
  const hook = map(value);
  return {
    name: text(hook.name),
    kind: text(hook.kind),
    path: text(hook.path),
    manifest: text(hook.manifest),
    events: Array.isArray(hook.events) ? hook.events.map(String) : [],
    weight: typeof hook.weight === 'number' ? hook.weight : 0,
    deletePolicies: Array.isArray(hook.delete_policies) ? hook.delete_policies.map(String) : [],
  };
}

// Go's time.RFC3339 of the timestamp, as helm prints deployedAt (UTC here: runners run in UTC).
function rfc3339Seconds(timestamp: string): string {
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? timestamp : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function map(value: unknown): Record<string, unknown> {
  return isMap(value) ? value : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function optional(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}
