import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import {
  isTransientKubeError,
  isUnprocessedKubeError,
  KubeApiError,
  KubeConnectionError,
  KubernetesClient,
  KubeTimeoutError,
  type KubeObject,
} from '../../src/clients/kubernetes.js';
import { holdsWhatWasSent } from '../../src/clients/kubeRetry.js';
import { budgetOf } from '../../src/lib/deadline.js';
import { kubeClientOf } from '../support/clients.js';
import { retryAfterMs, withRetry } from '../../src/lib/retry.js';

const apiError = (code: number): KubeApiError =>
  new KubeApiError('GET', '/api/v1/nodes', { code, reason: '', message: 'm', details: undefined });
const connection = (code: string): KubeConnectionError =>
  new KubeConnectionError(
    'GET',
    '/api/v1/nodes',
    'https://cluster',
    Object.assign(new Error(code), { code }),
  );

test('which failures are retried: transient for calls safe to repeat, unprocessed for any call', () => {
  const table: Array<[string, unknown, boolean, boolean]> = [
    ['429 (API Priority and Fairness)', apiError(429), true, true],
    ['500', apiError(500), true, false],
    ['502', apiError(502), true, false],
    ['503 (a control-plane upgrade)', apiError(503), true, false],
    ['504', apiError(504), true, false],
    ['400', apiError(400), false, false],
    ['403', apiError(403), false, false],
    ['404', apiError(404), false, false],
    ['409', apiError(409), false, false],
    ['410', apiError(410), false, false],
    ['422', apiError(422), false, false],
    ['a reset connection (the request may have landed)', connection('ECONNRESET'), true, false],
    ['a refused connection (it never left)', connection('ECONNREFUSED'), true, true],
    ['an unknown host', connection('ENOTFOUND'), true, true],
    [
      'its own request timeout, time left',
      new KubeTimeoutError('GET', '/x', 30_000, undefined, true),
      true,
      false,
    ],
    ['the run out of time', new KubeTimeoutError('GET', '/x', 0), false, false],
    ['anything else', new Error('boom'), false, false],
  ];
  for (const [what, error, transient, unprocessed] of table) {
    assert.equal(isTransientKubeError(error), transient, `${what}: transient`);
    assert.equal(isUnprocessedKubeError(error), unprocessed, `${what}: unprocessed`);
  }
});

test("Retry-After: seconds or an HTTP date; the server's wait is honoured and the call logs once", async () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.UTC(2015, 9, 21, 7, 28, 0)), 10_000);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs('soon'), undefined);
  const lines: string[] = [];
  let calls = 0;
  const answer = await withRetry(
    async () => {
      calls += 1;
      if (calls < 4) throw apiError(503);
      return 'ok';
    },
    {
      what: 'GET /api/v1/nodes',
      isTransient: isTransientKubeError,
      deadline: budgetOf(10_000),
      baseDelayMs: 1,
      log: (line) => lines.push(line),
    },
  );
  assert.equal(answer, 'ok');
  assert.equal(calls, 4);
  assert.equal(lines.length, 1, 'one line per call, however many retries');
  assert.match(lines[0]!, /^GET \/api\/v1\/nodes failed \(.*503.*\); retrying/);
  // A wait the budget cannot hold is not waited for: the failure is the answer.
  const throttled = Object.assign(apiError(429), { retryAfterMs: 60_000 });
  let tries = 0;
  await assert.rejects(
    withRetry(
      async () => {
        tries += 1;
        throw throttled;
      },
      { what: 'x', isTransient: isTransientKubeError, deadline: budgetOf(1000), retryAfterMs: () => 60_000 },
    ),
    (e: unknown) => e === throttled,
  );
  assert.equal(tries, 1);
});

test('what we sent is found in what the server stored (its defaults, status and metadata aside)', () => {
  const sent = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', namespace: 'n', labels: { x: '1' }, resourceVersion: '5' },
    data: { k: 'v' },
    list: [{ a: 1 }],
  };
  const stored = {
    ...sent,
    metadata: { ...sent.metadata, uid: 'u', resourceVersion: '9', labels: { x: '1', y: '2' } },
    list: [{ a: 1, b: 2 }],
    status: { phase: 'Active' },
  };
  assert.ok(holdsWhatWasSent(stored, sent));
  assert.ok(!holdsWhatWasSent({ ...stored, data: { k: 'other' } }, sent), 'another value');
  assert.ok(!holdsWhatWasSent({ ...stored, list: [{ a: 1 }, { a: 2 }] }, sent), 'another list');
  assert.ok(!holdsWhatWasSent({ ...stored, metadata: { ...stored.metadata, labels: {} } }, sent), 'a label');
});

