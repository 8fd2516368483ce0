import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { realBinaries, type HelmFlavour } from '../../standins/binaries.js';
import { newestChart } from '../../standins/chartRepo.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { clearLogs, computeWrites, kubeWrites, ok } from '../support/e2e.js';
import { needsLoadBalancerAddresses } from '../support/network.js';
import { HelmRunner } from '../support/helmChart.js';

// Issue 11: the names of what the release makes come from the release (the real chart's naming rules, overrides,
// existingClaim, a drill beside production), never from string templates. The bundle runs against the stand-ins;
// every deploy is checked by its claim Bound to the volume and an authorized health check at the URL it outputs.

const PV = 'sky-api-server-pv';
const NEW_CHART = newestChart('skypilot-nightly', true).version;
const OLD_CHART = newestChart('skypilot-nightly', false).version;
// 53 characters, helm's limit for a release name.
const NAME_53 = 'names-from-the-release-never-guessed-by-the-action-53';
// 51: the longest the chart can name `<release>-api-service` with (a Service name has at most 63 characters).
const NAME_51 = 'names-from-the-release-never-guessed-by-the-actio51';

interface Health {
  status: number;
  body: Record<string, unknown>;
}

function getHealth(url: string, authorization?: string): Promise<Health> {
  return new Promise((resolve, reject) => {
    const headers = authorization ? { Authorization: authorization } : {};
    const req = http.get(`${url}/api/health`, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // nginx's own pages (401, 404, 503) are HTML.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
  });
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The server answers at the URL the run output, only with the credentials: the ingress checks basic auth. */
async function assertHealthy(url: string | undefined): Promise<void> {
  assert.match(url ?? '', /^http:\/\/127\.\d+\.\d+\.\d+(:\d+)?$/, 'a server URL output');
  const denied = await getHealth(url!);
  assert.equal(denied.status, 401, 'the ingress asks for credentials');
  const healthy = await getHealth(url!, basic('skypilot', WORLD.password));
  assert.equal(healthy.status, 200);
  assert.equal(healthy.body.status, 'healthy');
  assert.ok(healthy.body.version, 'an authorized health check gets the full answer');
}

/** The claim the server mounts is Bound to the state volume, and the volume to it. */
function assertClaimBound(world: LocalWorld, namespace: string, claim: string, pv = PV): void {
  const pvc = world.kube.get('v1', 'PersistentVolumeClaim', namespace, claim);
  assert.ok(pvc, `claim ${namespace}/${claim} exists`);
  assert.equal(at(pvc, 'spec', 'volumeName'), pv);
  assert.equal(at(pvc, 'status', 'phase'), 'Bound');
  const volume = world.kube.get('v1', 'PersistentVolume', undefined, pv);
  assert.equal(at(volume, 'spec', 'claimRef', 'name'), claim);
  assert.equal(at(volume, 'spec', 'claimRef', 'namespace'), namespace);
  assert.equal(at(volume, 'spec', 'persistentVolumeReclaimPolicy'), 'Retain');
}

/** The API server Deployment mounts that claim: the state the health check reaches is on the volume. */
function assertMounted(world: LocalWorld, namespace: string, claim: string): void {
  const mounting = world.kube.list('apps/v1', 'Deployment', namespace).filter((d) => {
    const volumes = at(d, 'spec', 'template', 'spec', 'volumes');
    return (
      Array.isArray(volumes) && volumes.some((v) => at(v, 'persistentVolumeClaim', 'claimName') === claim)
    );
  });
  assert.equal(mounting.length, 1, `one Deployment mounts ${claim}`);
}

/** A deploy that serves: the claim bound and mounted, the server healthy behind its URL. */
async function assertServes(world: LocalWorld, run: ActionRun, release: string): Promise<void> {
  ok(run);
  assertClaimBound(world, 'skypilot', `${release}-state`);
  assertMounted(world, 'skypilot', `${release}-state`);
  await assertHealthy(run.outputs['server-url']);
}

/** A rerun with the same inputs changes nothing anywhere. */
async function assertConverges(world: LocalWorld, inputs: Record<string, string>): Promise<ActionRun> {
  clearLogs(world);
  const again = ok(await world.run(inputs));
  assert.deepEqual(computeWrites(world), []);
  assert.deepEqual(kubeWrites(world), []);
  return again;
}

/** The ingress-nginx controller Service of a release, found by the subchart's labels. */
function controllerService(world: LocalWorld, release: string): Record<string, unknown> {
  const found = world.kube.list('v1', 'Service', 'skypilot').filter((s) => {
    const labels = (at(s, 'metadata', 'labels') ?? {}) as Record<string, unknown>;
    return (
      labels['app.kubernetes.io/name'] === 'ingress-nginx' &&
      labels['app.kubernetes.io/component'] === 'controller' &&
      labels['app.kubernetes.io/instance'] === release &&
      at(s, 'spec', 'type') === 'LoadBalancer'
    );
  });
  assert.equal(found.length, 1, `one controller Service of ${release}`);
  return found[0]!;
}

/** The URL users reach the Service at, as endpoint.ts writes it: its http port only when it is not 80. */
function urlOf(service: Record<string, unknown>): string {
  const ingress = at(service, 'status', 'loadBalancer', 'ingress');
  const ports = at(service, 'spec', 'ports');
  const http = Array.isArray(ports) ? ports.find((p) => at(p, 'name') === 'http') : undefined;
  const port = Number(at(http, 'port') ?? 80);
  const ip = String(at(Array.isArray(ingress) ? ingress[0] : undefined, 'ip'));
  return `http://${ip}${port === 80 ? '' : `:${port}`}`;
}

const releaseSecrets = (world: LocalWorld, namespace: string): string[] =>
  world.kube
    .list('v1', 'Secret', namespace)
    .filter((s) => at(s, 'type') === 'helm.sh/release.v1')
    .map((s) => String(at(s, 'metadata', 'name')));

/** A refusal before any change: nothing written anywhere, no disk, no volume, no release. */
function assertNothingChanged(world: LocalWorld, run: ActionRun): void {
  assert.equal(run.code, 1);
  assert.deepEqual(computeWrites(world), []);
  assert.deepEqual(kubeWrites(world), []);
  // Only the plan that names the refusal (a plan job gates on it), and that nothing changes.
  assert.deepEqual(Object.keys(run.outputs).sort(), ['changes', 'plan']);
  assert.equal(run.outputs.changes, 'false');
  const plan = JSON.parse(run.outputs.plan ?? '{}') as { release?: string; refused?: { step: string } };
  assert.equal(plan.refused?.step, 'release');
  assert.equal(plan.release, 'refuse');
}

for (const flavour of ['helm4', 'helm3'] as HelmFlavour[]) {
  // The controller Service is looked up as a LoadBalancer; with only 127.0.0.1 the stand-ins use a NodePort.
  describe(
    `names the chart gives, learned from the release (${flavour})`,
    { skip: needsLoadBalancerAddresses },
    () => {
      let world: LocalWorld;
      before(async () => {
        world = await startLocalWorld({ flavour });
      });
      after(() => world.close());

      it('fullnameOverride is refused before any change, naming the value: no disk, no volume, no release', async () => {
        for (const chartVersion of [NEW_CHART, OLD_CHART]) {
          clearLogs(world);
          const run = await world.run({ 'chart-version': chartVersion, values: 'fullnameOverride: sky\n' });
          assertNothingChanged(world, run);
          assert.match(run.errors[0] ?? '', /remove fullnameOverride/);
        }
        // The chart names the Service and the Deployment after the full name, the Ingress and claim after the
        // release: with the override the Ingress routes nowhere (new chart) or the server mounts no claim (old chart).
        assert.deepEqual(world.compute.disks(), []);
        assert.deepEqual(world.kube.list('v1', 'PersistentVolume'), []);
        assert.deepEqual(world.kube.list('v1', 'PersistentVolumeClaim', 'skypilot'), []);
        assert.deepEqual(releaseSecrets(world, 'skypilot'), []);
      });

      it('a 53-character release name is refused before any change, saying which limit and how long a name fits', async () => {
        clearLogs(world);
        const run = await world.run({ 'release-name': NAME_53 });
        assertNothingChanged(world, run);
        const error = run.errors[0] ?? '';
        assert.match(error, new RegExp(`Service '${NAME_53}-api-service' \\(65 characters\\)`));
        assert.match(error, /DNS-1035 label of at most 63/);
        assert.match(error, /use a release-name of at most 51 characters/);
        assert.deepEqual(world.compute.disks(), []);
      });

      it("the chart's resource check is refused in plan mode with the chart's own message, nothing changed", async () => {
        clearLogs(world);
        const values = 'apiService:\n  resources:\n    requests:\n      cpu: "2"\n      memory: 4Gi\n';
        const run = await world.run({ mode: 'plan', values });
        assertNothingChanged(world, run);
        const error = run.errors[0] ?? '';
        assert.match(error, /NOTES\.txt/);
        assert.match(error, /requires at least 4 CPU cores and 8 GiB memory/);
        assert.match(error, /apiService\.skipResourceCheck=true/);
        // With the chart's own way out, the same plan goes through.
        const skipped = ok(await world.run({ mode: 'plan', values: `${values}  skipResourceCheck: true\n` }));
        assert.match(skipped.summary, /\| helm \| skypilot\/skypilot \| install/);
        assert.deepEqual(computeWrites(world), []);
        assert.deepEqual(kubeWrites(world), []);
      });

      it('release my-ingress-nginx: the subchart names its controller after the release alone', async () => {
        const inputs = { 'release-name': 'my-ingress-nginx' };
        const run = await world.run(inputs);
        await assertServes(world, run, 'my-ingress-nginx');
        const service = controllerService(world, 'my-ingress-nginx');
        assert.equal(at(service, 'metadata', 'name'), 'my-ingress-nginx-controller');
        assert.equal(run.outputs['server-url'], urlOf(service));
        const again = await assertConverges(world, inputs);
        assert.equal(again.outputs['server-url'], run.outputs['server-url']);
      });

      it('a 51-character release name: the subchart gets a short name of its own, kept on reruns', async () => {
        await world.loseCluster();
        const inputs = { 'release-name': NAME_51 };
        const run = await world.run(inputs);
        await assertServes(world, run, NAME_51);
        const service = controllerService(world, NAME_51);
        assert.match(
          String(at(service, 'metadata', 'name')),
          /^names-from-the-release-never-gues-[0-9a-f]{6}-controller$/,
        );
        assert.equal(run.outputs['server-url'], urlOf(service));
        const services = world.kube
          .list('v1', 'Service', 'skypilot')
          .map((s) => String(at(s, 'metadata', 'name')));
        assert.ok(services.includes(`${NAME_51}-api-service`));
        for (const name of services) assert.ok(name.length <= 63, `${name} fits a Service name`);
        await assertConverges(world, inputs);
      });

      it('ingress-nginx.fullnameOverride: the URL comes from the controller Service of that name', async () => {
        await world.loseCluster();
        const inputs = { values: 'ingress-nginx:\n  fullnameOverride: edge\n' };
        const run = await world.run(inputs);
        await assertServes(world, run, 'skypilot');
        const service = controllerService(world, 'skypilot');
        assert.equal(at(service, 'metadata', 'name'), 'edge-controller');
        assert.equal(run.outputs['server-url'], urlOf(service));
        assert.equal(
          world.kube.get('v1', 'Service', 'skypilot', 'skypilot-ingress-nginx-controller'),
          undefined,
        );
        await assertConverges(world, inputs);
      });
    },
  );
}

describe("charts with storage.existingClaim: the claim is the action's (helm 4)", () => {
  let world: LocalWorld;
  let helm: HelmRunner;
  const inputs = { 'chart-version': NEW_CHART };
  const claim = (): Record<string, unknown> | undefined =>
    world.kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    helm = new HelmRunner(await realBinaries('helm4'));
  });
  after(async () => {
    helm.close();
    await world.close();
  });

  it('the action makes the claim, labelled as its own and pre-bound; a rerun writes nothing', async () => {
    const run = await world.run(inputs);
    await assertServes(world, run, 'skypilot');
    const pvc = claim();
    assert.equal(at(pvc, 'metadata', 'labels', 'app.kubernetes.io/managed-by'), 'skyha-action');
    assert.equal(at(pvc, 'metadata', 'annotations', 'helm.sh/resource-policy'), 'keep');
    assert.equal(at(pvc, 'metadata', 'annotations', 'meta.helm.sh/release-name'), undefined, "not helm's");
    assert.match(
      run.summary,
      /\| claim \| skypilot\/skypilot-state \| create \(pre-bound to sky-api-server-pv\), the action's/,
    );
    await assertConverges(world, inputs);
  });

  it('the claim survives helm uninstall; the rerun reinstalls on it, then converges', async () => {
    const uid = at(claim(), 'metadata', 'uid');
    helm.connect(world.env().KUBECONFIG!);
    const uninstall = await helm.run('uninstall', 'skypilot', '--namespace', 'skypilot', '--wait');
    assert.ok(uninstall.ok, uninstall.stderr);
    assert.deepEqual(releaseSecrets(world, 'skypilot'), [], 'the release is gone');
    assert.equal(at(claim(), 'metadata', 'uid'), uid, 'the same claim');
    assertClaimBound(world, 'skypilot', 'skypilot-state');
    const rerun = await world.run(inputs);
    await assertServes(world, rerun, 'skypilot');
    assert.equal(at(claim(), 'metadata', 'uid'), uid, 'the same claim');
    await assertConverges(world, inputs);
  });

  it('a rerun pinned to a chart without existingClaim is refused in the plan, naming chart-version', async () => {
    clearLogs(world);
    const run = await world.run({ 'chart-version': OLD_CHART });
    assert.equal(run.code, 1);
    const error = run.errors[0] ?? '';
    assert.match(error, /Claim skypilot\/skypilot-state is the action's own/);
    assert.match(
      error,
      new RegExp(`skypilot-nightly ${OLD_CHART.replace(/\./g, '\\.')} has no storage\\.existingClaim`),
    );
    assert.match(error, /Keep a chart-version whose chart has storage\.existingClaim/);
    assert.doesNotMatch(error, /invalid ownership metadata/, 'found before helm runs');
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assertClaimBound(world, 'skypilot', 'skypilot-state');
  });

  it('a claim an older chart made is adopted on the upgrade to a chart with existingClaim, never deleted', async () => {
    await world.loseCluster();
    // The disk records the newer chart from the runs before: going back to the older one is a downgrade, on purpose.
    const old = await world.run({ 'chart-version': OLD_CHART, 'allow-downgrade': 'true' });
    await assertServes(world, old, 'skypilot');
    assert.equal(
      at(claim(), 'metadata', 'labels', 'app.kubernetes.io/managed-by'),
      'Helm',
      "the chart's claim",
    );
    const uid = at(claim(), 'metadata', 'uid');
    const upgraded = await world.run(inputs);
    await assertServes(world, upgraded, 'skypilot');
    assert.equal(upgraded.outputs['helm-revision'], '2');
    assert.equal(at(claim(), 'metadata', 'uid'), uid, 'the same claim, never deleted');
    assert.equal(at(claim(), 'metadata', 'labels', 'app.kubernetes.io/managed-by'), 'skyha-action');
    assert.equal(at(claim(), 'metadata', 'annotations', 'helm.sh/resource-policy'), 'keep');
    await assertConverges(world, inputs);
  });
});

// Two controllers in one cluster: with only 127.0.0.1 they would share the one NodePort the stand-ins use.
describe('a drill beside production in its cluster (helm 4)', { skip: needsLoadBalancerAddresses }, () => {
  let world: LocalWorld;
  let production: ActionRun;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    production = await world.run();
    await assertServes(world, production, 'skypilot');
  });
  after(() => world.close());

  it('both serve; production keeps its revision and its IngressClass; the drill has its own', async () => {
    const revisions = releaseSecrets(world, 'skypilot');
    const drill = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'false' }));
    const namespace = 'skypilot-drill-4242-1';
    assertClaimBound(world, namespace, 'skypilot-drill-state', `${PV}-drill-4242-1`);
    assertMounted(world, namespace, 'skypilot-drill-state');
    assert.notEqual(drill.outputs['server-url'], production.outputs['server-url']);
    await assertHealthy(drill.outputs['server-url']);
    await assertHealthy(production.outputs['server-url']);
    assert.deepEqual(releaseSecrets(world, 'skypilot'), revisions, 'production got no revision');
    assertClaimBound(world, 'skypilot', 'skypilot-state');

    const owner = (name: string): unknown[] => {
      const klass = world.kube.get('networking.k8s.io/v1', 'IngressClass', undefined, name);
      const annotations = at(klass, 'metadata', 'annotations');
      return [
        at(annotations, 'meta.helm.sh/release-name'),
        at(annotations, 'meta.helm.sh/release-namespace'),
      ];
    };
    assert.deepEqual(owner('nginx'), ['skypilot', 'skypilot']);
    assert.deepEqual(owner(namespace), ['skypilot-drill', namespace]);
    const drillClass = world.kube.get('networking.k8s.io/v1', 'IngressClass', undefined, namespace);
    assert.equal(at(drillClass, 'spec', 'controller'), `skyha-action.io/${namespace}`);
    const ingresses = world.kube.list('networking.k8s.io/v1', 'Ingress', namespace);
    assert.deepEqual(
      ingresses.map((i) => at(i, 'spec', 'ingressClassName')),
      [namespace],
    );
    assert.equal(
      at(
        world.kube.get('networking.k8s.io/v1', 'Ingress', 'skypilot', 'skypilot-ingress'),
        'spec',
        'ingressClassName',
      ),
      'nginx',
    );
  });
});
