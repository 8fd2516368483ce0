import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { clearLogs, computeWrites, DISK, kubeWrites, ok } from '../support/e2e.js';

// Nothing lost, whatever fails (issue 19): a Delete volume is set back to Retain before anything else, a disk lost
// with its zone comes back from its snapshots in another zone, a lost disk is never silently replaced by an empty
// one, and two disks of one name in two zones of a region get a snapshot schedule each. The bundle against the
// stand-ins; every case asserts the state afterwards.

const P = WORLD.project;
const V1 = `/compute/v1/projects/${P}`;
const PV = 'sky-api-server-pv';
const HOUR = 3_600_000;
const diskIn = (zone: string, name = 'sky-api-server-state') => `projects/${P}/zones/${zone}/disks/${name}`;
const policyIn = (name: string) => `projects/${P}/regions/us-east5/resourcePolicies/${name}`;
const relative = (url: string) => url.replace(/^.*\/compute\/v1\//, '');

function failed(run: ActionRun, pattern: RegExp): ActionRun {
  assert.equal(run.code, 1, `the action should have failed:\n${run.stdout.slice(-3000)}`);
  assert.match(run.errors[0] ?? '', pattern);
  return run;
}

const lines = (run: ActionRun, kind: 'notice' | 'warning') =>
  run.stdout.split('\n').filter((l) => l.startsWith(`::${kind}`));

const reclaimPolicy = (world: LocalWorld) =>
  at(world.kube.get('v1', 'PersistentVolume', undefined, PV), 'spec', 'persistentVolumeReclaimPolicy');

/** What a person (or an old runbook) did: the state volume's reclaim policy set to Delete. */
function setDelete(world: LocalWorld): void {
  const pv = world.kube.get('v1', 'PersistentVolume', undefined, PV)!;
  const spec = pv.spec as Record<string, unknown>;
  world.kube.put({ ...pv, spec: { ...spec, persistentVolumeReclaimPolicy: 'Delete' } });
  assert.equal(reclaimPolicy(world), 'Delete');
}

const attachedTo = (world: LocalWorld, disk: string) =>
  (world.compute.disk(disk)?.resourcePolicies ?? []).map(relative);

describe('a Delete volume is set back to Retain first, whatever stops the run', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    ok(await world.run());
  });
  after(() => world.close());

  // Another step refuses: the release, for an auth-secret that does not exist.
  const refusedElsewhere = { 'web-password': '', 'auth-secret': 'no-such-secret' };

  it('plan mode with another step refused: the plan says so, the volume is unchanged, nothing written', async () => {
    setDelete(world);
    clearLogs(world);
    // Plan mode reports a missing auth-secret as a warning (it may be created before the deploy).
    const run = ok(await world.run({ mode: 'plan', ...refusedElsewhere }));
    assert.ok(lines(run, 'warning').some((l) => l.includes('no-such-secret')));
    assert.match(run.summary, /\| volume \| sky-api-server-pv \| reclaim policy Delete -> Retain/);
    assert.equal(reclaimPolicy(world), 'Delete');
    assert.deepEqual(kubeWrites(world), []);
    assert.deepEqual(computeWrites(world), []);
  });

  it('another step refused: the volume is Retain afterwards, its patch the only write', async () => {
    clearLogs(world);
    failed(await world.run(refusedElsewhere), /no-such-secret/);
    assert.equal(reclaimPolicy(world), 'Retain');
    assert.deepEqual(kubeWrites(world), [`PATCH /api/v1/persistentvolumes/${PV}`]);
    assert.deepEqual(computeWrites(world), []);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), [], 'a rerun converges: Retain is not written twice');
  });

  it('the disk step fails (its insert never ends well): Retain came first, before any Compute write', async () => {
    setDelete(world);
    assert.ok(world.compute.removeDisk(DISK), 'the disk is lost; its volume still points at it');
    clearLogs(world);
    world.compute.inject({ kind: 'hang', method: 'POST', path: /\/disks$/ });
    const running = world.run({ 'disk-source-snapshot': 'none', 'health-check': 'false' });
    await world.compute.whenHeld(1);
    assert.equal(reclaimPolicy(world), 'Retain', 'set before the disk insert was sent');
    assert.deepEqual(kubeWrites(world)[0], `PATCH /api/v1/persistentvolumes/${PV}`);
    world.compute.release();
    ok(await running);

    setDelete(world);
    assert.ok(world.compute.removeDisk(DISK));
    clearLogs(world);
    world.compute.inject({
      kind: 'operationError',
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      method: 'POST',
      path: /\/disks$/,
    });
    failed(await world.run({ 'disk-source-snapshot': 'none' }), /creating disk/);
    assert.equal(reclaimPolicy(world), 'Retain');
    assert.equal(kubeWrites(world)[0], `PATCH /api/v1/persistentvolumes/${PV}`);
  });
});

