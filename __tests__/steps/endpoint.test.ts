import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { realBinaries, type HelmFlavour } from '../../standins/binaries.js';
import { startChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError } from '../../src/lib/errors.js';
import { Helm } from '../../src/clients/helm.js';
import { deployRelease } from '../support/steps.js';
import { applyPersistentVolumePlan, planPersistentVolume } from '../../src/steps/persistentVolume.js';
import { kubeClientOf, toolEnv } from '../support/clients.js';
import { LB_HTTP_PORT, lbUrlPattern, needsLoadBalancerAddresses } from '../support/network.js';
import {
  discoverServerUrl,
  loginCommand,
  serverUrlFromService,
  waitForHealth,
  type NodeObject,
  type ServiceObject,
} from '../../src/steps/endpoint.js';

const LB: ServiceObject = {
  spec: {
    type: 'LoadBalancer',
    ports: [
      { name: 'http', port: 80, nodePort: 31080 },
      { name: 'https', port: 443 },
    ],
  },
};
const NODES: NodeObject[] = [
  {
    status: {
      addresses: [
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: '10.0.0.5' },
      ],
    },
  },
  {
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.0.0.6' },
        { type: 'ExternalIP', address: '34.1.2.3' },
      ],
    },
  },
];

test('serverUrlFromService: LoadBalancer IP or hostname, NodePort with a node address, never credentials', () => {
  assert.equal(serverUrlFromService(LB, []), undefined);
  assert.equal(
    serverUrlFromService({ ...LB, status: { loadBalancer: { ingress: [{ ip: '34.9.8.7' }] } } }, []),
    'http://34.9.8.7',
  );
  assert.equal(
    serverUrlFromService(
      { ...LB, status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } } },
      [],
    ),
    'http://lb.example.com',
  );
  assert.equal(
    serverUrlFromService(
      {
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 8080 }] },
        status: { loadBalancer: { ingress: [{ ip: '2600::1' }] } },
      },
      [],
    ),
    'http://[2600::1]:8080',
  );
  const nodePort: ServiceObject = { spec: { ...LB.spec, type: 'NodePort' } };
  assert.equal(serverUrlFromService(nodePort, NODES), 'http://34.1.2.3:31080', 'an ExternalIP is preferred');
  assert.equal(serverUrlFromService(nodePort, NODES.slice(0, 1)), 'http://10.0.0.5:31080');
  assert.equal(serverUrlFromService(nodePort, []), undefined);
});

test('serverUrlFromService with a static address: no URL until the Service shows that IP', () => {
  const at = (ip: string): ServiceObject => ({ ...LB, status: { loadBalancer: { ingress: [{ ip }] } } });
  assert.equal(serverUrlFromService(at('34.9.8.7'), [], '34.1.2.3'), undefined, 'still the old address');
  assert.equal(serverUrlFromService(LB, [], '34.1.2.3'), undefined);
  assert.equal(serverUrlFromService(at('34.1.2.3'), [], '34.1.2.3'), 'http://34.1.2.3');
});

test('loginCommand: a placeholder for the password (and for the user an htpasswd Secret holds)', () => {
  for (const [url, user, want] of [
    ['http://34.9.8.7', 'skypilot', "sky api login -e 'http://skypilot:<password>@34.9.8.7'"],
    ['http://10.0.0.5:31080', 'a@b', "sky api login -e 'http://a%40b:<password>@10.0.0.5:31080'"],
    ['http://34.9.8.7:8080', undefined, "sky api login -e 'http://<user>:<password>@34.9.8.7:8080'"],
    ['https://sky.example.com', 'ci+bot', "sky api login -e 'https://ci%2Bbot:<password>@sky.example.com'"],
  ] as const) {
    assert.equal(loginCommand(url, user), want);
  }
});

/**
 * A tiny /api/health server with basic auth: answers `script` in order, then the last entry forever; `answered` is
 * told after each answer is sent.
 */
