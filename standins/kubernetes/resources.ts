/** One served resource type: what discovery lists and what the generic store keys on. */
export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  subresources?: string[];
  /** Create-only review types (SelfSubjectAccessReview): answered, never stored. */
  review?: boolean;
}

export type KubeObject = Record<string, unknown>;

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return { group, version, resource, kind, singular: kind.toLowerCase(), namespaced, ...extra };
}

const status = { subresources: ['status'] };

export const resourceTypes: ResourceType[] = [
  r('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], ...status }),
  r('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], ...status }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], ...status }),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  r('', 'v1', 'persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'], ...status }),
  r('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], ...status }),
  r('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], subresources: ['status', 'log'] }),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'resourcequotas', 'ResourceQuota', true, { shortNames: ['quota'], ...status }),
  r('', 'v1', 'limitranges', 'LimitRange', true, { shortNames: ['limits'] }),
  r('apps', 'v1', 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, {
    shortNames: ['sts'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], ...status }),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true),
  r('batch', 'v1', 'jobs', 'Job', true, status),
  r('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], ...status }),
  r('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, { shortNames: ['ing'], ...status }),
  r('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false),
  r('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, { shortNames: ['netpol'] }),
  r('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  r('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  r('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  r('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  r('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, { shortNames: ['sc'] }),
  r('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', false),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'], ...status }),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, {
    shortNames: ['hpa'],
    ...status,
  }),
  r('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false, { shortNames: ['pc'] }),
  r(
    'admissionregistration.k8s.io',
    'v1',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
  ),
  r(
    'admissionregistration.k8s.io',
    'v1',
    'mutatingwebhookconfigurations',
    'MutatingWebhookConfiguration',
    false,
  ),
  r('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
    shortNames: ['crd', 'crds'],
    ...status,
  }),
  r('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, {
    review: true,
  }),
  r('authorization.k8s.io', 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', false, {
    review: true,
  }),
  r('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview', false, { review: true }),
  r('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview', false, { review: true }),
];

export function verbsOf(type: ResourceType): string[] {
  return type.review ? ['create'] : allVerbs;
}

export function apiVersionOf(type: { group: string; version: string }): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function findByResource(group: string, version: string, resource: string): ResourceType | undefined {
  return resourceTypes.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  return resourceTypes.find((t) => t.group === group && t.version === version && t.kind === kind);
}

export function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of resourceTypes) seen.set(apiVersionOf(t), { group: t.group, version: t.version });
  return [...seen.values()];
}

/** Small typed accessors over untyped objects (JSON from clients). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function rec(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function metadataOf(obj: KubeObject): Record<string, unknown> {
  if (!isRecord(obj.metadata)) obj.metadata = {};
  return obj.metadata as Record<string, unknown>;
}

export function nameOf(obj: KubeObject): string {
  return str(rec(obj.metadata).name) ?? '';
}

export function namespaceOf(obj: KubeObject): string | undefined {
  return str(rec(obj.metadata).namespace);
}

export function labelsOf(obj: KubeObject): Record<string, string> {
  const labels = rec(rec(obj.metadata).labels);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}
