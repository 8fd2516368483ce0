import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerState } from '../../standins/compute/index.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import {
  assertNoSecret,
  assertStateIntact,
  clearLogs,
  computeWrites,
  DISK,
  kubeWrites,
  ok,
} from '../support/e2e.js';
import { needsLoadBalancerAddresses } from '../support/network.js';

// The state itself, seen through the server's own API: what a recovery brings back, what a drill proves against
// production (read right before and right after its snapshot), and what the action says when it cannot read it.

const DRILL_DISK = `projects/${WORLD.project}/zones/${WORLD.zone}/disks/sky-api-server-state-drill-4242-1`;

const seeded: ServerState = {
  users: [
    { id: 'a1b2c3d4', name: 'alice', role: 'admin', created_at: 1767225600 },
    { id: 'e5f6a7b8', name: 'bob', role: 'user', created_at: 1767312000 },
    { id: 'sa-0f1e2d3c4b5a6978', name: 'ci-bot', role: 'user', created_at: 1767398400 },
    { id: 'c9d0e1f2', name: 'carol', role: 'user', created_at: 1767484800 },
  ],
  clusters: ['sky-dev', 'train-1'],
};

const notices = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('::notice::'));
const warnings = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('::warning::'));

describe('the state that came back, through the server’s own API', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    // The disk a lost cluster left behind, with what its server had written on it.
    world.compute.putDisk({ name: 'sky-api-server-state', sizeGb: 10, state: seeded });
  });
  after(() => world.close());

  it('a recovery onto a seeded disk names the 3 users and 2 clusters that came back', async () => {
    const run = ok(await world.run({ 'create-disk': 'never' }));
    assert.equal(run.outputs.restored, 'true');
    assert.equal(
      run.outputs['state-users'],
      '3',
      'the service account and the server’s own user are not counted',
    );
    assert.equal(run.outputs['state-clusters'], '2');
    const cameBack = '3 users (alice, bob, carol), 2 clusters (sky-dev, train-1)';
    assert.match(run.summary, new RegExp(`\\*\\*On the server:\\*\\* ${escape(cameBack)}`));
    assert.ok(
      notices(run.stdout).some((n) => n.includes(`with its previous state: ${cameBack}`)),
      notices(run.stdout).join('\n'),
    );
    assert.deepEqual(warnings(run.stdout), []);
    assertNoSecret(run, WORLD.password);
  });

  it('a converged rerun reads the state beside its health check and writes nothing', async () => {
    clearLogs(world);
    const run = ok(await world.run({ 'create-disk': 'never' }));
    assert.equal(run.outputs['state-users'], '3');
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });

  it('a drill beside production verifies its state against production’s', async () => {
    const run = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'true' }));
    assert.equal(run.outputs.restored, 'true');
    assert.equal(run.outputs['state-users'], '3');
    assert.equal(run.outputs['state-clusters'], '2');
    assert.match(
      run.summary,
      /State verified against production: 3 users \(alice, bob, carol\), 2 clusters \(sky-dev, train-1\), as production's read before and after the snapshot/,
    );
    assertStateIntact(world);
    assert.deepEqual(world.compute.snapshots(), [], 'cleaned up');
  });

  it('production changing between the two reads is not a bad restore', async () => {
    world.compute.inject({ kind: 'hang', method: 'POST', path: '/createSnapshot' });
    const running = world.start({ mode: 'drill', 'drill-cleanup': 'true' });
    // The read before the snapshot is done when the snapshot is asked for: production changes now.
    await world.compute.whenHeld();
    world.compute.setDiskState(DISK, { ...seeded, clusters: [...seeded.clusters, 'train-2'] });
    world.compute.release();
    const run = ok(await running.done);
    assert.equal(run.outputs['state-clusters'], '3');
    assert.match(
      run.summary,
      /State verified against production: 3 users \(alice, bob, carol\), 3 clusters \(sky-dev, train-1, train-2\), as production's read after the snapshot \(production changed between the two reads\)/,
    );
    assert.deepEqual(warnings(run.stdout), []);
  });

  it('a drill whose restored disk lost a cluster fails, naming it, and cleans up', async () => {
    world.compute.setDiskState(DISK, seeded);
    // Held once the drill disk exists and before its server can read it: the restore loses a cluster.
    const volume = world.kube.inject({ kind: 'hang', method: 'POST', path: '/persistentvolumes' });
    const running = world.start({ mode: 'drill', 'drill-cleanup': 'true' });
    await volume.firstCaught();
    world.compute.setDiskState(DRILL_DISK, { ...seeded, clusters: ['sky-dev'] });
    volume.release();
    const run = await running.done;
    assert.equal(run.code, 1);
    assert.match(
      run.errors[0] ?? '',
      /The drill's state differs from production's: 3 users, 1 cluster came back; production has 3 users, 2 clusters: missing cluster train-1/,
    );
    assert.notEqual(run.outputs.restored, 'true', 'a drill that brought the wrong state back is no restore');
    assert.deepEqual(
      world.compute.disks().map((d) => d.name),
      ['sky-api-server-state'],
      'the drill disk was removed',
    );
    assert.deepEqual(world.compute.diskState(DISK), seeded, 'production was only read');
    assertStateIntact(world);
  });

  it('a server that does not serve the state paths: empty outputs, the summary says why, the run succeeds', async () => {
    await world.kube.configure({ stateEndpoints: false });
    try {
      const run = ok(await world.run({ 'create-disk': 'never' }));
      assert.equal(run.outputs['state-users'], undefined);
      assert.equal(run.outputs['state-clusters'], undefined);
      assert.match(
        run.summary,
        /\*\*On the server:\*\* the state was not read: the server does not serve \/users \(HTTP 404\): an older SkyPilot without it\./,
      );
      assert.ok(notices(run.stdout).some((n) => /with its previous state$/.test(n)));
    } finally {
      await world.kube.configure({ stateEndpoints: true });
    }
  });

  it('auth-secret without web-password: not read, and said why', async () => {
    world.kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'team-htpasswd', namespace: 'skypilot' },
      data: { auth: Buffer.from('skypilot:$apr1$abcdefgh$0123456789abcdefghijkl\n').toString('base64') },
    });
    const run = ok(await world.run({ 'web-password': '', 'auth-secret': 'team-htpasswd' }));
    assert.equal(run.outputs['state-users'], undefined);
    assert.match(run.summary, /the state was not read: auth-secret was given without web-password/);
    // The Secret holds the logins: the user is a placeholder too, and the summary says where the logins live.
    const host = new URL(run.outputs['server-url'] ?? '').host;
    assert.equal(run.outputs['login-command'], `sky api login -e 'http://<user>:<password>@${host}'`);
    assert.match(run.summary, /a login whose line is in the htpasswd Secret `skypilot\/team-htpasswd`/);
  });

  it('a drill on a cluster without production: what came back, and that it was not compared', async () => {
    await world.loseCluster();
    const run = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'true' }));
    assert.equal(run.outputs['state-users'], '3');
    assert.match(
      run.summary,
      /State not compared with production: production's state was not read: production's release skypilot\/skypilot is not deployed on this cluster/,
    );
    assert.match(run.summary, /came back healthy behind http:\S+: 3 users \(alice, bob, carol\), 2 clusters/);
    assert.deepEqual(warnings(run.stdout), []);
  });

  it('a recovery told to expect state (create-disk: never) that finds an empty disk warns, naming the disk', async () => {
    world.compute.setDiskState(DISK, undefined);
    await world.loseCluster();
    const run = ok(await world.run({ 'create-disk': 'never' }));
    assert.equal(run.outputs.restored, 'true');
    assert.equal(run.outputs['state-users'], '0', 'the server’s own user is not state that came back');
    assert.equal(run.outputs['state-clusters'], '0');
    const warned = warnings(run.stdout);
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.match(
      warned[0]!,
      new RegExp(
        `create-disk is never, so disk ${escape(DISK)} was expected to hold the server's state, but the server shows none`,
      ),
    );
    assert.match(run.summary, /> \[!WARNING\]\n> - create-disk is never/);
  });
});

describe(
  'a drill that cannot find production beside it reads production at its static-ip (helm 4)',
  { skip: needsLoadBalancerAddresses },
  () => {
    let world: LocalWorld;
    before(async () => {
      world = await startLocalWorld({ flavour: 'helm4' });
      world.compute.putDisk({ name: 'sky-api-server-state', sizeGb: 10, state: seeded });
      ok(await world.run({ 'static-ip': 'skypilot-api' }));
    });
    after(() => world.close());

    it('production’s release out of the drill’s sight, as on another cluster: compared at the static address', async () => {
      // The drill cannot read production's release here, as a drill on a throwaway cluster cannot.
      const lift = world.kube.deny({ verb: '*', group: '', resource: 'secrets', namespace: 'skypilot' });
      try {
        const run = ok(
          await world.run({ 'static-ip': 'skypilot-api', mode: 'drill', 'drill-cleanup': 'true' }),
        );
        assert.match(
          run.summary,
          /State verified against production: 3 users \(alice, bob, carol\), 2 clusters/,
        );
        const without = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'true' }));
        assert.match(
          without.summary,
          /State not compared with production: production's state was not read: production's server could not be found beside the drill: .*(403|forbidden)/i,
        );
      } finally {
        lift();
      }
    });
  },
);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
