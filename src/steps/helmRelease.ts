import { HeldLog } from '../lib/heldLog.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as core from '@actions/core';
import * as semver from 'semver';
import * as tc from '@actions/tool-cache';
import { parse as parseYaml } from 'yaml';
import { CommandError } from '../clients/command.js';
import { helmTimeout, type ChartRef, type Helm, type UpgradeInstall } from '../clients/helm.js';
import { readHelmRelease, type StoredRevision } from '../clients/helmStorage.js';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { ReleaseConfig } from '../config/config.js';
import { parseValuesYaml } from '../config/values.js';
import type { Deadline } from '../lib/deadline.js';
import { describeError, ActionError } from '../lib/errors.js';
import { htpasswdLine, htpasswdMatches } from '../lib/htpasswd.js';
import { isMap } from '../lib/json.js';
import { isRefusal, refuse, refusalError, type Advice, type Refusal } from '../lib/plan.js';
import { withProgress } from '../lib/progress.js';
import { removeScratch, scratchDir } from '../lib/scratch.js';
import { printDiagnostics } from './diagnostics.js';

/** What the release must be: the runbook's helm command (the release inputs), with the claim bound to our volume. */
export interface ReleaseTarget extends ReleaseConfig {
  /** From the volume: the claim must ask for exactly this to bind it. */
  storage: { storageClassName: string; volumeName: string; size: string };
  auth: { username: string; password: string | undefined; authSecret: string | undefined };
  /** With a chart that offers storage.existingClaim: the claim the action made, which the server mounts. */
  existingClaim?: string;
  /** ingress-nginx.fullnameOverride, given when the subchart's own names would exceed the API server's limits. */
  subchartFullname?: string;
  /** The static address (static-ip) the controller Service asks for: what GKE honours, spec.loadBalancerIP. */
  loadBalancerIP?: string;
}

export interface ReleaseFacts {
  revision: number;
  changed: boolean;
  chartVersion: string;
  /** What the release made, as helm stored it: where the later steps learn the names of its objects. */
  manifest: string;
}

export interface ObservedRelease {
  status: string;
  revision: number;
  chartVersion: string | undefined;
  /** The chart's name (skypilot-nightly, skypilot): versions compare only within one name. */
  chartName?: string;
  /** User-supplied values of the latest revision. */
  values: Record<string, unknown>;
  /** Every revision in the release's storage, oldest first: names the revision to roll back to. */
  history: StoredRevision[];
  /** What the latest revision made, as helm stored it. */
  manifest?: string;
}

/** The chart `upgrade --install` would install, fetched once: the version planned is the version installed. */
export interface ObservedChart {
  name: string;
  version: string;
  /** The unpacked chart, what helm installs from. */
  dir: string;
  /** The chart's own defaults (its values.yaml). */
  values: Record<string, unknown>;
  /** Whether the chart takes storage.existingClaim (SkyPilot's newer charts): then the action owns the claim. */
  existingClaim: boolean;
}

/** Everything the release plan looks at: the release as deployed, and the chart helm would install. */
export interface ReleaseObservation {
  release: ObservedRelease | undefined;
  chart: ObservedChart;
  /** With auth-secret: whether that Secret exists in the release namespace. */
  authSecretExists: boolean | undefined;
}

export type ReleasePlan = { action: 'install' | 'upgrade' | 'keep'; reason: string };

/** What the deploy does with the release, decided before anything changes: shared by deploy and plan mode. */
export type HelmReleasePlan =
  | (ReleasePlan &
      Advice & {
        observed: ObservedRelease | undefined;
        /** Our values (storage, auth, service type): what helm gets first, on its standard input. */
        ours: Record<string, unknown>;
        authCredentials: string | undefined;
        chart: ObservedChart;
        /** Set when the release is stuck pending: freed first, under the lock, then planned again. */
        free?: FreeRelease;
      })
  | Refusal;

