import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as core from '@actions/core';
import * as semver from 'semver';
import { helmTimeout, type Helm, type HelmRevision } from '../clients/helm.js';
import type { Kubectl } from '../clients/kubectl.js';
import type { ReleaseConfig } from '../config/config.js';
import { onCancel } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { describeError, ActionError } from '../lib/errors.js';
import { htpasswdLine, htpasswdMatches } from '../lib/htpasswd.js';
import { isMap } from '../lib/json.js';
import { isRefusal, refuse, refusalError, type Advice, type Refusal } from '../lib/plan.js';
import { printDiagnostics } from './diagnostics.js';

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

/** Everything the release plan looks at: the release as deployed, and the chart version helm would install. */
export interface ReleaseObservation {
  release: ObservedRelease | undefined;
  latestChartVersion: string;
  /** With auth-secret: whether that Secret exists in the release namespace. */
  authSecretExists: boolean | undefined;
}

export type ReleasePlan = { action: 'install' | 'upgrade' | 'keep'; reason: string };

/** What the deploy does with the release, decided before anything changes: shared by deploy and plan mode. */
export type HelmReleasePlan =
  | (ReleasePlan &
      Advice & {
        observed: ObservedRelease | undefined;
        /** Our values (storage, auth, service type), written to the private values file. */
        ours: Record<string, unknown>;
        authCredentials: string | undefined;
        chartOptions: ChartOptions;
        chartVersion: string | undefined;
        /** Set when the release is stuck pending: freed first, under the lock, then planned again. */
        free?: FreeRelease;
      })
  | Refusal;

export interface ChartOptions {
  version?: string;
  devel: boolean;
  repo?: string;
}

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

