import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, test } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import { isRefusal } from '../../src/lib/plan.js';
import type { DiskPlan, ObservedDisk } from '../../src/steps/disk.js';
import type { ObservedRelease } from '../../src/steps/helmRelease.js';
import {
  chartNameOf,
  chartVersionToInstall,
  compareChartVersions,
  planServerVersion,
  preUpgradeSnapshotName,
  runningChart,
  stateRecord,
  type RunningChart,
  type StateRecord,
  type VersionFacts,
  type VersionOptions,
} from '../../src/steps/serverVersion.js';
import { recordServerVersion, takePreUpgradeSnapshot } from '../../src/steps/serverVersionApply.js';
import { recordedVersion, recordLabelsOf, versionLabels } from '../../src/steps/versionRecord.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';
import { call } from '../support/computeStandIn.js';

// The server version over the state: the version a run installs, what changes, the snapshot first and the
// record after, by table; then the snapshot and the record against the Compute stand-in.

const NIGHTLY = 'skypilot-nightly';
const A = '1.0.0-dev.20261115';
const B = '1.0.0-dev.20261130';
const OLD = '1.0.0-dev.20250218';
const v = (version: string, chart = NIGHTLY) => ({ chart, version });
const running = (version: string, more: Partial<RunningChart> = {}): RunningChart => ({
  ...v(version),
  status: 'deployed',
  revision: 3,
  deployedRevision: 3,
  ...more,
});
const onDisk = (version: string, chart = NIGHTLY): StateRecord => ({
  version: v(version, chart),
  on: 'disk D',
});

test('labels record a chart version, and read back exactly', () => {
  assert.deepEqual(versionLabels(v(A)), {
    'skyha-chart': 'skypilot-nightly',
    'skyha-chart-version': '1_0_0-dev_20261115',
  });
  for (const version of [A, '0.11.0', '1.2.3+build.7', '1.0.0-RC.1']) {
    assert.deepEqual(recordedVersion(versionLabels(v(version))), v(version));
  }
  assert.equal(recordedVersion({ 'managed-by': 'skyha-action' }), undefined);
  assert.equal(recordedVersion({ 'skyha-chart': 'x' }), undefined, 'half a record is none');
  assert.equal(recordedVersion({ 'skyha-chart': 'x', 'skyha-chart-version': '1__' }), undefined);
  assert.equal(versionLabels(v(`1.0.0+${'x'.repeat(60)}`)), undefined, 'a version over 63 characters');
  assert.deepEqual(recordLabelsOf({ ...versionLabels(v(A)), 'skyha-drill': 'run-1' }), versionLabels(v(A)));
  assert.deepEqual(recordLabelsOf({ 'skyha-drill': 'run-1' }), {});
});

test('chartNameOf: the chart name of a REPO/NAME, oci:// or bare reference; none for a local path', () => {
  assert.equal(chartNameOf('skypilot/skypilot-nightly', false), NIGHTLY);
  assert.equal(chartNameOf('oci://registry.example.com/charts/skypilot', false), 'skypilot');
  assert.equal(chartNameOf('skypilot', false), 'skypilot');
  assert.equal(chartNameOf('./charts/skypilot', true), undefined);
});

test('compareChartVersions: semver within one chart, nothing across charts', () => {
  assert.equal(compareChartVersions(v(B), v(A)), 1);
  assert.equal(compareChartVersions(v(OLD), v(A)), -1);
  assert.equal(compareChartVersions(v(A), v(A)), 0);
  assert.equal(
    compareChartVersions(v('1.0.0'), v('1.0.0-dev.20261130')),
    1,
    'a release after its pre-releases',
  );
  assert.equal(compareChartVersions(v('0.11.0', 'skypilot'), v(A)), undefined);
  assert.equal(compareChartVersions(v('nightly'), v(A)), undefined);
});

