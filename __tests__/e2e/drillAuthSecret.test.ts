import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { htpasswdLine } from '../../src/lib/htpasswd.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertNoSecret, clearLogs, computeWrites, DISK, kubeWrites, ok } from '../support/e2e.js';

// A drill with auth-secret serves a copy of production's Secret in its own namespace (production's is only
// read), checks health through it, and removes it with its namespace; without the Secret in production's
// namespace the drill is refused before any Compute write.

const USER = 'alice';
const PASSWORD = 'alice-Pa55-from-the-team';

function teamSecret(): Record<string, unknown> {
  const auth = Buffer.from(`${htpasswdLine(USER, PASSWORD)}\n`).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'team-htpasswd', namespace: 'skypilot', labels: { team: 'platform' } },
    data: { auth },
  };
}

/** Production's volume still on its disk and its claim bound (the drill left with cleanup off keeps its own). */
function assertProductionIntact(world: LocalWorld): void {
  const pv = world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv');
  assert.equal(at(pv, 'spec', 'csi', 'volumeHandle'), DISK);
  const claim = world.kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
  assert.equal(at(claim, 'status', 'phase'), 'Bound');
  assert.equal(world.compute.disks().filter((d) => d.name === 'sky-api-server-state').length, 1);
}

/**
 * What a drill left outside its namespace without drill-cleanup (named after the release, it would collide with
 * the next drill's): removed by hand, as its owner would (helm uninstall).
 */
function removeOutsideObjectsOf(world: LocalWorld, namespace: string): void {
  const kinds: Array<[string, string]> = [
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['rbac.authorization.k8s.io/v1', 'Role'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
    ['networking.k8s.io/v1', 'IngressClass'],
    ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
  ];
  for (const [apiVersion, kind] of kinds) {
    for (const o of world.kube.list(apiVersion, kind)) {
      if (at(o, 'metadata', 'annotations', 'meta.helm.sh/release-namespace') !== namespace) continue;
      const where = at(o, 'metadata', 'namespace');
      world.kube.remove(apiVersion, kind, where as string | undefined, String(at(o, 'metadata', 'name')));
    }
  }
}

async function health(url: string, credentials?: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = credentials
    ? { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }
    : {};
  const response = await fetch(`${url}/api/health`, { headers });
  return { status: response.status, body: await response.text() };
}

describe('a drill with auth-secret (helm 4)', () => {
  let world: LocalWorld;
  const drill = { mode: 'drill', 'web-password': '', 'auth-secret': 'team-htpasswd' };
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    ok(await world.run());
  });
  after(() => world.close());

  it('missing in production’s namespace: refused before any change, with a hint that can be followed', async () => {
    clearLogs(world);
    const run = await world.run({ ...drill, 'drill-cleanup': 'true' }, { GITHUB_RUN_ID: '7001' });
    assert.equal(run.code, 1, run.stdout.slice(-3000));
    assert.match(
      run.errors[0] ?? '',
      /auth-secret skypilot\/team-htpasswd does not exist in production's namespace/,
    );
    assert.match(
      run.errors[0] ?? '',
      /Create it there .*kubectl create secret generic team-htpasswd -n skypilot/,
    );
    assert.deepEqual(computeWrites(world), [], 'no snapshot, no disk');
    assert.deepEqual(kubeWrites(world), []);
    assert.equal(world.kube.get('v1', 'Namespace', undefined, 'skypilot-drill-7001-1'), undefined);
  });

  it('copied into the drill’s namespace, production’s unchanged, health checked through the copy', async () => {
    const production = world.kube.put(teamSecret());
    clearLogs(world);
    const run = ok(await world.run({ ...drill, 'drill-cleanup': 'false' }, { GITHUB_RUN_ID: '7002' }));
    assert.deepEqual(
      world.kube.get('v1', 'Secret', 'skypilot', 'team-htpasswd'),
      production,
      "production's Secret is only read",
    );
    assert.ok(
      !kubeWrites(world).some((w) => w.includes('/namespaces/skypilot/secrets/team-htpasswd')),
      "no write to production's Secret",
    );
    const copy = world.kube.get('v1', 'Secret', 'skypilot-drill-7002-1', 'team-htpasswd');
    assert.deepEqual(at(copy, 'metadata', 'labels'), {
      'managed-by': 'skyha-action',
      'skyha-drill': '7002-1',
    });
    assert.equal(
      at(copy, 'metadata', 'annotations', 'skyha-action.io/copied-from'),
      'skypilot/team-htpasswd',
    );
    const lines = Buffer.from(String(at(copy, 'data', 'auth')), 'base64')
      .toString()
      .trim()
      .split('\n');
    const teamLine = Buffer.from(String(at(production, 'data', 'auth')), 'base64')
      .toString()
      .trim();
    assert.deepEqual(lines[0], teamLine, "production's logins come along");
    assert.match(lines[1] ?? '', /^skyha-drill-7002-1:\$apr1\$/, "and the drill's own, for its health check");
    assert.equal(lines.length, 2);
    // The action checked health itself (its own login), and the team's login works on the drill too.
    assert.ok(run.outputs['server-version'], 'health was checked');
    assert.doesNotMatch(run.stdout, /health was not checked/);
    const url = run.outputs['server-url']!;
    assert.equal((await health(url)).status, 401);
    const withTeam = await health(url, `${USER}:${PASSWORD}`);
    assert.equal(withTeam.status, 200);
    assert.equal(JSON.parse(withTeam.body).status, 'healthy');
    assertNoSecret(run, WORLD.password, PASSWORD);
    assertProductionIntact(world);
  });

  it('with drill-cleanup the copy goes with the drill’s namespace; production’s stays', async () => {
    removeOutsideObjectsOf(world, 'skypilot-drill-7002-1');
    const production = world.kube.get('v1', 'Secret', 'skypilot', 'team-htpasswd');
    ok(await world.run({ ...drill, 'drill-cleanup': 'true' }, { GITHUB_RUN_ID: '7003' }));
    assert.equal(world.kube.get('v1', 'Namespace', undefined, 'skypilot-drill-7003-1'), undefined);
    assert.deepEqual(world.kube.list('v1', 'Secret', 'skypilot-drill-7003-1'), []);
    assert.deepEqual(world.kube.get('v1', 'Secret', 'skypilot', 'team-htpasswd'), production);
    assertProductionIntact(world);
  });
});