function chartOptionsFor(target: Pick<ReleaseConfig, 'chart' | 'chartVersion' | 'repoUrl'>): ChartOptions {
  return {
    ...(target.chartVersion ? { version: target.chartVersion } : {}),
    devel: needsDevel(target.chart, target.chartVersion),
    ...(chartSource(target.chart).kind === 'bare' ? { repo: target.repoUrl } : {}),
  };
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

/**
 * How a release that a stopped run left mid-operation (`pending-*`, which blocks every upgrade) is freed, by the
 * run that holds the lock, before anything else changes: roll back to the last deployed revision, or uninstall
 * when there is none (the Retain volume keeps the disk; the deploy then installs again).
 */
export type FreeRelease = {
  /** The stuck revision and its status: freed only if the release is still exactly that. */
  pendingRevision: number;
  status: string;
  reason: string;
} & ({ action: 'rollback'; revision: number } | { action: 'uninstall' });

/** Pure: undefined unless the latest revision is pending; else how to free it. */
export function pendingRelease(
  release: string,
  namespace: string,
  observed: ObservedRelease,
): FreeRelease | undefined {
  if (!PENDING.includes(observed.status)) return undefined;
  const stuck = { pendingRevision: observed.revision, status: observed.status };
  const reason = `revision ${observed.revision} of ${namespace}/${release} is ${observed.status}, left by a run that was stopped`;
  const lastGood = [...observed.history]
    .filter((r) => r.status === 'deployed' || r.status === 'superseded')
    .sort((a, b) => b.revision - a.revision)[0];
  if (observed.status === 'pending-install' || !lastGood)
    return { ...stuck, action: 'uninstall', reason: `${reason}, with no deployed revision` };
  return { ...stuck, action: 'rollback', revision: lastGood.revision, reason };
}

export function describeFreeRelease(free: FreeRelease): string {
  return free.action === 'rollback'
    ? `roll back to revision ${free.revision} (${free.reason})`
    : `uninstall (${free.reason}; the Retain volume keeps the disk)`;
}

/**
 * Reads the release and the chart version helm would install. Each helm call is a process of its own, so the
 * independent ones run side by side; `repo add --force-update` fetches the index itself.
 */
export async function observeRelease(
  helm: Helm,
  target: Pick<ReleaseConfig, 'name' | 'namespace' | 'chart' | 'chartVersion' | 'repoUrl'>,
): Promise<Omit<ReleaseObservation, 'authSecretExists'>> {
  const source = chartSource(target.chart);
  const repoReady =
    source.kind === 'repo' ? helm.repoAdd(source.repoName, target.repoUrl) : Promise.resolve();
  const latest = repoReady.then(() =>
    helm.chartVersion(target.chart, chartOptionsFor(target)).catch((error: unknown) => {
      const version = target.chartVersion ? ` version ${target.chartVersion}` : '';
      throw new ActionError(`Chart ${target.chart}${version} cannot be found`, {
        cause: error,
        hint: 'Check the chart, chart-version and helm-repo-url inputs; nothing was changed',
      });
    }),
  );
  const [release, latestChartVersion] = await Promise.all([
    readRelease(helm, target.name, target.namespace),
    latest,
  ]);
  return { release, latestChartVersion };
}

async function readRelease(
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

/**
 * Pure: install, upgrade (and why) or keep, with the values helm would be given. `repair` upgrades a release
 * whose values are unchanged but which lost something it owns (its claim); `planOnly` turns a missing
 * auth-secret into a warning, since it may still be created before the deploy.
 */
export function planHelmRelease(
  target: ReleaseTarget,
  observation: ReleaseObservation,
  options: { repair?: string; planOnly?: boolean } = {},
): HelmReleasePlan {
  const { release: observed } = observation;
  const free = observed && pendingRelease(target.name, target.namespace, observed);
  const warnings: string[] = [];
  if (target.auth.authSecret && observation.authSecretExists === false) {
    const missing = authSecretMissing(target.namespace, target.auth.authSecret);
    if (!options.planOnly) return missing;
    warnings.push(`${missing.reason}: create it before the deploy`);
  }
  const authCredentials = chooseAuthCredentials(target, observed?.values);
  const ours = releaseValues(target, authCredentials);
  const desired = mergeValues(ours, ...target.fileValues, target.values);
  // Only a deployed release is compared with the chart version.
  const chartVersion = observed?.status === 'deployed' ? observation.latestChartVersion : undefined;
  const planned = planRelease(observed, { chartVersion, values: desired });
  // helm upgrade recreates what the release owns but the cluster lost; a kept release would leave it missing.
  const plan: ReleasePlan = free
    ? { action: free.action === 'uninstall' ? 'install' : 'upgrade', reason: 'once the release is freed' }
    : planned.action === 'keep' && options.repair
      ? { action: 'upgrade', reason: options.repair }
      : planned;
  const chartOptions = chartOptionsFor(target);
  const facts = { observed, ours, authCredentials, chartOptions, chartVersion, warnings, notes: [] };
  return { ...plan, ...facts, ...(free ? { free } : {}) };
}

function authSecretMissing(namespace: string, name: string): Refusal {
  return refuse(
    `auth-secret ${namespace}/${name} does not exist`,
    'On a new cluster it died with the old one: create it (an htpasswd line under key `auth`) before this step, ' +
      'or pass web-password instead. Nothing was changed',
  );
}

export function describeReleasePlan(plan: HelmReleasePlan): string {
  if (plan.action === 'refuse') return `refuse: ${plan.reason}`;
  const then = `${plan.action} (${plan.reason})`;
  return plan.free ? `${describeFreeRelease(plan.free)}, then ${then}` : then;
}

/** The runbook's `helm upgrade --install`, skipped when the deployed release already is what it would make. */
export async function applyHelmRelease(
  helm: Helm,
  target: ReleaseTarget,
  plan: HelmReleasePlan,
  options: { deadline: Deadline; kubectl?: Kubectl },
): Promise<ReleaseFacts> {
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.free)
    throw new ActionError(`Helm release ${target.name} is still ${plan.free.status}`, {
      hint:
        'The action freed it under its lock, yet it is pending again: something outside the action (a helm ' +
        `command?) is changing it. Check \`helm history ${target.name} -n ${target.namespace}\` and rerun`,
    });
  core.info(`Helm release ${target.name}: ${plan.action} (${plan.reason})`);
  if (plan.action === 'keep' && plan.observed) {
    const chartVersion = plan.observed.chartVersion ?? plan.chartVersion ?? '';
    return { revision: plan.observed.revision, changed: false, chartVersion };
  }
  options.deadline.check(`deploying the Helm release ${target.name}`);
  // The htpasswd line is a secret too (it can be cracked offline): mask it before anything could print it.
  if (plan.authCredentials) core.setSecret(plan.authCredentials);
  try {
    await upgradeInstall(helm, target, plan, options.deadline);
  } catch (error) {
    if (options.kubectl)
      await printDiagnostics(options.kubectl, target.name, target.namespace, options.deadline);
    throw new ActionError(`helm upgrade --install of ${target.name} failed`, {
      cause: error,
      hint: /another operation|in progress/i.test(describeError(error))
        ? `Another helm operation holds the release: check \`helm history ${target.name} -n ${target.namespace}\``
        : 'The server pod status, events and logs above show why; fix the cause and rerun (the disk keeps its state)',
    });
  }
  const after = await helm.metadata(target.name, target.namespace);
  if (!after)
    throw new ActionError(`helm installed ${target.name} but cannot find it`, {
      hint: 'Check the namespace',
    });
  return { revision: after.revision, changed: true, chartVersion: after.version ?? plan.chartVersion ?? '' };
}

/** Our values reach helm only through a private 0600 file, removed whatever happens. */
async function upgradeInstall(
  helm: Helm,
  target: ReleaseTarget,
  plan: Exclude<HelmReleasePlan, Refusal>,
  deadline: Deadline,
): Promise<void> {
  const secrets = [target.auth.password, plan.authCredentials].filter((s): s is string => !!s);
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'skyha-values-'));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  // A cancelled run never reaches the finally below: the signal handler removes the file instead.
  const forget = onCancel(`removing ${dir}`, remove);
  try {
    const oursFile = writePrivate(dir, 'skyha-values.json', plan.ours);
    const userFile = Object.keys(target.values).length
      ? [writePrivate(dir, 'user-values.json', target.values)]
      : [];
    await helm.upgradeInstall({
      release: target.name,
      chart: target.chart,
      namespace: target.namespace,
      ...plan.chartOptions,
      valuesFiles: [oursFile, ...target.valuesFiles, ...userFile],
      timeout: helmTimeout(deadline),
      secrets,
    });
  } finally {
    forget();
    remove();
  }
}

function writePrivate(dir: string, name: string, values: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(values), { mode: 0o600, flag: 'wx' });
  return file;
}