describe('chartVersionToInstall: which version an empty chart-version installs', () => {
  const cases: Array<[string, Parameters<typeof chartVersionToInstall>, string | undefined, string?]> = [
    ['chart-version wins', [B, NIGHTLY, running(A), onDisk(A)], B],
    ['latest is the newest', ['latest', NIGHTLY, running(A), onDisk(A)], undefined],
    [
      'the version the release runs',
      [undefined, NIGHTLY, running(A), onDisk(OLD)],
      A,
      'the version the release runs',
    ],
    [
      'a recovery: the version that last ran on the state',
      [undefined, NIGHTLY, undefined, onDisk(A)],
      A,
      'the version that last ran on this state',
    ],
    [
      'a failed release: the record, not the failed version',
      [undefined, NIGHTLY, running(B, { status: 'failed' }), onDisk(A)],
      A,
      'the version that last ran on this state',
    ],
    ['a new state: the newest', [undefined, NIGHTLY, undefined, undefined], undefined],
    [
      'another chart recorded: the newest of this one',
      [undefined, 'skypilot', undefined, onDisk(A)],
      undefined,
    ],
    [
      'a release of another chart: the newest of this one',
      [undefined, 'skypilot', running(A), undefined],
      undefined,
    ],
    ['a local chart: as it lies', [undefined, undefined, running(A), onDisk(A)], undefined],
  ];
  for (const [name, args, version, why] of cases) {
    test(name, () => {
      const chosen = chartVersionToInstall(...args);
      assert.equal(chosen.version, version);
      assert.equal(chosen.why, why);
    });
  }
});

test('runningChart: the chart the release runs, and the revision helm calls deployed', () => {
  const release: ObservedRelease = {
    status: 'failed',
    revision: 4,
    chartVersion: B,
    chartName: NIGHTLY,
    values: {},
    history: [
      { revision: 2, status: 'superseded' },
      { revision: 3, status: 'deployed' },
      { revision: 4, status: 'failed' },
    ],
  };
  assert.deepEqual(runningChart(release, NIGHTLY), {
    chart: NIGHTLY,
    version: B,
    status: 'failed',
    revision: 4,
    deployedRevision: 3,
  });
  assert.equal(runningChart(undefined, NIGHTLY), undefined);
});

test('stateRecord: the disk records it; an absent disk, the snapshot it is restored from', () => {
  const disk = { resourcePath: 'projects/p/zones/z/disks/d', labels: versionLabels(v(A)) } as ObservedDisk;
  const use = { action: 'use', disk, warnings: [], notes: [] } as DiskPlan;
  assert.deepEqual(stateRecord(disk, use), { version: v(A), on: 'disk projects/p/zones/z/disks/d' });
  const source = { name: 'snap-1', labels: versionLabels(v(B)) };
  const restore = { action: 'create', source, request: {}, warnings: [], notes: [] } as unknown as DiskPlan;
  assert.deepEqual(stateRecord(undefined, restore), { version: v(B), on: 'snapshot snap-1' });
  const empty = { action: 'create', request: {}, warnings: [], notes: [] } as unknown as DiskPlan;
  assert.equal(stateRecord(undefined, empty), undefined);
});

