import { leaseSpecCauses } from './leases.js';
import {
  invalidValue,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isPathSegmentName,
  isQualifiedName,
  isValidLabelValue,
} from './names.js';
import { parseQuantity } from './quantity.js';
import {
  clone,
  deepEqual,
  isRecord,
  nameOf,
  rec,
  str,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { matchesLabelSelector } from './selectors.js';
import { invalid, type Cause } from './status.js';

/** Which name grammar a kind's validation applies to metadata.name (and generateName, as a prefix). */
function nameRule(t: ResourceType): (value: string, prefix: boolean) => string[] {
  if (t.kind === 'Service') return masked(isDns1035Label);
  if (t.kind === 'Namespace') return masked(isDns1123Label);
  if (t.group === 'rbac.authorization.k8s.io')
    return (value, prefix) =>
      prefix
        ? isPathSegmentName(value).filter((m) => m.startsWith('may not contain'))
        : isPathSegmentName(value);
  return masked(isDns1123Subdomain);
}

/** A generateName prefix may end in '-': the API server checks it with that dash replaced by a letter. */
function masked(check: (value: string) => string[]): (value: string, prefix: boolean) => string[] {
  return (value, prefix) =>
    check(prefix && value.length > 1 && value.endsWith('-') ? `${value.slice(0, -1)}a` : value);
}

const totalAnnotationSizeLimit = 256 * 1024;

/** ValidateObjectMeta: generateName, name, labels and annotations, in the API server's order. */
function metadataCauses(t: ResourceType, obj: KubeObject): Cause[] {
  const meta = rec(obj.metadata);
  const rule = nameRule(t);
  const causes: Cause[] = [];
  const generateName = str(meta.generateName);
  if (generateName) {
    for (const m of rule(generateName, true))
      causes.push({ field: 'metadata.generateName', message: invalidValue(generateName, m) });
  }
  const name = nameOf(obj);
  for (const m of rule(name, false)) causes.push({ field: 'metadata.name', message: invalidValue(name, m) });
  const labels = rec(meta.labels);
  for (const key of Object.keys(labels).sort()) {
    for (const m of isQualifiedName(key))
      causes.push({ field: 'metadata.labels', message: invalidValue(key, m) });
    const value = String(labels[key] ?? '');
    for (const m of isValidLabelValue(value))
      causes.push({ field: 'metadata.labels', message: invalidValue(value, m) });
  }
  const annotations = rec(meta.annotations);
  let size = 0;
  for (const key of Object.keys(annotations).sort()) {
    for (const m of isQualifiedName(key.toLowerCase()))
      causes.push({ field: 'metadata.annotations', message: invalidValue(key, m) });
    size += Buffer.byteLength(key) + Buffer.byteLength(String(annotations[key] ?? ''));
  }
  if (size > totalAnnotationSizeLimit) {
    causes.push({
      field: 'metadata.annotations',
      message: `Too long: may not be more than ${totalAnnotationSizeLimit} bytes`,
    });
  }
  return causes;
}

/** The validation rules a client of this project can trip over (names, labels, required fields, immutable specs). */
export function validate(t: ResourceType, obj: KubeObject, existing: KubeObject | undefined): void {
  const causes = [...metadataCauses(t, obj), ...specCauses(t, obj, existing)];
  if (causes.length) throw invalid(t.kind, t.group, nameOf(obj), causes);
}

function specCauses(t: ResourceType, obj: KubeObject, existing: KubeObject | undefined): Cause[] {
  const spec = rec(obj.spec);
  const before = rec(existing?.spec);
  switch (t.kind) {
    case 'PersistentVolume':
      return volumeCauses(spec, before, existing !== undefined);
    case 'PersistentVolumeClaim':
      return claimCauses(spec, before, existing !== undefined);
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      return workloadCauses(spec, before, existing !== undefined);
    case 'Service':
      return existing && before.clusterIP && spec.clusterIP !== before.clusterIP
        ? [
            {
              field: 'spec.clusterIPs[0]',
              message: `Invalid value: ${JSON.stringify(spec.clusterIP)}: may not change once set`,
            },
          ]
        : [];
    case 'Lease':
      return leaseSpecCauses(spec);
    default:
      return [];
  }
}

function volumeCauses(spec: KubeObject, before: KubeObject, updating: boolean): Cause[] {
  const causes: Cause[] = [];
  if (parseQuantity(rec(spec.capacity).storage) === undefined) {
    causes.push({ field: 'spec.capacity', message: 'Required value' });
  }
  if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
    causes.push({ field: 'spec.accessModes', message: 'Required value' });
  }
  if (updating && !deepEqual(volumeSource(spec), volumeSource(before))) {
    causes.push({
      field: 'spec.persistentvolumesource',
      message: 'Forbidden: spec.persistentvolumesource is immutable after creation',
    });
  }
  return causes;
}

function claimCauses(spec: KubeObject, before: KubeObject, updating: boolean): Cause[] {
  const causes: Cause[] = [];
  if (parseQuantity(rec(rec(spec.resources).requests).storage) === undefined) {
    causes.push({ field: 'spec.resources[storage]', message: 'Required value' });
  }
  if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
    causes.push({
      field: 'spec.accessModes',
      message: 'Required value: at least 1 access mode is required',
    });
  }
  if (updating && !deepEqual(claimSpecForUpdate(spec, before), claimSpecForUpdate(before, before))) {
    causes.push({
      field: 'spec',
      message:
        'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    });
  }
  return causes;
}

function workloadCauses(spec: KubeObject, before: KubeObject, updating: boolean): Cause[] {
  const causes: Cause[] = [];
  const selector = spec.selector;
  const templateLabels = rec(rec(rec(spec.template).metadata).labels) as Record<string, string>;
  if (!isRecord(selector)) causes.push({ field: 'spec.selector', message: 'Required value' });
  else if (!matchesLabelSelector(selector, templateLabels)) {
    causes.push({
      field: 'spec.template.metadata.labels',
      message: 'Invalid value: `selector` does not match template `labels`',
    });
  }
  if (updating && !deepEqual(selector, before.selector)) {
    causes.push({ field: 'spec.selector', message: 'Invalid value: field is immutable' });
  }
  return causes;
}

const notSource = new Set([
  'capacity',
  'accessModes',
  'claimRef',
  'persistentVolumeReclaimPolicy',
  'storageClassName',
  'mountOptions',
  'volumeMode',
  'nodeAffinity',
  'volumeAttributesClassName',
]);

function volumeSource(spec: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !notSource.has(k)));
}

/** The part of a claim's spec that may not change: all but requests, and volumeName/class while unset. */
function claimSpecForUpdate(
  spec: Record<string, unknown>,
  before: Record<string, unknown>,
): Record<string, unknown> {
  const copy = clone(spec);
  delete copy.resources;
  delete copy.volumeAttributesClassName;
  if (!before.volumeName) delete copy.volumeName;
  if (before.storageClassName === undefined) delete copy.storageClassName;
  return copy;
}
