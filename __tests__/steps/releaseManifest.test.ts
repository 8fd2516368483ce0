import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { realBinaries } from '../../standins/binaries.js';
import { newestChart, startChartRepo, type ChartRepo } from '../../standins/chartRepo.js';
import {
  checkReleaseObjects,
  releaseObjects,
  type ReleaseExpectations,
  type ReleaseObjects,
} from '../../src/steps/releaseManifest.js';
import { HelmRunner } from '../support/helmChart.js';

const nginx = (release: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'ingress-nginx',
  'app.kubernetes.io/instance': release,
  'app.kubernetes.io/component': 'controller',
});

function service(
  name: string,
  labels: Record<string, string>,
  ports: string[],
  type = 'LoadBalancer',
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { type, ports: ports.map((p, i) => ({ name: p, port: 80 + i })) },
  };
}

function deployment(name: string, claim?: string): Record<string, unknown> {
  const volumes = claim
    ? [{ name: 'state-volume', persistentVolumeClaim: { claimName: claim } }]
    : [{ name: 'webhook-cert', secret: { secretName: 'x' } }];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { template: { spec: { volumes } } },
  };
}

function ingress(name: string, backend: string, authSecret?: string): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      annotations: authSecret ? { 'nginx.ingress.kubernetes.io/auth-secret': authSecret } : {},
    },
    spec: {
      rules: [
        { http: { paths: [{ path: '/', backend: { service: { name: backend, port: { number: 80 } } } }] } },
      ],
    },
  };
}

const secret = (name: string): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
});

const manifest = (...objects: Record<string, unknown>[]): string =>
  objects.map((o) => `---\n${YAML.stringify(o)}`).join('');

/** What the chart renders for release `sky`, with the names of each object given. */
function chartObjects(names: {
  controller?: string;
  server?: string;
  claim?: string;
  apiService?: string;
  backend?: string;
  authSecret?: string;
  basicAuth?: string;
}): Record<string, unknown>[] {
  return [
    service(names.controller ?? 'sky-ingress-nginx-controller', nginx('sky'), ['http', 'https']),
    service(
      `${names.controller ?? 'sky-ingress-nginx-controller'}-admission`,
      nginx('sky'),
      ['https-webhook'],
      'ClusterIP',
    ),
    deployment(names.controller ?? 'sky-ingress-nginx-controller'),
    service(
      names.apiService ?? 'sky-api-service',
      { 'app.kubernetes.io/name': 'skypilot' },
      ['http'],
      'ClusterIP',
    ),
    deployment(names.server ?? 'sky-api-server', names.claim ?? 'sky-state'),
    secret(names.basicAuth ?? 'sky-basic-auth'),
    ingress('sky-ingress', names.backend ?? 'sky-api-service', names.authSecret ?? 'sky-basic-auth'),
  ];
}

