import { knownKind, type KindInfo } from '../clients/kinds.js';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import type { Deadline } from '../lib/deadline.js';
import { refuse, type Refusal } from '../lib/plan.js';
import type { ManifestResource } from './releaseManifest.js';

// The permission preflight: before the first change, the cluster is asked (SelfSubjectAccessReview, which anyone
// may create about themselves) for every verb on every resource the run will use, so that a missing permission
// stops the run before the disk, the volume or half a release exist, instead of as a 403 from helm midway.

/** One permission, as RBAC and an access review name it. */
export interface Permission {
  verb: string;
  /** '' for the core group. */
  group: string;
  /** The plural resource, e.g. `clusterroles`. */
  resource: string;
  /** undefined for a cluster-scoped resource. */
  namespace: string | undefined;
  /** What needs it, for the message: `the chart's ClusterRole skypilot`, `the release lock`. */
  why: string;
}

export interface ReviewedPermission extends Permission {
  allowed: boolean;
}

export type PermissionsPlan = { action: 'allowed'; checked: number } | Refusal;

/** The kinds cluster-scoped RBAC is made of: roles/container.developer cannot write them, roles/container.admin can. */
const CLUSTER_RBAC = new Set(['clusterroles', 'clusterrolebindings']);
const READS = new Set(['get', 'list', 'watch']);

/** Where each kind of the manifest lives (group, plural, scope): the static table, else discovery of its group. */
export async function observeKinds(
  kube: KubernetesClient,
  resources: readonly Pick<ManifestResource, 'apiVersion' | 'kind'>[],
  deadline: Deadline,
): Promise<Map<string, KindInfo>> {
  const found = new Map<string, KindInfo>();
  const unknown = new Set<string>();
  for (const { apiVersion, kind } of resources) {
    const info = knownKind(apiVersion, kind);
    if (info) found.set(`${apiVersion}/${kind}`, info);
    else unknown.add(apiVersion);
  }
  await Promise.all(
    [...unknown].map(async (apiVersion) => {
      for (const served of await kube.apiResources(apiVersion, { budget: deadline })) {
        if (served.name.includes('/')) continue;
        const key = `${apiVersion}/${served.kind}`;
        if (!found.has(key)) found.set(key, { resource: served.name, namespaced: served.namespaced });
      }
    }),
  );
  return found;
}

/** The group of an apiVersion (`rbac.authorization.k8s.io/v1` -> `rbac.authorization.k8s.io`, `v1` -> ''). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Each permission once (the first reason kept), in the order first asked. */
export function uniquePermissions(permissions: Permission[]): Permission[] {
  const seen = new Map<string, Permission>();
  for (const p of permissions) {
    const key = `${p.verb} ${p.group}/${p.resource} ${p.namespace ?? ''}`;
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()];
}

/** Asks the cluster about every permission, side by side (an access review changes nothing). */
export async function reviewPermissions(
  kube: KubernetesClient,
  permissions: Permission[],
  deadline: Deadline,
): Promise<ReviewedPermission[]> {
  return Promise.all(
    uniquePermissions(permissions).map(async (p) => {
      const review = await kube.create<KubeObject>(
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: p.verb,
              group: p.group,
              resource: p.resource,
              ...(p.namespace ? { namespace: p.namespace } : {}),
            },
          },
        },
        { budget: deadline },
      );
      const status = review.status as { allowed?: unknown } | undefined;
      return { ...p, allowed: status?.allowed === true };
    }),
  );
}

/** Pure: go ahead when every permission is allowed; otherwise refuse, naming each missing one and who grants it. */
export function planPermissions(reviewed: ReviewedPermission[]): PermissionsPlan {
  const denied = reviewed.filter((p) => !p.allowed);
  if (!denied.length) return { action: 'allowed', checked: reviewed.length };
  const lines = denied.map((p) => `${describePermission(p)} (for ${p.why}; ${gkeRole(p)} grants it)`);
  const admin = denied.some((p) => gkeRole(p) === 'roles/container.admin');
  const role = admin
    ? 'roles/container.admin (roles/container.developer cannot write cluster-scoped RBAC: ClusterRoles, ClusterRoleBindings)'
    : 'roles/container.developer';
  return refuse(
    `The cluster does not allow what this run needs, so nothing was changed: ${lines.join('; ')}`,
    `Grant the identity the workflow authenticates as ${role} in the cluster's project, or bind it through ` +
      `Kubernetes RBAC to a ClusterRole with these rules: ${rbacRules(denied)}` +
      (admin
        ? ' (making RBAC objects also needs the permissions they grant, or the bind and escalate verbs)'
        : '') +
      '; then rerun. `kubectl auth can-i <verb> <resource>` checks one',
  );
}

export function describePermissionsPlan(plan: PermissionsPlan): string {
  return plan.action === 'refuse'
    ? `refuse: ${plan.reason}`
    : `${plan.checked} permissions checked (SelfSubjectAccessReview): all allowed`;
}

/** `create rbac.authorization.k8s.io/clusterroles at the cluster scope`, `patch secrets in namespace skypilot`. */
export function describePermission(p: Permission): string {
  const resource = p.group ? `${p.group}/${p.resource}` : p.resource;
  return `${p.verb} ${resource} ${p.namespace ? `in namespace ${p.namespace}` : 'at the cluster scope'}`;
}

/** The predefined GKE role that grants it: cluster-scoped RBAC writes need the admin, the rest the developer. */
export function gkeRole(p: Permission): string {
  return CLUSTER_RBAC.has(p.resource) && p.group === 'rbac.authorization.k8s.io' && !READS.has(p.verb)
    ? 'roles/container.admin'
    : 'roles/container.developer';
}

/** The RBAC rules that grant exactly what is missing: one per group and resource. */
function rbacRules(denied: Permission[]): string {
  const byResource = new Map<string, Set<string>>();
  for (const p of denied) {
    const key = `${p.group}\u0000${p.resource}`;
    byResource.set(key, (byResource.get(key) ?? new Set()).add(p.verb));
  }
  return [...byResource]
    .map(([key, verbs]) => {
      const [group, resource] = key.split('\u0000');
      return `{apiGroups: ["${group}"], resources: ["${resource}"], verbs: [${[...verbs].map((v) => `"${v}"`).join(', ')}]}`;
    })
    .join(', ');
}
