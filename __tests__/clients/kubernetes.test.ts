import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import YAML from 'yaml';
import { startKubeStandIn, type KubeStandIn, type TlsListener } from '../../standins/kubernetes/index.js';
import { makeTestPki, opensslAvailable, type TestPki } from '../../standins/kubernetes/tls.js';
import { kindInfo, resourcePath } from '../../src/clients/kinds.js';
import { loadKubeconfig } from '../../src/clients/kubeconfig.js';
import {
  isKubeReason,
  isTransientKubeError,
  KubeApiError,
  KubeConnectionError,
  KubernetesClient,
  KubeTimeoutError,
  type Budget,
  type KubeObject,
} from '../../src/clients/kubernetes.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError } from '../../src/lib/errors.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-kclient-'));
const budget = (): Budget => new Deadline(20_000);

/** A kubeconfig for one cluster and user, written 0600 into dir. */
function writeKubeconfig(
  dir: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown> = {},
  name = 'kubeconfig',
): string {
  const file = path.join(dir, name);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'skypilot' } }],
    'current-context': 'ctx',
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
  return file;
}

function configMap(name: string, data: Record<string, string>, namespace = 'skypilot'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** A server that answers nothing: it holds every request until the test ends; `received(n)` once n arrived. */
async function silentServer(
  t: TestContext,
): Promise<{ url: string; held: http.ServerResponse[]; received: (count: number) => Promise<void> }> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const received = (count: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => void (held.length >= count && resolve());
      server.on('request', check);
      check();
    });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, received };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

test('kinds map to REST paths without discovery; an unknown kind is refused', () => {
  assert.equal(resourcePath('v1', 'PersistentVolume', 'ignored', 'pv-1'), '/api/v1/persistentvolumes/pv-1');
  assert.equal(resourcePath('v1', 'Secret', 'sky', 'a.b'), '/api/v1/namespaces/sky/secrets/a.b');
  assert.equal(
    resourcePath('coordination.k8s.io/v1', 'Lease', 'sky', 'lock'),
    '/apis/coordination.k8s.io/v1/namespaces/sky/leases/lock',
  );
  assert.equal(resourcePath('apps/v1', 'Deployment', undefined), '/apis/apps/v1/deployments');
  assert.equal(resourcePath('v1', 'Pod', 'ns', 'p', 'log'), '/api/v1/namespaces/ns/pods/p/log');
  assert.equal(kindInfo('networking.k8s.io/v1', 'IngressClass').namespaced, false);
  assert.throws(() => kindInfo('v1', 'Deployment'), ActionError);
});

describe('loadKubeconfig reads the kubeconfig as kubectl does', () => {
  test('KUBECONFIG merges files: the first to name an entry or a current-context wins; paths are relative to their file', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'ca.pem'), 'CA-A');
    const first = writeKubeconfig(path.join(dir, 'a'), {
      server: 'https://first:6443',
      'certificate-authority': 'ca.pem',
    });
    const second = path.join(dir, 'second');
    fs.writeFileSync(
      second,
      YAML.stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://second:6443' } }],
        users: [{ name: 'u', user: { token: 'from-second' } }],
        contexts: [{ name: 'other', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'other',
      }),
    );
    const env = { KUBECONFIG: [first, path.join(dir, 'missing'), second].join(path.delimiter), HOME: dir };
    const merged = loadKubeconfig({ env });
    assert.equal(merged.name, 'ctx');
    assert.equal(merged.cluster.server, 'https://first:6443');
    assert.equal(merged.cluster.ca?.toString(), 'CA-A');
    assert.equal(merged.namespace, 'skypilot');
    assert.equal(merged.user.token, undefined, 'the first file defines user u (without a token)');
    const other = loadKubeconfig({ env, context: 'other' });
    assert.equal(other.namespace, 'default');
    assert.deepEqual(other.files, [first, second]);
  });

  test('an exec command with a slash is relative to the kubeconfig; a bare one is left for PATH', () => {
    const dir = tmp();
    const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: './bin/plugin', args: ['x'] };
    const file = writeKubeconfig(dir, { server: 'https://k:443' }, { exec });
    assert.equal(loadKubeconfig({ path: file }).user.exec?.command, path.join(dir, 'bin', 'plugin'));
    const bare = writeKubeconfig(
      dir,
      { server: 'https://k:443' },
      { exec: { ...exec, command: 'gke-gcloud-auth-plugin' } },
    );
    assert.equal(loadKubeconfig({ path: bare }).user.exec?.command, 'gke-gcloud-auth-plugin');
  });

  test('a missing file, a missing context and the removed gcp auth-provider fail with what to do', () => {
    const dir = tmp();
    assert.throws(() => loadKubeconfig({ path: path.join(dir, 'nope') }), /does not exist/);
    assert.throws(() => loadKubeconfig({ env: { HOME: dir } }), /No kubeconfig found/);
    const file = writeKubeconfig(dir, { server: 'https://k' });
    assert.throws(() => loadKubeconfig({ path: file, context: 'nope' }), /no context named nope/);
    const gcp = writeKubeconfig(dir, { server: 'https://k' }, { 'auth-provider': { name: 'gcp' } });
    assert.throws(
      () => loadKubeconfig({ path: gcp }),
      (e: unknown) => e instanceof ActionError && /gke-gcloud-auth-plugin/.test(e.hint ?? ''),
    );
  });
});

