import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, logGroup, ok } from '../support/e2e.js';

// A new disk is made side by side with helm's install: a recovery from a snapshot waits for the longer of GCE's
// restore and the chart's hook Jobs, not for their sum. The claim still binds nothing but the state volume.

const helmReleaseIn = (world: LocalWorld): boolean =>
  world.kube.list('v1', 'Secret', 'skypilot').some((s) => at(s, 'metadata', 'labels', 'owner') === 'helm');

describe('a new disk and the Helm release, side by side', () => {
  let world: LocalWorld;
  before(async () => {
    // GCE takes its time over the disk: its operation is DONE only after many polls.
    world = await startLocalWorld({ compute: { operationPolls: 12 } });
  });
  after(() => world.close());

  it('a fresh deploy: the release is installed while the disk is still being made; the claim binds our volume', async () => {
    const running = world.start();
    let installedWhileDiskPending = false;
    const watch = setInterval(() => {
      const out = running.stdout();
      const diskPending = out.includes('::group::Disk ') && !out.includes('::group::Volume ');
      if (diskPending && helmReleaseIn(world)) installedWhileDiskPending = true;
    }, 20);
    const run = ok(await running.done.finally(() => clearInterval(watch)));
    assert.ok(installedWhileDiskPending, 'helm waited for the disk');
    assertStateIntact(world);
    // The log still reads in the runbook's order: helm's command and output in its own group only.
    assert.ok(logGroup(run.stdout, 'Helm release').some((l) => l.startsWith('$ helm upgrade --install')));
    assert.ok(
      !logGroup(run.stdout, 'Disk ').some((l) => l.startsWith('$ helm')),
      'helm lines inside the disk group',
    );
  });

  it('a recovery with the disk there: the release waits for the volume, as the runbook orders it', async () => {
    await world.loseCluster();
    const running = world.start();
    let installedBeforeVolume = false;
    const watch = setInterval(() => {
      const volume = world.kube.list('v1', 'PersistentVolume').length > 0;
      if (!volume && helmReleaseIn(world)) installedBeforeVolume = true;
    }, 20);
    const run = ok(await running.done.finally(() => clearInterval(watch)));
    assert.equal(run.outputs.restored, 'true');
    assert.ok(!installedBeforeVolume, 'the release came before the volume of an existing disk');
    assertStateIntact(world);
  });
});
