import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { logGroup, ok, visible } from '../support/e2e.js';

// The log a person follows on the runner: one group per runbook step, a line while a wait goes on, a notice at
// the end. Read from the bundle's own stdout, as the runner turns workflow commands into the log's UI.

/** The groups of a log, in order; fails if a group opens inside another or is never closed. */
function groups(stdout: string): string[] {
  const names: string[] = [];
  let open: string | undefined;
  for (const line of stdout.split('\n')) {
    const start = /^::group::(.*)$/.exec(line);
    if (start) {
      assert.equal(open, undefined, `group "${start[1]}" opened inside "${open}"`);
      open = start[1]!;
      names.push(open);
    } else if (line === '::endgroup::') {
      assert.notEqual(open, undefined, 'a group closed that was never opened');
      open = undefined;
    }
  }
  assert.equal(open, undefined, `group "${open}" was never closed`);
  return names;
}

describe('the log: one group per runbook step, progress while waiting, a notice at the end', () => {
  let world: LocalWorld;
  before(async () => {
    // The load balancer gets its address 30 s after its Service is written: whatever helm still does after that
    // write, the wait for the address lasts past 15 s.
    world = await startLocalWorld({ kube: { loadBalancerDelayMs: 30_000 } });
  });
  after(() => world.close());

  it('a fresh deploy: the runbook steps as groups, in order, each closed before the next', async () => {
    const run = ok(await world.run());
    assert.deepEqual(groups(run.stdout), [
      'Install helm, kubectl and gcloud',
      'Plan: what is there, and what this run changes',
      'Disk sky-api-server-state',
      'Namespace skypilot and cloud credentials',
      'Volume sky-api-server-pv and claim skypilot-state',
      'Helm release skypilot/skypilot',
      'Server URL and health',
    ]);
    // helm's own output belongs to its step, not to the lines around it.
    const helm = logGroup(run.stdout, 'Helm release');
    assert.ok(
      helm.some((l) => /NAME: skypilot|STATUS: deployed|Release "skypilot" has been upgraded/.test(l)),
      helm.join('\n'),
    );
    const disk = logGroup(run.stdout, 'Disk ');
    assert.ok(
      disk.some((l) => /sky-api-server-state/.test(l)),
      'the disk step says what it did with the disk',
    );

    // The wait for the address lasted past 15 s: a line said what it waited for, how long, and what was left.
    const progress = visible(run.stdout)
      .split('\n')
      .filter((l) => l.startsWith('Still waiting for '));
    assert.ok(progress.length >= 1, 'no progress line in a wait of more than 15 s');
    for (const line of progress)
      assert.match(line, /^Still waiting for .+: \d+ s so far, .+ of the run left$/);
    assert.ok(
      logGroup(run.stdout, 'Server URL').some((l) => l.startsWith('Still waiting for ')),
      'the progress line is printed inside the step that waits',
    );

    const url = run.outputs['server-url']!;
    const notice = run.stdout.split('\n').filter((l) => l.startsWith('::notice'));
    assert.ok(
      notice.some((l) => l.includes(url) && /restored false/.test(l)),
      `no notice with the URL and restored:\n${notice.join('\n')}`,
    );
  });

  it('a converged rerun: no group for a step with nothing to do, and no progress line', async () => {
    const run = ok(await world.run());
    const names = groups(run.stdout);
    assert.ok(!names.includes('Namespace skypilot and cloud credentials'), names.join(', '));
    assert.ok(names.includes('Server URL and health'));
    assert.doesNotMatch(run.stdout, /^Still waiting for /m);
    assert.ok(run.stdout.split('\n').some((l) => l.startsWith('::notice') && /restored true/.test(l)));
  });
});
