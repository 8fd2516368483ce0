import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertNoSecret, assertStateIntact, clearLogs, ok } from '../support/e2e.js';

// A drill with drill-cleanup leaves nothing of itself, however it ends: out of time (the cleanup has a budget of
// its own) or cancelled (every deletion is asked for at once). The cluster protects storage in use as a real one
// does (pv-protection, pvc-protection), so a volume deleted while its claim still exists would wait, not go.

function drillParts(world: LocalWorld, runId: string) {
  const namespace = `skypilot-drill-${runId}`;
  const owned = (o: Record<string, unknown>) =>
    at(o, 'metadata', 'annotations', 'meta.helm.sh/release-namespace') === namespace;
  return {
    namespace: world.kube.get('v1', 'Namespace', undefined, namespace),
    claims: world.kube.list('v1', 'PersistentVolumeClaim', namespace),
    volume: world.kube.get('v1', 'PersistentVolume', undefined, `sky-api-server-pv-drill-${runId}`),
    disks: world.compute.disks().filter((d) => d.name !== 'sky-api-server-state'),
    snapshots: world.compute.snapshots(),
    ingressClass: world.kube.get('networking.k8s.io/v1', 'IngressClass', undefined, namespace),
    clusterRoles: world.kube.list('rbac.authorization.k8s.io/v1', 'ClusterRole').filter(owned),
    clusterRoleBindings: world.kube.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding').filter(owned),
    webhooks: world.kube
      .list('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration')
      .filter(owned),
    // The chart also puts a Role and its binding in skypilot-system, outside the drill's namespace.
    rolesElsewhere: [
      ...world.kube.list('rbac.authorization.k8s.io/v1', 'Role'),
      ...world.kube.list('rbac.authorization.k8s.io/v1', 'RoleBinding'),
    ].filter(owned),
  };
}

const NOTHING = {
  namespace: undefined,
  claims: [],
  volume: undefined,
  disks: [],
  snapshots: [],
  ingressClass: undefined,
  clusterRoles: [],
  clusterRoleBindings: [],
  webhooks: [],
  rolesElsewhere: [],
};

function failed(run: ActionRun, pattern: RegExp): ActionRun {
  assert.equal(run.code, 1, `the drill should have failed:\n${run.stdout.slice(-3000)}`);
  assert.match(run.errors[0] ?? '', pattern);
  return run;
}

describe('drill cleanup, whatever ends the drill (helm 4, storage protection on)', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4', kube: { storageProtection: true } });
    ok(await world.run());
  });
  after(() => world.close());

  it('out of time: the cleanup has a budget of its own and removes release, namespace, claim, volume, disk and snapshot', async () => {
    const runId = '6001';
    const namespace = `skypilot-drill-${runId}-1`;
    // The drill's server never gets a pod: its rollout waits until the run's time is up.
    await world.kube.configure({ deploymentsWithoutPods: [`${namespace}/skypilot-drill-api-server`] });
    clearLogs(world);
    const run = failed(
      await world.run({ mode: 'drill', 'drill-cleanup': 'true', timeout: '30s' }, { GITHUB_RUN_ID: runId }),
      /ran out of time during step rollout/,
    );
    await world.kube.configure({ deploymentsWithoutPods: [] });
    for (const part of ['release', 'namespace', 'volume', 'disk', 'snapshot'])
      assert.match(run.summary, new RegExp(`\\| cleanup \\| ${part} \\| deleted \\(drill resource\\) \\|`));
    assert.doesNotMatch(run.stdout, /Drill cleanup of the .* failed/);
    assert.deepEqual(drillParts(world, `${runId}-1`), NOTHING);
    assertStateIntact(world);
  });

  it('cancelled: every deletion is asked for before the step ends, and nothing of the drill is left', async () => {
    const runId = '6002';
    const namespace = `skypilot-drill-${runId}-1`;
    // Held at helm's first look at its release records: the disk, volume, claim and namespace exist by then.
    const hang = world.kube.inject({
      kind: 'hang',
      userAgent: /Helm/,
      method: 'GET',
      path: `/api/v1/namespaces/${namespace}/secrets`,
    });
    clearLogs(world);
    const running = world.start({ mode: 'drill', 'drill-cleanup': 'true' }, { GITHUB_RUN_ID: runId });
    await hang.firstCaught();
    assert.ok(world.kube.get('v1', 'Namespace', undefined, namespace), 'the drill is under way');
    assert.equal(world.compute.snapshots().length, 1);
    running.signal('SIGINT');
    const run = failed(await running.done, /cancelled \(SIGINT\) during step helm; a rerun converges/);
    hang.release();
    for (const part of ['namespace', 'volume'])
      assert.match(
        run.summary,
        new RegExp(`\\| cleanup \\| ${part} \\| deletion requested \\(drill resource\\) \\|`),
      );
    for (const part of ['disk', 'snapshot'])
      assert.match(run.summary, new RegExp(`\\| cleanup \\| ${part} \\| deleted \\(drill resource\\) \\|`));
    assert.deepEqual(drillParts(world, `${runId}-1`), NOTHING);
    assertStateIntact(world);
  });

  it('a second drill after both finds none of their names taken and cleans up after itself', async () => {
    clearLogs(world);
    ok(await world.run({ mode: 'drill', 'drill-cleanup': 'true' }, { GITHUB_RUN_ID: '6003' }));
    assert.deepEqual(drillParts(world, '6003-1'), NOTHING);
    assertNoSecret(await world.run({ mode: 'plan' }), WORLD.password);
    assertStateIntact(world);
  });
});
