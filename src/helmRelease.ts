import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as core from '@actions/core';
import * as semver from 'semver';
import { parse as parseYaml } from 'yaml';
import type { Deadline } from './deadline.js';
import { describeError, ActionError } from './errors.js';
import type { Helm, HelmRevision } from './helm.js';
import type { ReleaseConfig } from './inputs.js';
import type { Kubectl } from './kubectl.js';
import { printDiagnostics } from './endpoint.js';
import { htpasswdLine, htpasswdMatches } from './htpasswd.js';

/** What the release must be: the runbook's helm command (the release inputs), with the claim bound to our volume. */
export interface ReleaseTarget extends ReleaseConfig {
  /** From the volume: the claim must ask for exactly this to bind it. */
  storage: { storageClassName: string; volumeName: string; size: string };
  auth: { username: string; password: string | undefined; authSecret: string | undefined };
}

export interface ReleaseFacts {
  revision: number;
  changed: boolean;
  chartVersion: string;
}

export interface ObservedRelease {
  status: string;
  revision: number;
  chartVersion: string | undefined;
  /** User-supplied values of the latest revision (only read when it is deployed). */
  values: Record<string, unknown>;
  /** Only read when the release is stuck, to name the revision to roll back to. */
  history: HelmRevision[];
}

export type ReleasePlan = { action: 'install' | 'upgrade' | 'keep'; reason: string };

const PENDING = ['pending-install', 'pending-upgrade', 'pending-rollback'];

/** The values that make losing the state impossible, plus basic auth and the controller's service type. */
export function releaseValues(
  target: ReleaseTarget,
  authCredentials: string | undefined,
): Record<string, unknown> {
  const ingress = target.auth.authSecret ? { authSecret: target.auth.authSecret } : { authCredentials };
  return {
    storage: { enabled: true, ...target.storage },
    ingress,
    'ingress-nginx': { controller: { service: { type: target.serviceType } } },
  };
}

/** Helm's own merge of values files: maps merge key by key, anything else from a later file replaces. */
export function mergeValues(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const current = out[key];
      out[key] = isMap(current) && isMap(value) ? mergeValues(current, value) : value;
    }
  }
  return out;
}

/** Nightly charts and pre-release versions are invisible to helm without --devel. */
export function needsDevel(chart: string, version: string | undefined): boolean {
  if (/-nightly$/.test(chart)) return true;
  if (!version) return false;
  const exact = semver.valid(version);
  return exact ? semver.prerelease(exact) !== null : /\d-[0-9A-Za-z]/.test(version);
}

/** Where the chart comes from: a repository to add under the chart's prefix, or nothing to add. */
export function chartSource(
  chart: string,
  isLocalPath: (p: string) => boolean = fs.existsSync,
): { kind: 'repo'; repoName: string } | { kind: 'oci' | 'local' | 'bare' } {
  if (chart.startsWith('oci://')) return { kind: 'oci' };
  if (chart.startsWith('.') || chart.startsWith('/') || isLocalPath(chart)) return { kind: 'local' };
  const slash = chart.indexOf('/');
  return slash > 0 ? { kind: 'repo', repoName: chart.slice(0, slash) } : { kind: 'bare' };
}

/** The deployed htpasswd line when it still matches the password (its salt is random), else a new one. */
export function chooseAuthCredentials(
  target: ReleaseTarget,
  deployed: Record<string, unknown> | undefined,
): string | undefined {
  const { username, password, authSecret } = target.auth;
  if (authSecret) return undefined;
  const ingress = deployed?.ingress;
  const line = isMap(ingress) ? ingress.authCredentials : undefined;
  // Without a password (plan mode only: a deploy requires one) the deployed line is all there is to compare.
  if (password === undefined) return typeof line === 'string' ? line : undefined;
  return typeof line === 'string' && htpasswdMatches(line, username, password)
    ? line
    : htpasswdLine(username, password);
}