async function healthServer(
  script: { status: number; body?: unknown }[],
  password = 'pw-Secret-1',
  answered: (count: number) => void = () => undefined,
) {
  const seen: (string | undefined)[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    const expected = `Basic ${Buffer.from(`skypilot:${password}`).toString('base64')}`;
    if (req.url !== '/api/health') return void res.writeHead(404).end();
    if (req.headers.authorization !== expected)
      return void res.writeHead(401).end('401 Authorization Required');
    const step = script[Math.min(i++, script.length - 1)]!;
    res.writeHead(step.status, { 'content-type': 'application/json' }).end(JSON.stringify(step.body ?? {}));
    answered(i);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, seen };
}

const HEALTHY = { status: 'healthy', api_version: '11', version: '1.0.0.dev20250218', commit: 'abc123' };

test('waitForHealth polls through 503 and unhealthy until healthy, with basic auth', async () => {
  const server = await healthServer([
    { status: 503 },
    { status: 200, body: { status: 'unhealthy' } },
    { status: 200, body: HEALTHY },
  ]);
  const health = await waitForHealth(
    server.url,
    { username: 'skypilot', password: 'pw-Secret-1' },
    new Deadline(20_000),
    {
      pollMs: 10,
    },
  );
  assert.deepEqual(health, {
    url: server.url,
    version: '1.0.0.dev20250218',
    apiVersion: '11',
    commit: 'abc123',
  });
  assert.equal(server.seen.length, 3);
});

test('wrong credentials are a clear auth error, not a timeout', async () => {
  const server = await healthServer([{ status: 200, body: HEALTHY }], 'the-real-one');
  await assert.rejects(
    waitForHealth(server.url, { username: 'skypilot', password: 'pw-Secret-1' }, new Deadline(60_000), {
      pollMs: 10,
    }),
    (e: unknown) => e instanceof ActionError && /rejects the web-username\/web-password/.test(e.message),
  );
});

test('a server that never gets healthy fails at the deadline, naming the last answer', async () => {
  // The deadline's clock moves when the test says: it runs out once the server has answered twice (it was asked
  // again), however long a busy machine takes; 20 s of it leaves each poll's socket timeout its full 10 s.
  let clock = 0;
  const server = await healthServer([{ status: 200, body: { status: 'unhealthy' } }], undefined, (count) => {
    if (count === 2) clock += 20_000;
  });
  await assert.rejects(
    waitForHealth(
      server.url,
      { username: 'skypilot', password: 'pw-Secret-1' },
      new Deadline(20_000, () => clock),
      { pollMs: 20 },
    ),
    (e: unknown) =>
      e instanceof ActionError &&
      /not healthy within 20s/.test(e.message) &&
      /status unhealthy/.test(e.message),
  );
  assert.equal(server.seen.length, 2, 'asked again until the deadline, not after it');
});

test('nothing listening is retried until the deadline', async () => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  // No server to watch: the deadline's clock moves 5 s each time it is read, so the deadline runs out after a few
  // refused polls whatever the machine's speed, and each poll keeps a socket timeout of seconds.
  let clock = 0;
  await assert.rejects(
    waitForHealth(
      `http://127.0.0.1:${port}`,
      { username: 'skypilot', password: 'x' },
      new Deadline(20_000, () => (clock += 5000)),
      { pollMs: 20 },
    ),
    /not healthy within.*ECONNREFUSED/s,
  );
});

test('with auth-secret and no password, a 401 means up but unchecked', async () => {
  const server = await healthServer([{ status: 200, body: HEALTHY }]);
  const health = await waitForHealth(
    server.url,
    { username: 'skypilot', password: undefined },
    new Deadline(5000),
    { pollMs: 10 },
  );
  assert.equal(health.version, undefined);
  assert.equal(server.seen[0], undefined);
});

function clientsFor(kube: KubeStandIn, bins: { kubectl: string; helm: string }, dir: string) {
  const kubeconfig = kube.writeKubeconfig(dir);
  const env = toolEnv(dir);
  return {
    kube: kubeClientOf(kubeconfig),
    helm: new Helm(bins.helm, { kubeconfig, env }),
  };
}