describe('KubernetesClient against the Kubernetes stand-in', () => {
  let kube: KubeStandIn;
  let client: KubernetesClient;
  const debug: string[] = [];

  before(async () => {
    kube = await startKubeStandIn();
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skypilot' } });
    const file = writeKubeconfig(tmp(), { server: kube.url });
    client = KubernetesClient.fromKubeconfig(
      { path: file },
      { budget: budget(), debug: (l) => debug.push(l) },
    );
  });
  after(async () => {
    client?.close();
    await kube?.close();
  });

  test('get answers the object, or undefined on 404; the context namespace is the default', async () => {
    kube.put(configMap('present', { a: '1' }));
    const found = await client.get('v1', 'ConfigMap', 'present');
    assert.deepEqual(found?.data, { a: '1' });
    assert.equal(await client.get('v1', 'ConfigMap', 'absent'), undefined);
    assert.equal(await client.get('v1', 'PersistentVolume', 'absent'), undefined);
    assert.equal(client.namespace, 'skypilot');
  });

  test('list filters by label and field selector and answers the resourceVersion', async () => {
    kube.put({
      ...configMap('l1', {}),
      metadata: { name: 'l1', namespace: 'skypilot', labels: { app: 'x' } },
    });
    kube.put({
      ...configMap('l2', {}),
      metadata: { name: 'l2', namespace: 'skypilot', labels: { app: 'y' } },
    });
    const byLabel = await client.list('v1', 'ConfigMap', { labelSelector: 'app=x' });
    assert.deepEqual(
      byLabel.items.map((o) => o.metadata?.name),
      ['l1'],
    );
    assert.match(byLabel.resourceVersion, /^\d+$/);
    const byField = await client.list('v1', 'ConfigMap', { fieldSelector: 'metadata.name=l2' });
    assert.deepEqual(
      byField.items.map((o) => o.metadata?.name),
      ['l2'],
    );
    const everywhere = await client.list('v1', 'Namespace');
    assert.ok(everywhere.items.some((n) => n.metadata?.name === 'kube-system'));
  });

  test('create: 409 AlreadyExists and 422 Invalid keep the server status, reason, message and details', async () => {
    const created = await client.create(configMap('made', { k: 'v' }));
    assert.ok(created.metadata?.uid);
    const exists = await rejection(client.create(configMap('made', {})));
    assert.ok(exists instanceof KubeApiError);
    assert.equal(exists.status, 409);
    assert.equal(exists.reason, 'AlreadyExists');
    assert.equal(exists.serverMessage, 'configmaps "made" already exists');
    assert.equal(exists.details?.name, 'made');
    assert.match(
      exists.message,
      /POST \/api\/v1\/namespaces\/skypilot\/configmaps failed with 409 AlreadyExists/,
    );
    const invalid = await rejection(client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }));
    assert.ok(invalid instanceof KubeApiError);
    assert.equal(invalid.status, 422);
    assert.ok(isKubeReason(invalid, 'Invalid'));
    assert.ok(Array.isArray(invalid.details?.causes));
  });

  test('patch: json (a failed test op is 422), merge and strategic merge', async () => {
    kube.put(configMap('p', { a: '1' }));
    const json = await client.patch(
      'v1',
      'ConfigMap',
      'p',
      [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'replace', path: '/data/a', value: '2' },
      ],
      'json',
    );
    assert.deepEqual(json.data, { a: '2' });
    const guarded = await rejection(
      client.patch('v1', 'ConfigMap', 'p', [{ op: 'test', path: '/data/a', value: '1' }], 'json'),
    );
    assert.ok(guarded instanceof KubeApiError && guarded.status === 422);
    const merged = await client.patch('v1', 'ConfigMap', 'p', { data: { b: '3', a: null } }, 'merge');
    assert.deepEqual(merged.data, { b: '3' });
    const strategic = await client.patch(
      'v1',
      'ConfigMap',
      'p',
      { metadata: { labels: { s: 't' } } },
      'strategic',
    );
    assert.equal(strategic.metadata?.labels?.s, 't');
    const request = kube.requests.filter((r) => r.method === 'PATCH').at(-1);
    assert.equal(request?.contentType, 'application/strategic-merge-patch+json');
    assert.match(request?.query ?? '', /fieldManager=skyha-action/);
  });

  test('apply: server-side apply creates, a second manager conflicts (409), force takes the field over', async () => {
    const applied = await client.apply(configMap('ssa', { owner: 'us' }));
    assert.deepEqual(applied.data, { owner: 'us' });
    const conflict = await rejection(
      client.apply(configMap('ssa', { owner: 'them' }), { fieldManager: 'other' }),
    );
    assert.ok(conflict instanceof KubeApiError);
    assert.equal(conflict.reason, 'Conflict');
    assert.match(conflict.serverMessage, /conflict with "skyha-action"/);
    const forced = await client.apply(configMap('ssa', { owner: 'them' }), {
      fieldManager: 'other',
      force: true,
    });
    assert.deepEqual(forced.data, { owner: 'them' });
    assert.equal(kube.requests.at(-1)?.contentType, 'application/apply-patch+yaml');
  });

  test('a Lease is taken over by a replace with its resourceVersion; a stale one gets 409 Conflict', async () => {
    const lease = (holder: string): KubeObject => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'skyha-lock', namespace: 'skypilot' },
      spec: { holderIdentity: holder, leaseDurationSeconds: 60 },
    });
    const mine = await client.create(lease('run-1'));
    const seen = await client.get('coordination.k8s.io/v1', 'Lease', 'skyha-lock');
    assert.equal(seen?.metadata?.resourceVersion, mine.metadata?.resourceVersion);
    const takeover = {
      ...lease('run-2'),
      metadata: { ...lease('run-2').metadata, resourceVersion: seen?.metadata?.resourceVersion },
    };
    const taken: KubeObject = await client.replace(takeover);
    assert.equal((taken.spec as { holderIdentity?: string }).holderIdentity, 'run-2');
    const stale = {
      ...lease('run-1'),
      metadata: { ...lease('run-1').metadata, resourceVersion: mine.metadata?.resourceVersion },
    };
    const conflict = await rejection(client.replace(stale));
    assert.ok(isKubeReason(conflict, 'Conflict'));
    assert.equal((conflict as KubeApiError).status, 409);
    const staleDelete = await rejection(
      client.delete('coordination.k8s.io/v1', 'Lease', 'skyha-lock', {
        preconditions: { resourceVersion: mine.metadata?.resourceVersion },
      }),
    );
    assert.ok(isKubeReason(staleDelete, 'Conflict'));
    const uidDelete = await rejection(
      client.delete('coordination.k8s.io/v1', 'Lease', 'skyha-lock', {
        preconditions: { uid: 'not-the-uid' },
      }),
    );
    assert.ok(isKubeReason(uidDelete, 'Conflict'));
    await client.delete('coordination.k8s.io/v1', 'Lease', 'skyha-lock', {
      preconditions: { uid: taken.metadata?.uid, resourceVersion: taken.metadata?.resourceVersion },
    });
    assert.equal(kube.get('coordination.k8s.io/v1', 'Lease', 'skypilot', 'skyha-lock'), undefined);
    assert.equal(
      await client.delete('coordination.k8s.io/v1', 'Lease', 'skyha-lock'),
      undefined,
      'gone: undefined',
    );
  });

  test('delete with propagationPolicy Orphan keeps the dependents', async () => {
    const owner = kube.put(configMap('owner', {}));
    const uid = (owner.metadata as { uid: string }).uid;
    kube.put({
      ...configMap('dependent', {}),
      metadata: {
        name: 'dependent',
        namespace: 'skypilot',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }],
      },
    });
    await client.delete('v1', 'ConfigMap', 'owner', { propagationPolicy: 'Orphan' });
    const dependent = kube.get('v1', 'ConfigMap', 'skypilot', 'dependent') as KubeObject | undefined;
    assert.ok(dependent, 'the dependent survives');
    assert.equal(dependent.metadata?.ownerReferences, undefined);
  });

  test('pod logs are bounded (tailLines, limitBytes) and never followed', async () => {
    kube.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-0', namespace: 'skypilot' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const text = await client.podLogs('api-0', { tailLines: 3 });
    assert.match(text, /pod api-0/);
    const query = new URLSearchParams(kube.requests.at(-1)?.query);
    assert.equal(query.get('tailLines'), '3');
    assert.ok(Number(query.get('limitBytes')) > 0);
    assert.equal(query.get('follow'), null);
  });

  test('waitFor lists, then watches from the list resourceVersion until the condition holds', async () => {
    kube.put(configMap('w', { phase: 'Pending' }));
    const phase = (o: KubeObject | undefined): unknown => (o?.data as { phase?: string } | undefined)?.phase;
    const waiting = client.waitFor('v1', 'ConfigMap', 'w', (o) => phase(o) === 'Bound', {
      what: 'w to be Bound',
    });
    kube.clearRequests();
    // Each change is made once the watch is open (observed, not timed), so only the watch can see it.
    const watches = () => kube.requests.filter((r) => /watch=true/.test(r.query)).length;
    const watching = async (count: number) => {
      while (watches() < count) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await watching(1);
    kube.put(configMap('w', { phase: 'Bound' }));
    const met = await waiting;
    assert.equal(phase(met), 'Bound');
    const now = await client.waitFor('v1', 'ConfigMap', 'w', (o) => phase(o) === 'Bound');
    assert.equal(phase(now), 'Bound');
    assert.equal(watches(), 1, 'a condition that already holds needs no watch');
    const gone = client.waitFor('v1', 'ConfigMap', 'w', (o) => o === undefined);
    await watching(2);
    kube.remove('v1', 'ConfigMap', 'skypilot', 'w');
    assert.equal(await gone, undefined);
  });

  test('waitFor ends on its budget with a KubeTimeoutError naming what it waited for', async () => {
    kube.put(configMap('never', { phase: 'Pending' }));
    const error = await rejection(
      client.waitFor('v1', 'ConfigMap', 'never', () => false, {
        what: 'never to be Bound',
        budget: new Deadline(300),
      }),
    );
    assert.ok(error instanceof KubeTimeoutError);
    assert.match(error.message, /waiting for never to be Bound ran out of time/);
  });

  test('the debug log names method and path only: no body, no Secret data', async () => {
    debug.length = 0;
    await client.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { key: 'hunter2-secret' },
    });
    const read = await client.get('v1', 'Secret', 'creds');
    assert.ok(read?.data);
    assert.deepEqual(debug, [
      'POST /api/v1/namespaces/skypilot/secrets',
      'GET /api/v1/namespaces/skypilot/secrets/creds',
    ]);
    assert.doesNotMatch(debug.join('\n'), /hunter2|aHVudGVy/);
  });

  test('a budget already spent fails before sending; an unknown server fails as a connection error', async () => {
    kube.clearRequests();
    const spent = await rejection(client.get('v1', 'Node', 'n', { budget: new Deadline(0) }));
    assert.ok(spent instanceof KubeTimeoutError);
    assert.match(spent.message, /GET \/api\/v1\/nodes\/n ran out of time/);
    assert.deepEqual(kube.requests, []);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    // A refused connection is retried (a control plane restarting refuses them) until the budget is spent. The
    // budget's clock stands still until the second attempt is on its way, then the test ends it: each attempt
    // keeps its full time to be refused, however busy the machine.
    let clock = 0;
    const sends: string[] = [];
    const nowhere = KubernetesClient.fromKubeconfig(
      { path: writeKubeconfig(tmp(), { server: `http://127.0.0.1:${port}` }) },
      {
        budget: new Deadline(20_000, () => clock),
        debug: (line) => {
          if (sends.push(line) === 2) clock += 20_000;
        },
      },
    );
    const refused = await rejection(nowhere.get('v1', 'Node', 'n'));
    assert.ok(refused instanceof KubeConnectionError, String(refused));
    assert.match(refused.message, /ECONNREFUSED/);
    assert.deepEqual(
      sends,
      ['GET /api/v1/nodes/n', 'GET /api/v1/nodes/n'],
      'sent again once, then out of time',
    );
  });
});

