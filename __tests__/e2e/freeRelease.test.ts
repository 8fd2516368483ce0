import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { realBinaries } from '../../standins/binaries.js';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { toolEnv } from '../support/clients.js';
import { assertStateIntact, clearLogs, kubeWrites, ok, revisions } from '../support/e2e.js';

// A release left `uninstalling` by an interrupted `helm uninstall` (a person's, or a runner's that was killed):
// the next run takes the lock, finishes the uninstall and installs again, instead of planning an upgrade forever.

describe('a release left uninstalling (helm 4)', () => {
  let world: LocalWorld;
  let home: string;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-home-'));
    ok(await world.run());
  });
  after(async () => {
    await world.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('is freed under the lock (its uninstall finished) and deployed again; the rerun converges', async () => {
    // A real `helm uninstall`, killed while it deletes what the release made.
    const held = world.kube.inject({ kind: 'hang', userAgent: /Helm/, method: 'DELETE' });
    const { helm } = await realBinaries('helm4');
    const env = { PATH: process.env.PATH ?? '', ...toolEnv(home), KUBECONFIG: world.env().KUBECONFIG! };
    const uninstall = spawn(helm, ['uninstall', 'skypilot', '--namespace', 'skypilot'], {
      env,
      stdio: 'ignore',
    });
    await held.firstCaught();
    uninstall.kill('SIGKILL');
    await once(uninstall, 'exit');
    held.release();
    assert.deepEqual(revisions(world), ['1 uninstalling'], 'helm was stopped mid-uninstall');

    clearLogs(world);
    const run = ok(await world.run());
    assert.match(
      run.summary,
      /Freed Helm release skypilot\/skypilot: revision 1 of skypilot\/skypilot is uninstalling, .* in the middle of a helm uninstall; finished its uninstall/,
    );
    assert.match(
      run.stdout,
      /helm +skypilot\/skypilot: finish its uninstall \(.*\), then install \(/,
      'as planned',
    );
    assert.deepEqual(revisions(world), ['1 deployed'], 'uninstalled to the end, then installed');
    assert.equal(run.outputs['helm-revision'], '1');
    // Under the lock: the Lease was taken before helm touched the release and given back after.
    const writes = kubeWrites(world);
    const locked = writes.findIndex((w) => /^POST .*\/leases$/.test(w));
    const unlocked = writes.findIndex((w) => /^DELETE .*\/leases\//.test(w));
    const released = writes.findIndex((w) =>
      /^DELETE \/api\/v1\/namespaces\/skypilot\/secrets\/sh\.helm\.release/.test(w),
    );
    assert.ok(locked >= 0 && locked < released && released < unlocked, writes.join('\n'));
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), [], 'the rerun converges');
  });
});
