import aprMd5 from 'apache-md5';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startChartRepo, type ChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { field, runTool, toolsFor, type Obj } from '../support/kubeTools.js';
import { describeLB, LB_HTTP_PORT, lbUrl } from '../support/network.js';

const password = randomBytes(9).toString('hex');
const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const good = { Authorization: basic('admin', password) };

const nginxLabels = (instance: string): Obj => ({
  'app.kubernetes.io/name': 'ingress-nginx',
  'app.kubernetes.io/component': 'controller',
  'app.kubernetes.io/instance': instance,
});

/** The subchart's controller: a Service (found by labels) and, unless `args` is null, its Deployment. */
function putController(
  kube: KubeStandIn,
  namespace: string,
  instance: string,
  options: {
    serviceName?: string;
    args?: string[] | null;
    type?: 'LoadBalancer' | 'NodePort';
    nodePort?: number;
  } = {},
): void {
  const serviceName = options.serviceName ?? `${instance}-nginx-edge`;
  kube.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName, namespace, labels: nginxLabels(instance) },
    spec: {
      type: options.type ?? 'LoadBalancer',
      selector: nginxLabels(instance),
      ports: [
        {
          name: 'http',
          port: LB_HTTP_PORT,
          targetPort: 'http',
          ...(options.nodePort ? { nodePort: options.nodePort } : {}),
        },
        { name: 'https', port: 443, targetPort: 'https' },
      ],
    },
  });
  if (options.args === null) return;
  const args = options.args ?? [
    '/nginx-ingress-controller',
    `--publish-service=$(POD_NAMESPACE)/${serviceName}`,
    `--election-id=${instance}-leader`,
    '--controller-class=k8s.io/ingress-nginx',
    '--ingress-class=nginx',
  ];
  kube.put({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${instance}-nginx-controller`, namespace, labels: nginxLabels(instance) },
    spec: {
      selector: { matchLabels: nginxLabels(instance) },
      template: {
        metadata: { labels: nginxLabels(instance) },
        spec: {
          containers: [
            {
              name: 'controller',
              image: 'registry.k8s.io/ingress-nginx/controller:v1.11.3',
              args,
              env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
            },
          ],
        },
      },
    },
  });
}

function putIngressClass(kube: KubeStandIn, name: string, controller: string, isDefault = false): void {
  kube.put({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    spec: { controller },
  });
}

/** A SkyPilot API server under names the test picks: Deployment, pod label, Service. */
function putServer(
  kube: KubeStandIn,
  namespace: string,
  name: string,
  options: { image?: string; env?: Obj[] } = {},
): void {
  kube.put({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { server: name } },
      template: {
        metadata: { labels: { server: name } },
        spec: {
          containers: [
            {
              name: 'api',
              image: options.image ?? 'berkeleyskypilot/skypilot-nightly:1.0.0.dev20250301',
              env: options.env ?? [],
            },
          ],
        },
      },
    },
  });
  kube.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${name}-svc`, namespace },
    spec: { selector: { server: name }, ports: [{ name: 'web', port: 8080, targetPort: 46580 }] },
  });
}

function backend(service: string, port: Obj = { number: 8080 }): Obj {
  return { service: { name: service, port } };
}

function putIngress(
  kube: KubeStandIn,
  namespace: string,
  name: string,
  spec: Obj,
  annotations: Obj = {},
): void {
  kube.put({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, annotations },
    spec,
  });
}

const root = (service: string, className?: string): Obj => ({
  ...(className ? { ingressClassName: className } : {}),
  rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend(service) }] } }],
});

function putAuthSecret(kube: KubeStandIn, namespace: string, name: string): void {
  kube.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { auth: `admin:${aprMd5(password)}` },
  });
}

const authAnnotations = (secret: string): Obj => ({
  'nginx.ingress.kubernetes.io/auth-type': 'basic',
  'nginx.ingress.kubernetes.io/auth-secret': secret,
  'nginx.ingress.kubernetes.io/auth-realm': 'SkyPilot API Server',
});

/** The LoadBalancer address of a controller Service, once the simulated ingress listens there. */
async function addressOf(kube: KubeStandIn, namespace: string, service: string): Promise<string> {
  await kube.configure({});
  const ip = field(kube.get('v1', 'Service', namespace, service), 'status.loadBalancer.ingress.0.ip');
  const where = `${String(ip)}:${LB_HTTP_PORT}`;
  assert.ok(kube.ingressAddresses().includes(where), `no listener at ${where}`);
  return lbUrl(ip);
}