test('a request the server never answers is aborted when its budget runs out, naming the call', async (t) => {
  const { url, held, received } = await silentServer(t);
  /** Resolves once the server has been sent `count` requests; fails if `call` settles first. */
  const sent = async (count: number, call: Promise<unknown>): Promise<void> => {
    const outcome = await Promise.race([received(count).then(() => 'sent'), call.then(() => 'settled')]);
    assert.equal(outcome, 'sent', `the call ended before the server was sent ${count} request(s)`);
  };
  // The budget's clock (and the transport's timer) move only when the test says: the budget runs out once the
  // server holds the request, however long a busy machine takes to send it.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const client = KubernetesClient.fromKubeconfig(
    { path: writeKubeconfig(tmp(), { server: url }) },
    { budget: new Deadline(300) },
  );
  const call = rejection(client.get('v1', 'PersistentVolume', 'pv'));
  await sent(1, call);
  t.mock.timers.tick(300);
  const error = await call;
  t.mock.timers.reset();
  assert.ok(error instanceof KubeTimeoutError);
  assert.match(error.message, /^GET \/api\/v1\/persistentvolumes\/pv ran out of time/);
  assert.equal(held.length, 1, 'the request reached the server, once');
  // The per-request cap ends one attempt; a read is sent again while the budget lasts. The budget's clock stands
  // still (the 200 ms cap is real time) until the read was sent twice, then the test ends it.
  const sentBefore = held.length;
  let clock = 0;
  const capped = KubernetesClient.fromKubeconfig(
    { path: writeKubeconfig(tmp(), { server: url }) },
    { budget: new Deadline(1500, () => clock), requestTimeoutMs: 200 },
  );
  const cappedCall = rejection(capped.get('v1', 'Node', 'n'));
  await sent(sentBefore + 2, cappedCall); // a hung read is sent again after its own timeout
  clock += 1500;
  const cappedError = await cappedCall;
  assert.ok(cappedError instanceof KubeTimeoutError, 'the per-request cap too');
  assert.match(
    cappedError.message,
    /^GET \/api\/v1\/nodes\/n (got no answer within the 200 ms request timeout|ran out of time)/,
  );
  assert.ok(!isTransientKubeError(error), 'the run being out of time is not');
  client.close();
  capped.close();
});

