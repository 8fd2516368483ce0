import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { api, field, runTool, toolsFor, type Obj } from '../support/kubeTools.js';

/** Starts a tool and keeps its handle, so a test can see it still blocked and end it as a deadline would. */
function start(binary: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(binary, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

describe('kubernetes stand-in: injected faults over HTTP', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
  });
  after(() => kube.close());

  test("'hang' reads a matching request and holds it; others are served; release() lets it through", async () => {
    const fault = kube.inject({ kind: 'hang', method: 'GET', path: '/api/v1/namespaces/default/configmaps' });
    let answered = false;
    const held = fetch(`${kube.url}/api/v1/namespaces/default/configmaps`).then((r) => {
      answered = true;
      return r;
    });
    const caught = await fault.firstCaught();
    assert.equal(caught.method, 'GET');
    // Requests that do not match, and the same path by another method, are served while it is held.
    assert.equal((await api(kube, 'GET', '/version')).status, 200);
    assert.equal(
      (await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'during' } }))
        .status,
      201,
    );
    assert.equal(answered, false);
    fault.release();
    const response = await held;
    assert.equal(response.status, 200);
    const names = ((await response.json()) as Obj).items as Obj[];
    assert.ok(names.some((i) => field(i, 'metadata.name') === 'during'));
    // Exhausted (times defaults to 1): the next request is served at once.
    assert.equal((await api(kube, 'GET', '/api/v1/namespaces/default/configmaps')).status, 200);
    assert.equal(fault.caught.length, 1);
  });

  test("'error' answers matching requests with a Status error (and Retry-After), without performing them", async () => {
    const fault = kube.inject({
      kind: 'error',
      method: 'POST',
      path: /\/configmaps$/,
      status: 429,
      retryAfterSeconds: 3,
      times: 2,
    });
    const body = { metadata: { name: 'throttled' } };
    const first = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(first.status, 429);
    assert.equal(first.headers.get('retry-after'), '3');
    const status = (await first.json()) as Obj;
    assert.equal(status.reason, 'TooManyRequests');
    assert.equal(field(status, 'details.retryAfterSeconds'), 3);
    assert.equal(kube.get('v1', 'ConfigMap', 'default', 'throttled'), undefined);
    assert.equal((await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', body)).status, 429);
    assert.equal((await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', body)).status, 201);
    assert.equal(fault.caught.length, 2);
  });

  test("'reset' drops the connection unanswered: before the request is performed, or after (afterServing)", async () => {
    const post = (name: string) =>
      fetch(`${kube.url}/api/v1/namespaces/default/configmaps`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { name } }),
      });
    const before = kube.inject({ kind: 'reset', method: 'POST', path: '/configmaps' });
    await assert.rejects(post('never-made'), /fetch failed/);
    assert.equal(before.caught.length, 1);
    assert.equal(kube.get('v1', 'ConfigMap', 'default', 'never-made'), undefined);
    kube.inject({ kind: 'reset', afterServing: true, method: 'POST', path: '/configmaps' });
    await assert.rejects(post('made-unanswered'), /fetch failed/);
    assert.ok(kube.get('v1', 'ConfigMap', 'default', 'made-unanswered'), 'performed, only its answer lost');
  });

  test("'endStream' ends a watch after so many events; 'query' matches the query string", async () => {
    const rv = String(
      field(
        (await api(kube, 'GET', '/api/v1/namespaces/default/configmaps')).body,
        'metadata.resourceVersion',
      ),
    );
    for (const name of ['w1', 'w2'])
      await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name } });
    const list = kube.inject({ kind: 'endStream', afterEvents: 1, query: 'watch=true' });
    assert.equal(
      (await api(kube, 'GET', '/api/v1/namespaces/default/configmaps')).status,
      200,
      'a list is no watch',
    );
    assert.equal(list.caught.length, 0);
    const stream = await fetch(
      `${kube.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    const lines = (await stream.text()).trim().split('\n');
    assert.equal(stream.status, 200);
    assert.equal(lines.length, 1, 'one event, then the stream ended');
    assert.equal(field(JSON.parse(lines[0]!), 'object.metadata.name'), 'w1');
    kube.inject({ kind: 'endStream', query: 'watch=true' });
    const empty = await fetch(
      `${kube.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    assert.equal(await empty.text(), '', 'ended at once');
  });

  test('close() ends held requests without an answer', async () => {
    const own = await startKubeStandIn();
    const fault = own.inject({ kind: 'hang', path: '/version' });
    const held = fetch(`${own.url}/version`);
    await fault.firstCaught();
    await own.close();
    await assert.rejects(held, /fetch failed/);
  });
});

