import aprMd5 from 'apache-md5';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { realBinaries } from '../../standins/binaries.js';
import {
  crashingImages,
  newestChart,
  servedCharts,
  startChartRepo,
  type ChartRepo,
  type ServedChart,
} from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn, type ServerState } from '../../standins/kubernetes/index.js';
import { HelmRunner, chartArgs, field, setArgs } from '../support/helmChart.js';
import { describeLB, LB_HTTP_PORT, lbUrl } from '../support/network.js';

// The SkyPilot server stand-in behind each release's load balancer, installed by real helm from the mimic chart:
// production and a drill in one cluster, each on its own address, each answering from the disk it mounts.

const password = randomBytes(9).toString('hex');
const authorization = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

const chartA = servedCharts.find((c) => c.version === '1.0.0-dev.20250218')!;
const chartB = newestChart('skypilot-nightly', true);

const handles = {
  production: 'projects/standin-project/zones/us-east5-b/disks/skypilot-state',
  drill: 'projects/standin-project/zones/us-east5-b/disks/skypilot-state-drill',
};

const productionState: ServerState = {
  users: [
    { id: 'a1b2c3d4', name: 'alice', role: 'admin', created_at: 1767225600 },
    { id: 'e5f6a7b8', name: 'bob', role: 'user', created_at: 1767312000 },
    { id: 'sa-0f1e2d3c4b5a6978', name: 'ci-bot', role: 'user', created_at: 1767398400 },
    { id: 'c9d0e1f2', name: 'carol', role: 'user', created_at: 1767484800 },
  ],
  clusters: ['sky-dev', 'train-1', 'sky-prod-gpu'],
};

function volume(name: string, handle: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'skyha-state',
      csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: handle, fsType: 'ext4' },
    },
  };
}