describe('planServerVersion: what changes, the snapshot first, the rollback', () => {
  const NOW = new Date('2026-12-01T04:05:06Z');
  const DISK = { resourcePath: 'projects/p/zones/z/disks/state', name: 'state' };
  const options: VersionOptions = {
    allowDowngrade: false,
    snapshotBeforeUpgrade: true,
    rollbackOnFailure: true,
    now: NOW,
  };
  const facts = (more: Partial<VersionFacts>): VersionFacts => ({
    running: undefined,
    recorded: undefined,
    chart: v(A),
    asked: undefined,
    existingDisk: DISK,
    releaseAction: 'install',
    ...more,
  });
  const plan = (more: Partial<VersionFacts>, opts: Partial<VersionOptions> = {}) => {
    const planned = planServerVersion(facts(more), { ...options, ...opts });
    if (isRefusal(planned)) throw new Error(`refused: ${planned.reason}`);
    return planned;
  };

  test('a recovery of the recorded version: no change, no snapshot, the plan says why', () => {
    const p = plan({ recorded: onDisk(A) });
    assert.equal(p.action, 'same');
    assert.equal(
      p.line,
      'chart skypilot-nightly 1.0.0-dev.20261115, the version that last ran on this state',
    );
    assert.equal(p.snapshot, undefined);
    assert.deepEqual(p.record, versionLabels(v(A)));
    assert.equal(p.rollback, undefined, 'a first install is not rolled back');
  });

  test('a converged rerun: the version the release runs, nothing to take or undo', () => {
    const p = plan({ running: running(A), recorded: onDisk(A), releaseAction: 'keep' });
    assert.equal(p.action, 'same');
    assert.equal(p.line, 'chart skypilot-nightly 1.0.0-dev.20261115, the version the release runs');
    assert.equal(p.snapshot, undefined);
    assert.equal(p.rollback, undefined);
  });

  test('an upgrade over the disk: named, a snapshot first, rolled back to the deployed revision', () => {
    const p = plan({
      running: running(A),
      recorded: onDisk(A),
      chart: v(B),
      asked: B,
      releaseAction: 'upgrade',
    });
    assert.equal(p.action, 'upgrade');
    assert.equal(
      p.line,
      'upgrade the server from 1.0.0-dev.20261115 to 1.0.0-dev.20261130; first snapshot ' +
        'state-pre-1-0-0-dev-20261130-20261201-040506 of the disk; if it does not become healthy, back to revision 3',
    );
    assert.deepEqual(p.snapshot, {
      disk: DISK.resourcePath,
      name: 'state-pre-1-0-0-dev-20261130-20261201-040506',
      labels: {
        'managed-by': 'skyha-action',
        'skyha-disk': 'state',
        ...versionLabels(v(A)),
        'skyha-before': '1_0_0-dev_20261130',
      },
      description:
        'State of projects/p/zones/z/disks/state (skypilot-nightly 1.0.0-dev.20261115) before skypilot-nightly 1.0.0-dev.20261130 was installed (skyha-action)',
    });
    assert.deepEqual(p.rollback, { revision: 3, version: v(A) });
    assert.deepEqual(p.record, versionLabels(v(B)));
  });

  test('a recovery that installs a newer version than recorded: an upgrade, with a snapshot', () => {
    const p = plan({ recorded: onDisk(A), chart: v(B), asked: 'latest' });
    assert.equal(p.action, 'upgrade');
    assert.match(
      p.line,
      /^upgrade the server from 1\.0\.0-dev\.20261115 to 1\.0\.0-dev\.20261130 \(the version that last ran on this state\); first snapshot /,
    );
    assert.ok(p.snapshot);
    assert.equal(p.rollback, undefined, 'no release to return to');
  });

  test('an older chart-version is refused, naming both versions and allow-downgrade', () => {
    const refused = planServerVersion(facts({ recorded: onDisk(A), chart: v(OLD), asked: OLD }), options);
    assert.ok(isRefusal(refused));
    assert.match(
      refused.reason,
      /1\.0\.0-dev\.20250218 is older than 1\.0\.0-dev\.20261115, the version that last ran on this state \(disk D\)/,
    );
    assert.match(refused.hint, /allow-downgrade: true/);
    assert.match(refused.hint, /Nothing was changed/);
  });

  test('a downgrade of the release below what it runs is refused too', () => {
    const refused = planServerVersion(
      facts({ running: running(B), recorded: onDisk(A), chart: v(A), asked: A, releaseAction: 'upgrade' }),
      options,
    );
    assert.ok(isRefusal(refused));
    assert.match(
      refused.reason,
      /older than 1\.0\.0-dev\.20261130, the version that last ran on this state \(revision \d+ of the release\)/,
    );
  });

  test('allow-downgrade installs it, with a warning and a snapshot first', () => {
    const p = plan({ recorded: onDisk(A), chart: v(OLD), asked: OLD }, { allowDowngrade: true });
    assert.equal(p.action, 'downgrade');
    assert.match(
      p.line,
      /^downgrade the server from 1\.0\.0-dev\.20261115 to 1\.0\.0-dev\.20250218 \(allow-downgrade\)/,
    );
    assert.ok(p.snapshot);
    assert.match(p.warnings[0] ?? '', /do not run backwards/);
  });

  test('another chart: not compared, named, with a snapshot', () => {
    const p = plan({ recorded: onDisk(B), chart: v('0.11.0', 'skypilot'), asked: '0.11.0' });
    assert.equal(p.action, 'chart');
    assert.match(
      p.line,
      /^change the chart from skypilot-nightly 1\.0\.0-dev\.20261130 to skypilot 0\.11\.0 \(versions of different charts are not compared\)/,
    );
    assert.ok(p.snapshot);
  });

  test('a new state: the newest, nothing to snapshot', () => {
    const p = plan({ existingDisk: undefined });
    assert.equal(p.action, 'new');
    assert.equal(p.line, 'chart skypilot-nightly 1.0.0-dev.20261115 (the newest), on a new state');
    assert.equal(p.snapshot, undefined);
    const restored = plan({ existingDisk: undefined, restoredFrom: 'snap-0', asked: A });
    assert.equal(
      restored.line,
      'chart skypilot-nightly 1.0.0-dev.20261115 (chart-version 1.0.0-dev.20261115); snapshot snap-0 records no version',
    );
    const unrecorded = plan({});
    assert.equal(
      unrecorded.line,
      'chart skypilot-nightly 1.0.0-dev.20261115; no version is recorded on disk state yet',
    );
    assert.equal(unrecorded.snapshot, undefined, 'nothing known ran on it: no change to guard');
  });

  test('a disk restored from a snapshot is not snapshotted again: the plan names where the state comes from', () => {
    const p = plan({
      existingDisk: undefined,
      recorded: { version: v(A), on: 'snapshot snap-1' },
      chart: v(B),
    });
    assert.equal(p.snapshot, undefined);
    assert.match(p.line, /the state comes from snapshot snap-1$/);
  });

  test('snapshot-before-upgrade: false takes none, and says so', () => {
    const p = plan(
      { running: running(A), recorded: onDisk(A), chart: v(B), releaseAction: 'upgrade' },
      { snapshotBeforeUpgrade: false },
    );
    assert.equal(p.snapshot, undefined);
    assert.match(p.line, /no snapshot first \(snapshot-before-upgrade: false\)/);
  });

  test('rollback-on-failure: false, a release with no deployed revision, or no version change: nothing rolled back', () => {
    const upgrade = {
      running: running(A),
      recorded: onDisk(A),
      chart: v(B),
      releaseAction: 'upgrade' as const,
    };
    assert.equal(plan(upgrade, { rollbackOnFailure: false }).rollback, undefined);
    const failed = running(A, { status: 'failed', deployedRevision: undefined });
    assert.equal(plan({ ...upgrade, running: failed }).rollback, undefined);
    // A values change keeps the version: no snapshot, and a failure is left as it is (not the version's fault).
    assert.equal(plan({ ...upgrade, chart: v(A) }).rollback, undefined);
    assert.equal(plan({ ...upgrade, chart: v(A) }).snapshot, undefined);
  });

  test('a version no label can hold is refused before any change', () => {
    const refused = planServerVersion(facts({ chart: v(`1.0.0+${'x'.repeat(60)}`) }), options);
    assert.ok(isRefusal(refused));
    assert.match(refused.reason, /63 characters/);
  });
});

