import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { KubernetesClient } from '../../src/clients/kubernetes.js';
import { budgetOf, Deadline, sleep } from '../../src/lib/deadline.js';
import {
  acquireReleaseLock,
  LeaseObservation,
  leaseTimings,
  lockHolder,
  microTime,
  type LeaseObject,
  type LockOptions,
} from '../../src/steps/releaseLock.js';

const target = { namespace: 'skypilot', release: 'skypilot' };
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/skypilot/leases';

test('the holder names the workflow run, attempt and job, plus a nonce that tells two processes apart', () => {
  const env = {
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_RUN_ID: '77',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_JOB: 'deploy',
  };
  assert.equal(lockHolder(env, 'abc123'), 'o/r run 77 attempt 2 job deploy (abc123)');
  assert.notEqual(lockHolder(env), lockHolder(env));
  assert.match(lockHolder({}, 'n'), / pid \d+ \(n\)$/);
});

test('MicroTime has six fractional digits', () => {
  assert.equal(microTime(Date.UTC(2026, 11, 1, 10, 0, 0, 123)), '2026-12-01T10:00:00.123000Z');
});

test("a waiter counts how long it has seen the same record by its own clock, never the holder's renewTime", () => {
  let clock = 1_000_000;
  const seen = new LeaseObservation(() => clock);
  const threeMinutesBehind = microTime(clock - 180_000);
  const record = (rv: string, seconds?: number): LeaseObject => ({
    metadata: { resourceVersion: rv },
    spec: { holderIdentity: 'a', leaseDurationSeconds: seconds, renewTime: threeMinutesBehind },
  });
  assert.deepEqual(
    seen.see(record('1', 10)),
    { unchangedMs: 0, durationMs: 10_000 },
    'first sight: just now',
  );
  clock += 9_000;
  assert.deepEqual(seen.see(record('1', 10)), { unchangedMs: 9_000, durationMs: 10_000 });
  clock += 5_000;
  assert.deepEqual(
    seen.see(record('2', 10)),
    { unchangedMs: 0, durationMs: 10_000 },
    'renewed: counted anew',
  );
  clock += 10_000;
  assert.deepEqual(seen.see(record('2', 10)), { unchangedMs: 10_000, durationMs: 10_000 }, 'abandoned');
  assert.equal(seen.see(record('3')).durationMs, 60_000, 'no duration in the record: the default');
});

test('the holder renews well within the lease and counts itself lost a third of a lease before any waiter may take over', () => {
  for (const seconds of [3, 60]) {
    const { renewEveryMs, retryMs, renewDeadlineMs } = leaseTimings(seconds);
    assert.ok(retryMs < renewEveryMs && renewEveryMs * 3 < renewDeadlineMs, `${seconds} s: several tries`);
    assert.equal(seconds * 1000 - renewDeadlineMs, (seconds * 1000) / 3);
  }
});

