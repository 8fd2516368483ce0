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
  leaseExpiry,
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

test('MicroTime has six fractional digits; a Lease expires its duration after its last renewal', () => {
  assert.equal(microTime(Date.UTC(2026, 11, 1, 10, 0, 0, 123)), '2026-12-01T10:00:00.123000Z');
  const lease = (spec: LeaseObject['spec']): LeaseObject => ({ spec });
  const renewed = Date.UTC(2026, 11, 1, 10, 0, 0);
  const spec = { holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: microTime(renewed) };
  assert.equal(leaseExpiry(lease(spec)), renewed + 60_000);
  assert.equal(leaseExpiry(lease({ ...spec, holderIdentity: '' })), undefined, 'nobody holds it');
  assert.equal(leaseExpiry(lease({ ...spec, renewTime: undefined })), 0, 'never renewed: expired');
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
            /^Helm release skypilot\/skypilot is locked by another run: run-a holds Lease skypilot\/skyha-skypilot \(last renewed .*; it expires at \d{4}-.*Z unless renewed\)\. Waited [12] s$/,
          );
          return true;
        },
      );
      assert.ok(logs.some((l) => /^run-b: Waiting for the lock .* held by run-a \(expires in \d+ s/.test(l)));
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

  test('an expired Lease is taken over by an update with its resourceVersion; of two runs only one wins', async () => {
    const old = Date.now() - 120_000;
    kube.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'skyha-skypilot', namespace: 'skypilot' },
      spec: {
        holderIdentity: 'killed-run',
        leaseDurationSeconds: 60,
        acquireTime: microTime(old),
        renewTime: microTime(old),
        leaseTransitions: 4,
      },
    });
    const short = { budget: budgetOf(1500) };
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
    assert.match(
      String(lost[0]!.reason),
      new RegExp(`locked by another run: ${lease?.spec?.holderIdentity}`),
    );
    const puts = kube.mutatingRequests().filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 2, 'both tried the update; the stale one got a Conflict');
    await lock.release();
  });

  test('the holder renews the Lease; a Lease taken by someone else is lost and never deleted', async () => {
    const lock = await acquireReleaseLock(client, target, options('run-a', { leaseSeconds: 3 }));
    const firstRenewal = stored()?.spec?.renewTime;
    while (stored()?.spec?.renewTime === firstRenewal) await sleep(50);
    lock.check('the helm step');
    // Another client takes it over (as if our renewals had stopped for a whole lease duration).
    const current = stored()!;
    kube.put({ ...current, spec: { ...current.spec, holderIdentity: 'intruder' } });
    await assert.rejects(
      (async () => {
        for (;;) {
          lock.check('the helm step');
          await sleep(50);
        }
      })(),
      /Lost the lock of Helm release skypilot\/skypilot \(Lease skyha-skypilot\) before the helm step: another client changed or deleted the Lease \(Conflict\)/,
    );
    await lock.release();
    assert.equal(stored()?.spec?.holderIdentity, 'intruder');
    kube.remove('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-skypilot');
  });
});
