import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';

// Aggregated discovery (apidiscovery.k8s.io/v2) and OpenAPI v3 with the apiserver's caching headers: what client-go
// asks for first, and what its HTTP cache keeps.

const exec = promisify(execFile);
type Obj = Record<string, unknown>;

/** The Accept header client-go's discovery sends (kubectl 1.35, helm 4). */
const CLIENT_GO_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

describe('kubernetes stand-in: aggregated discovery and cacheable OpenAPI', () => {
  let kube: KubeStandIn;
  let bins: RealBinaries;
  before(async () => {
    [kube, bins] = await Promise.all([startKubeStandIn(), realBinaries('helm4')]);
  });
  after(() => kube.close());

  const get = (urlPath: string, headers: Record<string, string> = {}) =>
    fetch(`${kube.url}${urlPath}`, { headers, redirect: 'manual' });

  test('/api and /apis answer the aggregated form to client-go, the older form to a plain JSON client', async () => {
    const named = await get('/apis', { Accept: CLIENT_GO_ACCEPT });
    assert.equal(named.headers.get('content-type'), AGGREGATED);
    assert.equal(named.headers.get('vary'), 'Accept');
    const list = (await named.json()) as Obj;
    assert.equal(list.kind, 'APIGroupDiscoveryList');
    assert.equal(list.apiVersion, 'apidiscovery.k8s.io/v2');
    const items = list.items as Array<{ metadata: { name: string }; versions: Obj[] }>;
    const apps = items.find((g) => g.metadata.name === 'apps');
    const resources = apps?.versions[0]?.resources as Obj[];
    const deployments = resources.find((r) => r.resource === 'deployments');
    assert.deepEqual(deployments?.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(deployments?.scope, 'Namespaced');
    const scale = (deployments?.subresources as Obj[]).find((s) => s.subresource === 'scale');
    assert.deepEqual(scale?.responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    assert.ok(!items.some((g) => g.metadata.name === ''), 'the core group is /api, not /apis');

    const core = (await (await get('/api', { Accept: CLIENT_GO_ACCEPT })).json()) as Obj;
    const coreItems = core.items as Array<{ metadata: { name: string }; versions: Obj[] }>;
    assert.deepEqual(
      coreItems.map((g) => g.metadata.name),
      [''],
    );
    const pvs = (coreItems[0]?.versions[0]?.resources as Obj[]).find(
      (r) => r.resource === 'persistentvolumes',
    );
    assert.equal(pvs?.scope, 'Cluster');

    const legacy = await get('/apis', { Accept: 'application/json' });
    assert.equal(legacy.headers.get('content-type'), 'application/json');
    assert.equal(((await legacy.json()) as Obj).kind, 'APIGroupList');
    // v2beta1 alone is not served any more (Kubernetes 1.33): the older form.
    const beta = await get('/apis', { Accept: AGGREGATED.replace('v=v2', 'v=v2beta1') });
    assert.equal(((await beta.json()) as Obj).kind, 'APIGroupList');
  });

  test('a current ETag gets 304 Not Modified, with no body', async () => {
    const first = await get('/apis', { Accept: CLIENT_GO_ACCEPT });
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9A-F]{128}"$/);
    const again = await get('/apis', { Accept: CLIENT_GO_ACCEPT, 'If-None-Match': etag! });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const stale = await get('/apis', { Accept: CLIENT_GO_ACCEPT, 'If-None-Match': '"0"' });
    assert.equal(stale.status, 200);
  });

  test('an OpenAPI document asked by its hash is immutable; by an old hash it is redirected', async () => {
    const index = (await (await get('/openapi/v3')).json()) as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const url = index.paths['api/v1']!.serverRelativeURL;
    const doc = await get(url);
    assert.equal(doc.status, 200);
    assert.equal(doc.headers.get('cache-control'), 'public, immutable');
    assert.equal(doc.headers.get('etag'), `"${new URL(url, kube.url).searchParams.get('hash')}"`);
    const moved = await get('/openapi/v3/api/v1?hash=0123');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get('location'), url);
    const plain = await get('/openapi/v3/api/v1');
    assert.equal(plain.headers.get('cache-control'), null, 'without a hash, nothing says it may be kept');
  });

  test('real kubectl: discovery in two requests; a second apply reads its documents from its HTTP cache', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-discovery-'));
    try {
      const env = { ...process.env, HOME: home, KUBECONFIG: kube.writeKubeconfig(home) };
      const manifest = path.join(home, 'pv.yaml');
      fs.writeFileSync(
        manifest,
        'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: cached}\n' +
          'spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /x}}\n',
      );
      const paths = () => kube.requests.map((r) => r.path);
      kube.clearRequests();
      await exec(bins.kubectl, ['apply', '-f', manifest], { env });
      const discovery = paths().filter((p) => /^\/apis?(\/|$)/.test(p) && !/persistentvolumes/.test(p));
      assert.deepEqual(discovery, ['/api', '/apis']);
      assert.ok(paths().includes('/openapi/v3/api/v1'));
      kube.clearRequests();
      await exec(bins.kubectl, ['apply', '-f', manifest], { env });
      assert.ok(!paths().includes('/openapi/v3/api/v1'), paths().join(' '));
      const { stdout } = await exec(bins.kubectl, ['api-resources', '--api-group=apps', '-o', 'name'], {
        env,
      });
      assert.deepEqual(stdout.trim().split('\n').sort(), [
        'controllerrevisions.apps',
        'daemonsets.apps',
        'deployments.apps',
        'replicasets.apps',
        'statefulsets.apps',
      ]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
