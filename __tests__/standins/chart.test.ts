import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { helmFlavours, realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { newestChart, servedCharts, startChartRepo, type ChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import {
  HelmRunner,
  chartArgs,
  container,
  field,
  mountedClaim,
  namesOf,
  parseManifests,
  pick,
  setArgs,
  type ChartRef,
  type Manifest,
} from '../support/helmChart.js';

const auth = 'ingress.authCredentials=admin:$apr1$salt$hash';
const storageOn = 'storage.enabled=true';

function annotation(obj: Manifest, key: string): unknown {
  const annotations = field(obj, 'metadata.annotations');
  return typeof annotations === 'object' && annotations !== null ? (annotations as Manifest)[key] : undefined;
}

/** The objects the action and its users depend on, for release `skypilot`. */
function assertDefaultNames(docs: Manifest[]): void {
  const controller = pick(docs, 'Service', 'skypilot-ingress-nginx-controller');
  assert.equal(field(controller, 'spec.type'), 'LoadBalancer');
  const ports = field(controller, 'spec.ports') as Manifest[];
  assert.deepEqual(
    ports.map((p) => [p.name, p.port]),
    [
      ['http', 80],
      ['https', 443],
    ],
  );
  for (const kind of ['Service', 'Deployment']) {
    const labels = field(
      pick(docs, kind, 'skypilot-ingress-nginx-controller'),
      'metadata.labels',
    ) as Manifest;
    assert.equal(labels['app.kubernetes.io/name'], 'ingress-nginx');
    assert.equal(labels['app.kubernetes.io/instance'], 'skypilot');
    assert.equal(labels['app.kubernetes.io/component'], 'controller');
  }
  pick(docs, 'PersistentVolumeClaim', 'skypilot-state');
  const server = pick(docs, 'Deployment', 'skypilot-api-server');
  assert.equal(field(server, 'spec.strategy.type'), 'Recreate');
  assert.equal(field(server, 'spec.template.metadata.labels.app'), 'skypilot-api');
  assert.equal(mountedClaim(server), 'skypilot-state');
  const subPaths = (container(server).volumeMounts as Manifest[])
    .filter((m) => m.name === 'state-volume')
    .map((m) => m.subPath);
  assert.deepEqual(subPaths, ['.sky', '.ssh', 'sky_logs/jobs_controller', 'sky_logs/managed_jobs']);
  const api = pick(docs, 'Service', 'skypilot-api-service');
  assert.equal(field(api, 'spec.type'), 'ClusterIP');
  assert.deepEqual(field(api, 'spec.selector'), { app: 'skypilot-api' });
  assert.deepEqual(
    (field(api, 'spec.ports') as Manifest[]).map((p) => [p.port, p.targetPort]),
    [[80, 46580]],
  );
  assert.equal(
    field(pick(docs, 'Secret', 'skypilot-basic-auth'), 'stringData.auth'),
    'admin:$apr1$salt$hash',
  );
  const ingress = pick(docs, 'Ingress', 'skypilot-ingress');
  assert.equal(field(ingress, 'spec.ingressClassName'), 'nginx');
  assert.equal(field(ingress, 'spec.rules.0.http.paths.0.backend.service.name'), 'skypilot-api-service');
  assert.equal(annotation(ingress, 'nginx.ingress.kubernetes.io/auth-secret'), 'skypilot-basic-auth');
}

for (const flavour of helmFlavours()) {
  describe(`the mimic SkyPilot chart rendered by helm template (${flavour})`, () => {
    let bins: RealBinaries;
    let repo: ChartRepo;
    let helm: HelmRunner;
    const newest = (
      name: 'skypilot-nightly' | 'skypilot' = 'skypilot-nightly',
      existingClaim = true,
    ): ChartRef => ({
      repoUrl: repo.url,
      ...newestChart(name, existingClaim),
    });

    before(async () => {
      bins = await realBinaries(flavour);
      repo = await startChartRepo(bins.helm);
      helm = new HelmRunner(bins);
    });
    after(async () => {
      helm?.close();
      await repo?.close();
    });

    test('every served version names its objects as the action expects for release skypilot', async () => {
      assert.deepEqual(repo.served, servedCharts);
      for (const chart of servedCharts) {
        const docs = await helm.template({ repoUrl: repo.url, ...chart }, 'skypilot', [auth, storageOn]);
        assertDefaultNames(docs);
      }
    });

    test('ingress-nginx subchart: controller args, admission Service, IngressClass, cluster objects, hook Jobs', async () => {
      const docs = await helm.template(newest(), 'skypilot', [auth]);
      const args = container(pick(docs, 'Deployment', 'skypilot-ingress-nginx-controller')).args as string[];
      assert.ok(args.includes('--publish-service=$(POD_NAMESPACE)/skypilot-ingress-nginx-controller'));
      assert.ok(args.includes('--controller-class=k8s.io/ingress-nginx'));
      assert.ok(args.includes('--ingress-class=nginx'));
      const admission = pick(docs, 'Service', 'skypilot-ingress-nginx-controller-admission');
      assert.equal(field(admission, 'spec.type'), 'ClusterIP');
      assert.deepEqual(
        (field(admission, 'spec.ports') as Manifest[]).map((p) => p.port),
        [443],
      );
      const ingressClass = pick(docs, 'IngressClass', 'nginx');
      assert.equal(field(ingressClass, 'metadata.namespace'), undefined);
      assert.equal(field(ingressClass, 'spec.controller'), 'k8s.io/ingress-nginx');
      pick(docs, 'ClusterRole', 'skypilot-ingress-nginx');
      pick(docs, 'ClusterRoleBinding', 'skypilot-ingress-nginx');
      pick(docs, 'ValidatingWebhookConfiguration', 'skypilot-ingress-nginx-admission');
      assert.ok(namesOf(docs, 'ServiceAccount').includes('skypilot-ingress-nginx'));
      const hooks = Object.fromEntries(
        ['create', 'patch'].map((j) => [
          j,
          field(pick(docs, 'Job', `skypilot-ingress-nginx-admission-${j}`), 'metadata.annotations'),
        ]),
      );
      assert.deepEqual(hooks, {
        create: {
          'helm.sh/hook': 'pre-install,pre-upgrade',
          'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
        },
        patch: {
          'helm.sh/hook': 'post-install,post-upgrade',
          'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
        },
      });
    });

    test('values under ingress-nginx: reach the subchart (service type, node ports, loadBalancerIP, class names)', async () => {
      const docs = await helm.template(newest(), 'skypilot', [
        'ingress-nginx.controller.service.type=NodePort',
        'ingress-nginx.controller.service.nodePorts.http=30080',
        'ingress-nginx.controller.ingressClassResource.name=nginx-b',
        'ingress-nginx.controller.ingressClassResource.controllerValue=k8s.io/ingress-nginx-b',
      ]);
      const service = pick(docs, 'Service', 'skypilot-ingress-nginx-controller');
      assert.equal(field(service, 'spec.type'), 'NodePort');
      assert.deepEqual(
        (field(service, 'spec.ports') as Manifest[]).map((p) => [p.name, p.nodePort]),
        [
          ['http', 30080],
          ['https', undefined],
        ],
      );
      assert.equal(field(pick(docs, 'IngressClass', 'nginx-b'), 'spec.controller'), 'k8s.io/ingress-nginx-b');
      const args = container(pick(docs, 'Deployment', 'skypilot-ingress-nginx-controller')).args as string[];
      assert.ok(args.includes('--controller-class=k8s.io/ingress-nginx-b'));
      assert.equal(field(service, 'spec.loadBalancerIP'), undefined, 'no address asked for by default');
      const pinned = await helm.template(newest(), 'skypilot', [
        'ingress-nginx.controller.service.loadBalancerIP=34.1.2.3',
      ]);
      const asking = pick(pinned, 'Service', 'skypilot-ingress-nginx-controller');
      assert.equal(field(asking, 'spec.loadBalancerIP'), '34.1.2.3');
      const off = await helm.template(newest(), 'skypilot', ['ingress-nginx.enabled=false']);
      assert.deepEqual(
        off.filter((m) => String(field(m, 'metadata.name')).includes('ingress-nginx')),
        [],
      );
    });

    test('a release whose name contains "ingress-nginx" is not repeated in the subchart names', async () => {
      const docs = await helm.template(newest(), 'my-ingress-nginx', [auth]);
      pick(docs, 'Service', 'my-ingress-nginx-controller');
      pick(docs, 'Deployment', 'my-ingress-nginx-controller');
      pick(docs, 'Service', 'my-ingress-nginx-controller-admission');
      pick(docs, 'ClusterRole', 'my-ingress-nginx');
      pick(docs, 'Job', 'my-ingress-nginx-admission-create');
      pick(docs, 'Deployment', 'my-ingress-nginx-api-server');
    });

    test('a 53-character release: controller names truncated to 63, the admission Service not (73)', async () => {
      const release = 'skypilot-api-server-for-the-research-team-in-eu-west1';
      assert.equal(release.length, 53);
      const docs = await helm.template(newest(), release, [auth]);
      // "<release>-ingress-nginx" is cut to 63, and "-controller" appended then cut away again.
      const controller = `${release}-ingress-n`;
      assert.equal(controller.length, 63);
      pick(docs, 'Service', controller);
      pick(docs, 'Deployment', controller);
      const admission = pick(docs, 'Service', `${controller}-admission`);
      assert.equal(String(field(admission, 'metadata.name')).length, 73);
      assert.ok(namesOf(docs, 'Job').every((name) => name.length <= 63));
    });

    test('fullnameOverride renames Deployment, Service and Secret but not the claim or the Ingress', async () => {
      const docs = await helm.template(newest(), 'skypilot', [auth, storageOn, 'fullnameOverride=sky-x']);
      const server = pick(docs, 'Deployment', 'sky-x-api-server');
      assert.equal(field(server, 'spec.template.metadata.labels.app'), 'sky-x-api');
      assert.equal(mountedClaim(server), 'sky-x-state');
      assert.deepEqual(field(pick(docs, 'Service', 'sky-x-api-service'), 'spec.selector'), {
        app: 'sky-x-api',
      });
      pick(docs, 'Secret', 'sky-x-basic-auth');
      assert.deepEqual(namesOf(docs, 'PersistentVolumeClaim'), ['skypilot-state']);
      const ingress = pick(docs, 'Ingress', 'skypilot-ingress');
      // Both point at objects this release does not have: skypilot-api-service and skypilot-basic-auth.
      assert.equal(field(ingress, 'spec.rules.0.http.paths.0.backend.service.name'), 'skypilot-api-service');
      assert.equal(annotation(ingress, 'nginx.ingress.kubernetes.io/auth-secret'), 'skypilot-basic-auth');
    });

    test('storage.existingClaim: the newer charts mount it and render no claim; the older ones ignore it', async () => {
      for (const chart of servedCharts) {
        const ref = { repoUrl: repo.url, ...chart };
        const withClaim = await helm.template(ref, 'skypilot', [auth, 'storage.existingClaim=state-claim']);
        const defaults = await helm.template(ref, 'skypilot', [auth]);
        const shown = await helm.run('show', 'values', ...chartArgs(ref));
        const storage = field(YAML.parse(shown.stdout), 'storage') as Manifest;
        const server = (docs: Manifest[]) => pick(docs, 'Deployment', 'skypilot-api-server');
        if (chart.existingClaim) {
          assert.deepEqual([storage.existingClaim, storage.enabled], ['', false], chart.version);
          assert.deepEqual(namesOf(withClaim, 'PersistentVolumeClaim'), [], chart.version);
          assert.equal(mountedClaim(server(withClaim)), 'state-claim', chart.version);
          // PR #10086: storage is off by default, so without values there is no claim and no state.
          assert.deepEqual(namesOf(defaults, 'PersistentVolumeClaim'), [], chart.version);
          assert.equal(mountedClaim(server(defaults)), undefined, chart.version);
        } else {
          assert.deepEqual([storage.existingClaim, storage.enabled], [undefined, true], chart.version);
          assert.deepEqual(namesOf(withClaim, 'PersistentVolumeClaim'), ['skypilot-state'], chart.version);
          assert.equal(mountedClaim(server(withClaim)), 'skypilot-state', chart.version);
          assert.deepEqual(namesOf(defaults, 'PersistentVolumeClaim'), ['skypilot-state'], chart.version);
        }
      }
    });

    test('the sa-extractor hook renders with service-account auth, never with the ingress basic auth', async () => {
      const withSa = await helm.template(newest(), 'skypilot', []);
      const job = pick(withSa, 'Job', 'skypilot-sa-extractor');
      assert.deepEqual(field(job, 'metadata.annotations'), {
        'helm.sh/hook': 'post-install, post-upgrade',
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
        'helm.sh/hook-weight': '10',
      });
      assert.equal(container(job).image, 'bitnami/kubectl:latest');
      assert.deepEqual(namesOf(await helm.template(newest(), 'skypilot', [auth]), 'Job').sort(), [
        'skypilot-ingress-nginx-admission-create',
        'skypilot-ingress-nginx-admission-patch',
      ]);
      const off = await helm.template(newest(), 'skypilot', ['apiService.enableServiceAccounts=false']);
      assert.ok(!namesOf(off, 'Job').includes('skypilot-sa-extractor'));
    });

    test('the resource check: below 4 CPU / 8 GiB fails the render unless skipResourceCheck', async () => {
      const message = /Deploying a SkyPilot API server requires at least 4 CPU cores and 8 GiB memory/;
      const ref = newest();
      for (const set of [
        'apiService.resources.requests.cpu=2',
        'apiService.resources.requests.cpu=3500m',
        'apiService.resources.requests.memory=4Gi',
        'apiService.resources.requests.memory=8000Mi',
      ]) {
        await assert.rejects(helm.template(ref, 'skypilot', [set]), message, set);
      }
      for (const set of [
        'apiService.resources.requests.cpu=4000m',
        'apiService.resources.requests.memory=8192Mi',
      ]) {
        await helm.template(ref, 'skypilot', [set]);
      }
      const small = await helm.template(ref, 'skypilot', [
        'apiService.resources.requests.cpu=2',
        'apiService.skipResourceCheck=true',
      ]);
      assert.equal(
        field(container(pick(small, 'Deployment', 'skypilot-api-server')), 'resources.requests.cpu'),
        2,
      );
    });
  });
}

/** A release of its own IngressClass, so it does not collide with the first release's `nginx`. */
function ownClass(name: string): string[] {
  return [
    `ingress-nginx.controller.ingressClassResource.name=${name}`,
    `ingress-nginx.controller.ingressClassResource.controllerValue=k8s.io/${name}`,
    `ingress.ingressClassName=${name}`,
  ];
}

interface HookRun {
  name: string;
  kind: string;
  last_run?: { phase?: string };
}

for (const flavour of helmFlavours()) {
  describe(`the mimic SkyPilot chart installed into the Kubernetes stand-in (${flavour})`, () => {
    let repo: ChartRepo;
    let kube: KubeStandIn;
    let helm: HelmRunner;
    let chart: ChartRef;

    const install = (release: string, set: string[]) =>
      helm.run(
        'upgrade',
        '--install',
        release,
        ...chartArgs(chart),
        '--namespace',
        release,
        '--create-namespace',
        '--wait',
        '--timeout',
        '60s',
        ...setArgs(set),
      );
    const hooks = async (release: string): Promise<HookRun[]> => {
      const status = await helm.run('status', release, '--namespace', release, '-o', 'json');
      assert.ok(status.ok, status.stderr);
      return ((JSON.parse(status.stdout) as { hooks?: HookRun[] }).hooks ?? []).map((h) => ({
        name: h.name,
        kind: h.kind,
        last_run: { phase: h.last_run?.phase },
      }));
    };
    const manifestKinds = async (release: string): Promise<string[]> => {
      const out = await helm.run('get', 'manifest', release, '--namespace', release);
      assert.ok(out.ok, out.stderr);
      return parseManifests(out.stdout).map((m) => `${String(m.kind)}/${String(field(m, 'metadata.name'))}`);
    };

    before(async () => {
      const bins = await realBinaries(flavour);
      repo = await startChartRepo(bins.helm);
      kube = await startKubeStandIn();
      helm = new HelmRunner(bins);
      helm.connect(kube.writeKubeconfig(helm.dir));
      chart = { repoUrl: repo.url, ...newestChart('skypilot-nightly', true) };
    });
    after(async () => {
      await kube?.close();
      await repo?.close();
      helm?.close();
    });

    test('the Job controller completes Jobs as Kubernetes 1.31+ does; kubectl wait sees it', async () => {
      const job = (name: string, suspend: boolean) => ({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: 'default' },
        spec: {
          suspend,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } },
        },
      });
      kube.put(job('runs', false));
      kube.put(job('waits', true));
      const waited = await helm.kubectl(
        'wait',
        '--for=condition=complete',
        'job/runs',
        '-n',
        'default',
        '--timeout=10s',
      );
      assert.ok(waited.ok, waited.stderr);
      const status = field(kube.get('batch/v1', 'Job', 'default', 'runs'), 'status') as Manifest;
      const conditions = status.conditions as Manifest[];
      assert.deepEqual(
        conditions.map((c) => [c.type, c.status, c.reason]),
        [
          ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
          ['Complete', 'True', 'CompletionsReached'],
        ],
      );
      assert.equal(status.succeeded, 1);
      assert.ok(String(status.startTime) <= String(status.completionTime));
      assert.equal(field(kube.get('batch/v1', 'Job', 'default', 'waits'), 'status.conditions'), undefined);
    });

    test('install runs the admission hook Jobs to completion and renders skypilot-system once', async () => {
      kube.clearRequests();
      const out = await install('skypilot', [auth, storageOn]);
      assert.ok(out.ok, out.stderr);
      const ran = await hooks('skypilot');
      for (const name of [
        'skypilot-ingress-nginx-admission-create',
        'skypilot-ingress-nginx-admission-patch',
      ]) {
        assert.deepEqual(
          ran.find((h) => h.name === name && h.kind === 'Job'),
          { name, kind: 'Job', last_run: { phase: 'Succeeded' } },
        );
        // hook-succeeded: helm deleted the Job once it had completed.
        assert.equal(kube.get('batch/v1', 'Job', 'skypilot', name), undefined);
      }
      assert.ok(
        kube
          .mutatingRequests()
          .some(
            (r) => r.method === 'DELETE' && r.path.endsWith('/jobs/skypilot-ingress-nginx-admission-patch'),
          ),
      );
      assert.ok((await manifestKinds('skypilot')).includes('Namespace/skypilot-system'));
      const system = kube.get('v1', 'Namespace', undefined, 'skypilot-system') ?? {};
      assert.equal(annotation(system, 'helm.sh/resource-policy'), 'keep');
      assert.equal(annotation(system, 'meta.helm.sh/release-name'), 'skypilot');
      for (const [kind, name] of [
        ['Service', 'skypilot-ingress-nginx-controller'],
        ['Service', 'skypilot-ingress-nginx-controller-admission'],
        ['Deployment', 'skypilot-api-server'],
        ['PersistentVolumeClaim', 'skypilot-state'],
      ] as const) {
        assert.ok(
          kube.get(kind === 'Deployment' ? 'apps/v1' : 'v1', kind, 'skypilot', name),
          `${kind} ${name}`,
        );
      }
      assert.ok(kube.get('networking.k8s.io/v1', 'IngressClass', undefined, 'nginx'));
      assert.ok(
        kube.get(
          'admissionregistration.k8s.io/v1',
          'ValidatingWebhookConfiguration',
          undefined,
          'skypilot-ingress-nginx-admission',
        ),
      );
    });

    test('an upgrade no longer renders skypilot-system, and the kept namespace stays', async () => {
      const out = await install('skypilot', [auth, storageOn, 'apiService.config=x: 1']);
      assert.ok(out.ok, out.stderr);
      assert.ok(!(await manifestKinds('skypilot')).includes('Namespace/skypilot-system'));
      assert.ok(kube.get('v1', 'Namespace', undefined, 'skypilot-system'));
      const ran = await hooks('skypilot');
      assert.ok(ran.filter((h) => h.kind === 'Job').every((h) => h.last_run?.phase === 'Succeeded'));
    });

    test('a second release collides on the IngressClass nginx as helm refuses it; its own class installs', async () => {
      const refused = await install('other', [auth, storageOn]);
      assert.equal(refused.ok, false);
      assert.match(
        refused.stderr,
        /IngressClass "nginx" in namespace "" exists and cannot be imported into the current release: invalid ownership metadata/,
      );
      assert.match(
        refused.stderr,
        /key "meta\.helm\.sh\/release-name" must equal "other": current value is "skypilot"/,
      );
      assert.deepEqual(kube.list('apps/v1', 'Deployment', 'other'), []);

      const installed = await install('other', [auth, storageOn, ...ownClass('nginx-other')]);
      assert.ok(installed.ok, installed.stderr);
      const ingressClass = kube.get('networking.k8s.io/v1', 'IngressClass', undefined, 'nginx-other');
      assert.equal(field(ingressClass, 'spec.controller'), 'k8s.io/nginx-other');
      assert.equal(
        field(kube.get('networking.k8s.io/v1', 'Ingress', 'other', 'other-ingress'), 'spec.ingressClassName'),
        'nginx-other',
      );
      // The namespace exists already, so this release does not render (and does not fight over) it.
      assert.ok(!(await manifestKinds('other')).includes('Namespace/skypilot-system'));
    });

    test('the resource check fails the install with the chart message; skipResourceCheck installs', async () => {
      kube.clearRequests();
      const small = ['apiService.resources.requests.cpu=2', ...ownClass('nginx-small')];
      const refused = await install('small', small);
      assert.equal(refused.ok, false);
      assert.match(
        refused.stderr,
        /execution error at \(skypilot-nightly\/templates\/NOTES\.txt:\d+:\d+\): Error\nDeploying a SkyPilot API server requires at least 4 CPU cores and 8 GiB memory/,
      );
      assert.deepEqual(kube.list('apps/v1', 'Deployment', 'small'), []);
      assert.ok(!kube.mutatingRequests().some((r) => r.path.includes('/jobs')), 'no hook ran');
      const installed = await install('small', [...small, 'apiService.skipResourceCheck=true']);
      assert.ok(installed.ok, installed.stderr);
    });

    test('with service-account auth (no basic auth) the sa-extractor post-install hook runs', async () => {
      const out = await install('sa', ownClass('nginx-sa'));
      assert.ok(out.ok, out.stderr);
      const ran = await hooks('sa');
      assert.deepEqual(
        ran
          .filter((h) => h.name === 'sa-sa-extractor')
          .map((h) => [h.kind, h.last_run?.phase])
          .sort(),
        [
          ['Job', 'Succeeded'],
          ['Role', 'Succeeded'],
          ['RoleBinding', 'Succeeded'],
          ['ServiceAccount', 'Succeeded'],
        ],
      );
    });
  });
}