describe('releaseObjects: what the release makes, by what it is', () => {
  const cases: Array<{
    name: string;
    objects: Record<string, unknown>[];
    controller: ReleaseObjects['controllerService'];
    apiServer: ReleaseObjects['apiServer'];
    ingress: ReleaseObjects['ingress'];
  }> = [
    {
      name: 'the default names',
      objects: chartObjects({}),
      controller: { name: 'sky-ingress-nginx-controller', type: 'LoadBalancer' },
      apiServer: { name: 'sky-api-server', claim: 'sky-state' },
      ingress: { name: 'sky-ingress', backend: 'sky-api-service', authSecret: 'sky-basic-auth' },
    },
    {
      name: 'a controller named after ingress-nginx.fullnameOverride, the server after fullnameOverride',
      objects: chartObjects({ controller: 'edge-controller', server: 'other-api-server', claim: 'mine' }),
      controller: { name: 'edge-controller', type: 'LoadBalancer' },
      apiServer: { name: 'other-api-server', claim: 'mine' },
      ingress: { name: 'sky-ingress', backend: 'sky-api-service', authSecret: 'sky-basic-auth' },
    },
    {
      name: 'an auth Secret of another namespace (`ns/name`) is read as its name',
      objects: chartObjects({ authSecret: 'team/htpasswd' }),
      controller: { name: 'sky-ingress-nginx-controller', type: 'LoadBalancer' },
      apiServer: { name: 'sky-api-server', claim: 'sky-state' },
      ingress: { name: 'sky-ingress', backend: 'sky-api-service', authSecret: 'htpasswd' },
    },
    {
      name: "another release's controller, and a Service without an http port, are not this release's",
      objects: [
        service('other-ingress-nginx-controller', nginx('other'), ['http']),
        service('sky-ingress-nginx-controller', nginx('sky'), ['https']),
        service('sky-nodeport', nginx('sky'), ['http'], 'NodePort'),
      ],
      controller: { name: 'sky-nodeport', type: 'NodePort' },
      apiServer: undefined,
      ingress: undefined,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const objects = releaseObjects(manifest(...c.objects), 'sky');
      assert.deepEqual(objects.controllerService, c.controller);
      assert.deepEqual(objects.apiServer, c.apiServer);
      assert.deepEqual(objects.ingress, c.ingress);
    });
  }

  test('names over the limit of their kind: 63 for a Service, 253 for a Secret; the subchart by its label', () => {
    const long = 'x'.repeat(58);
    const objects = releaseObjects(
      manifest(
        service(`${long}-controller`, nginx('sky'), ['http']),
        service(`${long}-api-service`, { 'app.kubernetes.io/name': 'skypilot' }, ['http']),
        secret(`${long}-basic-auth`),
        service('x'.repeat(63), {}, ['http']),
      ),
      'sky',
    );
    assert.deepEqual(objects.tooLong, [
      { kind: 'Service', name: `${long}-controller`, limit: 63, subchart: true },
      { kind: 'Service', name: `${long}-api-service`, limit: 63, subchart: false },
    ]);
    assert.deepEqual(objects.names.Secret, [`${long}-basic-auth`]);
  });
});

describe('checkReleaseObjects: what cannot serve the state is refused, saying what to change', () => {
  const expect: ReleaseExpectations = { claim: 'sky-state', authSecret: undefined, release: 'sky' };
  const check = (objects: Record<string, unknown>[], release = 'sky', e: Partial<ReleaseExpectations> = {}) =>
    checkReleaseObjects(releaseObjects(manifest(...objects), release), { ...expect, release, ...e });

  test('the default names serve', () => {
    assert.equal(check(chartObjects({})), undefined);
  });

  const refusals: Array<{
    name: string;
    objects: Record<string, unknown>[];
    reason: RegExp;
    hint: RegExp;
    release?: string;
    e?: Partial<ReleaseExpectations>;
  }> = [
    {
      name: 'a Service named after a long release: the longest release-name that fits',
      release: 'r'.repeat(53),
      objects: [service(`${'r'.repeat(53)}-api-service`, {}, ['http'])],
      reason:
        /Service 'r{53}-api-service' \(65 characters\), but a Service name is a DNS-1035 label of at most 63/,
      hint: /'<release-name>-api-service': use a release-name of at most 51 characters/,
    },
    {
      name: "a subchart name too long: the subchart's value",
      objects: [service(`${'e'.repeat(50)}-controller-admission`, nginx('sky'), ['https'])],
      reason: /\(71 characters\)/,
      hint: /ingress-nginx\.fullnameOverride/,
    },
    {
      name: 'a name after fullnameOverride, not the release',
      objects: [service(`${'f'.repeat(60)}-api-service`, {}, ['http'])],
      reason: /at most 63/,
      hint: /fullnameOverride/,
    },
    {
      name: 'a server mounting another claim than the bound one (fullnameOverride on an old chart)',
      objects: chartObjects({ claim: 'other-state' }),
      reason: /would mount the claim other-state, but the state volume is for sky-state/,
      hint: /remove fullnameOverride\/nameOverride .* or use a chart version with storage\.existingClaim/,
    },
    {
      name: 'no Deployment that mounts a claim',
      objects: chartObjects({}).filter((o) => JSON.stringify(o).indexOf('state-volume') < 0),
      reason: /no Deployment that mounts a claim/,
      hint: /storage values/,
    },
    {
      name: 'no controller Service',
      objects: chartObjects({}).filter(
        (o) => o.kind !== 'Service' || !JSON.stringify(o).includes('ingress-nginx'),
      ),
      reason: /no ingress controller Service/,
      hint: /ingress-nginx\.enabled/,
    },
    {
      name: 'an Ingress routed to a Service the release does not make (fullnameOverride on a new chart)',
      objects: chartObjects({ apiService: 'other-api-service' }),
      reason: /route to the Service sky-api-service, which the release does not make/,
      hint: /remove fullnameOverride/,
    },
    {
      name: 'basic auth from a Secret the release does not make',
      objects: chartObjects({ basicAuth: 'other-basic-auth' }),
      reason: /basic auth from the Secret sky-basic-auth, which the release does not make/,
      hint: /pass auth-secret/,
    },
  ];
  for (const r of refusals) {
    test(r.name, () => {
      const refusal = check(r.objects, r.release, r.e);
      assert.equal(refusal?.action, 'refuse');
      assert.match(refusal.reason, r.reason);
      assert.match(refusal.hint, r.hint);
      assert.match(refusal.hint, /nothing was changed/);
    });
  }

  test('the Secret of the auth-secret input is not made by the release, and is no refusal', () => {
    const objects = chartObjects({ authSecret: 'team-htpasswd' });
    assert.equal(check(objects, 'sky', { authSecret: 'team-htpasswd' }), undefined);
  });
});

