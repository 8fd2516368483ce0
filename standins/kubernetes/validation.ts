import { parseQuantity } from './quantity.js';
import { clone, deepEqual, isRecord, nameOf, rec, type KubeObject, type ResourceType } from './resources.js';
import { invalid } from './status.js';
import { matchesLabelSelector } from './selectors.js';

const subdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelNamed = new Set(['Namespace', 'Service']);

/** The validation rules a client of this project can trip over (names, required fields, immutable specs). */
export function validate(t: ResourceType, obj: KubeObject, existing: KubeObject | undefined): void {
  const name = nameOf(obj);
  const causes: Array<{ field: string; message: string }> = [];
  const dns1123Label = labelNamed.has(t.kind);
  if (dns1123Label ? !label.test(name) || name.length > 63 : !subdomain.test(name) || name.length > 253) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${dns1123Label ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-'${dns1123Label ? '' : " or '.'"}, and must start and end with an alphanumeric character`,
    });
  }
  const spec = rec(obj.spec);
  const before = rec(existing?.spec);
  if (t.kind === 'PersistentVolume') {
    if (parseQuantity(rec(spec.capacity).storage) === undefined) {
      causes.push({ field: 'spec.capacity', message: 'Required value' });
    }
    if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
      causes.push({ field: 'spec.accessModes', message: 'Required value' });
    }
    if (existing && !deepEqual(volumeSource(spec), volumeSource(before))) {
      causes.push({
        field: 'spec.persistentvolumesource',
        message: 'Forbidden: spec.persistentvolumesource is immutable after creation',
      });
    }
  }
  if (t.kind === 'PersistentVolumeClaim') {
    if (parseQuantity(rec(rec(spec.resources).requests).storage) === undefined) {
      causes.push({ field: 'spec.resources[storage]', message: 'Required value' });
    }
    if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
      causes.push({
        field: 'spec.accessModes',
        message: 'Required value: at least 1 access mode is required',
      });
    }
    if (existing && !deepEqual(claimSpecForUpdate(spec, before), claimSpecForUpdate(before, before))) {
      causes.push({
        field: 'spec',
        message:
          'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      });
    }
  }
  if (
    t.kind === 'Deployment' ||
    t.kind === 'ReplicaSet' ||
    t.kind === 'StatefulSet' ||
    t.kind === 'DaemonSet'
  ) {
    const selector = spec.selector;
    const templateLabels = rec(rec(rec(spec.template).metadata).labels) as Record<string, string>;
    if (!isRecord(selector)) causes.push({ field: 'spec.selector', message: 'Required value' });
    else if (!matchesLabelSelector(selector, templateLabels)) {
      causes.push({
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: `selector` does not match template `labels`',
      });
    }
    if (existing && !deepEqual(selector, before.selector)) {
      causes.push({ field: 'spec.selector', message: 'Invalid value: field is immutable' });
    }
  }
  if (t.kind === 'Service' && existing && before.clusterIP && spec.clusterIP !== before.clusterIP) {
    causes.push({
      field: 'spec.clusterIPs[0]',
      message: `Invalid value: ${JSON.stringify(spec.clusterIP)}: may not change once set`,
    });
  }
  if (causes.length) throw invalid(t.kind, t.group, name, causes);
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