/** Install, upgrade, or keep: a deployed release with the same chart version and values gets no new revision. */
export function planRelease(
  observed: ObservedRelease | undefined,
  desired: { chartVersion: string | undefined; values: Record<string, unknown> },
): ReleasePlan {
  if (!observed) return { action: 'install', reason: 'no release yet' };
  if (observed.status !== 'deployed')
    return { action: 'upgrade', reason: `the latest revision is ${observed.status}` };
  if (desired.chartVersion !== undefined && observed.chartVersion !== desired.chartVersion) {
    return {
      action: 'upgrade',
      reason: `chart ${observed.chartVersion ?? 'unknown'} -> ${desired.chartVersion}`,
    };
  }
  if (!isDeepStrictEqual(observed.values, desired.values))
    return { action: 'upgrade', reason: 'values changed' };
  return {
    action: 'keep',
    reason: `revision ${observed.revision} already has chart ${observed.chartVersion} and these values`,
  };
}

/** A release a cancelled run left mid-operation blocks every upgrade: say how to get out. */
export function pendingReleaseError(
  release: string,
  namespace: string,
  observed: ObservedRelease,
): ActionError | undefined {
  if (!PENDING.includes(observed.status)) return undefined;
  const message = `Helm release ${release} in ${namespace} is stuck in ${observed.status} (revision ${observed.revision}), probably left by a cancelled run`;
  const lastGood = [...observed.history]
    .filter((r) => r.status === 'deployed' || r.status === 'superseded')
    .sort((a, b) => b.revision - a.revision)[0];
  if (observed.status === 'pending-install' || !lastGood) {
    return new ActionError(message, {
      hint:
        `Run \`helm uninstall ${release} -n ${namespace}\` and rerun. This is safe: the volume's Retain policy keeps the ` +
        'disk and its state, and the next run binds the volume again',
    });
  }
  return new ActionError(message, {
    hint: `Run \`helm rollback ${release} ${lastGood.revision} -n ${namespace}\` (the last deployed revision) and rerun`,
  });
}

export async function observeRelease(
  helm: Helm,
  name: string,
  namespace: string,
): Promise<ObservedRelease | undefined> {
  const metadata = await helm.metadata(name, namespace);
  if (!metadata) return undefined;
  const state = metadata.status;
  const [values, history] = await Promise.all([
    state === 'deployed' ? helm.getValues(name, namespace) : {},
    PENDING.includes(state) ? helm.history(name, namespace) : [],
  ]);
  return { status: state, revision: metadata.revision, chartVersion: metadata.version, values, history };
}

interface DeployOptions {
  deadline: Deadline;
  kubectl?: Kubectl;
  /** Something the release owns is missing from the cluster (e.g. its claim): equal values are not enough. */
  repair?: string;
  /** A decision already made for this very target (planned before anything changed), so it is not made twice. */
  decision?: ReleaseDecision;
}

/** What the deploy would do, decided from what is deployed: shared by the deploy and the plan-only mode. */
export interface ReleaseDecision {
  plan: ReleasePlan;
  observed: ObservedRelease | undefined;
  /** Our values (storage, auth, service type), written to the private values file. */
  ours: Record<string, unknown>;
  authCredentials: string | undefined;
  chartOptions: { version?: string; devel: boolean; repo?: string };
  chartVersion: string | undefined;
}

