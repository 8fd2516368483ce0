import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { processesOf } from '../../standins/runner.js';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { microTime } from '../../src/steps/releaseLock.js';
import {
  assertStateIntact,
  clearLogs,
  holdHelmWrites,
  kubeWrites,
  ok,
  revisions as helmRevisions,
} from '../support/e2e.js';

// A recovery survives what a real API server does in an incident (a 429 from API Priority and Fairness, a 503, a
// reset connection, a watch closed early), and the release lock holds whatever the runners' clocks say: it is
// taken over only from a holder that stopped renewing, and a holder that loses it stops its helm.

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/skypilot/leases';

describe('transient API errors and the release lock (helm 4)', () => {
  let world: LocalWorld;
  let generation = 0;
  /** A changed chart value: the next deploy is a helm upgrade, and so takes the lock. */
  const changedValues = (): Record<string, string> => ({
    values: `apiService:\n  annotations:\n    lock-test: "${++generation}"\n`,
  });
  const revisions = (): string[] => helmRevisions(world);
  const lease = (): Record<string, unknown> | undefined =>
    world.kube.get('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot');

  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('one 429 (Retry-After), one 503, one reset connection and one early-closed watch: the deploy succeeds in one run', async () => {
    const action = /skyha-action/;
    const faults = {
      throttled: world.kube.inject({
        kind: 'error',
        status: 429,
        retryAfterSeconds: 1,
        userAgent: action,
        method: 'GET',
        path: '/persistentvolumes/sky-api-server-pv',
      }),
      unavailable: world.kube.inject({
        kind: 'error',
        status: 503,
        userAgent: action,
        method: 'POST',
        path: LEASES,
      }),
      // The volume is made, but the answer is lost: the retry is answered 409 and reads back our own volume.
      reset: world.kube.inject({
        kind: 'reset',
        afterServing: true,
        userAgent: action,
        method: 'POST',
        path: /\/persistentvolumes$/,
      }),
      closedWatch: world.kube.inject({ kind: 'endStream', userAgent: action, query: /watch=true/ }),
    };
    // The API server's pods start only once the action watches its rollout, so that a watch is there to close.
    await world.kube.configure({ deploymentAvailable: false });
    const running = world.start();
    await faults.closedWatch.firstCaught();
    await world.kube.configure({ deploymentAvailable: true });
    const run = ok(await running.done);
    for (const [name, fault] of Object.entries(faults))
      assert.equal(fault.caught.length, 1, `${name} was met`);
    assert.equal(run.outputs['pv-created'], 'true', 'the volume the lost answer made is ours');
    assert.equal(run.outputs['helm-revision'], '1');
    const retried = run.stdout
      .split('\n')
      .filter((l) => /persistentvolumes\/sky-api-server-pv failed/.test(l));
    assert.equal(retried.length, 1, 'one quiet line for the retried call');
    assert.match(retried[0]!, /failed \(GET .* 429 TooManyRequests: .*\); retrying within the run's timeout/);
    assert.deepEqual(revisions(), ['1 deployed']);
    assert.equal(lease(), undefined, 'the lock was released');
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), [], 'a rerun converges');
  });

  it('a live holder whose clock is 3 minutes behind is never taken over; once it stops renewing, it is', async () => {
    // Another run holds the lock; its renewTime, by its own clock, is 3 minutes in the past at every renewal.
    const holder = 'example/platform run 1111 attempt 1 (clock 3 min behind)';
    world.kube.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'skyha-skypilot', namespace: 'skypilot' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 4,
        acquireTime: microTime(Date.now() - 180_000),
        renewTime: microTime(Date.now() - 180_000),
        leaseTransitions: 0,
      },
    });
    const renew = (): void => {
      const current = lease()!;
      world.kube.put({
        ...current,
        spec: { ...(current.spec as object), renewTime: microTime(Date.now() - 180_000) },
      });
    };
    const looks = (): number =>
      world.kube.requests.filter(
        (r) =>
          r.method === 'GET' &&
          r.path === `${LEASES}/skyha-skypilot` &&
          /skyha-action/.test(r.userAgent ?? ''),
      ).length;
    clearLogs(world);
    const values = changedValues();
    const running = world.start(values);
    await running.waitForOutput(
      new RegExp(`Waiting for the lock of Helm release skypilot/skypilot: .* held by ${escape(holder)}`),
    );
    // The holder renews after each look of the waiter, for three times its lease duration and 4 looks at least.
    const since = Date.now();
    for (let seen = looks(), count = 0; count < 4 || Date.now() - since < 3 * 4000; count++) {
      while (looks() === seen) await new Promise((resolve) => setTimeout(resolve, 25));
      seen = looks();
      renew();
    }
    assert.equal(at(lease(), 'spec', 'holderIdentity'), holder, 'never taken over while it renews');
    assert.doesNotMatch(running.stdout(), /Took over/);
    // The holder stops renewing (it was killed): its record stays unchanged for its duration, and is taken over.
    const done = ok(await running.done);
    assert.match(
      done.stdout,
      new RegExp(`Took over the expired lock of Helm release skypilot/skypilot from ${escape(holder)}`),
    );
    assert.match(done.stdout, /Observing everything again after waiting for /);
    assert.match(revisions().at(-1) ?? '', / deployed$/);
    assert.equal(lease(), undefined, 'released at the end');
    assertStateIntact(world);
  });

  it('a holder that loses its lock stops its running helm, fails saying so, and a rerun converges', async () => {
    const hang = holdHelmWrites(world, Infinity);
    const values = changedValues();
    // Without the lost lock stopping it, helm would hang until the run's 3 minutes are up: the runner kills it sooner.
    const running = world.start(values, {}, { timeoutMs: 120_000 });
    await hang.firstCaught();
    // Another run takes the Lease over, as one would once this run's renewals had stopped for a whole lease.
    const ours = lease()!;
    const intruder = 'example/platform run 9999 attempt 1 (took it over)';
    world.kube.put({ ...ours, spec: { ...(ours.spec as object), holderIdentity: intruder } });
    const failed = await running.done;
    hang.release();
    assert.equal(failed.code, 1, `the run ends by itself:\n${failed.stdout.slice(-3000)}`);
    assert.match(
      failed.errors[0] ?? '',
      /^skyha-action failed: Lost the lock of Helm release skypilot\/skypilot \(Lease skyha-skypilot\) during step helm: another run took the Lease over or deleted it \(Conflict\)\. .*stopped its helm.*a rerun converges/,
    );
    assert.match(failed.summary, /Lost the lock of Helm release skypilot\/skypilot/);
    assert.deepEqual(processesOf(running.temp), [], 'helm and its children are gone');
    assert.equal(at(lease(), 'spec', 'holderIdentity'), intruder, "the other run's lock is left alone");
    // The other run finishes; the next run frees what the stopped helm left and deploys.
    world.kube.remove('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot');
    ok(await world.run(values));
    assert.match(revisions().at(-1) ?? '', / deployed$/);
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run(values));
    assert.deepEqual(kubeWrites(world), [], 'and then it has converged');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
