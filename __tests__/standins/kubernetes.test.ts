import aprMd5 from 'apache-md5';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { helmFlavours, realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startChartRepo, type ChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { parseQuantity } from '../../standins/kubernetes/quantity.js';
import { describeLB, LB_HTTP_PORT, lbUrl, testLB } from '../support/network.js';

const exec = promisify(execFile);

type Obj = Record<string, unknown>;

function field(obj: unknown, dotted: string): unknown {
  let at = obj;
  for (const part of dotted.split('.')) {
    at = typeof at === 'object' && at !== null ? (at as Obj)[part] : undefined;
  }
  return at;
}

function tempDir(t: { after?: unknown } | undefined = undefined): string {
  void t;
  return fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-kube-test-'));
}

function persistentVolume(name: string, className: string, size = '10Gi'): Obj {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: className,
      csi: {
        driver: 'pd.csi.storage.gke.io',
        volumeHandle: `projects/p/zones/us-central1-a/disks/${name}`,
        fsType: 'ext4',
      },
    },
  };
}

function claim(namespace: string, name: string, spec: Obj): Obj {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, ...spec },
  };
}

async function api(
  kube: KubeStandIn,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
) {
  const response = await fetch(`${kube.url}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Obj };
}

describe('kubernetes stand-in: API semantics over HTTP', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
  });
  after(async () => {
    await kube.close();
  });

  test('parses quantities: 10G is less than 10Gi', () => {
    assert.equal(parseQuantity('10G'), 1e10);
    assert.ok(parseQuantity('10G')! < parseQuantity('10Gi')!);
    assert.equal(parseQuantity('10Gi'), 10 * 2 ** 30);
    assert.equal(parseQuantity('1.5Ti'), 1.5 * 2 ** 40);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('ten'), undefined);
  });

  test('answers NotFound, AlreadyExists and stale-update Conflict with Status bodies', async () => {
    const missing = await api(kube, 'GET', '/api/v1/namespaces/default/secrets/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.kind, 'Status');
    assert.equal(missing.body.reason, 'NotFound');
    assert.equal(missing.body.code, 404);

    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '1' } };
    const created = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', cm);
    assert.equal(created.status, 201);
    const again = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', cm);
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');

    const stale = { ...cm, metadata: { name: 'c1', resourceVersion: '1' } };
    const conflict = await api(kube, 'PUT', '/api/v1/namespaces/default/configmaps/c1', stale);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');

    const noNamespace = await api(kube, 'POST', '/api/v1/namespaces/ghost/configmaps', cm);
    assert.equal(noNamespace.status, 404);
  });

  test('generateName, label and field selectors', async () => {
    const made = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-', labels: { tier: 'a' } },
    });
    const name = String(field(made.body, 'metadata.name'));
    assert.match(name, /^gen-[a-z0-9]{5}$/);
    const byLabel = await api(
      kube,
      'GET',
      '/api/v1/namespaces/default/configmaps?labelSelector=tier%20in%20(a,b)',
    );
    assert.deepEqual(
      (byLabel.body.items as Obj[]).map((i) => field(i, 'metadata.name')),
      [name],
    );
    const byField = await api(kube, 'GET', `/api/v1/configmaps?fieldSelector=metadata.name%3D${name}`);
    assert.equal((byField.body.items as Obj[]).length, 1);
  });

  test('decodes protobuf Secret bodies (k8s\\0 + runtime.Unknown), as helm sends them', async () => {
    const bytes = (n: number, payload: Buffer): Buffer =>
      Buffer.concat([Buffer.from([(n << 3) | 2, payload.length]), payload]);
    const s = (text: string): Buffer => Buffer.from(text);
    const entry = (k: string, v: string): Buffer => Buffer.concat([bytes(1, s(k)), bytes(2, s(v))]);
    const meta = Buffer.concat([bytes(1, s('proto-secret')), bytes(11, entry('owner', 'helm'))]);
    const secret = Buffer.concat([
      bytes(1, meta),
      bytes(2, entry('release', 'payload')),
      bytes(3, s('helm.sh/release.v1')),
    ]);
    const typeMeta = Buffer.concat([bytes(1, s('v1')), bytes(2, s('Secret'))]);
    const body = Buffer.concat([Buffer.from('k8s\0'), bytes(1, typeMeta), bytes(2, secret)]);
    const created = await api(
      kube,
      'POST',
      '/api/v1/namespaces/default/secrets',
      body,
      'application/vnd.kubernetes.protobuf',
    );
    assert.equal(created.status, 201);
    const stored = kube.get('v1', 'Secret', 'default', 'proto-secret');
    assert.equal(field(stored, 'type'), 'helm.sh/release.v1');
    assert.equal(field(stored, 'metadata.labels.owner'), 'helm');
    assert.equal(Buffer.from(String(field(stored, 'data.release')), 'base64').toString(), 'payload');
    const recorded = kube.requests.find((r) => r.contentType === 'application/vnd.kubernetes.protobuf');
    assert.equal(field(JSON.parse(recorded!.body), 'metadata.name'), 'proto-secret');
  });

  test('strategic merge patch uses merge keys, $patch: delete and $setElementOrder', async () => {
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'smp', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'smp' } },
        template: {
          metadata: { labels: { app: 'smp' } },
          spec: {
            containers: [
              {
                name: 'a',
                image: 'a:1',
                env: [
                  { name: 'X', value: '1' },
                  { name: 'Y', value: '2' },
                ],
              },
              { name: 'b', image: 'b:1' },
            ],
          },
        },
      },
    });
    const patch = {
      spec: {
        template: {
          spec: {
            $setElementOrder$containers: undefined,
            '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
            containers: [
              { name: 'a', image: 'a:2', env: [{ name: 'X', $patch: 'delete' }] },
              { name: 'b', $patch: 'delete' },
            ],
          },
        },
      },
    };
    const result = await api(
      kube,
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/smp',
      patch,
      'application/strategic-merge-patch+json',
    );
    assert.equal(result.status, 200);
    const containers = field(result.body, 'spec.template.spec.containers') as Obj[];
    assert.deepEqual(containers, [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }] }]);
    assert.equal(field(result.body, 'metadata.generation'), 2);
    const status = kube.get('apps/v1', 'Deployment', 'default', 'smp');
    assert.equal(field(status, 'status.observedGeneration'), 2);
    assert.equal(field(status, 'status.availableReplicas'), 1);
  });

  test('server-side apply creates, removes fields a manager dropped, and reports conflicts unless forced', async () => {
    const url = '/api/v1/namespaces/default/configmaps/ssa?fieldManager=one';
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n  b: "2"\n';
    const first = await api(kube, 'PATCH', url, undefined);
    assert.equal(first.status, 404);
    const create = await fetch(`${kube.url}${url}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: yaml,
    });
    assert.equal(create.status, 201);
    const drop = await fetch(`${kube.url}${url}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n',
    });
    assert.deepEqual(field(await drop.json(), 'data'), { a: '1' });
    const other = '/api/v1/namespaces/default/configmaps/ssa?fieldManager=two';
    const clash = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "9"\n';
    const conflict = await fetch(`${kube.url}${other}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: clash,
    });
    assert.equal(conflict.status, 409);
    assert.match(String(field(await conflict.json(), 'message')), /conflict with "one": \.data\.a/);
    const forced = await fetch(`${kube.url}${other}&force=true`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: clash,
    });
    assert.equal(field(await forced.json(), 'data.a'), '9');
  });

  test('a claim without a class gets a NEW dynamically provisioned volume (the trap)', () => {
    kube.put(persistentVolume('keep-me', 'sky-pv'));
    kube.put(claim('trap', 'data', {}));
    const bound = kube.get('v1', 'PersistentVolumeClaim', 'trap', 'data');
    assert.equal(field(bound, 'spec.storageClassName'), 'standard-rwo');
    assert.equal(field(bound, 'status.phase'), 'Bound');
    const uid = String(field(bound, 'metadata.uid'));
    assert.equal(field(bound, 'spec.volumeName'), `pvc-${uid}`);
    assert.equal(
      field(kube.get('v1', 'PersistentVolume', undefined, 'keep-me'), 'status.phase'),
      'Available',
    );
  });

  test('binding checks class, capacity (10G < 10Gi), access modes and claimRef', () => {
    kube.put(persistentVolume('small', 'sky-pv', '10G'));
    kube.put(claim('bind', 'too-big', { storageClassName: 'sky-pv', volumeName: 'small' }));
    assert.equal(
      field(kube.get('v1', 'PersistentVolumeClaim', 'bind', 'too-big'), 'status.phase'),
      'Pending',
    );
    const events = kube.list('v1', 'Event', 'bind');
    assert.ok(events.some((e) => e.reason === 'VolumeMismatch' && /too small/.test(String(e.message))));

    kube.put(persistentVolume('other-class', 'gold'));
    kube.put(claim('bind', 'wrong-class', { storageClassName: 'sky-pv', volumeName: 'other-class' }));
    assert.equal(
      field(kube.get('v1', 'PersistentVolumeClaim', 'bind', 'wrong-class'), 'status.phase'),
      'Pending',
    );

    kube.put(persistentVolume('right', 'sky-pv', '20Gi'));
    kube.put(claim('bind', 'fits', { storageClassName: 'sky-pv', volumeName: 'right' }));
    assert.equal(field(kube.get('v1', 'PersistentVolumeClaim', 'bind', 'fits'), 'status.phase'), 'Bound');
    const pv = kube.get('v1', 'PersistentVolume', undefined, 'right');
    assert.equal(field(pv, 'status.phase'), 'Bound');
    assert.equal(
      field(pv, 'spec.claimRef.uid'),
      field(kube.get('v1', 'PersistentVolumeClaim', 'bind', 'fits'), 'metadata.uid'),
    );

    kube.remove('v1', 'PersistentVolumeClaim', 'bind', 'fits');
    assert.equal(field(kube.get('v1', 'PersistentVolume', undefined, 'right'), 'status.phase'), 'Released');
    kube.put(claim('bind', 'fits', { storageClassName: 'sky-pv', volumeName: 'right' }));
    assert.equal(field(kube.get('v1', 'PersistentVolumeClaim', 'bind', 'fits'), 'status.phase'), 'Pending');
  });

  test('watch with sendInitialEvents sends ADDED then the initial-events-end BOOKMARK, then changes', async () => {
    kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w1', namespace: 'watched' } });
    const controller = new AbortController();
    const response = await fetch(
      `${kube.url}/api/v1/namespaces/watched/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
      { signal: controller.signal },
    );
    const reader = response.body!.getReader();
    const events: Obj[] = [];
    let buffered = '';
    const next = async (): Promise<Obj> => {
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return JSON.parse(line) as Obj;
        }
        const chunk = await reader.read();
        buffered += Buffer.from(chunk.value ?? new Uint8Array()).toString();
      }
    };
    events.push(await next(), await next(), await next());
    const types = events.map((e) => e.type);
    // w1 and the namespace's kube-root-ca.crt
    assert.deepEqual(types, ['ADDED', 'ADDED', 'BOOKMARK']);
    assert.equal(field(events[2], 'object.metadata.annotations.k8s.io/initial-events-end'), undefined);
    assert.equal(
      (field(events[2], 'object.metadata.annotations') as Obj)['k8s.io/initial-events-end'],
      'true',
    );
    kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w2', namespace: 'watched' } });
    const added = await next();
    assert.equal(added.type, 'ADDED');
    assert.equal(field(added, 'object.metadata.name'), 'w2');
    controller.abort();
  });

  test('namespace deletion deletes its objects; deleting an owner deletes what it owns', async () => {
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'doomed' } });
    const deleted = await api(kube, 'DELETE', '/api/v1/namespaces/doomed');
    assert.equal(deleted.status, 200);
    assert.equal(kube.get('v1', 'Secret', 'doomed', 's'), undefined);
    assert.equal(
      kube
        .list('apps/v1', 'ReplicaSet', 'default')
        .filter((rs) => String(field(rs, 'metadata.name')).startsWith('smp-')).length > 0,
      true,
    );
    kube.remove('apps/v1', 'Deployment', 'default', 'smp');
    assert.equal(
      kube
        .list('apps/v1', 'ReplicaSet', 'default')
        .filter((rs) => String(field(rs, 'metadata.name')).startsWith('smp-')).length,
      0,
    );
    assert.equal(
      kube.list('v1', 'Pod', 'default').filter((p) => field(p, 'metadata.labels.app') === 'smp').length,
      0,
    );
  });

  test('records mutating requests without access reviews', async () => {
    kube.clearRequests();
    await api(kube, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      spec: { resourceAttributes: { verb: 'create', resource: 'persistentvolumes' } },
    });
    await api(kube, 'DELETE', '/api/v1/namespaces/default/configmaps/c1');
    assert.deepEqual(
      kube.mutatingRequests().map((r) => `${r.method} ${r.path}`),
      ['DELETE /api/v1/namespaces/default/configmaps/c1'],
    );
  });
});

describeLB('kubernetes stand-in: simulated ingress and load balancers', () => {
  const password = randomBytes(12).toString('hex');
  const htpasswd = `admin:${aprMd5(password)}`;
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

  function release(
    kube: KubeStandIn,
    namespace: string,
    serviceType: 'LoadBalancer' | 'NodePort',
    nodePort?: number,
  ): void {
    kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'r-basic-auth', namespace },
      stringData: { auth: htpasswd },
    });
    kube.put({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'r-ingress',
        namespace,
        annotations: {
          'nginx.ingress.kubernetes.io/auth-type': 'basic',
          'nginx.ingress.kubernetes.io/auth-secret': 'r-basic-auth',
        },
      },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'r-api-service', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    kube.put({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'r-api-service', namespace },
      spec: { selector: { app: 'r-api' }, ports: [{ name: 'http', port: 80, targetPort: 46580 }] },
    });
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'r-api-server', namespace },
      spec: {
        selector: { matchLabels: { app: 'r-api' } },
        template: {
          metadata: { labels: { app: 'r-api' } },
          spec: { containers: [{ name: 'api', image: 'berkeleyskypilot/skypilot-nightly:1.0.0.dev1' }] },
        },
      },
    });
    kube.put({
      apiVersion: 'v1',
      kind: 'Service',
      // The controller is found by the ingress-nginx subchart's labels, not by its name.
      metadata: {
        name: 'r-ingress-nginx-controller',
        namespace,
        labels: {
          'app.kubernetes.io/name': 'ingress-nginx',
          'app.kubernetes.io/component': 'controller',
          'app.kubernetes.io/instance': 'r',
        },
      },
      spec: {
        type: serviceType,
        ports: [{ name: 'http', port: LB_HTTP_PORT, ...(nodePort ? { nodePort } : {}) }],
      },
    });
  }

  test('LoadBalancer address after N reads; health 401 without auth, 200 healthy with it', async () => {
    const kube = await startKubeStandIn({ loadBalancerDelayPolls: 2 });
    try {
      release(kube, 'sky', 'LoadBalancer');
      const read = () => api(kube, 'GET', '/api/v1/namespaces/sky/services/r-ingress-nginx-controller');
      assert.equal(field((await read()).body, 'status.loadBalancer.ingress'), undefined);
      const ip = field((await read()).body, 'status.loadBalancer.ingress.0.ip');
      assert.match(String(ip), /^127\.\d+\.\d+\.\d+$/);
      assert.notEqual(ip, '127.0.0.1');
      const noAuth = await fetch(`${lbUrl(ip)}/api/health`);
      assert.equal(noAuth.status, 401);
      assert.match(noAuth.headers.get('www-authenticate') ?? '', /^Basic/);
      const wrong = await fetch(`${lbUrl(ip)}/api/health`, {
        headers: { Authorization: basic('admin', 'nope') },
      });
      assert.equal(wrong.status, 401);
      const good = await fetch(`${lbUrl(ip)}/api/health`, {
        headers: { Authorization: basic('admin', password) },
      });
      assert.equal(good.status, 200);
      const health = (await good.json()) as Obj;
      assert.equal(health.status, 'healthy');
      assert.equal(health.version, '1.0.0.dev1');

      await kube.configure({ healthStatus: 'unhealthy' });
      const sick = await fetch(`${lbUrl(ip)}/api/health`, {
        headers: { Authorization: basic('admin', password) },
      });
      assert.equal(sick.status, 503);
      assert.equal(((await sick.json()) as Obj).status, 'unhealthy');
    } finally {
      await kube.close();
    }
  });

  test('NodePort: honours the requested node port and serves on <node InternalIP>:<nodePort>; 503 until available', async () => {
    // A node address of its own, so parallel test processes never race for the same node port.
    const nodeAddress = `127.200.${randomBytes(1)[0]}.${(randomBytes(1)[0]! % 250) + 2}`;
    const kube = await startKubeStandIn({
      loadBalancer: 'never',
      deploymentAvailable: false,
      nodeAddress,
      nodeZone: 'europe-west4-b',
    });
    try {
      const node = kube.list('v1', 'Node')[0];
      assert.equal(field(node, 'status.addresses.0.address'), nodeAddress);
      assert.equal((field(node, 'metadata.labels') as Obj)['topology.kubernetes.io/zone'], 'europe-west4-b');
      const nodePort = 30000 + Math.floor(Math.random() * 2700);
      release(kube, 'np', 'NodePort', nodePort);
      const svc = kube.get('v1', 'Service', 'np', 'r-ingress-nginx-controller');
      assert.equal(field(svc, 'spec.ports.0.nodePort'), nodePort);
      await kube.configure({});
      const before = await fetch(`http://${nodeAddress}:${nodePort}/api/health`, {
        headers: { Authorization: basic('admin', password) },
      });
      assert.equal(before.status, 503);
      await kube.configure({ deploymentAvailable: true });
      const after = await fetch(`http://${nodeAddress}:${nodePort}/api/health`, {
        headers: { Authorization: basic('admin', password) },
      });
      assert.equal(after.status, 200);
    } finally {
      await kube.close();
    }
  });

  test("loadBalancer: 'never' leaves the Service without an address", async () => {
    const kube = await startKubeStandIn({ loadBalancer: 'never' });
    try {
      release(kube, 'sky', 'LoadBalancer');
      for (let i = 0; i < 3; i++)
        await api(kube, 'GET', '/api/v1/namespaces/sky/services/r-ingress-nginx-controller');
      assert.equal(
        field(kube.get('v1', 'Service', 'sky', 'r-ingress-nginx-controller'), 'status.loadBalancer.ingress'),
        undefined,
      );
      assert.deepEqual(kube.ingressAddresses(), []);
    } finally {
      await kube.close();
    }
  });
});

