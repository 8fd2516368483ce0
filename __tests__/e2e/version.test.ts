import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { servedCharts } from '../../standins/chartRepo.js';
import type { SnapshotJson } from '../../standins/compute/resources.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, clearLogs, computeWrites, DISK, kubeWrites, ok } from '../support/e2e.js';

// The server version recorded with the state, through the bundle: a recovery installs the version that last ran on
// the disk, an older one is refused, an upgrade takes a snapshot first (READY before the cluster changes), and an
// upgrade that never becomes healthy is rolled back.

const version = (v: string) => servedCharts.find((c) => c.name === 'skypilot-nightly' && c.version === v)!;
const A = version('1.0.0-dev.20261115');
const BROKEN = servedCharts.find((c) => c.crashes)!;
const B = version('1.0.0-dev.20261130');
const OLD = version('1.0.0-dev.20250218');
const P = WORLD.project;
const POLICY = `projects/${P}/regions/us-east5/resourcePolicies/sky-api-server-state-us-east5-b-snapshots`;
// Every run keeps the schedule, so that its snapshots' labels follow the record.
const SCHEDULE = { 'snapshot-schedule': 'daily 04:00' };

const labelOf = (v: string) => v.replace(/\./g, '_');
const recorded = (labels: Record<string, string> | undefined) => ({
  chart: labels?.['skyha-chart'],
  version: labels?.['skyha-chart-version'],
});
const records = (v: string) => ({ chart: 'skypilot-nightly', version: labelOf(v) });
const diskLabels = (world: LocalWorld) => world.compute.disk(DISK)?.labels;
const policyLabels = (world: LocalWorld) =>
  world.compute.resourcePolicies().find((p) => p.selfLink?.endsWith(POLICY))?.snapshotSchedulePolicy
    .snapshotProperties?.labels;
const releaseChart = (world: LocalWorld): string | undefined => {
  const deployed = world.kube
    .list('v1', 'Secret', 'skypilot')
    .filter((s) => at(s, 'metadata', 'labels', 'owner') === 'helm')
    .find((s) => at(s, 'metadata', 'labels', 'status') === 'deployed');
  return deployed ? String(at(deployed, 'metadata', 'labels', 'version')) : undefined;
};
const versionLine = (run: ActionRun) => /\| version \| [^|]+ \| ([^|]*) \|/.exec(run.summary)?.[1];

