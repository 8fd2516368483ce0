import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { KubeApiError, KubernetesClient, type KubeObject } from '../../src/clients/kubernetes.js';
import { budgetOf } from '../../src/lib/deadline.js';
import { kubeClientOf } from '../support/clients.js';

// A watch resumes where it stopped: after the server closes it early, a reset, a 429 or a 5xx it is reopened from
// the last resourceVersion it saw (no event missed or repeated); a version too old (410) is listed again.

describe('watches against the Kubernetes stand-in', () => {
  let kube: KubeStandIn;
  let client: KubernetesClient;
  let dir: string;
  const WATCHED = '/api/v1/namespaces/default/configmaps';
  const configMap = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', labels: { watched: 'yes' } },
    data,
  });
  const watchRequests = () =>
    kube.requests.filter((r) => r.path === WATCHED && /(^|&)watch=true/.test(r.query));
  const versionAsked = (query: string) => new URLSearchParams(query).get('resourceVersion');

  /** Watches the labelled ConfigMaps from `from` until one named `last` arrives; the names in order. */
  async function collect(from: string, last: string): Promise<{ names: string[]; end: string }> {
    const names: string[] = [];
    const outcome = await client.watch(
      'v1',
      'ConfigMap',
      { namespace: 'default', labelSelector: 'watched=yes', resourceVersion: from },
      (event) => {
        if (event.type === 'BOOKMARK') return false;
        names.push(String(event.object.metadata?.name));
        return event.object.metadata?.name === last;
      },
    );
    return { names, end: outcome.end };
  }

  before(async () => {
    kube = await startKubeStandIn();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-kwatch-'));
    client = kubeClientOf(kube.writeKubeconfig(dir), 60_000);
  });
  after(async () => {
    client.close();
    await kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => kube.clearRequests());

  test('a stream the server ends early is reopened from the last resourceVersion it delivered', async () => {
    const from = (await client.list('v1', 'ConfigMap', { namespace: 'default' })).resourceVersion;
    const a = kube.put(configMap('a', {}));
    kube.put(configMap('b', {}));
    kube.put(configMap('c', {}));
    kube.inject({ kind: 'endStream', afterEvents: 1, path: WATCHED, query: 'watch=true' });
    kube.inject({ kind: 'endStream', path: WATCHED, query: 'watch=true' });
    const { names, end } = await collect(from, 'c');
    assert.equal(end, 'stopped');
    assert.deepEqual(names, ['a', 'b', 'c'], 'each event once, in order');
    const asked = watchRequests().map((r) => versionAsked(r.query));
    const afterA = String((a.metadata as { resourceVersion: string }).resourceVersion);
    assert.deepEqual(asked, [from, afterA, afterA], 'resumed after a, twice (the second stream was empty)');
  });

  test('a watch answered 429 (Retry-After), 503 or a reset connection is opened again', async () => {
    const from = (await client.list('v1', 'ConfigMap', { namespace: 'default' })).resourceVersion;
    kube.inject({ kind: 'error', status: 429, retryAfterSeconds: 1, path: WATCHED, query: 'watch=true' });
    kube.inject({ kind: 'error', status: 503, path: WATCHED, query: 'watch=true' });
    kube.inject({ kind: 'reset', path: WATCHED, query: 'watch=true' });
    kube.put(configMap('d', {}));
    const { names } = await collect(from, 'd');
    assert.deepEqual(names, ['d']);
    assert.equal(watchRequests().length, 4);
  });

  test('a permanent error ends the watch with it; a version too old says so (410), and waitFor lists again', async () => {
    kube.inject({ kind: 'error', status: 403, path: WATCHED, query: 'watch=true' });
    await assert.rejects(
      collect('1', 'never'),
      (e: unknown) => e instanceof KubeApiError && e.status === 403,
    );
    kube.inject({ kind: 'error', status: 410, reason: 'Expired', path: WATCHED, query: 'watch=true' });
    assert.deepEqual(await collect('1', 'never'), { names: [], end: 'expired' });

    kube.put(configMap('phase', { phase: 'Pending' }));
    kube.clearRequests();
    kube.inject({ kind: 'error', status: 410, reason: 'Expired', path: WATCHED, query: 'watch=true' });
    const bound = client.waitFor(
      'v1',
      'ConfigMap',
      'phase',
      (o) => (o?.data as { phase?: string } | undefined)?.phase === 'Bound',
      { namespace: 'default', budget: budgetOf(20_000) },
    );
    // Changed once the second list has been answered: only a relist and a new watch can see it.
    while (kube.requests.filter((r) => r.path === WATCHED && !/watch=true/.test(r.query)).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    kube.put(configMap('phase', { phase: 'Bound' }));
    assert.equal(((await bound)?.data as { phase: string }).phase, 'Bound');
  });

  test('a watch whose budget runs out says so, without an error', async () => {
    const from = (await client.list('v1', 'ConfigMap', { namespace: 'default' })).resourceVersion;
    const outcome = await client.watch(
      'v1',
      'ConfigMap',
      { namespace: 'default', resourceVersion: from, budget: budgetOf(300) },
      () => false,
    );
    assert.equal(outcome.end, 'deadline');
  });
});
