import { nameOf, rec, str, type KubeObject, type ResourceType } from './resources.js';

/** Server-side printing (`kubectl get` asks for `as=Table`): the columns real kubectl users see. */
type Column = [name: string, cell: (obj: KubeObject) => string | number];

function age(obj: KubeObject): string {
  const created = Date.parse(String(rec(obj.metadata).creationTimestamp ?? ''));
  if (Number.isNaN(created)) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - created) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const shortModes: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function modes(value: unknown): string {
  return Array.isArray(value) ? value.map((m) => shortModes[String(m)] ?? String(m)).join(',') : '';
}

const at = (obj: KubeObject, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (Array.isArray(v) ? v[Number(k)] : rec(v)[k]), obj);
const text = (obj: KubeObject, path: string, fallback = ''): string => {
  const v = at(obj, path);
  return v === undefined || v === null || v === '' ? fallback : String(v);
};

function servicePorts(obj: KubeObject): string {
  const ports = rec(obj.spec).ports;
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .map(rec)
    .map(
      (p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`,
    )
    .join(',');
}

function externalIp(obj: KubeObject): string {
  const type = rec(obj.spec).type;
  if (type !== 'LoadBalancer') return '<none>';
  const ingress = rec(rec(obj.status).loadBalancer).ingress;
  if (!Array.isArray(ingress) || ingress.length === 0) return '<pending>';
  return ingress.map((i) => str(rec(i).ip) ?? str(rec(i).hostname) ?? '').join(',');
}

function podReadiness(obj: KubeObject): string {
  const statuses = rec(obj.status).containerStatuses;
  const containers = rec(obj.spec).containers;
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => rec(s).ready === true).length : 0;
  return `${ready}/${total}`;
}

function ingressHosts(obj: KubeObject): string {
  const rules = rec(obj.spec).rules;
  const hosts = Array.isArray(rules) ? rules.map((r) => str(rec(r).host)).filter(Boolean) : [];
  return hosts.length ? hosts.join(',') : '*';
}

function ingressAddress(obj: KubeObject): string {
  const list = rec(rec(obj.status).loadBalancer).ingress;
  return Array.isArray(list) ? list.map((a) => str(rec(a).ip) ?? str(rec(a).hostname) ?? '').join(',') : '';
}

const columns: Record<string, Column[]> = {
  PersistentVolume: [
    ['Capacity', (o) => text(o, 'spec.capacity.storage')],
    ['Access Modes', (o) => modes(rec(o.spec).accessModes)],
    ['Reclaim Policy', (o) => text(o, 'spec.persistentVolumeReclaimPolicy')],
    ['Status', (o) => text(o, 'status.phase')],
    [
      'Claim',
      (o) =>
        rec(rec(o.spec).claimRef).name
          ? `${text(o, 'spec.claimRef.namespace')}/${text(o, 'spec.claimRef.name')}`
          : '',
    ],
    ['StorageClass', (o) => text(o, 'spec.storageClassName')],
    ['VolumeAttributesClass', (o) => text(o, 'spec.volumeAttributesClassName', '<unset>')],
    ['Reason', (o) => text(o, 'status.reason')],
  ],
  PersistentVolumeClaim: [
    ['Status', (o) => text(o, 'status.phase')],
    ['Volume', (o) => text(o, 'spec.volumeName')],
    ['Capacity', (o) => text(o, 'status.capacity.storage')],
    ['Access Modes', (o) => modes(rec(o.status).accessModes)],
    ['StorageClass', (o) => text(o, 'spec.storageClassName')],
    ['VolumeAttributesClass', (o) => text(o, 'spec.volumeAttributesClassName', '<unset>')],
  ],
  Pod: [
    ['Ready', podReadiness],
    ['Status', (o) => text(o, 'status.phase')],
    ['Restarts', () => 0],
  ],
  Service: [
    ['Type', (o) => text(o, 'spec.type')],
    ['Cluster-IP', (o) => text(o, 'spec.clusterIP', '<none>')],
    ['External-IP', externalIp],
    ['Port(s)', servicePorts],
  ],
  Deployment: [
    ['Ready', (o) => `${text(o, 'status.readyReplicas', '0')}/${text(o, 'spec.replicas', '1')}`],
    ['Up-to-date', (o) => Number(text(o, 'status.updatedReplicas', '0'))],
    ['Available', (o) => Number(text(o, 'status.availableReplicas', '0'))],
  ],
  Namespace: [['Status', (o) => text(o, 'status.phase')]],
  Node: [
    ['Status', () => 'Ready'],
    ['Roles', () => '<none>'],
  ],
  Secret: [
    ['Type', (o) => text(o, 'type')],
    ['Data', (o) => Object.keys(rec(o.data)).length],
  ],
  Lease: [['Holder', (o) => text(o, 'spec.holderIdentity')]],
  IngressClass: [
    ['Controller', (o) => text(o, 'spec.controller')],
    ['Parameters', () => '<none>'],
  ],
  Ingress: [
    ['Class', (o) => text(o, 'spec.ingressClassName', '<none>')],
    ['Hosts', ingressHosts],
    ['Address', (o) => ingressAddress(o)],
    ['Ports', () => '80'],
  ],
  ReplicaSet: [
    ['Desired', (o) => Number(text(o, 'spec.replicas', '0'))],
    ['Current', (o) => Number(text(o, 'status.replicas', '0'))],
    ['Ready', (o) => Number(text(o, 'status.readyReplicas', '0'))],
  ],
  StorageClass: [
    ['Provisioner', (o) => text(o, 'provisioner')],
    ['ReclaimPolicy', (o) => text(o, 'reclaimPolicy')],
    ['VolumeBindingMode', (o) => text(o, 'volumeBindingMode')],
  ],
};

function displayName(t: ResourceType, obj: KubeObject): string {
  const isDefault =
    rec(rec(obj.metadata).annotations)['storageclass.kubernetes.io/is-default-class'] === 'true';
  return t.kind === 'StorageClass' && isDefault ? `${nameOf(obj)} (default)` : nameOf(obj);
}

const integerColumns = new Set(['Restarts', 'Up-to-date', 'Available', 'Data', 'Desired', 'Current']);

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',')[0]?.includes('as=Table') ?? false;
}

export function toTable(t: ResourceType, items: KubeObject[], resourceVersion: string): KubeObject {
  const extra = columns[t.kind] ?? [];
  const all: Column[] = [['Name', (o) => displayName(t, o)], ...extra, ['Age', age]];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: all.map(([name]) => ({
      name,
      type: integerColumns.has(name) ? 'integer' : 'string',
      format: name === 'Name' ? 'name' : '',
      description: name,
      priority: 0,
    })),
    rows: items.map((obj) => ({ cells: all.map(([, cell]) => cell(obj)), object: obj })),
  };
}