/** Observes the release and plans it: install, upgrade, or keep. Changes nothing in the cluster. */
export async function planReleaseDeploy(
  helm: Helm,
  target: ReleaseTarget,
  options: Pick<DeployOptions, 'repair'> = {},
): Promise<ReleaseDecision> {
  const source = chartSource(target.chart);
  const chartOptions = {
    ...(target.chartVersion ? { version: target.chartVersion } : {}),
    devel: needsDevel(target.chart, target.chartVersion),
    ...(source.kind === 'bare' ? { repo: target.repoUrl } : {}),
  };

  // Each helm call is a process of its own: run the independent ones side by side. `repo add --force-update`
  // fetches the index itself (a `repo update` after it would fetch it twice). The chart version it would install
  // is read at once too: on a fresh install that read is spare, on every rerun it is on the critical path.
  const repoReady =
    source.kind === 'repo' ? helm.repoAdd(source.repoName, target.repoUrl) : Promise.resolve();
  const latest = repoReady.then(() =>
    helm.chartVersion(target.chart, chartOptions).catch((error: unknown) => {
      const version = target.chartVersion ? ` version ${target.chartVersion}` : '';
      throw new ActionError(`Chart ${target.chart}${version} cannot be found`, {
        cause: error,
        hint: 'Check the chart, chart-version and helm-repo-url inputs; nothing was changed',
      });
    }),
  );
  const [observed, , latestVersion] = await Promise.all([
    observeRelease(helm, target.name, target.namespace),
    repoReady,
    latest,
  ]);
  if (observed) {
    const stuck = pendingReleaseError(target.name, target.namespace, observed);
    if (stuck) throw stuck;
  }
  const authCredentials = chooseAuthCredentials(target, observed?.values);
  // The htpasswd line is a secret too (it can be cracked offline): mask it before anything could print it.
  if (authCredentials) core.setSecret(authCredentials);
  const ours = releaseValues(target, authCredentials);
  const desired = mergeValues(ours, ...target.valuesFiles.map(readValuesFile), target.values);
  // Only a deployed release is compared with the chart version.
  const chartVersion = observed?.status === 'deployed' ? latestVersion : undefined;
  const planned = planRelease(observed, { chartVersion, values: desired });
  // helm upgrade recreates what the release owns but the cluster lost; a kept release would leave it missing.
  const plan: ReleasePlan =
    planned.action === 'keep' && options.repair ? { action: 'upgrade', reason: options.repair } : planned;
  return { plan, observed, ours, authCredentials, chartOptions, chartVersion };
}

/** The runbook's `helm upgrade --install`, skipped when the deployed release already is what it would make. */
export async function deployRelease(
  helm: Helm,
  target: ReleaseTarget,
  options: DeployOptions,
): Promise<ReleaseFacts> {
  const { plan, observed, ours, authCredentials, chartOptions, chartVersion } =
    options.decision ?? (await planReleaseDeploy(helm, target, options));
  core.info(`Helm release ${target.name}: ${plan.action} (${plan.reason})`);
  if (plan.action === 'keep' && observed) {
    return {
      revision: observed.revision,
      changed: false,
      chartVersion: observed.chartVersion ?? chartVersion ?? '',
    };
  }

  options.deadline.check(`deploying the Helm release ${target.name}`);
  const secrets = [target.auth.password, authCredentials].filter((s): s is string => !!s);
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'skyha-values-'));
  try {
    const oursFile = writePrivate(dir, 'skyha-values.json', ours);
    const userFile = Object.keys(target.values).length
      ? [writePrivate(dir, 'user-values.json', target.values)]
      : [];
    await helm.upgradeInstall({
      release: target.name,
      chart: target.chart,
      namespace: target.namespace,
      ...chartOptions,
      valuesFiles: [oursFile, ...target.valuesFiles, ...userFile],
      timeout: `${Math.max(1, Math.floor(options.deadline.remainingMs() / 1000))}s`,
      secrets,
    });
  } catch (error) {
    if (options.kubectl) await printDiagnostics(options.kubectl, target.name, target.namespace);
    throw new ActionError(`helm upgrade --install of ${target.name} failed`, {
      cause: error,
      hint: /another operation|in progress/i.test(describeError(error))
        ? `Another helm operation holds the release: check \`helm history ${target.name} -n ${target.namespace}\``
        : 'The server pod status, events and logs above show why; fix the cause and rerun (the disk keeps its state)',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const after = await helm.metadata(target.name, target.namespace);
  if (!after)
    throw new ActionError(`helm installed ${target.name} but cannot find it`, {
      hint: 'Check the namespace',
    });
  return { revision: after.revision, changed: true, chartVersion: after.version ?? chartVersion ?? '' };
}

// Helm reads values with YAML 1.1 (yes/no are booleans): parse the same way so reruns compare equal.
function readValuesFile(file: string): Record<string, unknown> {
  const parsed: unknown = parseYaml(fs.readFileSync(file, 'utf8'), { version: '1.1' });
  return isMap(parsed) ? parsed : {};
}

function writePrivate(dir: string, name: string, values: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(values), { mode: 0o600, flag: 'wx' });
  return file;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
