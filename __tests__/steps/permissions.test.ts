import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describePermission,
  gkeRole,
  planPermissions,
  uniquePermissions,
  type Permission,
  type ReviewedPermission,
} from '../../src/steps/permissions.js';

// The preflight's plan: go ahead when the cluster allows everything, else one refusal naming each missing
// permission, what needs it, and the role (or the RBAC rules) that grants it.

const p = (verb: string, group: string, resource: string, namespace?: string, why = 'x'): Permission => ({
  verb,
  group,
  resource,
  namespace,
  why,
});
const reviewed = (permission: Permission, allowed: boolean): ReviewedPermission => ({
  ...permission,
  allowed,
});

test('each permission is named by verb, group/resource and scope', () => {
  const cases: Array<[Permission, string]> = [
    [
      p('create', 'rbac.authorization.k8s.io', 'clusterroles'),
      'create rbac.authorization.k8s.io/clusterroles at the cluster scope',
    ],
    [p('patch', '', 'secrets', 'skypilot'), 'patch secrets in namespace skypilot'],
    [p('watch', 'apps', 'deployments', 'ns'), 'watch apps/deployments in namespace ns'],
  ];
  for (const [permission, text] of cases) assert.equal(describePermission(permission), text);
});

test('the GKE role: writes of cluster-scoped RBAC need the admin, everything else the developer', () => {
  const cases: Array<[Permission, string]> = [
    [p('create', 'rbac.authorization.k8s.io', 'clusterroles'), 'roles/container.admin'],
    [p('patch', 'rbac.authorization.k8s.io', 'clusterrolebindings'), 'roles/container.admin'],
    [p('delete', 'rbac.authorization.k8s.io', 'clusterroles'), 'roles/container.admin'],
    [p('get', 'rbac.authorization.k8s.io', 'clusterroles'), 'roles/container.developer'],
    [p('create', 'rbac.authorization.k8s.io', 'roles', 'ns'), 'roles/container.developer'],
    [p('create', 'networking.k8s.io', 'ingressclasses'), 'roles/container.developer'],
    [p('create', '', 'persistentvolumes'), 'roles/container.developer'],
    // A resource of the same name in another group is not RBAC.
    [p('create', 'example.com', 'clusterroles'), 'roles/container.developer'],
  ];
  for (const [permission, role] of cases)
    assert.equal(gkeRole(permission), role, describePermission(permission));
});

test('all allowed: the plan goes ahead and says how many were asked', () => {
  const all = [
    reviewed(p('create', '', 'persistentvolumes'), true),
    reviewed(p('get', '', 'secrets', 'n'), true),
  ];
  assert.deepEqual(planPermissions(all), { action: 'allowed', checked: 2 });
  assert.deepEqual(planPermissions([]), { action: 'allowed', checked: 0 });
});

test('denied: one refusal naming each missing permission, what needs it, its role and the RBAC rules', () => {
  const plan = planPermissions([
    reviewed(
      p('create', 'rbac.authorization.k8s.io', 'clusterroles', undefined, "the chart's ClusterRole sky"),
      false,
    ),
    reviewed(
      p('patch', 'rbac.authorization.k8s.io', 'clusterroles', undefined, "the chart's ClusterRole sky"),
      false,
    ),
    reviewed(p('create', '', 'secrets', 'skypilot', 'the Secret gcp-credentials'), false),
    reviewed(p('create', '', 'persistentvolumes', undefined, 'the volume'), true),
  ]);
  assert.equal(plan.action, 'refuse');
  if (plan.action !== 'refuse') return;
  assert.equal(
    plan.reason,
    'The cluster does not allow what this run needs, so nothing was changed: ' +
      "create rbac.authorization.k8s.io/clusterroles at the cluster scope (for the chart's ClusterRole sky; roles/container.admin grants it); " +
      "patch rbac.authorization.k8s.io/clusterroles at the cluster scope (for the chart's ClusterRole sky; roles/container.admin grants it); " +
      'create secrets in namespace skypilot (for the Secret gcp-credentials; roles/container.developer grants it)',
  );
  assert.match(plan.hint, /^Grant the identity the workflow authenticates as roles\/container\.admin /);
  assert.match(
    plan.hint,
    /\{apiGroups: \["rbac\.authorization\.k8s\.io"\], resources: \["clusterroles"\], verbs: \["create", "patch"\]\}, \{apiGroups: \[""\], resources: \["secrets"\], verbs: \["create"\]\}/,
  );
  assert.match(plan.hint, /bind and escalate verbs/);
  assert.doesNotMatch(plan.reason, /persistentvolumes/, 'an allowed permission is not named');
});

test('only namespaced permissions missing: the developer role is enough, and RBAC escalation is not mentioned', () => {
  const plan = planPermissions([
    reviewed(p('update', 'coordination.k8s.io', 'leases', 'skypilot', 'the lock'), false),
  ]);
  assert.equal(plan.action, 'refuse');
  if (plan.action !== 'refuse') return;
  assert.match(plan.hint, /^Grant the identity the workflow authenticates as roles\/container\.developer in/);
  assert.doesNotMatch(plan.hint, /container\.admin|escalate/);
});

test('each permission is asked once, with the first reason', () => {
  const unique = uniquePermissions([
    p('get', '', 'secrets', 'a', 'first'),
    p('get', '', 'secrets', 'a', 'second'),
    p('get', '', 'secrets', 'b', 'other namespace'),
    p('get', '', 'secrets', undefined, 'cluster'),
  ]);
  assert.deepEqual(
    unique.map((u) => `${u.namespace ?? '-'} ${u.why}`),
    ['a first', 'b other namespace', '- cluster'],
  );
});