// The subchart's full name (REFERENCE.md): ingress-nginx.fullnameOverride, else the release alone when it contains
// `ingress-nginx`, else `<release>-ingress-nginx`; trunc 63 and no trailing `-`, then the same for `-controller`.
const cut = (name: string): string => name.slice(0, 63).replace(/-+$/, '');
function expectedController(release: string, fullnameOverride?: string): string {
  const full = fullnameOverride ?? (release.includes('ingress-nginx') ? release : `${release}-ingress-nginx`);
  return cut(`${cut(full)}-controller`);
}

describe('the subchart fullname rule, read from the mimic chart rendered by real helm', () => {
  let repo: ChartRepo;
  let helm: HelmRunner;
  before(async () => {
    const bins = await realBinaries('helm4');
    repo = await startChartRepo(bins.helm);
    helm = new HelmRunner(bins);
  });
  after(async () => {
    helm?.close();
    await repo?.close();
  });

  const cases: Array<{ release: string; fullnameOverride?: string; subchartTooLong: boolean }> = [
    { release: 'skypilot', subchartTooLong: false },
    { release: 'my-ingress-nginx', subchartTooLong: false },
    { release: 'ingress-nginx', subchartTooLong: false },
    { release: 'ingress-nginx-prod', subchartTooLong: false },
    { release: 'skypilot', fullnameOverride: 'edge', subchartTooLong: false },
    // 28 characters: `<release>-ingress-nginx-controller-admission` is 63, the most a Service name may have.
    { release: 'a'.repeat(28), subchartTooLong: false },
    { release: 'a'.repeat(29), subchartTooLong: true },
    // `<release>-ingress-nginx` is 62: trunc 63 of `<that>-controller` ends in `-`, trimmed to the full name alone.
    { release: 'b'.repeat(48), subchartTooLong: true },
  ];
  for (const c of cases) {
    const label = `release ${c.release}${c.fullnameOverride ? `, ingress-nginx.fullnameOverride ${c.fullnameOverride}` : ''}`;
    test(label, async () => {
      const set = ['ingress.authCredentials=admin:$apr1$salt$hash', 'storage.enabled=true'];
      if (c.fullnameOverride) set.push(`ingress-nginx.fullnameOverride=${c.fullnameOverride}`);
      const chart = { repoUrl: repo.url, ...newestChart('skypilot-nightly', true) };
      const docs = await helm.template(chart, c.release, set);
      const objects = releaseObjects(docs.map((d) => `---\n${YAML.stringify(d)}`).join(''), c.release);
      assert.deepEqual(objects.controllerService, {
        name: expectedController(c.release, c.fullnameOverride),
        type: 'LoadBalancer',
      });
      assert.deepEqual(objects.apiServer, { name: `${c.release}-api-server`, claim: `${c.release}-state` });
      assert.equal(
        objects.tooLong.some((t) => t.subchart),
        c.subchartTooLong,
      );
    });
  }
});