describeLB('the SkyPilot server stand-in behind each release', () => {
  const states = new Map<string, ServerState>([[handles.production, productionState]]);
  let kube: KubeStandIn;
  let repo: ChartRepo;
  let helm: HelmRunner;
  const urls = { production: '', drill: '' };

  const install = async (release: string, chart: ServedChart, set: string[], wait = true): Promise<void> => {
    const values = [
      `ingress.authCredentials=admin:${aprMd5(password)}`,
      'storage.enabled=true',
      'storage.storageClassName=skyha-state',
      `storage.volumeName=${release}-volume`,
      `ingress-nginx.controller.service.ports.http=${LB_HTTP_PORT}`,
      ...set,
    ];
    const out = await helm.run(
      'upgrade',
      '--install',
      release,
      ...chartArgs({ repoUrl: repo.url, ...chart }),
      '--namespace',
      release,
      '--create-namespace',
      ...(wait ? ['--wait'] : []),
      '--timeout',
      '60s',
      ...setArgs(values),
    );
    assert.ok(out.ok, out.stderr);
  };
  const addressOf = (release: string): string =>
    lbUrl(
      field(
        kube.get('v1', 'Service', release, `${release}-ingress-nginx-controller`),
        'status.loadBalancer.ingress.0.ip',
      ),
    );
  const get = async (url: string, auth = true): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(url, auth ? { headers: { Authorization: authorization } } : {});
    return { status: res.status, body: (await res.json().catch(() => undefined)) as unknown };
  };

  before(async () => {
    const bins = await realBinaries('helm4');
    repo = await startChartRepo(bins.helm);
    kube = await startKubeStandIn({ serverState: (handle) => states.get(handle) });
    helm = new HelmRunner(bins);
    helm.connect(kube.writeKubeconfig(helm.dir));
    kube.put(volume('skypilot-volume', handles.production));
    kube.put(volume('skypilot-drill-volume', handles.drill));
    await install('skypilot', chartA, []);
    await install('skypilot-drill', chartB, [
      'ingress-nginx.controller.ingressClassResource.name=nginx-drill',
      'ingress-nginx.controller.ingressClassResource.controllerValue=k8s.io/nginx-drill',
      'ingress.ingressClassName=nginx-drill',
    ]);
    urls.production = addressOf('skypilot');
    urls.drill = addressOf('skypilot-drill');
  });
  after(async () => {
    await kube?.close();
    await repo?.close();
    helm?.close();
  });

  test('each release answers on its own address from the disk its claim is bound to; no state: only the server’s own user', async () => {
    assert.notEqual(urls.production, urls.drill);
    assert.deepEqual(
      kube
        .loadBalancers()
        .map((lb) => lb.service)
        .sort(),
      [
        'skypilot-drill/skypilot-drill-ingress-nginx-controller',
        'skypilot/skypilot-ingress-nginx-controller',
      ],
    );
    const users = await get(`${urls.production}/users`);
    assert.equal(users.status, 200);
    // The server's own user first (written at its start), then the disk's; service accounts are left out.
    const [own, ...rest] = users.body as Array<Record<string, unknown>>;
    assert.deepEqual(
      { ...own, created_at: typeof own?.created_at },
      {
        id: 'skypilot-system',
        name: 'skypilot-system',
        created_at: 'number',
        role: 'admin',
      },
    );
    assert.deepEqual(rest, [
      { id: 'a1b2c3d4', name: 'alice', created_at: 1767225600, role: 'admin' },
      { id: 'e5f6a7b8', name: 'bob', created_at: 1767312000, role: 'user' },
      { id: 'c9d0e1f2', name: 'carol', created_at: 1767484800, role: 'user' },
    ]);
    assert.deepEqual((await get(`${urls.production}/api/completion/cluster_name?incomplete=`)).body, [
      'sky-dev',
      'train-1',
      'sky-prod-gpu',
    ]);

    // A new, empty disk: only the user the server writes at its start.
    const fresh = await get(`${urls.drill}/users`);
    assert.deepEqual(
      (fresh.body as Array<{ id: string }>).map((u) => u.id),
      ['skypilot-system'],
    );
    assert.deepEqual(await get(`${urls.drill}/api/completion/cluster_name?incomplete=`), {
      status: 200,
      body: [],
    });
    for (const kind of ['storage', 'volume'])
      assert.deepEqual((await get(`${urls.drill}/api/completion/${kind}_name?incomplete=`)).body, []);
    states.set(handles.drill, {
      users: [productionState.users[0]!],
      clusters: ['sky-dev'],
      storages: ['ckpts'],
      volumes: ['data-vol'],
    });
    assert.deepEqual((await get(`${urls.drill}/api/completion/cluster_name?incomplete=`)).body, ['sky-dev']);
    assert.deepEqual((await get(`${urls.drill}/api/completion/storage_name?incomplete=c`)).body, ['ckpts']);
    assert.deepEqual((await get(`${urls.drill}/api/completion/volume_name?incomplete=x`)).body, []);
    assert.equal(((await get(`${urls.drill}/users`)).body as unknown[]).length, 2);
  });

  test('names complete by prefix; incomplete is required; basic auth covers the state paths', async () => {
    assert.deepEqual((await get(`${urls.production}/api/completion/cluster_name?incomplete=sky-`)).body, [
      'sky-dev',
      'sky-prod-gpu',
    ]);
    const missing = await get(`${urls.production}/api/completion/cluster_name`);
    assert.equal(missing.status, 422);
    assert.deepEqual(field(missing.body, 'detail.0.loc'), ['query', 'incomplete']);
    assert.equal((await get(`${urls.production}/users`, false)).status, 401);
    assert.equal((await get(`${urls.drill}/api/completion/cluster_name?incomplete=`, false)).status, 401);
    const post = await fetch(`${urls.production}/users`, {
      method: 'POST',
      headers: { Authorization: authorization },
    });
    assert.equal(post.status, 405);
  });

  test('health reports the version of the chart that deployed the server: an upgrade A -> B shows', async () => {
    assert.equal(field((await get(`${urls.production}/api/health`)).body, 'version'), chartA.appVersion);
    assert.equal(field((await get(`${urls.drill}/api/health`)).body, 'version'), chartB.appVersion);
    await install('skypilot', chartB, []);
    const health = await get(`${urls.production}/api/health`);
    assert.equal(health.status, 200);
    assert.equal(field(health.body, 'version'), chartB.appVersion);
    // The upgraded server still mounts the same disk.
    assert.equal(((await get(`${urls.production}/users`)).body as unknown[]).length, 4);
  });

  test('an older server without the state paths answers them 404 as FastAPI does; health still answers', async () => {
    await kube.configure({ stateEndpoints: false });
    try {
      for (const path of [
        '/users',
        '/api/completion/cluster_name?incomplete=',
        '/api/completion/storage_name?incomplete=',
      ]) {
        assert.deepEqual(await get(`${urls.production}${path}`), {
          status: 404,
          body: { detail: 'Not Found' },
        });
      }
      assert.equal((await get(`${urls.production}/api/health`)).status, 200);
    } finally {
      await kube.configure({ stateEndpoints: true });
    }
  });

  test('a version whose image crashes never becomes healthy; the version before it answers again', async () => {
    const broken = servedCharts.find((c) => c.crashes)!;
    assert.ok(
      broken.version < newestChart('skypilot-nightly', true).version,
      'never the newest of its channel',
    );
    await kube.configure({ crashingImages: crashingImages() });
    await install('skypilot', broken, [], false);
    // The controllers run as the writes land: the broken version's pod is there when helm returns.
    const image = `berkeleyskypilot/skypilot-nightly:${broken.appVersion}`;
    const pod = kube.list('v1', 'Pod', 'skypilot').find((p) => field(p, 'spec.containers.0.image') === image);
    assert.ok(pod, 'no pod of the broken version');
    assert.equal(field(pod, 'status.phase'), 'Running');
    assert.equal(field(pod, 'status.containerStatuses.0.state.waiting.reason'), 'CrashLoopBackOff');
    assert.equal(field(pod, 'status.containerStatuses.0.lastState.terminated.exitCode'), 1);
    assert.equal(field(pod, 'status.containerStatuses.0.ready'), false);
    const ready = (field(pod, 'status.conditions') as Array<Record<string, unknown>>).find(
      (c) => c.type === 'Ready',
    );
    assert.equal(ready?.status, 'False');
    const deployment = kube.get('apps/v1', 'Deployment', 'skypilot', 'skypilot-api-server');
    assert.equal(field(deployment, 'status.availableReplicas'), undefined);
    // No ready pod behind the Service: nginx answers 503, as it does for a server that keeps crashing.
    assert.equal((await get(`${urls.production}/api/health`)).status, 503);
    await install('skypilot', chartB, []);
    const health = await get(`${urls.production}/api/health`);
    assert.equal(health.status, 200);
    assert.equal(field(health.body, 'version'), chartB.appVersion);
  });
});
