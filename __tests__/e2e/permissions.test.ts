import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalWorld, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, clearLogs, computeWrites, kubeWrites, ok } from '../support/e2e.js';

// The permission preflight: a cluster that denies what the chart needs refuses the run before any change, in plan
// mode too, naming each missing permission and the role that grants it; a converged rerun asks nothing.

const REVIEWS = /\/selfsubjectaccessreviews$/;

function reviews(world: LocalWorld): number {
  return world.kube.requests.filter((r) => r.method === 'POST' && REVIEWS.test(r.path)).length;
}

describe('a cluster that denies creating ClusterRoles (helm 4)', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  const denied =
    /create rbac\.authorization\.k8s\.io\/clusterroles at the cluster scope \(for the chart's ClusterRole [^;]+; roles\/container\.admin grants it\)/;

  for (const mode of ['deploy', 'plan']) {
    it(`${mode}: refused before any change, naming the permission and the role that grants it`, async () => {
      const lift = world.kube.deny({
        verb: 'create',
        group: 'rbac.authorization.k8s.io',
        resource: 'clusterroles',
      });
      clearLogs(world);
      const run = await world.run({ mode });
      lift();
      assert.equal(run.code, 1, run.stdout.slice(-3000));
      assert.match(
        run.errors[0] ?? '',
        /The cluster does not allow what this run needs, so nothing was changed/,
      );
      assert.match(run.errors[0] ?? '', denied);
      assert.doesNotMatch(run.errors[0] ?? '', /clusterrolebindings|ingressclasses/, 'only what is denied');
      assert.match(run.stdout, /Grant the identity the workflow authenticates as roles\/container\.admin/);
      assert.match(
        run.stdout,
        /apiGroups: \["rbac\.authorization\.k8s\.io"\], resources: \["clusterroles"\], verbs: \["create"\]/,
      );
      assert.match(run.summary, /\| permissions \| [^|]+ \| refuse: /);
      // The plan output names the refusal too (a plan job gates on it); the plan itself would create.
      const plan = JSON.parse(run.outputs.plan ?? '{}') as {
        release?: string;
        refused?: { step: string; reason: string };
      };
      assert.equal(plan.release, 'install');
      assert.equal(plan.refused?.step, 'permissions');
      assert.match(plan.refused?.reason ?? '', /does not allow what this run needs/);
      assert.equal(run.outputs.changes, 'false', 'a refused run changes nothing');
      assert.ok(reviews(world) > 10, 'the cluster was asked');
      assert.deepEqual(computeWrites(world), [], 'no disk, no Compute write');
      assert.deepEqual(kubeWrites(world), [], 'no lock, no volume, no release');
      assert.deepEqual(world.compute.disks(), []);
    });
  }

  it('allowed again: the deploy goes ahead; the converged rerun asks nothing', async () => {
    clearLogs(world);
    const first = ok(await world.run());
    assert.match(
      first.summary,
      /\| permissions \| [^|]+ \| \d+ permissions checked \(SelfSubjectAccessReview\): all allowed/,
    );
    assert.match(first.stdout, /Asked the cluster about \d+ permissions in \d+ ms/);
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.equal(reviews(world), 0, 'a converged rerun needs no write permission');
    assert.deepEqual(kubeWrites(world), []);
  });
});

describe('helm 3 creates with POST and patches only on upgrades; helm 4 applies (patch) from the first install', () => {
  const denyPatch = (world: LocalWorld) =>
    world.kube.deny({ verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'skypilot' });
  const refusedPatch =
    /patch apps\/deployments in namespace skypilot \(for the chart's Deployment [^;]+; roles\/container\.developer grants it\)/;

  it('helm 3: a first install goes ahead without patch (and is never refused by helm); an upgrade is refused', async () => {
    const world = await startLocalWorld({ flavour: 'helm3' });
    try {
      const lift = denyPatch(world);
      ok(await world.run());
      assertStateIntact(world);
      clearLogs(world);
      const upgrade = await world.run({ values: 'apiService:\n  annotations:\n    changed: "yes"\n' });
      lift();
      assert.equal(upgrade.code, 1, upgrade.stdout.slice(-3000));
      assert.match(upgrade.errors[0] ?? '', refusedPatch);
      assert.deepEqual(kubeWrites(world), [], 'refused before the lock and before helm');
    } finally {
      await world.close();
    }
  });

  it('helm 4: the first install already needs patch, so it is refused before any change', async () => {
    const world = await startLocalWorld({ flavour: 'helm4' });
    try {
      const lift = denyPatch(world);
      const run = await world.run();
      lift();
      assert.equal(run.code, 1, run.stdout.slice(-3000));
      assert.match(run.errors[0] ?? '', refusedPatch);
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
    } finally {
      await world.close();
    }
  });
});
