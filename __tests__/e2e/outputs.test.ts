import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PlanOutput } from '../../src/report.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertNoSecret, clearLogs, computeWrites, DISK, kubeWrites, ok } from '../support/e2e.js';

// The outputs a workflow acts on, from the bundle: `plan` and `changes` in plan mode (a plan job that gates an
// approved deploy job) and in deploy mode, `restored`, and `login-command`, which never holds the password.

const plan = (run: ActionRun): PlanOutput => JSON.parse(run.outputs.plan ?? 'null') as PlanOutput;

/** The whole of what a user can see of a run: never the password, masked or not. */
function assertNoPassword(run: ActionRun): void {
  assertNoSecret(run, WORLD.password);
  assert.doesNotMatch(run.outputs['login-command'] ?? '', /\*\*\*/, 'no masked password either');
}

const FIRST_INSTALL: PlanOutput = {
  disk: 'create',
  backups: 'none',
  credentials: 'none',
  volume: 'create',
  claim: 'create',
  address: 'none',
  release: 'install',
  version: 'new',
  refused: null,
};
const CONVERGED: PlanOutput = {
  disk: 'keep',
  backups: 'none',
  credentials: 'none',
  volume: 'keep',
  claim: 'keep',
  address: 'none',
  release: 'keep',
  version: 'keep',
  refused: null,
};

describe('outputs a workflow can use: plan, changes, restored, login-command', () => {
  let world: LocalWorld;
  let deployed: ActionRun;
  before(async () => {
    world = await startLocalWorld();
  });
  after(() => world.close());

  it('plan mode on a fresh project: changes=true, the plan names what a deploy would make, nothing written', async () => {
    clearLogs(world);
    const run = ok(await world.run({ mode: 'plan' }));
    assert.equal(run.outputs.changes, 'true');
    assert.deepEqual(plan(run), FIRST_INSTALL);
    assert.equal(run.outputs['server-url'], undefined, 'no release: no URL');
    assert.equal(run.outputs['login-command'], undefined);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.match(
      run.summary,
      /\*\*A deploy would change:\*\* disk create, volume create, claim create, release install, version new\./,
    );
    assertNoPassword(run);
  });

  it('a first deploy onto a new, empty disk: changes=true, restored=false, the login command without the password', async () => {
    deployed = ok(await world.run());
    assert.equal(deployed.outputs.changes, 'true');
    assert.deepEqual(plan(deployed), FIRST_INSTALL);
    assert.equal(deployed.outputs.restored, 'false');
    assert.equal(deployed.outputs['restored-from'], 'none');
    const host = new URL(deployed.outputs['server-url'] ?? '').host;
    const login = `sky api login -e 'http://skypilot:<password>@${host}'`;
    assert.equal(deployed.outputs['login-command'], login);
    assert.ok(deployed.summary.includes(login), deployed.summary);
    assert.match(deployed.summary, /Replace `<password>` with the password given as `web-password`/);
    assertNoPassword(deployed);
  });

  it('plan mode on the converged deployment: changes=false, every step kept, and the URL it serves at', async () => {
    clearLogs(world);
    const run = ok(await world.run({ mode: 'plan' }));
    assert.equal(run.outputs.changes, 'false');
    assert.deepEqual(plan(run), CONVERGED);
    assert.equal(run.outputs['server-url'], deployed.outputs['server-url']);
    assert.equal(run.outputs['login-command'], deployed.outputs['login-command']);
    assert.equal(run.outputs.disk, DISK);
    assert.equal(run.outputs['helm-revision'], '1');
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.match(run.summary, /\*\*A deploy would change:\*\* nothing \(converged\)\./);
    assertNoPassword(run);
  });

  it('a converged deploy: changes=false, the same plan', async () => {
    const run = ok(await world.run());
    assert.equal(run.outputs.changes, 'false');
    assert.deepEqual(plan(run), CONVERGED);
    assert.equal(run.outputs.restored, 'true');
  });

  it('a refused plan still writes plan (naming the refusal) and changes=false', async () => {
    clearLogs(world);
    const run = await world.run({ mode: 'plan', 'disk-name': 'mistyped-state', 'create-disk': 'never' });
    assert.equal(run.code, 1);
    assert.equal(run.outputs.changes, 'false');
    const refused = plan(run);
    assert.equal(refused.disk, 'refuse');
    assert.equal(refused.refused?.step, 'disk');
    assert.match(refused.refused?.reason ?? '', /mistyped-state/);
    assert.ok(refused.refused?.hint);
    assert.deepEqual(computeWrites(world), []);
  });

  it('a bare number for timeout is refused before anything is read or changed, naming the input and the fix', async () => {
    clearLogs(world);
    const run = await world.run({ timeout: '15' });
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /::error::.*Input 'timeout': '15' has no unit.*15m for 15 minutes, 15s for 15 seconds/,
    );
    assert.deepEqual(world.compute.requests, []);
    assert.deepEqual(world.kube.requests, []);
    assert.deepEqual(run.outputs, {});
    assert.match(run.summary, /Input 'timeout'/);
  });

  it('the cluster is lost: the plan says what the recovery makes; the recovery onto the disk is restored=true', async () => {
    await world.loseCluster();
    const inputs = { 'create-disk': 'never' };
    const planned = ok(await world.run({ ...inputs, mode: 'plan' }));
    assert.equal(planned.outputs.changes, 'true');
    assert.deepEqual(plan(planned), { ...CONVERGED, volume: 'create', claim: 'create', release: 'install' });
    assert.equal(planned.outputs['server-url'], undefined, 'the new cluster has no release yet');
    const recovered = ok(await world.run(inputs));
    assert.equal(recovered.outputs.changes, 'true');
    assert.equal(recovered.outputs.restored, 'true');
    assert.equal(recovered.outputs['restored-from'], 'disk');
    assert.match(
      recovered.stdout,
      /^::notice::SkyPilot API server ready at .*: restored true \(restored from: disk\), with its previous state/m,
    );
    assertNoPassword(recovered);
  });
});
