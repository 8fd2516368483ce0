import { ActionError } from '../lib/errors.js';

/** Where a kind lives in the REST API: a static table, so no call pays a discovery round trip. */
export interface KindInfo {
  /** The plural resource name in the URL. */
  resource: string;
  namespaced: boolean;
}

// The built-in kinds the action reads or writes; their resources have been stable since Kubernetes 1.19.
const kinds: Record<string, KindInfo> = {
  'v1/ConfigMap': { resource: 'configmaps', namespaced: true },
  'v1/Event': { resource: 'events', namespaced: true },
  'v1/Namespace': { resource: 'namespaces', namespaced: false },
  'v1/Node': { resource: 'nodes', namespaced: false },
  'v1/PersistentVolume': { resource: 'persistentvolumes', namespaced: false },
  'v1/PersistentVolumeClaim': { resource: 'persistentvolumeclaims', namespaced: true },
  'v1/Pod': { resource: 'pods', namespaced: true },
  'v1/Secret': { resource: 'secrets', namespaced: true },
  'v1/Service': { resource: 'services', namespaced: true },
  'apps/v1/Deployment': { resource: 'deployments', namespaced: true },
  'apps/v1/ReplicaSet': { resource: 'replicasets', namespaced: true },
  'batch/v1/Job': { resource: 'jobs', namespaced: true },
  'coordination.k8s.io/v1/Lease': { resource: 'leases', namespaced: true },
  'events.k8s.io/v1/Event': { resource: 'events', namespaced: true },
  'networking.k8s.io/v1/Ingress': { resource: 'ingresses', namespaced: true },
  'networking.k8s.io/v1/IngressClass': { resource: 'ingressclasses', namespaced: false },
  // What a chart commonly makes besides: where the permission preflight asks about it (no discovery round trip).
  'v1/ServiceAccount': { resource: 'serviceaccounts', namespaced: true },
  'apps/v1/StatefulSet': { resource: 'statefulsets', namespaced: true },
  'apps/v1/DaemonSet': { resource: 'daemonsets', namespaced: true },
  'batch/v1/CronJob': { resource: 'cronjobs', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { resource: 'networkpolicies', namespaced: true },
  'policy/v1/PodDisruptionBudget': { resource: 'poddisruptionbudgets', namespaced: true },
  'autoscaling/v2/HorizontalPodAutoscaler': { resource: 'horizontalpodautoscalers', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { resource: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { resource: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { resource: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { resource: 'clusterrolebindings', namespaced: false },
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': {
    resource: 'validatingwebhookconfigurations',
    namespaced: false,
  },
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': {
    resource: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    resource: 'selfsubjectaccessreviews',
    namespaced: false,
  },
};

/** The kind's entry in the table, or undefined for a kind the action does not know (ask discovery). */
export function knownKind(apiVersion: string, kind: string): KindInfo | undefined {
  return kinds[`${apiVersion}/${kind}`];
}

export function kindInfo(apiVersion: string, kind: string): KindInfo {
  const info = kinds[`${apiVersion}/${kind}`];
  if (!info) {
    throw new ActionError(`The Kubernetes client has no resource for ${apiVersion} ${kind}`, {
      hint: 'Add the kind to the table in src/clients/kinds.ts',
    });
  }
  return info;
}

/** The REST path of a collection (no name) or of one object, e.g. /apis/apps/v1/namespaces/ns/deployments/d. */
export function resourcePath(
  apiVersion: string,
  kind: string,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  const info = kindInfo(apiVersion, kind);
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const scope = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource && name !== undefined ? `/${subresource}` : '';
  return `${root}${scope}/${info.resource}${object}${sub}`;
}
