import * as semver from 'semver';
import { encodeLabelValue } from '../lib/labels.js';
import { refuse, type Advice, type Refusal } from '../lib/plan.js';
import { labelValue, MANAGED_BY_LABEL, type DiskPlan, type ObservedDisk } from './disk.js';
import { chartSource, type ObservedRelease } from './helmRelease.js';
import {
  describeChartVersion as named,
  recordedVersion,
  versionLabels,
  type ChartVersion,
} from './versionRecord.js';

// The server's version over the state: which chart version a run installs when chart-version leaves it open,
// whether the run changes it (an upgrade, a downgrade, another chart), and what that needs first (a snapshot) and
// after (a record on the disk, or a rollback). SkyPilot's database migrations run one way only: a version older
// than the one that last ran on the state is refused unless allow-downgrade says otherwise.

/** The release as it runs: its chart, the status of its latest revision, and the revision a rollback returns to. */
export interface RunningChart extends ChartVersion {
  status: string;
  revision: number;
  /** The newest revision helm calls deployed (the one serving); undefined when none is. */
  deployedRevision: number | undefined;
}

/** The version recorded with the state the run uses, and where it was read. */
export interface StateRecord {
  version: ChartVersion;
  /** `disk <path>` or `snapshot <name>` (the disk is restored from it). */
  on: string;
}

/** The chart's name as a REPO/NAME, oci:// or bare reference names it; undefined for a local path. */
export function chartNameOf(chart: string, isLocal: boolean): string | undefined {
  return isLocal ? undefined : chart.replace(/\/+$/, '').split('/').pop() || undefined;
}

export function runningChart(
  release: ObservedRelease | undefined,
  chartName: string,
): RunningChart | undefined {
  if (!release?.chartVersion) return undefined;
  const deployed = release.history
    .filter((r) => r.status === 'deployed')
    .sort((a, b) => b.revision - a.revision)[0];
  return {
    // A release read without its chart's name (an older record) is taken to be of the chart asked for.
    chart: release.chartName ?? chartName,
    version: release.chartVersion,
    status: release.status,
    revision: release.revision,
    deployedRevision: deployed?.revision ?? (release.status === 'deployed' ? release.revision : undefined),
  };
}

/** What the state records: the disk's labels, or (for a disk to be restored) the labels of its snapshot. */
export function stateRecord(disk: ObservedDisk | undefined, diskPlan: DiskPlan): StateRecord | undefined {
  if (disk) {
    const version = recordedVersion(disk.labels);
    return version && { version, on: `disk ${disk.resourcePath}` };
  }
  if (diskPlan.action !== 'create' || !diskPlan.source) return undefined;
  const version = recordedVersion(diskPlan.source.labels);
  return version && { version, on: `snapshot ${diskPlan.source.name}` };
}

/**
 * Pure: the chart version to fetch. chart-version wins (`latest`: the newest); left empty, the version the release
 * runs (a deploy on push never upgrades on its own), else the one recorded with the state (a recovery installs
 * what last ran on it), else the newest (nothing ran on this state yet).
 */
export function chartVersionToInstall(
  asked: string | undefined,
  chartName: string | undefined,
  running: RunningChart | undefined,
  recorded: StateRecord | undefined,
): { version: string | undefined; why?: string } {
  if (asked !== undefined) return { version: asked === 'latest' ? undefined : asked };
  if (chartName === undefined) return { version: undefined };
  const runs = running?.chart === chartName ? running : undefined;
  if (runs && runs.status === 'deployed')
    return { version: runs.version, why: 'the version the release runs' };
  if (recorded?.version.chart === chartName)
    return { version: recorded.version.version, why: 'the version that last ran on this state' };
  if (runs) return { version: runs.version, why: 'the version the release runs' };
  return { version: undefined };
}

/** Semver order within one chart; undefined across charts, or for a version that is no semver. */
export function compareChartVersions(a: ChartVersion, b: ChartVersion): number | undefined {
  if (a.chart !== b.chart) return undefined;
  if (a.version === b.version) return 0;
  const x = semver.valid(a.version);
  const y = semver.valid(b.version);
  return x && y ? semver.compare(x, y) : undefined;
}

/** How the run changes the server's version: `same` and `new` (nothing known ran on the state) change nothing. */
export type VersionChange = 'same' | 'new' | 'upgrade' | 'downgrade' | 'chart';

/** A snapshot of the state disk, READY before any change to the cluster; never deleted by the action. */
export interface PreUpgradeSnapshot {
  disk: string;
  name: string;
  labels: Record<string, string>;
  description: string;
}