/** One HTTP GET through the simulated ingress; node:http, since fetch does not let a test set Host. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function health(url: string, headers: Record<string, string> = good): Promise<Obj> {
  const answer = await get(`${url}/api/health`, headers);
  assert.equal(answer.status, 200, answer.body);
  return JSON.parse(answer.body) as Obj;
}

describeLB('simulated ingress-nginx: controllers by labels, Ingresses by class, routing by rules', () => {
  // A cluster per test: every default-class controller serves every "nginx" Ingress of its cluster.
  let kube: KubeStandIn;
  beforeEach(async () => {
    kube = await startKubeStandIn();
  });
  afterEach(() => kube.close());

  test('controllers are found by the subchart labels under any name, never by a name suffix', async () => {
    putController(kube, 'labels', 'prod', { serviceName: 'edge' });
    kube.put({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'prod-ingress-nginx-controller', namespace: 'labels' },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: LB_HTTP_PORT }] },
    });
    putServer(kube, 'labels', 'server');
    putIngress(kube, 'labels', 'web', root('server-svc', 'nginx'));
    const url = await addressOf(kube, 'labels', 'edge');
    assert.equal((await health(url)).status, 'healthy');
    const unlabelled = field(
      kube.get('v1', 'Service', 'labels', 'prod-ingress-nginx-controller'),
      'status.loadBalancer.ingress.0.ip',
    );
    assert.equal(kube.ingressAddresses().includes(`${String(unlabelled)}:${LB_HTTP_PORT}`), false);
    assert.equal(
      field(kube.get('networking.k8s.io/v1', 'Ingress', 'labels', 'web'), 'status.loadBalancer.ingress.0.ip'),
      field(kube.get('v1', 'Service', 'labels', 'edge'), 'status.loadBalancer.ingress.0.ip'),
    );
  });

  test('health: status alone without credentials, every field with them; the version is never "latest"', async () => {
    putController(kube, 'labels', 'prod', { serviceName: 'edge' });
    putServer(kube, 'labels', 'server');
    putIngress(kube, 'labels', 'web', root('server-svc', 'nginx'));
    const url = await addressOf(kube, 'labels', 'edge');
    const bare = await get(`${url}/api/health`);
    assert.equal(bare.status, 200);
    assert.deepEqual(JSON.parse(bare.body), { status: 'healthy' });
    const full = await health(url, { Authorization: 'Bearer anything' });
    assert.deepEqual(Object.keys(full).sort(), [
      'api_version',
      'basic_auth_enabled',
      'commit',
      'ingress_basic_auth_enabled',
      'latest_version',
      'service_account_token_enabled',
      'status',
      'user',
      'version',
      'version_on_disk',
    ]);
    assert.equal(full.version, '1.0.0.dev20250301');
    assert.equal(full.version_on_disk, '1.0.0.dev20250301');
    assert.match(String(full.commit), /^[0-9a-f]{40}$/);
    assert.equal(full.basic_auth_enabled, false);

    putServer(kube, 'labels', 'server', { image: 'berkeleyskypilot/skypilot-nightly:latest' });
    assert.equal((await health(url)).version, '1.0.0.dev20250218');
    putServer(kube, 'labels', 'server', { image: 'berkeleyskypilot/skypilot-nightly' });
    assert.equal((await health(url)).version, '1.0.0.dev20250218');
    await kube.configure({ skypilotVersion: '0.10.5' });
    assert.equal((await health(url)).version, '0.10.5');
    putServer(kube, 'labels', 'server', {
      image: 'berkeleyskypilot/skypilot-nightly:latest',
      env: [
        { name: 'SKYPILOT_VERSION', value: '1.0.0.dev20250401' },
        { name: 'ENABLE_BASIC_AUTH', value: 'true' },
        { name: 'SKYPILOT_INGRESS_BASIC_AUTH_ENABLED', value: 'true' },
      ],
    });
    const fromEnv = await health(url);
    assert.equal(fromEnv.version, '1.0.0.dev20250401');
    assert.equal(fromEnv.basic_auth_enabled, true);
    assert.equal(fromEnv.ingress_basic_auth_enabled, true);
  });

  test('requests follow the rules: host, then the longest path (Prefix by element, Exact), else 404', async () => {
    putServer(kube, 'paths', 'api-a', { image: 'skypilot:1.0.0.dev1' });
    putServer(kube, 'paths', 'api-b', { image: 'skypilot:1.0.0.dev2' });
    putServer(kube, 'paths', 'api-c', { image: 'skypilot:1.0.0.dev3' });
    putController(kube, 'paths', 'paths');
    putIngress(kube, 'paths', 'routes', {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'sky.example.com',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('api-c-svc') }] },
        },
        {
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: backend('api-a-svc') },
              { path: '/api/health', pathType: 'Exact', backend: backend('api-b-svc') },
              { path: '/admin', pathType: 'Prefix', backend: backend('api-c-svc') },
            ],
          },
        },
      ],
    });
    const url = await addressOf(kube, 'paths', 'paths-nginx-edge');
    assert.equal((await health(url)).version, '1.0.0.dev2');
    assert.equal((await health(url, { ...good, Host: 'sky.example.com' })).version, '1.0.0.dev3');
    // Prefix matches whole path elements: /administrator is not under /admin, so it goes to "/".
    assert.equal((await get(`${url}/administrator`)).body, JSON.stringify({ detail: 'Not Found' }));

    putIngress(kube, 'paths', 'routes', {
      ingressClassName: 'nginx',
      rules: [{ http: { paths: [{ path: '/only', pathType: 'Prefix', backend: backend('api-a-svc') }] } }],
    });
    const unmatched = await get(`${url}/api/health`);
    assert.equal(unmatched.status, 404);
    assert.match(unmatched.body, /<center>nginx<\/center>/);
  });

  test('a backend without ready pods, a missing Service or a wrong port is 503 from nginx', async () => {
    putController(kube, 'down', 'down');
    putServer(kube, 'down', 'server');
    putIngress(kube, 'down', 'web', root('server-svc', 'nginx'));
    const url = await addressOf(kube, 'down', 'down-nginx-edge');
    await kube.configure({ deploymentAvailable: false });
    assert.equal((await get(`${url}/api/health`, good)).status, 503);
    await kube.configure({ deploymentAvailable: true });
    assert.equal((await get(`${url}/api/health`, good)).status, 200);
    putIngress(kube, 'down', 'web', {
      ingressClassName: 'nginx',
      defaultBackend: backend('server-svc', { number: 80 }),
    });
    assert.equal((await get(`${url}/api/health`, good)).status, 503);
    putIngress(kube, 'down', 'web', {
      ingressClassName: 'nginx',
      defaultBackend: backend('server-svc', { name: 'web' }),
    });
    assert.equal((await get(`${url}/api/health`, good)).status, 200);
    putIngress(kube, 'down', 'web', root('no-such-svc', 'nginx'));
    assert.equal((await get(`${url}/api/health`, good)).status, 503);
  });

  test("basic auth comes from the matched Ingress's annotations: name, namespace/name, or a missing secret", async () => {
    putController(kube, 'auth', 'auth');
    putServer(kube, 'auth', 'server');
    putAuthSecret(kube, 'auth', 'local-auth');
    putAuthSecret(kube, 'secrets', 'shared-auth');
    putIngress(kube, 'auth', 'web', root('server-svc', 'nginx'), authAnnotations('local-auth'));
    const url = await addressOf(kube, 'auth', 'auth-nginx-edge');
    const denied = await fetch(`${url}/api/health`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Basic realm="SkyPilot API Server"');
    await denied.body?.cancel();
    assert.equal((await get(`${url}/api/health`, { Authorization: basic('admin', 'wrong') })).status, 401);
    assert.equal((await health(url)).status, 'healthy');

    putIngress(kube, 'auth', 'web', root('server-svc', 'nginx'), authAnnotations('secrets/shared-auth'));
    assert.equal((await get(`${url}/api/health`)).status, 401);
    assert.equal((await health(url)).status, 'healthy');

    // ingress-nginx denies a location whose auth secret it cannot read: 503 even with good credentials.
    putIngress(kube, 'auth', 'web', root('server-svc', 'nginx'), authAnnotations('gone'));
    assert.equal((await get(`${url}/api/health`, good)).status, 503);
  });

  test('an IngressClass of another controller, or no class at all, is not served; the default class is admitted', async () => {
    putController(kube, 'classes', 'classes');
    putServer(kube, 'classes', 'server');
    putIngressClass(kube, 'elsewhere', 'example.com/other-controller');
    putIngress(kube, 'classes', 'web', root('server-svc', 'elsewhere'));
    const url = await addressOf(kube, 'classes', 'classes-nginx-edge');
    assert.equal((await get(`${url}/api/health`, good)).status, 404);
    assert.deepEqual(field(kube.get('networking.k8s.io/v1', 'Ingress', 'classes', 'web'), 'status'), {
      loadBalancer: {},
    });
    putIngress(kube, 'classes', 'web', root('server-svc'));
    assert.equal((await get(`${url}/api/health`, good)).status, 404);
    putIngress(kube, 'classes', 'web', root('server-svc'), { 'kubernetes.io/ingress.class': 'nginx' });
    assert.equal((await get(`${url}/api/health`, good)).status, 200);

    kube.remove('networking.k8s.io/v1', 'Ingress', 'classes', 'web');
    putIngressClass(kube, 'house', 'k8s.io/ingress-nginx', true);
    putIngress(kube, 'classes', 'web', root('server-svc'));
    assert.equal(
      field(kube.get('networking.k8s.io/v1', 'Ingress', 'classes', 'web'), 'spec.ingressClassName'),
      'house',
    );
    assert.equal((await get(`${url}/api/health`, good)).status, 200);
    kube.remove('networking.k8s.io/v1', 'IngressClass', undefined, 'house');
  });
});

describeLB('simulated ingress-nginx: a drill controller beside production, each with an IngressClass', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
    putIngressClass(kube, 'nginx', 'k8s.io/ingress-nginx');
    putIngressClass(kube, 'nginx-drill', 'k8s.io/ingress-nginx-drill');
    putController(kube, 'skypilot', 'skypilot');
    putController(kube, 'skypilot-drill', 'drill', {
      args: [
        '/nginx-ingress-controller',
        '--publish-service=$(POD_NAMESPACE)/drill-nginx-edge',
        '--controller-class=k8s.io/ingress-nginx-drill',
        '--ingress-class=nginx-drill',
      ],
    });
    putServer(kube, 'skypilot', 'server', { image: 'skypilot:1.0.0.dev100' });
    putServer(kube, 'skypilot-drill', 'server', { image: 'skypilot:1.0.0.dev200' });
    putIngress(kube, 'skypilot', 'web', root('server-svc', 'nginx'));
    putIngress(kube, 'skypilot-drill', 'web', root('server-svc', 'nginx-drill'));
  });
  after(() => kube.close());

  test('each address serves its own class, at the same time', async () => {
    const production = await addressOf(kube, 'skypilot', 'skypilot-nginx-edge');
    const drill = await addressOf(kube, 'skypilot-drill', 'drill-nginx-edge');
    assert.notEqual(production, drill);
    assert.equal((await health(production)).version, '1.0.0.dev100');
    assert.equal((await health(drill)).version, '1.0.0.dev200');
    const ip = (ns: string, name: string): unknown =>
      field(kube.get('v1', 'Service', ns, name), 'status.loadBalancer.ingress.0.ip');
    assert.equal(
      field(
        kube.get('networking.k8s.io/v1', 'Ingress', 'skypilot', 'web'),
        'status.loadBalancer.ingress.0.ip',
      ),
      ip('skypilot', 'skypilot-nginx-edge'),
    );
    assert.equal(
      field(
        kube.get('networking.k8s.io/v1', 'Ingress', 'skypilot-drill', 'web'),
        'status.loadBalancer.ingress.0.ip',
      ),
      ip('skypilot-drill', 'drill-nginx-edge'),
    );
  });

  test('a controller serves Ingresses of its class in any namespace, and only those', async () => {
    const drill = await addressOf(kube, 'skypilot-drill', 'drill-nginx-edge');
    putServer(kube, 'elsewhere', 'probe', { image: 'skypilot:1.0.0.dev300' });
    putIngress(kube, 'elsewhere', 'probe', {
      ingressClassName: 'nginx-drill',
      rules: [
        { http: { paths: [{ path: '/api/health', pathType: 'Exact', backend: backend('probe-svc') }] } },
      ],
    });
    assert.equal((await health(drill)).version, '1.0.0.dev300');
    const production = await addressOf(kube, 'skypilot', 'skypilot-nginx-edge');
    assert.equal((await health(production)).version, '1.0.0.dev100');
    kube.remove('networking.k8s.io/v1', 'Ingress', 'elsewhere', 'probe');
    assert.equal((await health(drill)).version, '1.0.0.dev200');
  });

  test('FALLBACKS kept for the current chart: no controller Deployment means the default class', async () => {
    putController(kube, 'legacy', 'legacy', { args: null });
    putServer(kube, 'legacy', 'server', { image: 'skypilot:1.0.0.dev400' });
    // "nginx" has an IngressClass for k8s.io/ingress-nginx: served by the Deployment-less (default) controller.
    putIngress(kube, 'legacy', 'web', {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'legacy.example',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('server-svc') }] },
        },
      ],
    });
    const legacy = await addressOf(kube, 'legacy', 'legacy-nginx-edge');
    assert.equal((await health(legacy, { ...good, Host: 'legacy.example' })).version, '1.0.0.dev400');
    // A class without an IngressClass object counts as the default class: the drill controller ignores it.
    putIngress(kube, 'legacy', 'web', {
      ingressClassName: 'no-such-class',
      rules: [
        {
          host: 'legacy.example',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('server-svc') }] },
        },
      ],
    });
    assert.equal((await health(legacy, { ...good, Host: 'legacy.example' })).version, '1.0.0.dev400');
    const drill = await addressOf(kube, 'skypilot-drill', 'drill-nginx-edge');
    assert.equal((await health(drill, { ...good, Host: 'legacy.example' })).version, '1.0.0.dev200');
  });
});

describeLB('simulated ingress-nginx with the stand-in chart installed by real helm', () => {
  let bins: RealBinaries;
  let kube: KubeStandIn;
  let repo: ChartRepo;
  let tools: ReturnType<typeof toolsFor>;
  const helm = (...args: string[]) => runTool(bins.helm, args, tools.env);

  before(async () => {
    bins = await realBinaries('helm4');
    kube = await startKubeStandIn();
    repo = await startChartRepo(bins.helm);
    tools = toolsFor(kube);
    fs.writeFileSync(
      path.join(tools.dir, 'auth.yaml'),
      `ingress:\n  authCredentials: ${JSON.stringify(`admin:${aprMd5(password)}`)}\napiService:\n  skipResourceCheck: true\n`,
      { mode: 0o600 },
    );
    assert.equal((await helm('repo', 'add', 'skypilot', repo.url)).code, 0);
  });
  after(async () => {
    await kube.close();
    await repo.close();
    tools.cleanup();
  });

  const install = (release: string, namespace: string, ...set: string[]) =>
    helm(
      'upgrade',
      '--install',
      release,
      'skypilot/skypilot-nightly',
      '--devel',
      '--namespace',
      namespace,
      '--create-namespace',
      '--wait',
      '--timeout',
      '60s',
      '--values',
      path.join(tools.dir, 'auth.yaml'),
      // Port 80 needs root: a normal user's load balancer listens on a high port (see standins/hostNetwork.ts).
      ...[`ingress-nginx.controller.service.ports.http=${LB_HTTP_PORT}`, ...set].flatMap((s) => ['--set', s]),
    );

  test("production by helm: found by labels, routed to the chart's Service, behind the chart's basic auth", async () => {
    const installed = await install('skypilot', 'skypilot');
    assert.equal(installed.code, 0, installed.stderr);
    const url = await addressOf(kube, 'skypilot', 'skypilot-ingress-nginx-controller');
    assert.equal((await get(`${url}/api/health`)).status, 401);
    // The chart's image is tagged with its appVersion: the newest nightly's.
    assert.equal((await health(url)).version, '1.0.0.dev20261130');
    // The IngressClass the subchart ships changes nothing; one for another controller does.
    putIngressClass(kube, 'nginx', 'k8s.io/ingress-nginx');
    assert.equal((await health(url)).status, 'healthy');
    putIngressClass(kube, 'nginx', 'example.com/not-nginx');
    assert.equal((await get(`${url}/api/health`, good)).status, 404);
    putIngressClass(kube, 'nginx', 'k8s.io/ingress-nginx');
  });

  test('a drill release beside it with its own class and controller: both answer at once', async () => {
    // The drill's own IngressClass and controller class, rendered by the subchart from these values.
    const installed = await install(
      'drill',
      'skypilot-drill',
      'ingress.ingressClassName=nginx-drill',
      'ingress-nginx.controller.ingressClass=nginx-drill',
      'ingress-nginx.controller.ingressClassResource.name=nginx-drill',
      'ingress-nginx.controller.ingressClassResource.controllerValue=k8s.io/ingress-nginx-drill',
      'apiService.image=berkeleyskypilot/skypilot-nightly:1.0.0.dev20250301',
    );
    assert.equal(installed.code, 0, installed.stderr);
    const drill = await addressOf(kube, 'skypilot-drill', 'drill-ingress-nginx-controller');
    const production = await addressOf(kube, 'skypilot', 'skypilot-ingress-nginx-controller');
    assert.equal((await health(drill)).version, '1.0.0.dev20250301');
    assert.equal((await health(production)).version, '1.0.0.dev20261130');
    assert.equal(
      field(
        kube.get('networking.k8s.io/v1', 'Ingress', 'skypilot-drill', 'drill-ingress'),
        'status.loadBalancer.ingress.0.ip',
      ),
      new URL(drill).hostname,
    );
  });
});