describe('the server version recorded with the state: recovery, downgrade, upgrade, rollback', () => {
  let world: LocalWorld;
  let scheduled: SnapshotJson;
  before(async () => {
    world = await startLocalWorld();
  });
  after(() => world.close());

  it('a deploy of version A records it on the disk and on the schedule once the server answers healthy', async () => {
    const run = ok(await world.run({ ...SCHEDULE, 'chart-version': A.version }));
    assert.equal(run.outputs['server-version'], A.appVersion);
    assert.equal(run.outputs['pre-upgrade-snapshot'], '', 'a first deploy takes no snapshot');
    assert.deepEqual(recorded(diskLabels(world)), records(A.version));
    assert.equal(diskLabels(world)?.['managed-by'], 'skyha-action', 'the other labels are kept');
    assert.deepEqual(recorded(policyLabels(world)), records(A.version));
    assert.match(versionLine(run) ?? '', /^chart skypilot-nightly 1\.0\.0-dev\.20261115 \(chart-version/);
    // What GCE's schedule takes from now on carries the version too.
    scheduled = world.compute.takeScheduledSnapshot(DISK);
    assert.deepEqual(recorded(scheduled.labels), records(A.version));
  });

  it('after the cluster is lost, an empty chart-version installs A again, not the newest, and says why', async () => {
    await world.loseCluster();
    clearLogs(world);
    const run = ok(await world.run(SCHEDULE));
    assert.equal(run.outputs['server-version'], A.appVersion);
    assert.equal(releaseChart(world), '1');
    assert.equal(
      versionLine(run),
      'chart skypilot-nightly 1.0.0-dev.20261115, the version that last ran on this state',
    );
    assert.equal(run.outputs['pre-upgrade-snapshot'], '');
    assert.deepEqual(computeWrites(world), [], 'the labels already say A');
    assert.deepEqual(recorded(diskLabels(world)), records(A.version));
    assertStateIntact(world);
  });

  it('a recovery with an older chart-version is refused before any change, naming both and allow-downgrade', async () => {
    await world.loseCluster();
    clearLogs(world);
    const run = await world.run({ ...SCHEDULE, 'chart-version': OLD.version });
    assert.equal(run.code, 1);
    const error = run.errors.join('\n');
    assert.match(error, /1\.0\.0-dev\.20250218/);
    assert.match(error, /1\.0\.0-dev\.20261115, the version that last ran on this state/);
    assert.match(error, /allow-downgrade: true/);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.deepEqual(recorded(diskLabels(world)), records(A.version));
  });

  it('an upgrade that never becomes healthy is rolled back to the revision of A, and the run fails naming both', async () => {
    ok(await world.run(SCHEDULE));
    clearLogs(world);
    // A short timeout: the broken version is waited for until the part kept for the rollback.
    const run = await world.run({ ...SCHEDULE, 'chart-version': BROKEN.version, timeout: '90s' });
    assert.equal(run.code, 1, run.stdout.slice(-3000));
    const snapshot = run.outputs['pre-upgrade-snapshot'] ?? '';
    assert.match(snapshot, /^sky-api-server-state-pre-1-0-0-dev-20261120-\d{8}-\d{6}$/);
    const error = run.errors.join('\n');
    assert.match(error, /to skypilot-nightly 1\.0\.0-dev\.20261120 did not become healthy/);
    assert.match(
      error,
      /rolled back to revision 1 \(skypilot-nightly 1\.0\.0-dev\.20261115\), which answers healthy/,
    );
    assert.ok(error.includes(`snapshot ${snapshot}`), error);
    // Revision 2 is the broken upgrade; the one after it runs revision 1's chart and values, and health answers A.
    assert.ok(Number(run.outputs['helm-revision']) > 2);
    assert.equal(releaseChart(world), run.outputs['helm-revision']);
    assert.equal(run.outputs['server-version'], A.appVersion);
    assert.deepEqual(recorded(diskLabels(world)), records(A.version), 'the record stays at A');
    assert.deepEqual(recorded(policyLabels(world)), records(A.version));
    const taken = world.compute.snapshots().find((s) => s.name === snapshot);
    assert.equal(taken?.status, 'READY');
    assert.deepEqual(recorded(taken?.labels), records(A.version));
    assert.ok(!computeWrites(world).some((w) => w.startsWith('DELETE')), 'nothing is deleted');
  });

  it("a drill's snapshot carries production's version, and the drill installs it, not the newest", async () => {
    clearLogs(world);
    const drill = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'false' }));
    const snapshot = world.compute.snapshots().find((s) => /-drill-/.test(s.name));
    assert.deepEqual(recorded(snapshot?.labels), records(A.version));
    assert.equal(drill.outputs['server-version'], A.appVersion);
    assert.match(versionLine(drill) ?? '', /the version that last ran on this state/);
  });

  it('an upgrade from A to B: the snapshot is READY before the first change in the cluster; the rerun takes none', async () => {
    clearLogs(world);
    const run = ok(await world.run({ ...SCHEDULE, 'chart-version': B.version }));
    assert.equal(
      versionLine(run)?.split(';')[0],
      'upgrade the server from 1.0.0-dev.20261115 to 1.0.0-dev.20261130',
    );
    const name = run.outputs['pre-upgrade-snapshot'] ?? '';
    assert.match(name, /^sky-api-server-state-pre-1-0-0-dev-20261130-\d{8}-\d{6}$/);
    const taken = world.compute.snapshots().find((s) => s.name === name);
    assert.equal(taken?.status, 'READY');
    assert.deepEqual(recorded(taken?.labels), records(A.version), 'it holds A, and says so');
    assert.equal(taken?.labels?.['managed-by'], 'skyha-action');
    const created = world.compute.requests.find((r) =>
      r.path.endsWith(`/disks/sky-api-server-state/createSnapshot`),
    );
    const lastRead = world.compute.requests
      .filter((r) => r.path.endsWith(`/global/snapshots/${name}`))
      .at(-1);
    // Only the release lock (a Lease) is taken before it; the first change to the cluster comes after READY.
    const firstChange = world.kube.mutatingRequests().find((r) => !/\/leases(\/|$)/.test(r.path));
    assert.ok(created?.at !== undefined && lastRead?.at !== undefined && firstChange?.at !== undefined);
    assert.ok(
      created.at < lastRead.at && lastRead.at < firstChange.at,
      `${firstChange.method} ${firstChange.path}`,
    );
    assert.equal(run.outputs['server-version'], B.appVersion);
    assert.deepEqual(recorded(diskLabels(world)), records(B.version));
    assert.deepEqual(recorded(policyLabels(world)), records(B.version));

    clearLogs(world);
    const again = ok(await world.run({ ...SCHEDULE, 'chart-version': B.version }));
    assert.equal(again.outputs['pre-upgrade-snapshot'], '');
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    // A deploy on push with an empty chart-version keeps what runs: no upgrade behind the user's back.
    const onPush = ok(await world.run(SCHEDULE));
    assert.equal(
      versionLine(onPush),
      'chart skypilot-nightly 1.0.0-dev.20261130, the version the release runs',
    );
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });

  it('a restore from a scheduled snapshot of A installs A and records it on the new disk', async () => {
    await world.loseCluster();
    assert.ok(world.compute.removeDisk(DISK));
    clearLogs(world);
    const run = ok(
      await world.run({ ...SCHEDULE, 'disk-source-snapshot': scheduled.name, 'create-disk': 'never' }),
    );
    assert.equal(run.outputs['restored-from'], `snapshot:${scheduled.name}`);
    assert.equal(run.outputs['server-version'], A.appVersion);
    assert.equal(
      versionLine(run),
      'chart skypilot-nightly 1.0.0-dev.20261115, the version that last ran on this state',
    );
    // GCE copies no label from a snapshot to a disk: the action wrote them with the disk.
    assert.deepEqual(recorded(diskLabels(world)), records(A.version));
    assert.ok(!computeWrites(world).some((w) => w.endsWith('/setLabels')), 'the insert carried the record');
    assertStateIntact(world);
  });
});
