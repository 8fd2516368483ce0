import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { ok } from '../support/e2e.js';

// A plan's warnings and notes are what tell users the action used a disk other than the one they described:
// they must reach the log (as annotations) and the job summary, whatever the mode.

const TYPE_WARNING = /Disk sky-api-server-state is pd-ssd, not disk-type pd-balanced/;
const SNAPSHOT_WARNING = /disk-source-snapshot old-snap is ignored: disk sky-api-server-state already exists/;
const SIZE_NOTE = /Disk sky-api-server-state is 20 GB \(disk-size asks 10 GB\)/;
const FOREIGN_NOTE = /Disk sky-api-server-state was not created by this action/;

function annotations(run: ActionRun, kind: 'warning' | 'notice'): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith(`::${kind}`))
    .map((line) => line.replace(/^::[a-z]+[^:]*::/, ''));
}

describe("the disk plan's warnings and notes reach users in deploy, plan and drill mode", () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    // A disk made by hand (the runbook's first command, by a person): larger, another type, no labels.
    world.compute.putDisk({
      project: WORLD.project,
      zone: WORLD.zone,
      name: 'sky-api-server-state',
      sizeGb: 20,
      type: 'pd-ssd',
    });
  });
  after(() => world.close());

  for (const mode of ['plan', 'deploy', 'drill'] as const) {
    it(`${mode}: as ::warning:: / ::notice:: lines and in the summary`, async () => {
      const run = ok(
        await world.run({
          mode,
          'disk-source-snapshot': 'old-snap',
          ...(mode === 'drill' ? { 'drill-cleanup': 'true' } : {}),
        }),
      );
      const warnings = annotations(run, 'warning').join('\n');
      const notices = annotations(run, 'notice').join('\n');
      assert.match(warnings, TYPE_WARNING);
      assert.match(warnings, SNAPSHOT_WARNING);
      assert.match(notices, SIZE_NOTE);
      assert.match(notices, FOREIGN_NOTE);
      for (const line of [TYPE_WARNING, SNAPSHOT_WARNING, SIZE_NOTE, FOREIGN_NOTE])
        assert.match(run.summary, line);
      assert.match(run.summary, /\[!WARNING\]/);
    });
  }

  it('a disk the action made itself gets no such notice', async () => {
    await world.loseCluster();
    const fresh = ok(await world.run({ 'disk-name': 'made-by-the-action' }));
    const again = ok(await world.run({ 'disk-name': 'made-by-the-action' }));
    for (const run of [fresh, again]) assert.doesNotMatch(run.stdout, /was not created by this action/);
    assert.deepEqual(annotations(again, 'warning'), []);
  });
});