describe('snapshots belong to the disk: a lost zone, a lost disk, none, latest on a disk that exists', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('latest on an existing disk: used as it is, with a notice that latest was not used', async () => {
    ok(await world.run());
    clearLogs(world);
    const run = ok(await world.run({ 'disk-source-snapshot': 'latest' }));
    assert.ok(
      lines(run, 'notice').some((l) =>
        l.includes(`disk-source-snapshot: latest was not used: disk ${DISK} exists and is used as it is`),
      ),
      run.stdout,
    );
    assert.equal(run.outputs['restored-from'], 'disk');
    assert.deepEqual(computeWrites(world), []);
    assert.ok(!world.compute.requests.some((r) => r.path.endsWith('/global/snapshots')), 'no list');
  });

  it('no disk, READY snapshots, default inputs: refused before any Compute or Kubernetes write', async () => {
    const now = Date.now();
    world.compute.putSnapshot({
      name: 'state-auto-old',
      diskSizeGb: 10,
      sourceDisk: diskIn('us-east5-b'),
      creationTimestamp: new Date(now - 30 * HOUR),
    });
    world.compute.putSnapshot({
      name: 'state-auto-new',
      diskSizeGb: 12,
      sourceDisk: diskIn('us-east5-b'),
      creationTimestamp: new Date(now - 6 * HOUR),
    });
    assert.ok(world.compute.removeDisk(DISK));
    await world.loseCluster();
    clearLogs(world);
    const run = failed(
      await world.run(),
      /Disk sky-api-server-state does not exist in zone us-east5-b of project .*, but READY snapshots of it do: the newest is state-auto-new, taken .* of disk sky-api-server-state in zone us-east5-b/,
    );
    assert.match(
      run.errors[0] ?? '',
      /disk-source-snapshot: latest \(or disk-source-snapshot: state-auto-new\)/,
    );
    assert.match(run.errors[0] ?? '', /disk-source-snapshot: none/);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.equal(world.compute.disk(DISK), undefined);
  });

  it('a recovery into another zone from latest: the disk lost in us-east5-b comes back in us-east5-a', async () => {
    await world.loseCluster({ nodeZone: 'us-east5-a' });
    clearLogs(world);
    const run = ok(
      await world.run({
        zone: 'us-east5-a',
        'disk-source-snapshot': 'latest',
        'create-disk': 'never',
        'snapshot-schedule': 'daily 04:00',
      }),
    );
    const restored = world.compute.disk(diskIn('us-east5-a'));
    const newest = world.compute.snapshots().find((s) => s.name === 'state-auto-new')!;
    assert.equal(restored?.sourceSnapshot, newest.selfLink);
    assert.equal(restored?.sizeGb, '12', 'at least the size of the disk the snapshot was taken of');
    assert.equal(run.outputs.disk, diskIn('us-east5-a'));
    assert.equal(run.outputs['restored-from'], 'snapshot:state-auto-new');
    assert.match(
      run.summary,
      /\| disk \| sky-api-server-state \| create disk projects\/.*\/zones\/us-east5-a\/disks\/sky-api-server-state \(12 GB pd-balanced from snapshot projects\/.*\/state-auto-new, taken .* in zone us-east5-b\)/,
    );
    const pv = world.kube.get('v1', 'PersistentVolume', undefined, PV);
    assert.equal(at(pv, 'spec', 'csi', 'volumeHandle'), diskIn('us-east5-a'));
    assert.equal(at(pv, 'spec', 'persistentVolumeReclaimPolicy'), 'Retain');
    assert.deepEqual(attachedTo(world, diskIn('us-east5-a')), [
      policyIn('sky-api-server-state-us-east5-a-snapshots'),
    ]);
    assert.equal(world.compute.snapshots().length, 2, 'no snapshot deleted');
  });

  it('none with snapshots: a new, empty disk on purpose, and the run says so', async () => {
    world.compute.putSnapshot({
      name: 'other-auto',
      diskSizeGb: 10,
      sourceDisk: diskIn('us-east5-b', 'fresh-start'),
      creationTimestamp: new Date(Date.now() - HOUR),
    });
    await world.loseCluster();
    clearLogs(world);
    const run = ok(await world.run({ 'disk-name': 'fresh-start', 'disk-source-snapshot': 'none' }));
    const made = world.compute.disk(diskIn('us-east5-b', 'fresh-start'));
    assert.ok(made, 'the disk was created');
    assert.equal(made.sourceSnapshot, undefined, 'empty: from no snapshot');
    assert.equal(run.outputs['restored-from'], 'none');
    assert.ok(
      lines(run, 'notice').some((l) =>
        /a new, empty disk is created on purpose \(disk-source-snapshot: none\)/.test(l),
      ),
      run.stdout,
    );
    assert.ok(
      !world.compute.requests.some((r) => r.path.endsWith('/global/snapshots')),
      'none lists nothing',
    );
  });
});