describe('kubernetes stand-in: faults that real helm and kubectl run into', () => {
  let bins: RealBinaries;
  let kube: KubeStandIn;
  let tools: ReturnType<typeof toolsFor>;
  const kubectl = (...args: string[]) => runTool(bins.kubectl, args, tools.env);

  before(async () => {
    bins = await realBinaries('helm4');
    kube = await startKubeStandIn({ deploymentsWithoutPods: ['sky/stuck'] });
    tools = toolsFor(kube);
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sky' } });
  });
  after(async () => {
    await kube.close();
    tools.cleanup();
  });

  test("a hang matched by user agent holds only helm's requests: helm blocks until ended, kubectl works", async () => {
    const fault = kube.inject({ kind: 'hang', userAgent: 'Helm/', times: Infinity });
    const helm = start(bins.helm, ['list', '--namespace', 'sky'], tools.env);
    const exited = once(helm, 'exit');
    const caught = await fault.firstCaught();
    assert.match(caught.userAgent ?? '', /^Helm\/4\./);
    const meanwhile = await kubectl('get', 'namespace', 'sky', '-o', 'name');
    assert.equal(meanwhile.stdout.trim(), 'namespace/sky');
    assert.equal(running(helm), true);
    // What the action's deadline does to a call that never returns.
    helm.kill('SIGTERM');
    assert.deepEqual(await exited, [null, 'SIGTERM']);
    fault.release();
  });

  test("hanging only helm's GET .../secrets: helm's other requests are served, release() lets helm finish", async () => {
    const fault = kube.inject({ kind: 'hang', method: 'GET', path: /\/secrets$/, userAgent: 'Helm/' });
    kube.clearRequests();
    const helm = start(bins.helm, ['status', 'nothing-here', '--namespace', 'sky'], tools.env);
    const exited = once(helm, 'exit');
    const caught = await fault.firstCaught();
    assert.equal(caught.path, '/api/v1/namespaces/sky/secrets');
    assert.match(caught.query, /labelSelector=.*name%3Dnothing-here/);
    const secrets = await kubectl('get', 'secrets', '--namespace', 'sky', '-o', 'name');
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.equal(running(helm), true);
    fault.release();
    // Served late, the list is empty: helm reports the release missing, as it would have at once.
    assert.deepEqual(await exited, [1, null]);
  });

  test("kubectl's own --request-timeout ends a request the server never answers", async () => {
    const fault = kube.inject({
      kind: 'hang',
      method: 'GET',
      path: /^\/api\/v1\/namespaces$/,
      userAgent: 'kubectl/',
    });
    const result = await kubectl('get', 'namespaces', '--request-timeout=1s');
    assert.equal(result.code, 1);
    // Go's HTTP client words its timeout three ways, by which of its timers fires first.
    assert.match(
      result.stderr.trim(),
      /^Unable to connect to the server: (context deadline exceeded|net\/http: request canceled)( \(Client\.Timeout exceeded while awaiting headers\))?$/,
    );
    assert.match(fault.caught[0]?.userAgent ?? '', /^kubectl\/v1\.35\./);
    fault.release();
  });

  test('deploymentsWithoutPods: the Deployment exists, is not Available, has no pod; kubectl logs times out', async () => {
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace: 'sky' },
      spec: {
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: { containers: [{ name: 'c', image: 'i:1' }] },
        },
      },
    });
    const deployment = kube.get('apps/v1', 'Deployment', 'sky', 'stuck');
    const conditions = field(deployment, 'status.conditions') as Obj[];
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status, c.reason]),
      [
        ['Available', 'False', 'MinimumReplicasUnavailable'],
        ['Progressing', 'True', 'ReplicaSetUpdated'],
        ['ReplicaFailure', 'True', 'FailedCreate'],
      ],
    );
    assert.equal(kube.list('apps/v1', 'ReplicaSet', 'sky').length, 1);
    assert.deepEqual(
      kube.list('v1', 'Pod', 'sky').filter((p) => field(p, 'metadata.labels.app') === 'stuck'),
      [],
    );
    // Real kubectl 1.35 finds no pod for the Deployment and waits --pod-running-timeout, then gives up.
    const logs = await kubectl('logs', 'deploy/stuck', '--namespace', 'sky', '--pod-running-timeout=1s');
    assert.equal(logs.code, 1);
    assert.equal(logs.stderr.trim(), 'error: timed out waiting for the condition');
    assert.equal(logs.stdout, '');

    await kube.configure({ deploymentsWithoutPods: [] });
    const now = await kubectl('logs', 'deploy/stuck', '--namespace', 'sky', '--pod-running-timeout=1s');
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout, /Uvicorn running on/);
    assert.equal(field(kube.get('apps/v1', 'Deployment', 'sky', 'stuck'), 'status.availableReplicas'), 1);
  });
});
