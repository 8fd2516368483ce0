import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newestChart } from '../../standins/chartRepo.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, clearLogs, computeWrites, DISK, kubeWrites, ok } from '../support/e2e.js';

// Backups through the bundle: the snapshot schedule on the state disk, restoring a lost disk from its newest
// snapshot, and the recovery numbers (restored-from, recovery-seconds) in the outputs and the summary.

const P = WORLD.project;
const V1 = `/compute/v1/projects/${P}`;
const POLICY = `projects/${P}/regions/us-east5/resourcePolicies/sky-api-server-state-us-east5-b-snapshots`;
const HOUR = 3_600_000;
/** The server version a run records with the state (#22): an unpinned first deploy installs the newest. */
const NEWEST = {
  'skyha-chart': 'skypilot-nightly',
  'skyha-chart-version': newestChart('skypilot-nightly', true).version.replace(/\./g, '_'),
};
const RECORD_ON_DISK = `POST ${V1}/zones/us-east5-b/disks/sky-api-server-state/setLabels`;

const requests = (world: LocalWorld) => world.compute.requests.map((r) => `${r.method} ${r.path}`);
const attachedTo = (world: LocalWorld, disk: string) =>
  (world.compute.disk(disk)?.resourcePolicies ?? []).map((u) => u.replace(/^.*\/compute\/v1\//, ''));
const warnings = (run: ActionRun) => run.stdout.split('\n').filter((l) => l.startsWith('::warning'));

describe('the snapshot schedule: deploy, converge, change; the disk is lost and comes back from a snapshot', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('a fresh deploy creates the schedule and attaches it; the outputs and summary give the recovery', async () => {
    const run = ok(await world.run({ 'snapshot-schedule': 'daily 04:00' }));
    const policies = world.compute.resourcePolicies();
    assert.equal(policies.length, 1);
    const [policy] = policies;
    assert.equal(policy!.selfLink, `https://www.googleapis.com/compute/v1/${POLICY}`);
    assert.deepEqual(policy!.snapshotSchedulePolicy, {
      schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:00' } },
      retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
      // With the version the run installs: a restore from a scheduled snapshot installs it again.
      snapshotProperties: {
        labels: { 'managed-by': 'skyha-action', 'skyha-disk': 'sky-api-server-state', ...NEWEST },
      },
    });
    assert.match(policy!.description ?? '', /\(skyha-action\)$/);
    assert.deepEqual(attachedTo(world, DISK), [POLICY]);
    assert.equal(run.outputs['restored-from'], 'none');
    assert.match(run.outputs['recovery-seconds'] ?? '', /^\d+$/);
    assert.match(run.summary, /\*\*State:\*\* a new, empty disk was created/);
    assert.match(
      run.summary,
      /\*\*Recovery:\*\* \d+ s from the start of the run until the server answered healthy \(RTO\)\./,
    );
    assert.match(
      run.summary,
      /\*\*Backups:\*\* daily at 04:00 UTC, snapshots kept 14 days \(`projects\/.*sky-api-server-state-us-east5-b-snapshots`\)/,
    );
    assert.match(
      run.summary,
      /\| backups \| sky-api-server-state-us-east5-b-snapshots \| create \(daily at 04:00 UTC, snapshots kept 14 days\) and attach it/,
    );
    assertStateIntact(world);
  });

  it('a converged rerun reads the disk and the policy once each, and writes nothing', async () => {
    clearLogs(world);
    const run = ok(await world.run({ 'snapshot-schedule': 'daily 04:00' }));
    assert.deepEqual(requests(world), [
      `GET ${V1}/zones/us-east5-b/disks/sky-api-server-state`,
      `GET ${V1}/regions/us-east5/resourcePolicies/sky-api-server-state-us-east5-b-snapshots`,
    ]);
    assert.deepEqual(kubeWrites(world), []);
    assert.equal(run.outputs['restored-from'], 'disk');
    assert.match(run.summary, /the state is the disk's own, nothing lost \(RPO 0\)/);
    assert.match(
      run.summary,
      /\| backups \| sky-api-server-state-us-east5-b-snapshots \| keep \(daily at 04:00 UTC/,
    );
  });

  it('plan mode shows a changed schedule and changes nothing', async () => {
    clearLogs(world);
    const plan = ok(
      await world.run({ mode: 'plan', 'snapshot-schedule': 'every 6h', 'snapshot-retention-days': '7' }),
    );
    assert.match(
      plan.summary,
      /\| backups \| sky-api-server-state-us-east5-b-snapshots \| update to every 6 hours from 00:00 UTC, snapshots kept 7 days \|/,
    );
    assert.match(plan.summary, /\*\*Backups:\*\* every 6 hours from 00:00 UTC, snapshots kept 7 days/);
    assert.deepEqual(computeWrites(world), []);
  });

  it('a changed schedule is changed in place: one write, one schedule of the action on the disk', async () => {
    clearLogs(world);
    ok(await world.run({ 'snapshot-schedule': 'every 6h', 'snapshot-retention-days': '7' }));
    assert.deepEqual(computeWrites(world), [
      `PATCH ${V1}/regions/us-east5/resourcePolicies/sky-api-server-state-us-east5-b-snapshots`,
    ]);
    const policies = world.compute.resourcePolicies();
    assert.equal(policies.length, 1);
    assert.deepEqual(policies[0]!.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 6, startTime: '00:00' },
    });
    assert.equal(policies[0]!.snapshotSchedulePolicy.retentionPolicy?.maxRetentionDays, 7);
    assert.deepEqual(attachedTo(world, DISK), [POLICY]);
  });

  it('the disk is lost: latest brings it back from its newest READY snapshot, with the schedule, and says how old', async () => {
    const now = Date.now();
    const snapshot = (name: string, agoMs: number, more: { status?: string; sourceDisk?: string } = {}) =>
      world.compute.putSnapshot({
        name,
        diskSizeGb: 10,
        sourceDisk: DISK,
        sourceSnapshotSchedulePolicy: POLICY,
        creationTimestamp: new Date(now - agoMs),
        ...more,
      });
    snapshot('state-auto-old', 40 * HOUR);
    const newest = snapshot('state-auto-new', 16.5 * HOUR);
    snapshot('state-auto-uploading', HOUR, { status: 'UPLOADING' });
    snapshot('other-disk-newer', HOUR / 2, { sourceDisk: `projects/${P}/zones/us-east5-b/disks/other-disk` });
    assert.ok(world.compute.removeDisk(DISK));
    await world.loseCluster();
    clearLogs(world);
    const inputs = {
      'snapshot-schedule': 'every 6h',
      'snapshot-retention-days': '7',
      'disk-source-snapshot': 'latest',
      'create-disk': 'never',
    };
    const run = ok(await world.run(inputs));
    assert.equal(run.outputs['restored-from'], 'snapshot:state-auto-new');
    assert.equal(run.outputs['disk-created'], 'true');
    // The snapshot's state existed before the run: restored, as the notice says.
    assert.equal(run.outputs.restored, 'true');
    assert.match(
      run.stdout,
      /^::notice::SkyPilot API server ready at .*: restored true \(restored from: snapshot:state-auto-new\), with its previous state/m,
    );
    assert.equal((JSON.parse(run.outputs.plan ?? '{}') as { disk?: string }).disk, 'restore');
    assert.match(run.outputs['recovery-seconds'] ?? '', /^\d+$/);
    assert.equal(world.compute.disk(DISK)?.sourceSnapshot, newest.selfLink);
    const when = new Date(Date.parse(newest.creationTimestamp)).toISOString().slice(0, 16).replace('T', ' ');
    assert.match(
      run.summary,
      new RegExp(`restored from snapshot \`state-auto-new\`: state as of ${when} UTC, 16 h old\\.`),
    );
    assert.match(run.summary, /until the server answered healthy \(RTO\); the state is 16 h old \(RPO\)\./);
    // The policy outlived the disk: only the disk, the attach and (these snapshots record no server version) the
    // version once healthy are written, and no snapshot is deleted.
    assert.deepEqual(computeWrites(world), [
      `POST ${V1}/zones/us-east5-b/disks`,
      `POST ${V1}/zones/us-east5-b/disks/sky-api-server-state/addResourcePolicies`,
      RECORD_ON_DISK,
    ]);
    assert.deepEqual(attachedTo(world, DISK), [POLICY]);
    assert.equal(world.compute.snapshots().length, 4);
    assertStateIntact(world);

    clearLogs(world);
    ok(await world.run(inputs));
    assert.equal(requests(world).length, 2, 'a converged rerun with latest lists no snapshots');
  });

  it('a drill with latest restores the newest snapshot (taking none, deleting none) and reports the same numbers', async () => {
    clearLogs(world);
    const drill = ok(
      await world.run({ mode: 'drill', 'drill-cleanup': 'true', 'disk-source-snapshot': 'latest' }),
    );
    assert.equal(drill.outputs['restored-from'], 'snapshot:state-auto-new');
    assert.match(drill.outputs['recovery-seconds'] ?? '', /^\d+$/);
    assert.ok(!computeWrites(world).some((w) => w.endsWith('/createSnapshot')), 'no snapshot taken');
    assert.equal(world.compute.snapshots().length, 4, 'none deleted by the cleanup');
    assert.match(drill.summary, /restored from snapshot `state-auto-new`: state as of .*, 16 h old/);
    assert.match(drill.summary, /\(RTO\); the state is 16 h old \(RPO\)/);
    assert.deepEqual(
      world.compute.disks().map((d) => d.name),
      ['sky-api-server-state'],
    );
  });
});

describe('backups at the edges: a foreign schedule, no snapshot, a regional disk, faults, bad input', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  /** Another disk on a new cluster: every case starts from a clean cluster and its own disk. */
  async function onNewCluster(diskName: string, inputs: Record<string, string>): Promise<ActionRun> {
    await world.loseCluster();
    clearLogs(world);
    return world.run({ 'disk-name': diskName, ...inputs });
  }

  it('a disk with another snapshot schedule keeps it: a warning names it, nothing is attached or made', async () => {
    world.compute.putResourcePolicy({ name: 'team-backups' });
    world.compute.putDisk({ name: 'sky-api-server-state', sizeGb: 10, resourcePolicies: ['team-backups'] });
    clearLogs(world);
    const run = ok(await world.run({ 'snapshot-schedule': 'daily' }));
    assert.match(
      warnings(run).join('\n'),
      /already has the snapshot schedule .*\/team-backups, which skyha-action did not make: it is kept/,
    );
    // Only the server version, recorded on the disk once healthy: the foreign schedule is not touched.
    assert.deepEqual(computeWrites(world), [RECORD_ON_DISK]);
    assert.deepEqual(
      world.compute.resourcePolicies().map((p) => p.name),
      ['team-backups'],
    );
    assert.deepEqual(attachedTo(world, DISK), [
      `projects/${P}/regions/us-east5/resourcePolicies/team-backups`,
    ]);
    assert.match(
      run.summary,
      /\*\*Backups:\*\* the disk keeps the snapshot schedule `.*team-backups` \(not managed by this action\)/,
    );
  });

  it('create-disk: never with no disk fails before any change, naming the disk, zone and project', async () => {
    for (const extra of [{}, { 'disk-source-snapshot': 'latest' }] as Record<string, string>[]) {
      const run = await onNewCluster('typo-disk', {
        'create-disk': 'never',
        'snapshot-schedule': 'daily',
        ...extra,
      });
      assert.equal(run.code, 1);
      assert.match(
        run.errors[0] ?? '',
        new RegExp(`Disk typo-disk does not exist in zone us-east5-b of project ${P}`),
      );
      assert.match(run.errors[0] ?? '', /create-disk: if-absent starts a new, empty server/);
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
    }
    assert.equal(world.compute.disk(`projects/${P}/zones/us-east5-b/disks/typo-disk`), undefined);
  });

  it('latest with no snapshot and if-absent: a new, empty disk with a warning, and the schedule', async () => {
    const run = ok(
      await onNewCluster('empty-disk', {
        'disk-source-snapshot': 'latest',
        'snapshot-schedule': 'weekly monday 03:00',
      }),
    );
    assert.match(
      warnings(run).join('\n'),
      /no READY snapshot of it was found .*a new, empty disk is created/,
    );
    assert.equal(run.outputs['restored-from'], 'none');
    assert.deepEqual(attachedTo(world, `projects/${P}/zones/us-east5-b/disks/empty-disk`), [
      `projects/${P}/regions/us-east5/resourcePolicies/empty-disk-us-east5-b-snapshots`,
    ]);
  });

  it('a regional disk gets its schedule through regionDisks.addResourcePolicies', async () => {
    const run = ok(
      await onNewCluster('regional-disk', {
        'replica-zones': 'us-east5-b,us-east5-c',
        'snapshot-schedule': 'hourly',
      }),
    );
    assert.equal(run.outputs.disk, `projects/${P}/regions/us-east5/disks/regional-disk`);
    assert.ok(
      computeWrites(world).includes(`POST ${V1}/regions/us-east5/disks/regional-disk/addResourcePolicies`),
    );
    assert.deepEqual(attachedTo(world, `projects/${P}/regions/us-east5/disks/regional-disk`), [
      `projects/${P}/regions/us-east5/resourcePolicies/regional-disk-snapshots`,
    ]);
  });

  it('503s and lost answers on the policy calls are survived with exactly one policy, attached once', async () => {
    world.compute.inject({ kind: 'error', status: 503, method: 'POST', path: /\/resourcePolicies$/ });
    world.compute.inject({ kind: 'drop', method: 'POST', path: /\/resourcePolicies$/ });
    world.compute.inject({ kind: 'drop', method: 'POST', path: /\/addResourcePolicies$/ });
    world.compute.inject({
      kind: 'error',
      status: 503,
      method: 'GET',
      path: /\/resourcePolicies\/faulty-disk-us-east5-b-snapshots$/,
    });
    ok(await onNewCluster('faulty-disk', { 'snapshot-schedule': 'daily 02:00' }));
    const inserts = world.compute.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/resourcePolicies'),
    );
    assert.equal(inserts.length, 3);
    assert.equal(new Set(inserts.map((r) => r.query.requestId)).size, 1, 'one requestId for every attempt');
    assert.equal(
      world.compute.resourcePolicies().filter((p) => p.name === 'faulty-disk-us-east5-b-snapshots').length,
      1,
    );
    assert.deepEqual(attachedTo(world, `projects/${P}/zones/us-east5-b/disks/faulty-disk`), [
      `projects/${P}/regions/us-east5/resourcePolicies/faulty-disk-us-east5-b-snapshots`,
    ]);
  });

  it('a bad schedule or retention is refused before any request, naming the input', async () => {
    for (const [input, value] of [
      ['snapshot-schedule', 'daily 04:30'],
      ['snapshot-schedule', 'weekly funday 04:00'],
      ['snapshot-retention-days', '0'],
    ] as const) {
      clearLogs(world);
      const run = await world.run({ [input]: value });
      assert.equal(run.code, 1);
      assert.match(run.errors[0] ?? '', new RegExp(`Input '${input}': '${value}'`));
      assert.deepEqual(world.compute.requests, []);
    }
  });
});