describe('one snapshot schedule per disk: two disks of one name in two zones of a region', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  const policy = (name: string) => world.compute.resourcePolicies().find((p) => p.name === name);

  it('production in us-east5-b and staging in us-east5-a each get their own, and neither changes the other', async () => {
    ok(await world.run({ 'snapshot-schedule': 'daily 04:00' }));
    const production = JSON.stringify(policy('sky-api-server-state-us-east5-b-snapshots'));
    await world.loseCluster({ nodeZone: 'us-east5-a' });
    ok(
      await world.run({
        zone: 'us-east5-a',
        'snapshot-schedule': 'every 6h',
        'snapshot-retention-days': '3',
      }),
    );
    assert.deepEqual(attachedTo(world, diskIn('us-east5-b')), [
      policyIn('sky-api-server-state-us-east5-b-snapshots'),
    ]);
    assert.deepEqual(attachedTo(world, diskIn('us-east5-a')), [
      policyIn('sky-api-server-state-us-east5-a-snapshots'),
    ]);
    assert.equal(JSON.stringify(policy('sky-api-server-state-us-east5-b-snapshots')), production);
    assert.deepEqual(policy('sky-api-server-state-us-east5-a-snapshots')?.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 6, startTime: '00:00' },
    });
    clearLogs(world);
    ok(
      await world.run({
        zone: 'us-east5-a',
        'snapshot-schedule': 'every 6h',
        'snapshot-retention-days': '3',
      }),
    );
    assert.deepEqual(computeWrites(world), [], 'each converges on its own');
  });

  it('the <disk>-snapshots they shared before: the disk it names keeps using it, the other never patches it', async () => {
    const legacy = 'shared-disk-snapshots';
    world.compute.putResourcePolicy({
      name: legacy,
      description: `Snapshot schedule of the SkyPilot API server state disk ${diskIn('us-east5-a', 'shared-disk')} (skyha-action)`,
    });
    for (const zone of ['us-east5-a', 'us-east5-b'])
      world.compute.putDisk({ zone, name: 'shared-disk', sizeGb: 10, resourcePolicies: [legacy] });
    const before = JSON.stringify(policy(legacy));

    await world.loseCluster({ nodeZone: 'us-east5-b' });
    clearLogs(world);
    const b = ok(await world.run({ 'disk-name': 'shared-disk', 'snapshot-schedule': 'every 12h' }));
    assert.ok(
      lines(b, 'warning').some((l) =>
        l.includes(
          `which skyha-action made for ${diskIn('us-east5-a', 'shared-disk')}: it is kept and not patched`,
        ),
      ),
      b.stdout,
    );
    assert.match(
      b.summary,
      /\| backups \| shared-disk-us-east5-b-snapshots \| leave shared-disk-snapshots as it is/,
    );
    assert.equal(JSON.stringify(policy(legacy)), before, 'never patched');
    assert.ok(
      !computeWrites(world).some((w) => w.includes('resourcePolicies')),
      'no policy written or attached',
    );
    assert.deepEqual(attachedTo(world, diskIn('us-east5-b', 'shared-disk')), [policyIn(legacy)]);

    await world.loseCluster({ nodeZone: 'us-east5-a' });
    clearLogs(world);
    ok(await world.run({ zone: 'us-east5-a', 'disk-name': 'shared-disk', 'snapshot-schedule': 'every 12h' }));
    assert.deepEqual(
      computeWrites(world).filter((w) => w.includes('resourcePolicies')),
      [`PATCH ${V1}/regions/us-east5/resourcePolicies/${legacy}`],
      'the disk it names: patched in place, nothing attached beside it',
    );
    assert.deepEqual(policy(legacy)?.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 12, startTime: '00:00' },
    });
    assert.deepEqual(attachedTo(world, diskIn('us-east5-a', 'shared-disk')), [policyIn(legacy)]);
    assert.equal(policy('shared-disk-us-east5-a-snapshots'), undefined, 'never two schedules');
  });
});