for (const flavour of helmFlavours()) {
  describe(`kubernetes stand-in with real kubectl and helm (${flavour})`, () => {
    let bins: RealBinaries;
    let kube: KubeStandIn;
    let repo: ChartRepo;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const password = randomBytes(12).toString('hex');

    const kubectl = async (...args: string[]) => (await exec(bins.kubectl, args, { env })).stdout;
    const helm = async (...args: string[]) => (await exec(bins.helm, args, { env })).stdout;

    before(async () => {
      bins = await realBinaries(flavour);
      kube = await startKubeStandIn();
      repo = await startChartRepo(bins.helm);
      dir = tempDir();
      const kubeconfig = kube.writeKubeconfig(dir);
      // Each tool gets its own HOME, caches and config: nothing shared between test processes.
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        KUBECONFIG: kubeconfig,
        HELM_CONFIG_HOME: path.join(dir, 'helm-config'),
        HELM_CACHE_HOME: path.join(dir, 'helm-cache'),
        HELM_DATA_HOME: path.join(dir, 'helm-data'),
      };
      // The password reaches helm in a values file, never in argv.
      fs.writeFileSync(
        path.join(dir, 'auth-values.yaml'),
        `ingress:\n  authCredentials: ${JSON.stringify(`admin:${aprMd5(password)}`)}\n`,
        { mode: 0o600 },
      );
      fs.writeFileSync(path.join(dir, 'pv.json'), JSON.stringify(persistentVolume('sky-state', 'sky-pv')));
    });

    after(async () => {
      await kube?.close();
      await repo?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('kubectl apply (client-side, then server-side), get -o json and patch --type=json of a PV', async () => {
      assert.match(await kubectl('apply', '-f', path.join(dir, 'pv.json')), /created/);
      assert.match(await kubectl('apply', '-f', path.join(dir, 'pv.json')), /unchanged/);
      assert.match(
        await kubectl('apply', '--server-side', '--field-manager=skyha', '-f', path.join(dir, 'pv.json')),
        /serverside-applied/,
      );
      const pv = JSON.parse(await kubectl('get', 'pv', 'sky-state', '-o', 'json')) as Obj;
      assert.equal(field(pv, 'spec.persistentVolumeReclaimPolicy'), 'Retain');
      assert.equal(field(pv, 'status.phase'), 'Available');
      await kubectl(
        'patch',
        'pv',
        'sky-state',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/metadata/labels","value":{"skyha":"yes"}}]',
      );
      assert.equal(
        field(kube.get('v1', 'PersistentVolume', undefined, 'sky-state'), 'metadata.labels.skyha'),
        'yes',
      );
      const reclaim = await kubectl(
        'get',
        'pv',
        'sky-state',
        '-o',
        'jsonpath={.spec.persistentVolumeReclaimPolicy}',
      );
      assert.equal(reclaim, 'Retain');
    });

    test('helm upgrade --install from the chart repo binds the claim to the PV; a second run is revision 2', async () => {
      await helm('repo', 'add', 'skypilot', repo.url);
      await helm('repo', 'update');
      const install = [
        'upgrade',
        '--install',
        'skypilot',
        'skypilot/skypilot-nightly',
        '--devel',
        '--namespace',
        'skypilot',
        '--create-namespace',
        '--wait',
        '--timeout',
        '60s',
        '--values',
        path.join(dir, 'auth-values.yaml'),
        '--set',
        // Newer charts default storage.enabled to false (skypilot-org/skypilot PR #10086): set it, as the action does.
        'storage.enabled=true,storage.storageClassName=sky-pv,storage.volumeName=sky-state,storage.size=10Gi',
        '--set',
        // Port 80 needs root: a normal user's load balancer listens on a high port (see standins/hostNetwork.ts).
        `ingress-nginx.controller.service.ports.http=${LB_HTTP_PORT}`,
      ];
      await helm(...install);
      const pvc = kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
      assert.equal(field(pvc, 'status.phase'), 'Bound');
      assert.equal(field(pvc, 'spec.volumeName'), 'sky-state');
      const pv = kube.get('v1', 'PersistentVolume', undefined, 'sky-state');
      assert.equal(field(pv, 'status.phase'), 'Bound');
      assert.equal(field(pv, 'spec.claimRef.uid'), field(pvc, 'metadata.uid'));
      assert.equal(
        kube
          .list('v1', 'PersistentVolume')
          .filter((v) => String(field(v, 'metadata.name')).startsWith('pvc-')).length,
        0,
      );

      await helm(...install);
      const status = JSON.parse(
        await helm('status', 'skypilot', '--namespace', 'skypilot', '-o', 'json'),
      ) as Obj;
      assert.equal(status.version, 2);
      assert.equal(field(status, 'info.status'), 'deployed');
      const listed = JSON.parse(await helm('list', '--namespace', 'skypilot', '-o', 'json')) as Obj[];
      const newest = repo.charts['skypilot-nightly']?.at(-1);
      assert.equal(listed[0]?.chart, `skypilot-nightly-${newest}`);
      const values = JSON.parse(
        await helm('get', 'values', 'skypilot', '--namespace', 'skypilot', '-o', 'json'),
      ) as Obj;
      assert.equal(field(values, 'storage.volumeName'), 'sky-state');
      const pods = JSON.parse(
        await kubectl('get', 'pods', '-n', 'skypilot', '-l', 'app=skypilot-api', '-o', 'json'),
      ) as Obj;
      assert.equal((pods.items as Obj[]).length, 1);
      assert.ok(repo.requests.some((r) => r.path === `/skypilot-nightly-${newest}.tgz`));
    });

    testLB('health at the LoadBalancer address: 401 without auth, healthy with the password', async () => {
      const ip = await kubectl(
        'get',
        'service',
        'skypilot-ingress-nginx-controller',
        '-n',
        'skypilot',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      );
      assert.match(ip, /^127\.\d+\.\d+\.\d+$/);
      assert.equal((await fetch(`${lbUrl(ip)}/api/health`)).status, 401);
      const authorization = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
      const response = await fetch(`${lbUrl(ip)}/api/health`, { headers: { Authorization: authorization } });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as Obj).status, 'healthy');
    });

    test('after helm uninstall the Retain PV is Released and binds nothing until its claimRef is cleared', async () => {
      await helm('uninstall', 'skypilot', '--namespace', 'skypilot', '--wait');
      assert.equal(kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state'), undefined);
      assert.equal(
        field(kube.get('v1', 'PersistentVolume', undefined, 'sky-state'), 'status.phase'),
        'Released',
      );

      const pvc = claim('skypilot', 'skypilot-state', {
        storageClassName: 'sky-pv',
        volumeName: 'sky-state',
      });
      fs.writeFileSync(path.join(dir, 'pvc.json'), JSON.stringify(pvc));
      await kubectl('apply', '-f', path.join(dir, 'pvc.json'));
      assert.equal(
        await kubectl('get', 'pvc', 'skypilot-state', '-n', 'skypilot', '-o', 'jsonpath={.status.phase}'),
        'Pending',
      );

      await kubectl(
        'patch',
        'pv',
        'sky-state',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/spec/claimRef"}]',
      );
      assert.equal(
        await kubectl('get', 'pvc', 'skypilot-state', '-n', 'skypilot', '-o', 'jsonpath={.status.phase}'),
        'Bound',
      );
      assert.equal(
        field(kube.get('v1', 'PersistentVolume', undefined, 'sky-state'), 'status.phase'),
        'Bound',
      );
    });
  });
}