export type ServerVersionPlan =
  | ({
      /** How the version changes (`same` and `new` change nothing known). */
      action: VersionChange;
      /** What runs (the release) or last ran (the record) before the run; undefined when neither is known. */
      from: ChartVersion | undefined;
      /** What runs after it. */
      to: ChartVersion;
      /** The plan's line, e.g. "upgrade the server from A to B". */
      line: string;
      snapshot: PreUpgradeSnapshot | undefined;
      /** The labels that record `to` on the disk once the server answered healthy. */
      record: Record<string, string>;
      /**
       * With rollback-on-failure, when the chart or its version changes over a deployed revision: the revision a
       * failed upgrade returns to. (A values change that fails is not the version's fault: it is left as it is.)
       */
      rollback: { revision: number; version: ChartVersion | undefined } | undefined;
    } & Advice)
  | Refusal;

/** Everything the version plan looks at, observed before anything changes. */
export interface VersionFacts {
  running: RunningChart | undefined;
  recorded: StateRecord | undefined;
  /** The chart the run installs, as fetched. */
  chart: ChartVersion;
  /** chart-version as given (undefined when empty). */
  asked: string | undefined;
  /** The state disk when it exists before the run: the one a snapshot is taken of before a change. */
  existingDisk: { resourcePath: string; name: string } | undefined;
  /** The snapshot an absent disk is restored from, when it is. */
  restoredFrom?: string;
  /** The release plan's action: only an install or an upgrade changes the version. */
  releaseAction: 'install' | 'upgrade' | 'keep';
}

export interface VersionOptions {
  allowDowngrade: boolean;
  snapshotBeforeUpgrade: boolean;
  rollbackOnFailure: boolean;
  /** When the plan is made: the snapshot's name carries it. */
  now: Date;
}

/** Pure: how the run changes the server's version, what it takes first and records after, or a refused downgrade. */
export function planServerVersion(facts: VersionFacts, options: VersionOptions): ServerVersionPlan {
  const { running, recorded, chart: to } = facts;
  const record = versionLabels(to);
  if (!record) return unrecordable(to);
  const from = running ? { chart: running.chart, version: running.version } : recorded?.version;
  let change = changeOf(from, to);
  const changes = facts.releaseAction !== 'keep' && change !== 'same' && change !== 'new';
  const state = newestOnState(facts, to.chart);
  const older = state !== undefined && (compareChartVersions(to, state.version) ?? 0) < 0;
  const warnings: string[] = [];
  if (older && changes) {
    if (!options.allowDowngrade) return downgradeRefusal(facts, state);
    change = 'downgrade';
    warnings.push(
      `${named(to)} is older than ${named(state.version)}, the version that last ran on this state: installed because allow-downgrade is true; SkyPilot's database migrations do not run backwards`,
    );
  } else if (older) {
    warnings.push(
      `The release runs ${named(to)}, older than ${named(state.version)} recorded on ${state.on}: the state was last written by the newer version`,
    );
  }
  const takes = changes && facts.existingDisk !== undefined && options.snapshotBeforeUpgrade;
  const snapshot = takes ? preUpgradeSnapshot(facts, recorded?.version ?? from, options.now) : undefined;
  const rollback = changes ? rollbackTarget(facts, options) : undefined;
  const shown = change === 'downgrade' && state ? state.version : from;
  const parts = [changeLine(change, shown, to, facts), snapshotLine(facts, changes, snapshot, options)];
  if (rollback) parts.push(`if it does not become healthy, back to revision ${rollback.revision}`);
  return {
    action: change,
    from,
    to,
    line: parts.filter(Boolean).join('; '),
    snapshot,
    record,
    rollback,
    warnings,
    notes: [],
  };
}

function changeOf(from: ChartVersion | undefined, to: ChartVersion): VersionChange {
  if (!from) return 'new';
  const order = compareChartVersions(to, from);
  if (order === undefined) return 'chart';
  return order === 0 ? 'same' : order > 0 ? 'upgrade' : 'downgrade';
}

/** The newest version known to have run on the state, of this chart: the record, or the deployed release. */
function newestOnState(facts: VersionFacts, chart: string): StateRecord | undefined {
  const candidates: StateRecord[] = [];
  if (facts.recorded?.version.chart === chart) candidates.push(facts.recorded);
  const { running } = facts;
  if (running?.chart === chart && running.status === 'deployed')
    candidates.push({ version: running, on: `revision ${running.revision} of the release` });
  return candidates.sort((a, b) => compareChartVersions(b.version, a.version) ?? 0)[0];
}