describe('KubernetesClient retries against the Kubernetes stand-in', () => {
  let kube: KubeStandIn;
  let client: KubernetesClient;
  let dir: string;
  const configMap = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data,
  });
  const stored = (name: string) => kube.get('v1', 'ConfigMap', 'default', name);
  const sent = (method: string, suffix: string) =>
    kube.requests.filter((r) => r.method === method && r.path.endsWith(suffix));

  before(async () => {
    kube = await startKubeStandIn();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-kretry-'));
    client = kubeClientOf(kube.writeKubeconfig(dir), 60_000);
  });
  after(async () => {
    client.close();
    await kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => kube.clearRequests());

  test('a read answered 429 (Retry-After), 503 and a reset is retried until it answers', async () => {
    kube.put(configMap('read', { a: '1' }));
    const faults = [
      kube.inject({ kind: 'error', status: 429, retryAfterSeconds: 1, path: '/configmaps/read' }),
      kube.inject({ kind: 'error', status: 503, path: '/configmaps/read' }),
      kube.inject({ kind: 'reset', path: '/configmaps/read' }),
    ];
    const found = await client.get('v1', 'ConfigMap', 'read', { namespace: 'default' });
    assert.deepEqual(found?.data, { a: '1' });
    assert.deepEqual(
      faults.map((f) => f.caught.length),
      [1, 1, 1],
    );
    assert.equal(sent('GET', '/configmaps/read').length, 4);
  });

  test("a 429 whose Retry-After the call's budget cannot wait for fails at once with it", async () => {
    kube.inject({ kind: 'error', status: 429, retryAfterSeconds: 30, path: '/configmaps/read' });
    await assert.rejects(
      client.get('v1', 'ConfigMap', 'read', { namespace: 'default', budget: budgetOf(2000) }),
      (e: unknown) => e instanceof KubeApiError && e.status === 429 && e.retryAfterMs === 30_000,
    );
    assert.equal(sent('GET', '/configmaps/read').length, 1);
  });

  test('a create whose answer was lost is read back and taken: one object, as we sent it', async () => {
    kube.inject({ kind: 'reset', afterServing: true, method: 'POST', path: '/configmaps' });
    const made = await client.create(configMap('lost-answer', { k: 'v' }));
    assert.deepEqual(made.data, { k: 'v' });
    assert.equal(made.metadata?.uid, at(stored('lost-answer'), 'uid'), 'the object the first attempt made');
    assert.equal(sent('POST', '/configmaps').length, 2, 'the retry was answered 409 AlreadyExists');
  });

  test("a retried create answered 409 by another client's object keeps the 409", async () => {
    kube.put(configMap('theirs', { k: 'theirs' }));
    kube.inject({ kind: 'error', status: 503, method: 'POST', path: '/configmaps' });
    await assert.rejects(
      client.create(configMap('theirs', { k: 'ours' })),
      (e: unknown) => e instanceof KubeApiError && e.reason === 'AlreadyExists',
    );
    assert.deepEqual(stored('theirs')?.data, { k: 'theirs' });
  });

  test('an update guarded by its resourceVersion whose answer was lost is read back and taken', async () => {
    const current = (await client.create(configMap('guarded', { k: '1' }))) as KubeObject;
    kube.inject({ kind: 'reset', afterServing: true, method: 'PUT', path: '/configmaps/guarded' });
    const updated = await client.replace({ ...current, data: { k: '2' } });
    assert.deepEqual(updated.data, { k: '2' });
    assert.equal(sent('PUT', '/configmaps/guarded').length, 2, 'the retry was answered 409 Conflict');
    // Changed by someone else meanwhile: the Conflict stands.
    kube.inject({ kind: 'error', status: 503, method: 'PUT', path: '/configmaps/guarded' });
    await assert.rejects(
      client.replace({ ...current, data: { k: '3' } }),
      (e: unknown) => e instanceof KubeApiError && e.reason === 'Conflict',
    );
  });

  test('a JSON patch is sent again only when the server surely did not act on it; a merge patch always', async () => {
    kube.put(configMap('patched', { n: '0' }));
    const add = [{ op: 'add', path: '/data/added', value: 'x' }];
    kube.inject({ kind: 'error', status: 503, method: 'PATCH', path: '/configmaps/patched' });
    await assert.rejects(
      client.patch('v1', 'ConfigMap', 'patched', add, 'json', { namespace: 'default' }),
      (e: unknown) => e instanceof KubeApiError && e.status === 503,
    );
    assert.equal(sent('PATCH', '/configmaps/patched').length, 1, 'a 503 may have landed: not sent again');
    kube.inject({ kind: 'error', status: 429, method: 'PATCH', path: '/configmaps/patched' });
    await client.patch('v1', 'ConfigMap', 'patched', add, 'json', { namespace: 'default' });
    assert.deepEqual(stored('patched')?.data, { n: '0', added: 'x' }, 'a 429 never landed: sent again');
    kube.inject({ kind: 'reset', afterServing: true, method: 'PATCH', path: '/configmaps/patched' });
    await client.patch('v1', 'ConfigMap', 'patched', { data: { n: '1' } }, 'merge', { namespace: 'default' });
    assert.deepEqual(stored('patched')?.data, { n: '1', added: 'x' });
  });
});

function at(object: Record<string, unknown> | undefined, key: string): unknown {
  return (object?.metadata as Record<string, unknown> | undefined)?.[key];
}