function controllerService(type: 'LoadBalancer' | 'NodePort'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'skypilot-ingress-nginx-controller',
      namespace: 'skypilot',
      // The stand-in's ingress finds controllers by the subchart's labels, as ingress-nginx is deployed.
      labels: {
        'app.kubernetes.io/name': 'ingress-nginx',
        'app.kubernetes.io/component': 'controller',
        'app.kubernetes.io/instance': 'skypilot',
      },
    },
    spec: {
      type,
      selector: { app: 'ingress' },
      ports: [
        {
          name: 'http',
          port: LB_HTTP_PORT,
          targetPort: 80,
          protocol: 'TCP',
          ...(type === 'NodePort' ? { nodePort: 31080 } : {}),
        },
      ],
    },
  };
}

describe('discoverServerUrl against the Kubernetes stand-in', () => {
  const dirs: string[] = [];
  const stands: KubeStandIn[] = [];
  after(async () => {
    await Promise.all(stands.map((k) => k.close()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  async function setup(options: Parameters<typeof startKubeStandIn>[0]) {
    const kube = await startKubeStandIn(options);
    stands.push(kube);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-endpoint-test-'));
    dirs.push(dir);
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skypilot' } });
    const { kube: client } = clientsFor(kube, await realBinaries('helm4'), dir);
    return { kube, client };
  }
  const target = { release: 'skypilot', namespace: 'skypilot', service: 'skypilot-ingress-nginx-controller' };

  test('sees the LoadBalancer address through a watch: one read of the Service, never a second', async () => {
    const { kube, client } = await setup({ loadBalancerDelayMs: 300 });
    kube.put(controllerService('LoadBalancer'));
    kube.clearRequests();
    const url = await discoverServerUrl(client, target, new Deadline(60_000));
    // As root the port is 80 and the URL has none; a normal user's high port is in it.
    assert.match(url, lbUrlPattern);
    const service = /^\/api\/v1\/namespaces\/skypilot\/services(\/skypilot-ingress-nginx-controller)?$/;
    const reads = kube.requests.filter((r) => service.test(r.path));
    const watches = reads.filter((r) => /(^|&)watch=(true|1)(&|$)/.test(r.query));
    // The first read found no address (the cloud takes 300 ms); the address came as a watch event.
    assert.equal(reads.length - watches.length, 1, reads.map((r) => `${r.path}?${r.query}`).join('\n'));
    assert.ok(watches.length >= 1, 'no watch of the Service');
  });

  test('NodePort: a node address and the http nodePort', async () => {
    const { kube, client } = await setup({});
    kube.put(controllerService('NodePort'));
    const url = await discoverServerUrl(client, target, new Deadline(60_000));
    assert.match(url, /^http:\/\/[\d.]+:31080$/);
  });

  test('a LoadBalancer that never gets an address is a clear timeout error naming the Service', async () => {
    const { kube, client } = await setup({ loadBalancer: 'never' });
    kube.put(controllerService('LoadBalancer'));
    await assert.rejects(
      discoverServerUrl(client, target, new Deadline(1500)),
      (e: unknown) =>
        e instanceof ActionError &&
        /Service skypilot-ingress-nginx-controller got no LoadBalancer address/.test(e.message) &&
        /NodePort/.test(e.hint ?? ''),
    );
  });
});

for (const flavour of ['helm4', 'helm3'] as HelmFlavour[]) {
  test(`the runbook end to end with ${flavour}: volume, release, server URL, health with basic auth`, async (t) => {
    if (needsLoadBalancerAddresses) return t.skip(needsLoadBalancerAddresses);
    const bins = await realBinaries(flavour);
    const kube = await startKubeStandIn({ nodeZone: 'us-central1-a' });
    const repo = await startChartRepo(bins.helm);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-endpoint-e2e-'));
    t.after(async () => {
      await kube.close();
      await repo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const { kube: client, helm } = clientsFor(kube, bins, dir);
    const deadline = new Deadline(120_000);
    const volume = {
      name: 'sky-api-server-pv',
      storageClassName: 'sky-api-server-pv-class',
      diskPath: 'projects/proj-123/zones/us-central1-a/disks/sky-api-server-state',
      sizeGb: 10,
      zones: ['us-central1-a'],
      claim: { namespace: 'skypilot', name: 'skypilot-state' },
    };
    const pv = await applyPersistentVolumePlan(client, volume.name, planPersistentVolume(volume, undefined));
    const auth = { username: 'skypilot', password: 'e2e-Passw0rd', authSecret: undefined };
    await deployRelease(
      helm,
      client,
      {
        name: 'skypilot',
        namespace: 'skypilot',
        chart: 'skypilot/skypilot-nightly',
        chartVersion: undefined,
        repoUrl: repo.url,
        // Port 80 needs root: a normal user's load balancer listens on a high port, which the URL then carries.
        values: {
          apiService: { skipResourceCheck: true },
          'ingress-nginx': { controller: { service: { ports: { http: LB_HTTP_PORT } } } },
        },
        valuesFiles: [],
        fileValues: [],
        serviceType: 'LoadBalancer',
        storage: { ...pv.claimFit, volumeName: pv.name },
        auth,
      },
      { deadline },
    );
    const target = {
      release: 'skypilot',
      namespace: 'skypilot',
      service: 'skypilot-ingress-nginx-controller',
    };
    const url = await discoverServerUrl(client, target, deadline);
    assert.doesNotMatch(url, /@|e2e-Passw0rd/);
    assert.match(url, lbUrlPattern);
    const health = await waitForHealth(url, auth, deadline, { pollMs: 50, kube: client, target });
    assert.equal(health.url, url);
    assert.ok(health.version);
    assert.equal(health.apiVersion, '16');
    await assert.rejects(
      waitForHealth(url, { ...auth, password: 'wrong' }, new Deadline(30_000), { pollMs: 10 }),
      /rejects the web-username\/web-password/,
    );
  });
}

test('an unhealthy server fails at the deadline after printing pods, events and logs', async (t) => {
  const bins = await realBinaries('helm4');
  const kube = await startKubeStandIn({ healthStatus: 'unhealthy' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-endpoint-diag-'));
  t.after(async () => {
    await kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const { kube: client } = clientsFor(kube, bins, dir);
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skypilot' } });
  kube.put({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'skypilot-api-server', namespace: 'skypilot' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'skypilot-api' } },
      template: {
        metadata: { labels: { app: 'skypilot-api' } },
        spec: { containers: [{ name: 'api', image: 'skypilot:1' }] },
      },
    },
  });
  kube.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'skypilot-api-service', namespace: 'skypilot' },
    spec: { selector: { app: 'skypilot-api' }, ports: [{ port: 80, targetPort: 46580 }] },
  });
  kube.put({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'skypilot-ingress', namespace: 'skypilot' },
    spec: {
      ingressClassName: 'nginx',
      defaultBackend: { service: { name: 'skypilot-api-service', port: { number: 80 } } },
    },
  });
  kube.put(controllerService('LoadBalancer'));
  const target = { release: 'skypilot', namespace: 'skypilot', service: 'skypilot-ingress-nginx-controller' };
  const url = await discoverServerUrl(client, target, new Deadline(30_000));
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    chunks.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  try {
    await assert.rejects(
      // 1 s to get healthy, then the run's reserve, where the diagnostics run.
      waitForHealth(
        url,
        { username: 'skypilot', password: undefined },
        new Deadline(11_000, Date.now, 10_000),
        {
          pollMs: 100,
          kube: client,
          target,
        },
      ),
      /not healthy within .*status unhealthy/,
    );
  } finally {
    process.stdout.write = write;
  }
  const log = chunks.join('');
  assert.match(log, /--- pods/);
  assert.match(log, /skypilot-api-server/);
  assert.match(log, /--- recent events/);
  assert.match(log, /--- last log lines of deploy\/skypilot-api-server/);
});
