import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, clearLogs, ok } from '../support/e2e.js';

// What a new cluster's run needs from Compute is read beside the disk, not after it: a cluster with no volume is a
// first deploy or a recovery, and a missing disk then asks for the same name in the other scope and for the
// snapshots a new disk could be restored from. A converged rerun asks for neither.

const ZONAL_DISK = /\/zones\/[^/]+\/disks\/sky-api-server-state$/;
const SNAPSHOTS = /\/global\/snapshots$/;
const REGIONAL_DISK = /\/regions\/[^/]+\/disks\/sky-api-server-state$/;

/** Polls what the stand-in has seen until `seen` holds, within a generous bound: no fixed sleeps. */
async function until(seen: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 120_000; !seen();) {
    assert.ok(Date.now() < end, `never seen: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a new cluster: what a new disk needs is read beside the disk (helm 4)', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('a fresh deploy reads the other scope and lists the snapshots while the disk read is unanswered', async () => {
    world.compute.inject({ kind: 'hang', method: 'GET', path: ZONAL_DISK });
    const running = world.start();
    await world.compute.whenHeld();
    const requests = () => world.compute.requests.map((r) => `${r.method} ${r.path}`);
    await until(
      () => requests().some((r) => SNAPSHOTS.test(r)) && requests().some((r) => REGIONAL_DISK.test(r)),
      'the snapshot list and the regional disk read',
    );
    assert.equal(world.compute.held().length, 1, 'the disk read is still unanswered');
    assert.equal(
      world.compute.requests.filter((r) => r.method !== 'GET').length,
      0,
      'nothing is written before the disk is read',
    );
    world.compute.release();
    const run = ok(await running.done);
    assert.equal(run.outputs['disk-created'], 'true');
    assertStateIntact(world);
  });

  it('a converged rerun reads neither the snapshots nor the other scope', async () => {
    clearLogs(world);
    ok(await world.run());
    const paths = world.compute.requests.map((r) => r.path);
    assert.deepEqual(
      paths.filter((p) => SNAPSHOTS.test(p) || REGIONAL_DISK.test(p)),
      [],
    );
  });
});
