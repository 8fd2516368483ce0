import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { api, field, runTool, toolsFor } from '../support/kubeTools.js';

// Access reviews and denials, as an RBAC-enabled API server answers them: real kubectl asks `auth can-i` and is
// refused with the API server's own Forbidden Status.

const clusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'reader' },
  rules: [],
};

function review(verb: string, group: string, resource: string, namespace?: string) {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb, group, resource, ...(namespace ? { namespace } : {}) } },
  };
}

describe('kubernetes stand-in: access reviews and denials', () => {
  let kube: KubeStandIn;
  let bins: RealBinaries;
  let tools: ReturnType<typeof toolsFor>;
  before(async () => {
    [kube, bins] = await Promise.all([startKubeStandIn(), realBinaries('helm4')]);
    tools = toolsFor(kube);
  });
  after(async () => {
    tools.cleanup();
    await kube.close();
  });

  test('everything is allowed until a rule denies it; the review and the request then agree', async () => {
    const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    const ask = async (verb: string, namespace?: string) =>
      field(
        (await api(kube, 'POST', path, review(verb, 'rbac.authorization.k8s.io', 'clusterroles', namespace)))
          .body,
        'status.allowed',
      );
    assert.equal(await ask('create'), true);
    const lift = kube.deny({ verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
    assert.equal(await ask('create'), false);
    assert.equal(await ask('get'), true, 'only the denied verb');
    const created = await api(kube, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', clusterRole);
    assert.equal(created.status, 403);
    assert.deepEqual(created.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'clusterroles.rbac.authorization.k8s.io is forbidden: User "standin-admin" cannot create resource ' +
        '"clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope',
      reason: 'Forbidden',
      details: { group: 'rbac.authorization.k8s.io', kind: 'clusterroles' },
      code: 403,
    });
    assert.equal(kube.get('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, 'reader'), undefined);
    lift();
    assert.equal(await ask('create'), true);
    const again = await api(kube, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', clusterRole);
    assert.equal(again.status, 201);
  });

  test('a namespaced denial names its namespace; server-side apply that creates needs create too', async () => {
    const lift = kube.deny({ verb: 'create', group: '', resource: 'secrets', namespace: 'team' });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'team' } };
    await api(kube, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
    const applied = await api(
      kube,
      'PATCH',
      '/api/v1/namespaces/team/secrets/s?fieldManager=test',
      secret,
      'application/apply-patch+yaml',
    );
    assert.equal(applied.status, 403);
    assert.equal(
      field(applied.body, 'message'),
      'secrets "s" is forbidden: User "standin-admin" cannot create resource "secrets" in API group "" in the namespace "team"',
    );
    const elsewhere = await api(kube, 'POST', '/api/v1/namespaces/default/secrets', {
      ...secret,
      metadata: { name: 's', namespace: 'default' },
    });
    assert.equal(elsewhere.status, 201, 'another namespace is not denied');
    lift();
  });

  test('real kubectl: auth can-i says no, and create fails with the Forbidden message', async () => {
    const lift = kube.deny({ verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
    const canI = await runTool(bins.kubectl, ['auth', 'can-i', 'create', 'clusterroles'], tools.env);
    assert.equal(canI.stdout.trim(), 'no');
    const create = await runTool(
      bins.kubectl,
      ['create', 'clusterrole', 'viewer', '--verb=get', '--resource=pods'],
      tools.env,
    );
    assert.notEqual(create.code, 0);
    assert.match(
      create.stderr,
      /clusterroles\.rbac\.authorization\.k8s\.io is forbidden: User "standin-admin" cannot create resource "clusterroles" in API group "rbac\.authorization\.k8s\.io" at the cluster scope/,
    );
    lift();
    const allowed = await runTool(bins.kubectl, ['auth', 'can-i', 'create', 'clusterroles'], tools.env);
    assert.equal(allowed.stdout.trim(), 'yes');
  });
});
