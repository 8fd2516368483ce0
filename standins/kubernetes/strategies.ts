import type { KubeObject, ResourceType } from './resources.js';
import { metadataOf, nameOf } from './resources.js';

/** The per-resource choices of the API server's registry strategies that clients can observe. */
export interface Strategy {
  /** AllowUnconditionalUpdate: a PUT without metadata.resourceVersion overwrites (false: 422). */
  unconditionalUpdate: boolean;
  /** AllowCreateOnUpdate: a PUT of a missing object creates it (201). */
  createOnUpdate: boolean;
  /** The strategy maintains metadata.generation (1 on create, +1 on every spec change). */
  generation: boolean;
  /** ReturnDeletedObject: DELETE answers with the object; otherwise with a Success Status. */
  returnDeletedObject: boolean;
}

const withGeneration = new Set([
  'apps/Deployment',
  'apps/ReplicaSet',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'batch/Job',
  'batch/CronJob',
  '/Pod',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/NetworkPolicy',
  'policy/PodDisruptionBudget',
  'autoscaling/HorizontalPodAutoscaler',
  'discovery.k8s.io/EndpointSlice',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
]);
const conditionalOnly = new Set([
  'coordination.k8s.io/Lease',
  'apiextensions.k8s.io/CustomResourceDefinition',
]);
const createOnPut = new Set(['coordination.k8s.io/Lease', '/Endpoints', '/Event']);
const returnsObject = new Set([
  '/Pod',
  '/Service',
  '/ServiceAccount',
  '/PersistentVolume',
  '/PersistentVolumeClaim',
  '/Namespace',
  'storage.k8s.io/StorageClass',
]);

export function strategyOf(t: ResourceType): Strategy {
  const key = `${t.group}/${t.kind}`;
  return {
    unconditionalUpdate: !conditionalOnly.has(key),
    createOnUpdate: createOnPut.has(key),
    generation: withGeneration.has(key),
    returnDeletedObject: returnsObject.has(key),
  };
}

/** The etcd key the API server names in storage errors (a few resources keep historical prefixes). */
export function storageKey(t: ResourceType, namespace: string | undefined, name: string): string {
  const prefixes: Record<string, string> = {
    '/services': 'services/specs',
    '/endpoints': 'services/endpoints',
    '/nodes': 'minions',
    'networking.k8s.io/ingresses': 'ingress',
    'apiextensions.k8s.io/customresourcedefinitions': 'apiextensions.k8s.io/customresourcedefinitions',
  };
  const prefix = prefixes[`${t.group}/${t.resource}`] ?? t.resource;
  return `/registry/${prefix}/${t.namespaced ? `${namespace}/` : ''}${name}`;
}

/** finalizeDelete's answer for stores that do not return the deleted object (Kind carries the resource). */
export function deletedStatus(t: ResourceType, gone: KubeObject): KubeObject {
  const details: Record<string, unknown> = { name: nameOf(gone) };
  if (t.group) details.group = t.group;
  details.kind = t.resource;
  details.uid = metadataOf(gone).uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