function changeLine(
  change: VersionChange,
  from: ChartVersion | undefined,
  to: ChartVersion,
  facts: VersionFacts,
): string {
  const lastRan = facts.running ? '' : ' (the version that last ran on this state)';
  switch (change) {
    case 'new': {
      if (facts.existingDisk)
        return `chart ${named(to)}; no version is recorded on disk ${facts.existingDisk.name} yet`;
      const which =
        facts.asked === undefined || facts.asked === 'latest' ? 'the newest' : `chart-version ${facts.asked}`;
      if (facts.restoredFrom)
        return `chart ${named(to)} (${which}); snapshot ${facts.restoredFrom} records no version`;
      return `chart ${named(to)} (${which}), on a new state`;
    }
    case 'same':
      if (facts.running) return `chart ${named(to)}, the version the release runs`;
      return `chart ${named(to)}, the version that last ran on this state`;
    case 'upgrade':
      return `upgrade the server from ${from!.version} to ${to.version}${lastRan}`;
    case 'downgrade':
      return `downgrade the server from ${from!.version} to ${to.version} (allow-downgrade)`;
    case 'chart':
      return `change the chart from ${named(from!)} to ${named(to)} (versions of different charts are not compared)${lastRan}`;
  }
}

function snapshotLine(
  facts: VersionFacts,
  changes: boolean,
  snapshot: PreUpgradeSnapshot | undefined,
  options: VersionOptions,
): string {
  if (!changes) return '';
  if (snapshot) return `first snapshot ${snapshot.name} of the disk`;
  if (!facts.existingDisk) return facts.recorded ? `the state comes from ${facts.recorded.on}` : '';
  return options.snapshotBeforeUpgrade ? '' : 'no snapshot first (snapshot-before-upgrade: false)';
}

function rollbackTarget(
  facts: VersionFacts,
  options: VersionOptions,
): { revision: number; version: ChartVersion | undefined } | undefined {
  const { running } = facts;
  if (!options.rollbackOnFailure || facts.releaseAction !== 'upgrade') return undefined;
  if (running?.deployedRevision === undefined) return undefined;
  const current = running.deployedRevision === running.revision;
  return {
    revision: running.deployedRevision,
    version: current ? { chart: running.chart, version: running.version } : undefined,
  };
}

function downgradeRefusal(facts: VersionFacts, state: StateRecord): Refusal {
  const { chart: to, asked } = facts;
  const given = asked && asked !== to.version ? ` (chart-version ${asked})` : '';
  return refuse(
    `Chart ${named(to)}${given} is older than ${state.version.version}, the version that last ran on this state (${state.on}): installing it would downgrade the state`,
    `SkyPilot's database migrations run one way only. Set chart-version to ${state.version.version} or newer, or leave it empty; ` +
      `to install ${to.version} anyway, set allow-downgrade: true (a snapshot of the disk is taken first). Nothing was changed`,
  );
}

function unrecordable(to: ChartVersion): Refusal {
  return refuse(
    `Chart ${named(to)} cannot be recorded with the state: a GCE label value holds at most 63 characters`,
    'Use a chart name and chart-version that fit (the version is written with . as _ and + as __); nothing was changed',
  );
}

/**
 * `<disk>-pre-<version>-<UTC time>`, within GCE's 63 characters (the disk's name is cut first): the snapshot
 * taken before `version` was installed on the disk.
 */
export function preUpgradeSnapshotName(disk: string, version: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const slug =
    version
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 24)
      .replace(/^-+|-+$/g, '') || 'version';
  const tail = `-pre-${slug}-${stamp}`;
  return `${disk.slice(0, 63 - tail.length).replace(/-+$/, '')}${tail}`;
}

/** Labelled like the schedule's snapshots, with the version the state holds: a restore from it installs that. */
function preUpgradeSnapshot(
  facts: VersionFacts,
  holds: ChartVersion | undefined,
  now: Date,
): PreUpgradeSnapshot {
  const disk = facts.existingDisk!;
  const to = facts.chart;
  const before = encodeLabelValue(to.version);
  return {
    disk: disk.resourcePath,
    name: preUpgradeSnapshotName(disk.name, to.version, now),
    labels: {
      [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value,
      'skyha-disk': labelValue(disk.name),
      ...(holds ? versionLabels(holds) : {}),
      ...(before ? { 'skyha-before': before } : {}),
    },
    description: `State of ${disk.resourcePath}${holds ? ` (${named(holds)})` : ''} before ${named(to)} was installed (skyha-action)`,
  };
}

export function describeServerVersionPlan(plan: ServerVersionPlan): string {
  return plan.action === 'refuse' ? `refuse: ${plan.reason}` : plan.line;
}

/**
 * Observe: the chart version to fetch for an empty chart-version, once the release is read; the state's record is
 * awaited only when the release does not settle it.
 */
export async function chooseChartVersion(
  asked: { chart: string; chartVersion: string | undefined },
  release: ObservedRelease | undefined,
  recordRead: Promise<StateRecord | undefined>,
): Promise<{ version: string | undefined; why?: string }> {
  const name = chartNameOf(asked.chart, chartSource(asked.chart).kind === 'local');
  const running = name === undefined ? undefined : runningChart(release, name);
  const settled = running?.chart === name && running?.status === 'deployed';
  const recorded = settled || name === undefined ? undefined : await recordRead;
  return chartVersionToInstall(asked.chartVersion, name, running, recorded);
}