test('preUpgradeSnapshotName: the disk, the version and the UTC time, within 63 characters', () => {
  const now = new Date('2026-12-01T04:05:06.789Z');
  assert.equal(
    preUpgradeSnapshotName('sky-api-server-state', B, now),
    'sky-api-server-state-pre-1-0-0-dev-20261130-20261201-040506',
  );
  const long = preUpgradeSnapshotName(`${'d'.repeat(60)}-x`, `${B}+build.${'7'.repeat(40)}`, now);
  assert.ok(long.length <= 63, long);
  assert.match(long, /^d+-pre-1-0-0-dev-20261130-build-20261201-040506$/);
  assert.match(preUpgradeSnapshotName('state', 'V1.0.0_RC', now), /^state-pre-v1-0-0-rc-20261201-040506$/);
});

describe('the snapshot before an upgrade, and the record, against the Compute stand-in', () => {
  const P = 'version-project';
  const ZONE = 'us-east5-b';
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  let n = 0;
  const deadline = () => new Deadline(60_000);
  const writes = () => standIn.requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/wait'));
  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: P, endpoint: standIn.url, authClient: auth });
  });
  after(() => standIn.close());
  beforeEach(() => standIn.requests.splice(0));

  const disk = (labels: Record<string, string> = { 'managed-by': 'skyha-action' }) => {
    const name = `state-${++n}`;
    const seeded = standIn.putDisk({ project: P, zone: ZONE, name, sizeGb: 10, labels });
    const resourcePath = `projects/${P}/zones/${ZONE}/disks/${name}`;
    return { name, resourcePath, labels, labelFingerprint: seeded.labelFingerprint };
  };

  it('records the version beside the other labels, once: the rerun writes nothing', async () => {
    const d = disk();
    const record = versionLabels(v(A))!;
    assert.deepEqual(await recordServerVersion(clients, d, record, undefined, deadline()), {
      disk: true,
      schedule: false,
    });
    assert.deepEqual(standIn.disk(d.resourcePath)?.labels, { 'managed-by': 'skyha-action', ...record });
    const after = standIn.disk(d.resourcePath)!;
    standIn.requests.splice(0);
    const again = { ...d, labels: after.labels!, labelFingerprint: after.labelFingerprint };
    assert.deepEqual(await recordServerVersion(clients, again, record, undefined, deadline()), {
      disk: false,
      schedule: false,
    });
    assert.deepEqual(writes(), []);
  });

  it('labels changed since the read: 412, read again, and the other label is kept', async () => {
    const d = disk();
    // Someone else labels the disk after this run read it: the fingerprint the run holds is stale.
    const path = `/compute/v1/${d.resourcePath}/setLabels`;
    const theirs = { 'managed-by': 'skyha-action', team: 'ml' };
    const changed = await call(standIn, 'POST', path, {
      labels: theirs,
      labelFingerprint: d.labelFingerprint,
    });
    assert.equal(changed.status, 200);
    standIn.requests.splice(0);
    const record = versionLabels(v(B))!;
    await recordServerVersion(clients, d, record, undefined, deadline());
    assert.deepEqual(standIn.disk(d.resourcePath)?.labels, { ...theirs, ...record });
    const calls = standIn.requests.filter((r) => r.path.endsWith('/setLabels') || r.method === 'GET');
    assert.deepEqual(
      calls.map((r) => `${r.method} ${r.path.split('/').pop()}`),
      ['POST setLabels', `GET ${d.name}`, 'POST setLabels'],
    );
  });

  it("the schedule's snapshot labels follow the record, only when they lack it", async () => {
    const d = disk();
    const policy = `projects/${P}/regions/us-east5/resourcePolicies/${d.name}-snapshots`;
    const base = { 'managed-by': 'skyha-action', 'skyha-disk': d.name };
    standIn.putResourcePolicy({
      project: P,
      region: 'us-east5',
      name: `${d.name}-snapshots`,
      snapshotSchedulePolicy: {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:00' } },
        retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
        snapshotProperties: { labels: base },
      },
    });
    const record = versionLabels(v(A))!;
    const wrote = await recordServerVersion(
      clients,
      d,
      record,
      { policyPath: policy, labels: base },
      deadline(),
    );
    assert.deepEqual(wrote, { disk: true, schedule: true });
    const patched = standIn.resourcePolicies().find((p) => p.name === `${d.name}-snapshots`)!;
    assert.deepEqual(patched.snapshotSchedulePolicy.snapshotProperties?.labels, { ...base, ...record });
    assert.deepEqual(patched.snapshotSchedulePolicy.schedule, {
      dailySchedule: { daysInCycle: 1, startTime: '04:00' },
    });
    const after = standIn.disk(d.resourcePath)!;
    standIn.requests.splice(0);
    const again = { ...d, labels: after.labels!, labelFingerprint: after.labelFingerprint };
    const schedule = { policyPath: policy, labels: { ...base, ...record } };
    assert.deepEqual(await recordServerVersion(clients, again, record, schedule, deadline()), {
      disk: false,
      schedule: false,
    });
    assert.deepEqual(writes(), []);
  });

  it('the snapshot before an upgrade is READY when it returns, labelled with the version it holds', async () => {
    const d = disk({ 'managed-by': 'skyha-action', ...versionLabels(v(A)) });
    const name = preUpgradeSnapshotName(d.name, B, new Date());
    const labels = { 'managed-by': 'skyha-action', ...versionLabels(v(A)) };
    const taken = await takePreUpgradeSnapshot(
      clients,
      { disk: d.resourcePath, name, labels, description: 'before B (skyha-action)' },
      deadline(),
      { pollIntervalMs: 10 },
    );
    assert.equal(taken.resourcePath, `projects/${P}/global/snapshots/${name}`);
    const snapshot = standIn.snapshots().find((s) => s.name === name)!;
    assert.equal(snapshot.status, 'READY');
    assert.deepEqual(snapshot.labels, labels);
    assert.equal(snapshot.description, 'before B (skyha-action)');
    assert.match(snapshot.sourceDisk ?? '', new RegExp(`${d.resourcePath}$`));
  });
});
