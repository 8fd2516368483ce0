import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { helmFlavours, realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { chartSource, startChartRepo, type ChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import {
  decodeReleaseRecord,
  helmDriver,
  lastDeployedRevision,
  readHelmRelease,
  releaseMetadata,
  type HelmDriver,
  type StoredRelease,
} from '../../src/clients/helmStorage.js';
import { KubernetesClient } from '../../src/clients/kubernetes.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError } from '../../src/lib/errors.js';
import { toolEnv } from '../support/clients.js';

const run = promisify(execFile);

test('a record is base64 of gzipped JSON, inside the base64 of a Secret; without the gzip magic it is plain JSON', () => {
  const record = { name: 'r', version: 2, info: { status: 'deployed' } };
  const inner = zlib.gzipSync(JSON.stringify(record)).toString('base64');
  assert.deepEqual(decodeReleaseRecord(Buffer.from(inner).toString('base64'), 'secret'), record);
  assert.deepEqual(decodeReleaseRecord(inner, 'configmap'), record);
  const plain = Buffer.from(JSON.stringify(record)).toString('base64');
  assert.deepEqual(decodeReleaseRecord(Buffer.from(plain).toString('base64'), 'secret'), record);
  assert.throws(
    () => decodeReleaseRecord('bm90IGpzb24=', 'secret', 'Secret ns/x'),
    /Secret ns\/x cannot be decoded/,
  );
});

test('HELM_DRIVER picks the storage as helm does; memory and sql are refused', () => {
  assert.equal(helmDriver({}), 'secret');
  assert.equal(helmDriver({ HELM_DRIVER: 'secrets' }), 'secret');
  assert.equal(helmDriver({ HELM_DRIVER: 'ConfigMap' }), 'configmap');
  assert.throws(() => helmDriver({ HELM_DRIVER: 'sql' }), ActionError);
});

test('lastDeployedRevision names the newest deployed or superseded revision', () => {
  const history = [
    { revision: 1, status: 'superseded' },
    { revision: 2, status: 'deployed' },
    { revision: 3, status: 'failed' },
    { revision: 4, status: 'pending-upgrade' },
  ];
  assert.equal(lastDeployedRevision(history), 2);
  assert.equal(lastDeployedRevision(history.slice(0, 1)), 1);
  assert.equal(lastDeployedRevision([{ revision: 1, status: 'pending-install' }]), undefined);
});

/** A copy of the mimic chart with a pre-install/pre-upgrade hook (a ConfigMap: helm creates it without waiting). */
function chartWithHook(dir: string): string {
  const chart = path.join(dir, 'hook-chart', 'skypilot-nightly');
  fs.cpSync(chartSource, chart, { recursive: true });
  fs.writeFileSync(
    path.join(chart, 'templates', 'hook-marker.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-upgrade-marker',
      '  annotations:',
      '    "helm.sh/hook": pre-install,pre-upgrade',
      '    "helm.sh/hook-weight": "-5"',
      '    "helm.sh/hook-delete-policy": before-hook-creation',
      'data:',
      '  revision: "{{ .Release.Revision }}"',
      '',
    ].join('\n'),
  );
  return chart;
}

for (const flavour of helmFlavours()) {
  describe(`readHelmRelease equals what ${flavour} itself reports`, () => {
    let bins: RealBinaries;
    let kube: KubeStandIn;
    let repo: ChartRepo;
    let dir: string;
    let kubeconfig: string;
    let client: KubernetesClient;
    const namespace = 'skypilot';
    const release = 'skypilot';

    before(async () => {
      bins = await realBinaries(flavour);
      kube = await startKubeStandIn();
      repo = await startChartRepo(bins.helm);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-storage-'));
      kubeconfig = kube.writeKubeconfig(dir);
      client = KubernetesClient.fromKubeconfig({ path: kubeconfig }, { budget: new Deadline(120_000) });
    });
    after(async () => {
      client?.close();
      await kube?.close();
      await repo?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const helmArgs = (args: string[]): string[] => [...args, '--kubeconfig', kubeconfig];
    const helmEnv = (driver: HelmDriver): NodeJS.ProcessEnv => ({
      ...process.env,
      ...toolEnv(dir),
      HELM_DRIVER: driver,
    });
    const helm = async (args: string[], driver: HelmDriver = 'secret'): Promise<string> =>
      (await run(bins.helm, helmArgs(args), { env: helmEnv(driver) })).stdout;

    const upgrade = (name: string, ns: string, extra: string[]): string[] => [
      'upgrade',
      '--install',
      name,
      ...extra,
      '--namespace',
      ns,
      '--create-namespace',
      '--set',
      'apiService.skipResourceCheck=true',
      '--set',
      'storage.enabled=false',
    ];
    const fromRepo = (version?: string): string[] => [
      'skypilot-nightly',
      '--repo',
      repo.url,
      '--devel',
      ...(version ? ['--version', version] : []),
    ];

    /** What helm prints, next to what the storage reader read. */
    async function compare(name: string, ns: string, driver: HelmDriver = 'secret'): Promise<StoredRelease> {
      const stored = await readHelmRelease(client, name, ns, { driver });
      assert.ok(stored, `${name} is found in ${driver} storage`);
      const get = (what: string, json = true): Promise<string> =>
        helm(['get', what, name, '--namespace', ns, ...(json ? ['--output', 'json'] : [])], driver);
      const metadata = JSON.parse(await get('metadata')) as Record<string, unknown>;
      const { labels: _labels, applyMethod, ...shared } = metadata;
      assert.deepEqual(releaseMetadata(stored), shared);
      assert.equal(stored.applyMethod, applyMethod, 'helm 4 names its apply method; helm 3 none');
      assert.deepEqual(stored.config, JSON.parse(await get('values')) ?? {});
      assert.equal(`${stored.manifest}\n`, await get('manifest', false));
      const hooks = stored.hooks.map((h) => `---\n# Source: ${h.path}\n${h.manifest}\n`).join('');
      assert.equal(hooks, await get('hooks', false));
      const history = JSON.parse(
        await helm(['history', name, '--namespace', ns, '--output', 'json'], driver),
      ) as Array<{ revision: number; status: string }>;
      assert.deepEqual(
        stored.history,
        history.map((h) => ({ revision: h.revision, status: h.status })),
      );
      return stored;
    }

    test('an install and an upgrade to a newer chart version with other values', async () => {
      await helm(
        upgrade(release, namespace, [
          ...fromRepo('1.0.0-dev.20250101'),
          '--set',
          'ingress.authCredentials=u:x',
        ]),
      );
      const first = await compare(release, namespace);
      assert.equal(first.revision, 1);
      assert.equal(first.status, 'deployed');
      assert.equal(first.chart.version, '1.0.0-dev.20250101');
      await helm(upgrade(release, namespace, [...fromRepo(), '--wait', '--timeout', '60s']));
      const second = await compare(release, namespace);
      assert.equal(second.revision, 2);
      assert.notEqual(second.chart.version, first.chart.version);
      assert.deepEqual(second.history, [
        { revision: 1, status: 'superseded' },
        { revision: 2, status: 'deployed' },
      ]);
    });

    test('an upgrade from a chart with a hook stores the hook', async () => {
      await helm(upgrade(release, namespace, [chartWithHook(dir)]));
      const stored = await compare(release, namespace);
      assert.equal(stored.revision, 3);
      // The chart's own hooks (the admission webhook Jobs) are stored beside the marker.
      assert.deepEqual(
        stored.hooks.filter((h) => h.kind === 'ConfigMap').map((h) => [h.kind, h.name, h.events]),
        [['ConfigMap', `${release}-upgrade-marker`, ['pre-install', 'pre-upgrade']]],
      );
      assert.ok(
        stored.hooks.some((h) => h.kind === 'Job'),
        'the subchart admission Jobs are hooks too',
      );
    });

    test('a failed upgrade, then one left pending by a killed helm; the last deployed revision is named', async () => {
      await kube.configure({ deploymentAvailable: false });
      try {
        await assert.rejects(
          helm(upgrade(release, namespace, [...fromRepo(), '--set', 'x=1', '--wait', '--timeout', '2s'])),
        );
        const failed = await compare(release, namespace);
        assert.equal(failed.status, 'failed');
        assert.equal(lastDeployedRevision(failed.history), 3);

        const child = spawn(
          bins.helm,
          helmArgs(
            upgrade(release, namespace, [...fromRepo(), '--set', 'x=2', '--wait', '--timeout', '120s']),
          ),
          { env: helmEnv('secret'), stdio: 'ignore' },
        );
        const exited = new Promise((resolve) => child.on('exit', resolve));
        await until(() =>
          kube.list('v1', 'Secret', namespace).some((s) => labelsOf(s).status === 'pending-upgrade'),
        );
        child.kill('SIGKILL');
        await exited;
        const pending = await compare(release, namespace);
        assert.equal(pending.status, 'pending-upgrade');
        assert.equal(pending.revision, 5);
        assert.equal(lastDeployedRevision(pending.history), 3);
      } finally {
        await kube.configure({ deploymentAvailable: true });
      }
    });

    test('HELM_DRIVER=configmap: records in ConfigMaps read the same', async () => {
      const ns = 'skypilot-cm';
      // A second release in the cluster: without its own ingress controller, it owns no IngressClass of the first.
      const noIngress = ['--set', 'ingress-nginx.enabled=false'];
      await helm(upgrade('sky-cm', ns, [...fromRepo('1.0.0-dev.20250101'), ...noIngress]), 'configmap');
      await helm(
        upgrade('sky-cm', ns, [...fromRepo(), ...noIngress, '--set', 'ingress.authCredentials=u:y']),
        'configmap',
      );
      const stored = await compare('sky-cm', ns, 'configmap');
      assert.equal(stored.revision, 2);
      assert.equal(await readHelmRelease(client, 'sky-cm', ns, { driver: 'secret' }), undefined);
    });

    test('a release that does not exist reads as undefined in one request', async () => {
      kube.clearRequests();
      assert.equal(await readHelmRelease(client, 'nope', namespace, { driver: 'secret' }), undefined);
      assert.deepEqual(
        kube.requests.map((r) => `${r.method} ${r.path}?${decodeURIComponent(r.query)}`),
        [`GET /api/v1/namespaces/${namespace}/secrets?labelSelector=owner=helm,name=nope`],
      );
    });
  });
}

function labelsOf(object: Record<string, unknown>): Record<string, string> {
  return (object.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(condition(), 'the condition came true within 30 s');
}