describe('the release lock against the Kubernetes stand-in', () => {
  let kube: KubeStandIn;
  let client: KubernetesClient;
  let dir: string;
  const logs: string[] = [];
  const options = (holder: string, extra: Partial<LockOptions> = {}): LockOptions => ({
    holder,
    budget: new Deadline(20_000),
    pollMs: 100,
    log: (line) => logs.push(`${holder}: ${line}`),
    ...extra,
  });
  const stored = (): LeaseObject | undefined =>
    kube.get('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot') as LeaseObject | undefined;

  before(async () => {
    kube = await startKubeStandIn();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-lock-test-'));
    client = KubernetesClient.fromKubeconfig(
      { path: kube.writeKubeconfig(dir) },
      { budget: new Deadline(120_000) },
    );
  });
  after(async () => {
    client.close();
    await kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    logs.length = 0;
    kube.clearRequests();
  });

  test('taking the lock creates the namespace it lives in, then POSTs the Lease; releasing deletes it with preconditions', async () => {
    const lock = await acquireReleaseLock(client, target, options('run-a'));
    const lease = stored();
    assert.equal(lease?.spec?.holderIdentity, 'run-a');
    assert.equal(lease?.spec?.leaseDurationSeconds, 60);
    assert.equal(lease?.spec?.leaseTransitions, 0);
    assert.match(lease?.spec?.renewTime ?? '', /\.\d{6}Z$/);
    assert.equal(lock.waitedFor, undefined);
    assert.deepEqual(
      kube.mutatingRequests().map((r) => `${r.method} ${r.path}`),
      [`POST ${LEASES}`, 'PATCH /api/v1/namespaces/skypilot', `POST ${LEASES}`],
    );
    kube.clearRequests();
    await lock.release();
    assert.equal(stored(), undefined);
    const [deletion] = kube.mutatingRequests();
    assert.equal(deletion?.method, 'DELETE');
    assert.deepEqual(JSON.parse(deletion!.body).preconditions, {
      uid: lease?.metadata?.uid,
      resourceVersion: lease?.metadata?.resourceVersion,
    });
  });

  test('a second run waits for the holder, then fails naming it and when its lock expires', async () => {
    const first = await acquireReleaseLock(client, target, options('run-a'));
    try {
      await assert.rejects(
        acquireReleaseLock(client, target, options('run-b', { budget: budgetOf(1500) })),
        (error: unknown) => {
          assert.match(
            String((error as Error).message),
            /^Helm release skypilot\/skypilot is locked by another run: run-a holds Lease skypilot\/skyha-skypilot \(its record unchanged for \d+ s as this run saw it; taken over once unchanged for 60 s\)\. Waited [1-9]\d* s$/,
          );
          return true;
        },
      );
      assert.ok(
        logs.some((l) => /^run-b: Waiting for the lock .* held by run-a \(its record unchanged for /.test(l)),
      );
      assert.equal(stored()?.spec?.holderIdentity, 'run-a', 'the holder keeps it');
    } finally {
      await first.release();
    }
  });

  test('a waiting run gets the lock once the holder releases it, and says whom it waited for', async () => {
    const first = await acquireReleaseLock(client, target, options('run-a'));
    const second = acquireReleaseLock(client, target, options('run-b'));
    while (!logs.some((l) => l.startsWith('run-b: Waiting'))) await sleep(20);
    await first.release();
    const lock = await second;
    assert.equal(lock.waitedFor, 'run-a');
    assert.equal(stored()?.spec?.holderIdentity, 'run-b');
    await lock.release();
  });

  const putLease = (holder: string, spec: LeaseObject['spec'] = {}): void => {
    const old = Date.now() - 120_000;
    kube.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'skyha-skypilot', namespace: 'skypilot' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 1,
        acquireTime: microTime(old),
        renewTime: microTime(old),
        leaseTransitions: 4,
        ...spec,
      },
    });
  };

  test('an abandoned Lease (its record unchanged for its duration) is taken over by an update with its resourceVersion; of two runs only one wins', async () => {
    putLease('killed-run');
    const short = { budget: budgetOf(4000) };
    const outcomes = await Promise.allSettled([
      acquireReleaseLock(client, target, options('run-a', short)),
      acquireReleaseLock(client, target, options('run-b', short)),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const lock = won[0]!.value;
    assert.equal(lock.waitedFor, 'killed-run', 'what the killed run did is observed again');
    const lease = stored();
    assert.equal(lease?.spec?.holderIdentity, lock.holder);
    assert.equal(lease?.spec?.leaseTransitions, 5);
    assert.equal(lease?.spec?.leaseDurationSeconds, 60, 'the new holder announces its own duration');
    assert.match(
      String(lost[0]!.reason),
      new RegExp(`locked by another run: ${lease?.spec?.holderIdentity}`),
    );
    // Each update is guarded by the resourceVersion of the record it watched: a second one gets a Conflict.
    const puts = kube.mutatingRequests().filter((r) => r.method === 'PUT');
    assert.ok(puts.length >= 1);
    const guards = puts.map((r) => (JSON.parse(r.body) as LeaseObject).metadata?.resourceVersion);
    assert.deepEqual(new Set(guards).size, 1, 'both guarded by the abandoned record');
    await lock.release();
  });

  test("a live holder whose clock is 3 minutes behind keeps its lock: its renewTime is never compared with the waiter's clock", async () => {
    const behind = () => Date.now() - 180_000;
    const holder = await acquireReleaseLock(
      client,
      target,
      options('slow-clock', { leaseSeconds: 3, now: behind }),
    );
    try {
      assert.ok(
        Date.parse(stored()?.spec?.renewTime ?? '') < Date.now() - 170_000,
        'its renewTime looks stale',
      );
      // The waiter watches for twice the lease duration: the record keeps changing, so it never takes over.
      await assert.rejects(
        acquireReleaseLock(client, target, options('run-b', { budget: budgetOf(6000) })),
        /locked by another run: slow-clock holds Lease/,
      );
      holder.check('the next step');
      assert.equal(stored()?.spec?.holderIdentity, 'slow-clock');
      assert.ok((stored()?.metadata?.resourceVersion ?? '') !== '', 'renewed meanwhile');
    } finally {
      await holder.release();
    }
    assert.equal(stored(), undefined);
  });

  test('the holder renews the Lease; a Lease taken by someone else is lost at once, and never deleted', async () => {
    const lock = await acquireReleaseLock(client, target, options('run-a', { leaseSeconds: 3 }));
    const firstRenewal = stored()?.spec?.renewTime;
    while (stored()?.spec?.renewTime === firstRenewal) await sleep(50);
    lock.check('the helm step');
    // Another client takes it over (as a run would once our renewals had stopped for a whole lease duration).
    const current = stored()!;
    kube.put({ ...current, spec: { ...current.spec, holderIdentity: 'intruder' } });
    assert.match(await lock.lost, /another run took the Lease over or deleted it \(Conflict\)/);
    assert.throws(
      () => lock.check('the helm step'),
      /^ActionError: Lost the lock of Helm release skypilot\/skypilot \(Lease skyha-skypilot\) before the helm step: another run took the Lease over/,
    );
    assert.match(lock.lostError('during step helm').message, /during step helm: /);
    await lock.release();
    assert.equal(stored()?.spec?.holderIdentity, 'intruder');
    kube.remove('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot');
  });

  test('a holder that cannot renew counts itself lost at its renew deadline, before a waiter could take over', async () => {
    const lock = await acquireReleaseLock(client, target, options('run-a', { leaseSeconds: 3 }));
    const silenced = kube.inject({
      kind: 'hang',
      method: 'PUT',
      path: '/leases/skyha-skypilot',
      times: Infinity,
    });
    const waiter = acquireReleaseLock(client, target, options('run-b', { budget: budgetOf(20_000) }));
    const reason = await lock.lost;
    assert.match(reason, /^it could not be renewed for 2 s/);
    assert.equal(stored()?.spec?.holderIdentity, 'run-a', 'nobody else holds it yet');
    silenced.release();
    const next = await waiter;
    assert.equal(next.waitedFor, 'run-a');
    await next.release();
    await lock.release();
    assert.equal(stored(), undefined);
  });

  test('a release with no time left sends nothing; a later one with time (a cancelled run cleaning up) deletes the Lease', async () => {
    const lock = await acquireReleaseLock(client, target, options('run-a'));
    await lock.release(budgetOf(0));
    assert.equal(stored()?.spec?.holderIdentity, 'run-a');
    await lock.release(budgetOf(2000));
    assert.equal(stored(), undefined);
  });

  test('a release whose DELETE never answers ends with its budget, leaving the Lease to be taken over', async (t) => {
    const lock = await acquireReleaseLock(client, target, options('run-a'));
    const hung = kube.inject({ kind: 'hang', method: 'DELETE', path: '/leases/skyha-skypilot' });
    // The budget's clock and timers move when the test says: it runs out once the stand-in holds the DELETE,
    // however long a busy machine takes to send it.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const released = lock.release(budgetOf(300));
    await Promise.race([hung.firstCaught(), released]);
    assert.equal(hung.caught.length, 1, 'the DELETE was sent');
    t.mock.timers.tick(300);
    await released;
    t.mock.timers.reset();
    assert.equal(stored()?.spec?.holderIdentity, 'run-a', 'the Lease is left to be taken over');
    hung.release();
    kube.remove('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot');
  });
});
