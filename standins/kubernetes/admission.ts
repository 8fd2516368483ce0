import type { ClusterState } from './clusterState.js';
import {
  findByResource,
  isRecord,
  labelsOf,
  metadataOf,
  nameOf,
  rec,
  str,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { invalid } from './status.js';

const storageClassType = findByResource('storage.k8s.io', 'v1', 'storageclasses')!;
const serviceType = findByResource('', 'v1', 'services')!;
const ingressClassType = findByResource('networking.k8s.io', 'v1', 'ingressclasses')!;

type Admitter = (cluster: ClusterState, obj: KubeObject, existing: KubeObject | undefined) => void;

/** The spec of an object, made if missing. */
function specOf(obj: KubeObject): Record<string, unknown> {
  return isRecord(obj.spec) ? obj.spec : (obj.spec = {});
}

/** Per kind: the defaults the API server's admission plugins and registry strategies fill in. */
const admitters: Record<string, Admitter> = {
  Secret: (_cluster, obj) => {
    const stringData = rec(obj.stringData);
    if (Object.keys(stringData).length) {
      const data = rec(obj.data);
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      obj.data = data;
    }
    delete obj.stringData;
    obj.type = obj.type ?? 'Opaque';
  },
  Namespace: (_cluster, obj, existing) => {
    const meta = metadataOf(obj);
    meta.labels = { ...labelsOf(obj), 'kubernetes.io/metadata.name': nameOf(obj) };
    obj.spec = { finalizers: ['kubernetes'], ...rec(obj.spec) };
    obj.status = { phase: 'Active', ...rec(existing?.status) };
  },
  Service: admitService,
  PersistentVolumeClaim: (cluster, obj, existing) => {
    const s = specOf(obj);
    const before = rec(existing?.spec);
    if (!('storageClassName' in s)) {
      if (existing && 'storageClassName' in before) s.storageClassName = before.storageClassName;
      else if (!existing) {
        // The DefaultStorageClass admission plugin: an unset class becomes the default class.
        const fallback = defaultStorageClass(cluster);
        if (fallback) s.storageClassName = fallback;
      }
    }
    s.volumeMode = s.volumeMode ?? 'Filesystem';
    if (!existing) obj.status = { phase: 'Pending' };
  },
  PersistentVolume: (_cluster, obj, existing) => {
    const s = specOf(obj);
    s.persistentVolumeReclaimPolicy = s.persistentVolumeReclaimPolicy ?? 'Retain';
    s.volumeMode = s.volumeMode ?? 'Filesystem';
    if (!existing) obj.status = { phase: 'Pending' };
  },
  Deployment: (_cluster, obj) => {
    const s = specOf(obj);
    s.replicas = s.replicas ?? 1;
    s.strategy = s.strategy ?? {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    };
    s.revisionHistoryLimit = s.revisionHistoryLimit ?? 10;
    s.progressDeadlineSeconds = s.progressDeadlineSeconds ?? 600;
  },
  StatefulSet: (_cluster, obj) => {
    const s = specOf(obj);
    s.replicas = s.replicas ?? 1;
  },
  ReplicaSet: (_cluster, obj) => {
    const s = specOf(obj);
    s.replicas = s.replicas ?? 1;
  },
  Pod: (_cluster, obj, existing) => {
    if (!existing && !isRecord(obj.status)) obj.status = { phase: 'Pending' };
  },
  Ingress: (cluster, obj, existing) => {
    if (!existing) admitIngressClass(cluster, obj);
  },
  StorageClass: (_cluster, obj) => {
    obj.reclaimPolicy = obj.reclaimPolicy ?? 'Delete';
    obj.volumeBindingMode = obj.volumeBindingMode ?? 'Immediate';
  },
};

/** Defaults the API server's admission and registry strategies fill in before storing. */
export function admit(
  cluster: ClusterState,
  t: ResourceType,
  obj: KubeObject,
  existing: KubeObject | undefined,
): void {
  if (Object.hasOwn(admitters, t.kind)) admitters[t.kind]?.(cluster, obj, existing);
}

/** The DefaultIngressClass admission plugin: a new Ingress without a class gets the newest default class. */
function admitIngressClass(cluster: ClusterState, obj: KubeObject): void {
  const spec = isRecord(obj.spec) ? obj.spec : (obj.spec = {});
  if (str(spec.ingressClassName) || rec(rec(obj.metadata).annotations)['kubernetes.io/ingress.class']) return;
  const defaults = cluster.store
    .list(ingressClassType)
    .filter((c) => rec(rec(c.metadata).annotations)['ingressclass.kubernetes.io/is-default-class'] === 'true')
    .sort((a, b) =>
      String(rec(b.metadata).creationTimestamp).localeCompare(String(rec(a.metadata).creationTimestamp)),
    );
  if (defaults[0]) spec.ingressClassName = nameOf(defaults[0]);
}

export function defaultStorageClass(cluster: ClusterState): string | undefined {
  const classes = cluster.store.list(storageClassType);
  const found = classes.find(
    (c) => rec(rec(c.metadata).annotations)['storageclass.kubernetes.io/is-default-class'] === 'true',
  );
  return found ? nameOf(found) : undefined;
}

const nodePortRange = { min: 30000, max: 32767 };

function admitService(cluster: ClusterState, obj: KubeObject, existing: KubeObject | undefined): void {
  const spec = isRecord(obj.spec) ? obj.spec : (obj.spec = {});
  const before = rec(existing?.spec);
  spec.type = spec.type ?? 'ClusterIP';
  spec.sessionAffinity = spec.sessionAffinity ?? 'None';
  if (spec.type !== 'ExternalName') {
    if (!str(spec.clusterIP)) spec.clusterIP = str(before.clusterIP) ?? cluster.allocateClusterIp();
    spec.clusterIPs = [spec.clusterIP];
    spec.ipFamilies = spec.ipFamilies ?? ['IPv4'];
    spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? 'SingleStack';
    spec.internalTrafficPolicy = spec.internalTrafficPolicy ?? 'Cluster';
  }
  const needsNodePort = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  if (needsNodePort) spec.externalTrafficPolicy = spec.externalTrafficPolicy ?? 'Cluster';
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const beforePorts = Array.isArray(before.ports) ? before.ports.map(rec) : [];
  const taken = usedNodePorts(cluster, obj);
  ports.forEach((p, i) => {
    if (!isRecord(p)) return;
    p.protocol = p.protocol ?? 'TCP';
    p.targetPort = p.targetPort ?? p.port;
    if (!needsNodePort) {
      delete p.nodePort;
      return;
    }
    if (p.nodePort === undefined) {
      const same = beforePorts.find((b) => b.port === p.port && b.nodePort !== undefined);
      p.nodePort = same?.nodePort ?? allocateNodePort(taken);
    }
    const requested = Number(p.nodePort);
    if (!(requested >= nodePortRange.min && requested <= nodePortRange.max)) {
      throw invalid('Service', '', nameOf(obj), [
        {
          field: `spec.ports[${i}].nodePort`,
          message: `Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is 30000-32767`,
        },
      ]);
    }
    if (taken.has(requested)) {
      throw invalid('Service', '', nameOf(obj), [
        {
          field: `spec.ports[${i}].nodePort`,
          message: `Invalid value: ${requested}: provided port is already allocated`,
        },
      ]);
    }
    taken.add(requested);
  });
  if (spec.type !== 'LoadBalancer' && existing) obj.status = { loadBalancer: {} };
  if (!existing) obj.status = { loadBalancer: {} };
}

function usedNodePorts(cluster: ClusterState, self: KubeObject): Set<number> {
  const used = new Set<number>();
  const selfUid = rec(self.metadata).uid;
  const selfKey = `${String(rec(self.metadata).namespace)}/${nameOf(self)}`;
  for (const svc of cluster.store.list(serviceType)) {
    if (
      rec(svc.metadata).uid === selfUid ||
      `${String(rec(svc.metadata).namespace)}/${nameOf(svc)}` === selfKey
    )
      continue;
    const ports = rec(svc.spec).ports;
    if (Array.isArray(ports))
      for (const p of ports) if (rec(p).nodePort !== undefined) used.add(Number(rec(p).nodePort));
  }
  return used;
}

function allocateNodePort(taken: Set<number>): number {
  const span = nodePortRange.max - nodePortRange.min + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = nodePortRange.min + ((start + i) % span);
    if (!taken.has(port)) return port;
  }
  throw new Error('no node ports left');
}