/** What a stopped helm leaves behind: a revision mid-operation, which blocks every later helm command on it. */
const PENDING = ['pending-install', 'pending-upgrade', 'pending-rollback', 'uninstalling'];

/** The values that make losing the state impossible, plus basic auth and the controller's service type. */
export function releaseValues(
  target: ReleaseTarget,
  authCredentials: string | undefined,
): Record<string, unknown> {
  const ingress = target.auth.authSecret ? { authSecret: target.auth.authSecret } : { authCredentials };
  const storage = target.existingClaim
    ? { enabled: true, existingClaim: target.existingClaim }
    : { enabled: true, ...target.storage };
  const nginx = {
    ...(target.subchartFullname ? { fullnameOverride: target.subchartFullname } : {}),
    controller: {
      service: {
        type: target.serviceType,
        ...(target.loadBalancerIP ? { loadBalancerIP: target.loadBalancerIP } : {}),
      },
    },
  };
  return { storage, ingress, 'ingress-nginx': nginx };
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

/** What `helm pull` fetches: the chart name and `--repo` for a REPO/NAME chart, so the user's repositories stay as they are. */
function chartRefFor(target: Pick<ReleaseConfig, 'chart' | 'chartVersion' | 'repoUrl'>): ChartRef {
  const source = chartSource(target.chart);
  const chart = source.kind === 'repo' ? target.chart.slice(source.repoName.length + 1) : target.chart;
  return {
    chart,
    ...(target.chartVersion ? { version: target.chartVersion } : {}),
    devel: needsDevel(target.chart, target.chartVersion),
    ...(source.kind === 'repo' || source.kind === 'bare' ? { repo: target.repoUrl } : {}),
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
 * How a release a stopped run left pending is freed: rolled back to its last deployed revision, or uninstalled
 * (an interrupted uninstall is finished).
 */
export type FreeRelease = {
  /** The stuck revision and its status: freed only if the release is still exactly that. */
  pendingRevision: number;
  status: string;
  reason: string;
} & ({ action: 'rollback'; revision: number } | { action: 'uninstall' });

/** A release a stopped run left mid-operation blocks every upgrade: how to free it (done under the lock). */
export function pendingRelease(
  release: string,
  namespace: string,
  observed: ObservedRelease,
): FreeRelease | undefined {
  if (!PENDING.includes(observed.status)) return undefined;
  const stuck = { pendingRevision: observed.revision, status: observed.status };
  const reason = `revision ${observed.revision} of ${namespace}/${release} is ${observed.status}, left by a run that was stopped`;
  // An interrupted `helm uninstall` has deleted part of the release: it is finished, never rolled back.
  if (observed.status === 'uninstalling')
    return { ...stuck, action: 'uninstall', reason: `${reason} in the middle of a helm uninstall` };
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
    : free.status === 'uninstalling'
      ? `finish its uninstall (${free.reason}; the Retain volume keeps the disk)`
      : `uninstall (${free.reason}; the Retain volume keeps the disk)`;
}

/** The chart version to fetch, when chart-version leaves it to what runs: decided once the release is read. */
export type ChartVersionChoice = (
  release: ObservedRelease | undefined,
) => Promise<{ version: string | undefined; why?: string }>;

/**
 * Reads the release from its storage (in-process, no helm process; `deployed`: its read, when the caller started it
 * already) and fetches the chart helm would install: side by side when chart-version names it, else the version
 * `choose` picks once the release is read.
 */
export async function observeRelease(
  helm: Helm,
  kube: KubernetesClient,
  target: Pick<ReleaseConfig, 'name' | 'namespace' | 'chart' | 'chartVersion' | 'repoUrl'>,
  deployed: Promise<ObservedRelease | undefined> = readRelease(kube, target.name, target.namespace),
  choose?: ChartVersionChoice,
): Promise<Omit<ReleaseObservation, 'authSecretExists'>> {
  const asked = target.chartVersion === 'latest' ? undefined : target.chartVersion;
  if (!choose || target.chartVersion !== undefined) {
    const [release, chart] = await Promise.all([
      deployed,
      observeChart(helm, { ...target, chartVersion: asked }),
    ]);
    return { release, chart };
  }
  const release = await deployed;
  const choosing = choose(release);
  // Nothing is deployed (a new cluster): the newest is pulled while the state's record is read (the disk, or the
  // snapshots a new one comes from), which a first deploy's has none of; a recovery whose state names a version
  // pulls that one, and made this pull in vain, beside its reads.
  const newest = release ? undefined : observeChart(helm, { ...target, chartVersion: undefined });
  newest?.catch(() => undefined);
  const chosen = await choosing;
  const chart =
    chosen.version === undefined && newest
      ? await newest
      : await observeChart(helm, { ...target, chartVersion: chosen.version }, chosen.why);
  return { release, chart };
}

export async function readRelease(
  kube: KubernetesClient,
  name: string,
  namespace: string,
): Promise<ObservedRelease | undefined> {
  const stored = await readHelmRelease(kube, name, namespace);
  if (!stored) return undefined;
  return {
    status: stored.status,
    revision: stored.revision,
    chartVersion: stored.chart.version,
    chartName: stored.chart.name,
    values: stored.config,
    history: stored.history,
    manifest: stored.manifest,
  };
}

/** The chart, unpacked: pulled from its repository, or read where it lies for a local path. */
async function observeChart(
  helm: Helm,
  target: Pick<ReleaseConfig, 'chart' | 'chartVersion' | 'repoUrl'>,
  why?: string,
): Promise<ObservedChart> {
  if (chartSource(target.chart).kind === 'local') return readLocalChart(path.resolve(target.chart));
  const dir = scratchDir('chart');
  try {
    await helm.pull(chartRefFor(target), dir);
  } catch (error) {
    removeScratch(dir);
    const version = target.chartVersion ? ` version ${target.chartVersion}` : '';
    const chosen = why ? ` (${why}, as chart-version is empty)` : '';
    throw new ActionError(`Chart ${target.chart}${version}${chosen} cannot be found`, {
      cause: error,
      hint: why
        ? 'Set chart-version to a version the repository serves (latest for the newest), or check helm-repo-url; nothing was changed'
        : 'Check the chart, chart-version and helm-repo-url inputs; nothing was changed',
    });
  }
  const [unpacked] = fs.readdirSync(dir);
  return readChartDir(path.join(dir, unpacked ?? ''));
}

/** A chart directory as it is, or a packaged chart (.tgz) unpacked into a scratch folder first. */
async function readLocalChart(location: string): Promise<ObservedChart> {
  if (fs.statSync(location).isDirectory()) return readChartDir(location);
  const dir = await tc.extractTar(location, scratchDir('chart'));
  const [unpacked] = fs.readdirSync(dir);
  return readChartDir(path.join(dir, unpacked ?? ''));
}

function readChartDir(dir: string): ObservedChart {
  const read = (file: string): string => {
    const at = path.join(dir, file);
    return fs.existsSync(at) ? fs.readFileSync(at, 'utf8') : '';
  };
  const chart: unknown = parseYaml(read('Chart.yaml'));
  const name = isMap(chart) && typeof chart.name === 'string' ? chart.name : undefined;
  const version = isMap(chart) && typeof chart.version === 'string' ? chart.version : undefined;
  if (!name || !version) {
    throw new ActionError(`${dir} holds no chart (Chart.yaml with a name and a version)`, {
      hint: 'Check the chart input',
    });
  }
  const parsed = parseValuesYaml(read('values.yaml'));
  const values = isMap(parsed) ? parsed : {};
  // Read from the chart's own values, never from a list of versions.
  const existingClaim = isMap(values.storage) && 'existingClaim' in values.storage;
  return { name, version, dir, values, existingClaim };
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
  const { chart } = observation;
  const planned = planRelease(observed, { chartVersion: chart.version, values: desired });
  // helm upgrade recreates what the release owns but the cluster lost; a kept release would leave it missing.
  const plan: ReleasePlan = free
    ? { action: free.action === 'uninstall' ? 'install' : 'upgrade', reason: 'once the release is freed' }
    : planned.action === 'keep' && options.repair
      ? { action: 'upgrade', reason: options.repair }
      : planned;
  return { ...plan, observed, ours, authCredentials, chart, warnings, notes: [], ...(free ? { free } : {}) };
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

/** An upgrade started ahead of its step (beside the disk's creation), its log lines held back until then. */
export interface StartedUpgrade {
  upgrade: Promise<void>;
  log: HeldLog;
}

/** The runbook's `helm upgrade --install`, started now, its lines held back in `log` until its step. */
export function startUpgradeInstall(
  helm: Helm,
  target: ReleaseTarget,
  plan: HelmReleasePlan,
  deadline: Deadline,
  log = new HeldLog(),
): StartedUpgrade {
  const applicable = checkApplicable(target, plan);
  deadline.check(`deploying the Helm release ${target.name}`);
  // The htpasswd line is a secret too (it can be cracked offline): mask it before anything could print it.
  if (applicable.authCredentials) core.setSecret(applicable.authCredentials);
  const upgrade = upgradeInstall(helm, target, applicable, deadline, log.write);
  upgrade.catch(() => undefined); // awaited by applyHelmRelease; a step failing before then must not leave it unhandled
  return { upgrade, log };
}

function checkApplicable(target: ReleaseTarget, plan: HelmReleasePlan): Exclude<HelmReleasePlan, Refusal> {
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.free)
    throw new ActionError(`Helm release ${target.name} is still ${plan.free.status}`, {
      hint:
        'The action freed it under its lock, yet it is pending again: something outside the action (a helm ' +
        `command?) is changing it. Check \`helm history ${target.name} -n ${target.namespace}\` and rerun`,
    });
  return plan;
}

/**
 * The runbook's `helm upgrade --install`, skipped when the deployed release already is what it would make;
 * `started` when the upgrade already runs (see startUpgradeInstall).
 */
export async function applyHelmRelease(
  helm: Helm,
  kube: KubernetesClient,
  target: ReleaseTarget,
  plan: HelmReleasePlan,
  options: { deadline: Deadline; diagnose?: boolean; started?: StartedUpgrade },
): Promise<ReleaseFacts> {
  checkApplicable(target, plan);
  core.info(`Helm release ${target.name}: ${plan.action} (${plan.reason})`);
  if (plan.action === 'keep' && plan.observed) {
    const chartVersion = plan.observed.chartVersion ?? plan.chart.version;
    return {
      revision: plan.observed.revision,
      changed: false,
      chartVersion,
      manifest: plan.observed.manifest ?? '',
    };
  }
  const started = options.started ?? startUpgradeInstall(helm, target, plan, options.deadline);
  started.log.release();
  try {
    const what = `helm upgrade --install of ${target.namespace}/${target.name} (and its hook Jobs)`;
    await withProgress(what, options.deadline, started.upgrade);
  } catch (error) {
    if (options.diagnose !== false)
      await printDiagnostics(kube, target.name, target.namespace, options.deadline);
    throw new ActionError(`helm upgrade --install of ${target.name} failed`, {
      cause: error,
      hint: /another operation|in progress/i.test(describeError(error))
        ? `Another helm operation holds the release: check \`helm history ${target.name} -n ${target.namespace}\``
        : 'The server pod status, events and logs above show why; fix the cause and rerun (the disk keeps its state)',
    });
  }
  const after = await readHelmRelease(kube, target.name, target.namespace);
  if (!after)
    throw new ActionError(`helm installed ${target.name} but cannot find it`, {
      hint: 'Check the namespace',
    });
  return {
    revision: after.revision,
    changed: true,
    chartVersion: after.chart.version,
    manifest: after.manifest,
  };
}

/** The values reach helm on its standard input: nothing of them is ever in a file, even if the run is killed. */
async function upgradeInstall(
  helm: Helm,
  target: ReleaseTarget,
  plan: Exclude<HelmReleasePlan, Refusal>,
  deadline: Deadline,
  log: (text: string) => void,
): Promise<void> {
  const timeout = helmTimeout(deadline);
  await helm.upgradeInstall({ ...valuesRequest(target, plan), timeout, log });
}

/**
 * What the release would make with the plan's values, as the chart itself renders it (`helm template`), before
 * anything changes; or the chart's own refusal of those values (a `fail` in its templates or NOTES, e.g. the
 * resource check). The rendered text is parsed, never printed.
 */
export async function renderRelease(
  helm: Helm,
  target: ReleaseTarget,
  plan: Exclude<HelmReleasePlan, Refusal>,
): Promise<{ manifest: string } | Refusal> {
  try {
    return { manifest: await helm.template(valuesRequest(target, plan)) };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const said = (error.result.stderr.trim() || error.result.stdout.trim()).replace(/^Error: /, '');
    return refuse(
      `The chart ${plan.chart.name} ${plan.chart.version} refuses these values: ${said.split('\n').slice(0, 6).join(' ')}`,
      'Change the values the chart names (the values or values-files input) and rerun; nothing was changed',
    );
  }
}

type ValuesRequest = Omit<UpgradeInstall, 'timeout'>;

/**
 * What helm is given: our values, the values-files and the `values` input, merged in helm's own order (as the plan
 * compared them), so helm installs exactly the values that were checked, even if a file changes meanwhile.
 */
function valuesRequest(target: ReleaseTarget, plan: Exclude<HelmReleasePlan, Refusal>): ValuesRequest {
  const secrets = [target.auth.password, plan.authCredentials].filter((s): s is string => !!s);
  return {
    release: target.name,
    chartDir: plan.chart.dir,
    namespace: target.namespace,
    values: mergeValues(plan.ours, ...target.fileValues, target.values),
    secrets,
  };
}

/**
 * helm refuses to roll back over an object the target revision lists and the current one does not while it exists
 * (the SkyPilot chart creates namespace skypilot-system only when a `lookup` finds none: only the first revision
 * on a cluster lists it): "original object ... not found" (helm 4), "no ... with the name ... found" (helm 3).
 */
export function isRollbackOverLookup(error: unknown): boolean {
  if (!(error instanceof CommandError)) return false;
  return /original object \S+ with the name "[^"]*" not found|no \S+ with the name "[^"]*" found/.test(
    error.result.stderr,
  );
}

/**
 * What `helm rollback` to a revision makes, made by `helm upgrade` instead: that revision's chart version and
 * user-supplied values (read from its record), rendered again, so an object a `lookup` made stays out of it.
 */
export async function redeployRevision(
  helm: Helm,
  release: Pick<ReleaseConfig, 'name' | 'namespace' | 'chart' | 'repoUrl'>,
  revision: { chartVersion: string; values: Record<string, unknown> },
  deadline: Deadline,
): Promise<void> {
  if (chartSource(release.chart).kind === 'local')
    throw new ActionError(
      `Chart ${release.chart} is a local path: version ${revision.chartVersion} cannot be fetched again`,
    );
  const chart = scratchDir('chart');
  try {
    await helm.pull(chartRefFor({ ...release, chartVersion: revision.chartVersion }), chart);
    const [unpacked] = fs.readdirSync(chart);
    const ingress = revision.values.ingress;
    const line =
      isMap(ingress) && typeof ingress.authCredentials === 'string' ? [ingress.authCredentials] : [];
    for (const secret of line) core.setSecret(secret);
    await helm.upgradeInstall({
      release: release.name,
      chartDir: path.join(chart, unpacked ?? ''),
      namespace: release.namespace,
      values: revision.values,
      timeout: helmTimeout(deadline),
      secrets: line,
    });
  } finally {
    removeScratch(chart);
  }
}