test('a watch the server never answers ends at its budget as a deadline, not an error', async (t) => {
  const { url, held, received } = await silentServer(t);
  // The budget runs out once the server holds the watch, before it sent even its headers.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const client = KubernetesClient.fromKubeconfig(
    { path: writeKubeconfig(tmp(), { server: url }) },
    { budget: new Deadline(300) },
  );
  const watching = client.watch(
    'v1',
    'ConfigMap',
    { namespace: 'default', resourceVersion: '1' },
    () => false,
  );
  assert.equal(await Promise.race([received(1).then(() => 'held'), watching.then(() => 'ended')]), 'held');
  t.mock.timers.tick(300);
  const outcome = await watching;
  t.mock.timers.reset();
  assert.equal(outcome.end, 'deadline');
  assert.equal(held.length, 1);
  client.close();
});

describe(
  'over TLS: client certificates, CA, bearer tokens and exec plugins',
  { skip: !opensslAvailable() && 'openssl is not installed' },
  () => {
    let kube: KubeStandIn;
    let tls: TlsListener;
    let pki: TestPki;
    let dir: string;

    before(async () => {
      dir = tmp();
      pki = makeTestPki(dir);
      kube = await startKubeStandIn();
      tls = await kube.listenTls({
        cert: pki.serverCert,
        key: pki.serverKey,
        clientCa: pki.caCert,
        tokens: ['static-token', 'exec-token'],
      });
    });
    after(async () => {
      await kube?.close();
    });

    const ca = (): string => pki.caCert.toString('base64');

    test('client certificate and CA from files; one keep-alive connection for many requests', async () => {
      const file = writeKubeconfig(
        dir,
        { server: tls.url, 'certificate-authority': pki.files.caCert },
        { 'client-certificate': pki.files.clientCert, 'client-key': pki.files.clientKey },
        'certs',
      );
      const client = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget() });
      const before = tls.connections();
      tls.identities.length = 0;
      for (let i = 0; i < 5; i++) assert.ok(await client.get('v1', 'Namespace', 'default'));
      assert.deepEqual(tls.identities, Array(5).fill('cert:skyha-test'));
      assert.equal(tls.connections() - before, 1, 'five requests, one TLS connection');
      client.close();
    });

    test('a bearer token; without credentials 401 Unauthorized; an untrusted server is refused', async () => {
      const token = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { server: tls.url, 'certificate-authority-data': ca() },
            { token: 'static-token' },
            'token',
          ),
        },
        { budget: budget() },
      );
      tls.identities.length = 0;
      assert.ok(await token.get('v1', 'Namespace', 'default'));
      assert.deepEqual(tls.identities, ['token:0']);
      const anonymous = KubernetesClient.fromKubeconfig(
        { path: writeKubeconfig(dir, { server: tls.url, 'certificate-authority-data': ca() }, {}, 'anon') },
        { budget: budget() },
      );
      const denied = await rejection(anonymous.get('v1', 'Namespace', 'default'));
      assert.ok(isKubeReason(denied, 'Unauthorized'));
      assert.match((denied as KubeApiError).hint ?? '', /credentials/);
      const untrusted = KubernetesClient.fromKubeconfig(
        { path: writeKubeconfig(dir, { server: tls.url }, { token: 'static-token' }, 'untrusted') },
        { budget: budget() },
      );
      const refused = await rejection(untrusted.get('v1', 'Namespace', 'default'));
      assert.ok(refused instanceof KubeConnectionError);
      const insecure = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { server: tls.url, 'insecure-skip-tls-verify': true },
            { token: 'static-token' },
            'insecure',
          ),
        },
        { budget: budget() },
      );
      assert.ok(await insecure.get('v1', 'Namespace', 'default'));
      for (const c of [token, anonymous, untrusted, insecure]) c.close();
    });

    test('tls-server-name checks the certificate against that name instead of the address', async () => {
      const server = { server: tls.url, 'certificate-authority-data': ca() };
      const named = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { ...server, 'tls-server-name': 'kubernetes.standin' },
            { token: 'static-token' },
            'sni',
          ),
        },
        { budget: budget() },
      );
      assert.ok(await named.get('v1', 'Namespace', 'default'));
      const wrong = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { ...server, 'tls-server-name': 'other.example' },
            { token: 'static-token' },
            'sni-wrong',
          ),
        },
        { budget: budget() },
      );
      const refused = await rejection(wrong.get('v1', 'Namespace', 'default'));
      assert.ok(refused instanceof KubeConnectionError);
      assert.match(String((refused.cause as Error).message), /other\.example/);
      named.close();
      wrong.close();
    });

    /** A plugin that counts its runs in <dir>/runs and prints the tokens of `tokens` in turn. */
    function execPlugin(
      name: string,
      apiVersion: string,
      tokens: string[],
      expiresInMs: number,
    ): { command: string; runs: () => number; info: () => Record<string, unknown> } {
      const runs = path.join(dir, `${name}.runs`);
      const info = path.join(dir, `${name}.info`);
      const expiry = new Date(Date.now() + expiresInMs).toISOString();
      const command = path.join(dir, name);
      const list = tokens.map((t) => `"${t}"`).join(' ');
      fs.writeFileSync(
        command,
        `#!/bin/sh
echo run >> '${runs}'
printf '%s' "$KUBERNETES_EXEC_INFO" > '${info}'
n=$(wc -l < '${runs}')
set -- ${list}
shift $(( (n - 1) % $# ))
printf '{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"${expiry}"}}' "$1"
`,
        { mode: 0o755 },
      );
      return {
        command,
        runs: () => (fs.existsSync(runs) ? fs.readFileSync(runs, 'utf8').trim().split('\n').length : 0),
        info: () => JSON.parse(fs.readFileSync(info, 'utf8')) as Record<string, unknown>,
      };
    }

    test('an exec plugin runs once for concurrent requests and its token is cached until expirationTimestamp', async () => {
      const plugin = execPlugin('plugin-v1', 'client.authentication.k8s.io/v1', ['exec-token'], 3_600_000);
      let clock = Date.now();
      const exec = {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: plugin.command,
        interactiveMode: 'Never',
        provideClusterInfo: true,
      };
      const file = writeKubeconfig(
        dir,
        { server: tls.url, 'certificate-authority-data': ca() },
        { exec },
        'exec',
      );
      const client = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget(), now: () => clock });
      tls.identities.length = 0;
      await Promise.all([1, 2, 3].map(() => client.get('v1', 'Namespace', 'default')));
      await client.get('v1', 'Namespace', 'skypilot');
      assert.equal(plugin.runs(), 1);
      assert.deepEqual(tls.identities, Array(4).fill('token:1'));
      const info = plugin.info();
      assert.equal(info.kind, 'ExecCredential');
      assert.deepEqual((info.spec as { interactive?: boolean }).interactive, false);
      assert.equal(((info.spec as { cluster?: { server?: string } }).cluster ?? {}).server, tls.url);
      clock += 3_600_000 + 1000;
      await client.get('v1', 'Namespace', 'default');
      assert.equal(plugin.runs(), 2, 'expired: the plugin runs again');
      assert.equal(client.credentialPluginRuns, 2);
      client.close();
    });

    test('a v1beta1 plugin whose token the server refuses is asked once more after the 401', async () => {
      const plugin = execPlugin(
        'plugin-beta',
        'client.authentication.k8s.io/v1beta1',
        ['revoked-token', 'exec-token'],
        3_600_000,
      );
      const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin.command };
      const file = writeKubeconfig(
        dir,
        { server: tls.url, 'certificate-authority-data': ca() },
        { exec },
        'exec-beta',
      );
      const client = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget() });
      tls.identities.length = 0;
      assert.ok(await client.get('v1', 'Namespace', 'default'));
      assert.deepEqual(tls.identities, ['rejected', 'token:1']);
      assert.equal(plugin.runs(), 2);
      client.close();
    });

    test('a failing plugin is reported with its stderr and install hint', async () => {
      const command = path.join(dir, 'broken-plugin');
      fs.writeFileSync(command, '#!/bin/sh\necho "not logged in: run gcloud auth login" >&2\nexit 1\n', {
        mode: 0o755,
      });
      const exec = {
        apiVersion: 'client.authentication.k8s.io/v1',
        command,
        installHint: 'Install broken-plugin',
        interactiveMode: 'IfAvailable',
      };
      const client = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { server: tls.url, 'certificate-authority-data': ca() },
            { exec },
            'broken',
          ),
        },
        { budget: budget() },
      );
      const error = await rejection(client.get('v1', 'Namespace', 'default'));
      assert.ok(error instanceof ActionError);
      assert.match(error.message, /exited with code 1: not logged in: run gcloud auth login/);
      assert.equal(error.hint, 'Install broken-plugin');
      const missing = KubernetesClient.fromKubeconfig(
        {
          path: writeKubeconfig(
            dir,
            { server: tls.url },
            { exec: { ...exec, command: 'no-such-plugin-xyz', installHint: undefined } },
            'missing',
          ),
        },
        { budget: budget() },
      );
      const notFound = await rejection(missing.get('v1', 'Namespace', 'default'));
      assert.match((notFound as ActionError).message, /no-such-plugin-xyz was not found/);
      assert.match((notFound as ActionError).hint ?? '', /gke-gcloud-auth-plugin/);
    });

    /** An HTTP CONNECT proxy that records its tunnels and resolves kubernetes.standin to 127.0.0.1. */
    async function connectProxy(t: {
      after: (fn: () => void) => void;
    }): Promise<{ url: string; tunnels: string[] }> {
      const tunnels: string[] = [];
      const proxy = http.createServer();
      proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        tunnels.push(req.url ?? '');
        const [host, port] = (req.url ?? '').split(':');
        const upstream = net.connect(Number(port), host === 'kubernetes.standin' ? '127.0.0.1' : host, () => {
          socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(socket);
          socket.pipe(upstream);
        });
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      t.after(() => {
        proxy.closeAllConnections();
        proxy.close();
      });
      return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, tunnels };
    }

    test('proxy-url: requests to an https server go through an HTTP CONNECT tunnel', async (t) => {
      const proxy = await connectProxy(t);
      const file = writeKubeconfig(
        dir,
        { server: tls.url, 'certificate-authority-data': ca(), 'proxy-url': proxy.url },
        { token: 'static-token' },
        'proxied',
      );
      const client = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget() });
      assert.ok(await client.get('v1', 'Namespace', 'default'));
      assert.equal(await client.get('v1', 'Namespace', 'not-there'), undefined);
      assert.deepEqual(proxy.tunnels, [new URL(tls.url).host], 'one tunnel, kept alive for both requests');
      client.close();
    });

    test('HTTPS_PROXY is used as kubectl uses it, and NO_PROXY bypasses it', async (t) => {
      const proxy = await connectProxy(t);
      const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
      t.after(() => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) Reflect.deleteProperty(process.env, key);
          else process.env[key] = value;
        }
      });
      const server = `https://kubernetes.standin:${new URL(tls.url).port}`;
      const file = writeKubeconfig(
        dir,
        { server, 'certificate-authority-data': ca() },
        { token: 'static-token' },
        'env-proxy',
      );
      process.env.HTTPS_PROXY = proxy.url;
      delete process.env.NO_PROXY;
      const proxied = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget() });
      assert.ok(await proxied.get('v1', 'Namespace', 'default'), 'the name resolves only through the proxy');
      assert.deepEqual(proxy.tunnels, [`kubernetes.standin:${new URL(tls.url).port}`]);
      proxied.close();
      process.env.NO_PROXY = 'example.org,.standin';
      const bypassed = KubernetesClient.fromKubeconfig({ path: file }, { budget: budget() });
      const error = await rejection(bypassed.get('v1', 'Namespace', 'default'));
      assert.ok(error instanceof KubeConnectionError, 'without the proxy the name does not resolve');
      assert.equal(proxy.tunnels.length, 1);
      bypassed.close();
    });
  },
);
