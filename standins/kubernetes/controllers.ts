import { createHash } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { parseQuantity } from './quantity.js';
import {
  clone,
  findByKind,
  findByResource,
  isRecord,
  labelsOf,
  metadataOf,
  nameOf,
  namespaceOf,
  rec,
  str,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { matchesLabelSelector } from './selectors.js';

const T = {
  namespace: findByResource('', 'v1', 'namespaces')!,
  node: findByResource('', 'v1', 'nodes')!,
  pod: findByResource('', 'v1', 'pods')!,
  pv: findByResource('', 'v1', 'persistentvolumes')!,
  pvc: findByResource('', 'v1', 'persistentvolumeclaims')!,
  service: findByResource('', 'v1', 'services')!,
  endpoints: findByResource('', 'v1', 'endpoints')!,
  event: findByResource('', 'v1', 'events')!,
  serviceAccount: findByResource('', 'v1', 'serviceaccounts')!,
  configMap: findByResource('', 'v1', 'configmaps')!,
  deployment: findByResource('apps', 'v1', 'deployments')!,
  replicaSet: findByResource('apps', 'v1', 'replicasets')!,
  statefulSet: findByResource('apps', 'v1', 'statefulsets')!,
  daemonSet: findByResource('apps', 'v1', 'daemonsets')!,
  job: findByResource('batch', 'v1', 'jobs')!,
  ingress: findByResource('networking.k8s.io', 'v1', 'ingresses')!,
  storageClass: findByResource('storage.k8s.io', 'v1', 'storageclasses')!,
};

export const resourceTypesUsedByControllers = T;

type Controller = (cluster: Cluster) => boolean;

/** Writes only when something changed; tells whether it did, so the loop below settles. */
function save(cluster: Cluster, t: ResourceType, obj: KubeObject): boolean {
  const before = cluster.store.get(t, namespaceOf(obj), nameOf(obj));
  const after = cluster.store.write(t, obj);
  return before === undefined || rec(before.metadata).resourceVersion !== rec(after.metadata).resourceVersion;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function uidOf(obj: KubeObject): string {
  return String(rec(obj.metadata).uid ?? '');
}

function ownerRef(owner: KubeObject, controller = true): Record<string, unknown> {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: nameOf(owner),
    uid: uidOf(owner),
    controller,
    blockOwnerDeletion: true,
  };
}

function ownedBy(obj: KubeObject, owner: KubeObject): boolean {
  const refs = rec(obj.metadata).ownerReferences;
  return Array.isArray(refs) && refs.some((r) => rec(r).uid === uidOf(owner));
}

function shortHash(value: unknown, length = 10): string {
  const digest = createHash('sha256').update(JSON.stringify(value)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...digest.subarray(0, length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Keeps condition timestamps when nothing about a condition changed, so reconciling is idempotent. */
function conditions(
  existing: unknown,
  wanted: Array<{ type: string; status: string; reason: string; message: string }>,
): Array<Record<string, unknown>> {
  const old = Array.isArray(existing) ? existing.map(rec) : [];
  return wanted.map((w) => {
    const prior = old.find((o) => o.type === w.type);
    const same = prior && prior.status === w.status && prior.reason === w.reason;
    const stamp = same ? (prior.lastTransitionTime ?? now()) : now();
    return {
      ...w,
      lastUpdateTime: same ? (prior.lastUpdateTime ?? stamp) : stamp,
      lastTransitionTime: stamp,
    };
  });
}

/** Deletes objects whose owners are all gone, whose namespace is gone, or whose finalizers have all been removed. */
const garbageCollector: Controller = (cluster) => {
  let changed = false;
  const everything = cluster.store.all();
  const uids = new Set(everything.map(({ object }) => uidOf(object)));
  const namespaces = new Set(cluster.store.list(T.namespace).map(nameOf));
  for (const { object } of everything) {
    const t = findByKind(String(object.apiVersion), String(object.kind));
    if (!t) continue;
    const meta = rec(object.metadata);
    const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.map(rec) : [];
    const orphaned = refs.length > 0 && refs.every((r) => !uids.has(String(r.uid)));
    const homeless = t.namespaced && !namespaces.has(namespaceOf(object) ?? '');
    const finalized =
      meta.deletionTimestamp !== undefined && !(Array.isArray(meta.finalizers) && meta.finalizers.length);
    if (orphaned || homeless || finalized) {
      cluster.store.remove(t, namespaceOf(object), nameOf(object));
      changed = true;
    }
  }
  return changed;
};

/** Every namespace gets the `default` ServiceAccount and the root CA ConfigMap, as in a real cluster. */
const namespaceController: Controller = (cluster) => {
  let changed = false;
  for (const ns of cluster.store.list(T.namespace)) {
    const name = nameOf(ns);
    if (!cluster.store.get(T.serviceAccount, name, 'default')) {
      changed =
        save(cluster, T.serviceAccount, { metadata: { name: 'default', namespace: name } }) || changed;
    }
    if (!cluster.store.get(T.configMap, name, 'kube-root-ca.crt')) {
      const ca = '-----BEGIN CERTIFICATE-----\nc3RhbmQtaW4=\n-----END CERTIFICATE-----\n';
      changed =
        save(cluster, T.configMap, {
          metadata: { name: 'kube-root-ca.crt', namespace: name },
          data: { 'ca.crt': ca },
        }) || changed;
    }
  }
  return changed;
};

function podTemplateLabels(template: Record<string, unknown>): Record<string, string> {
  return rec(rec(template.metadata).labels) as Record<string, string>;
}

/** A Deployment owns one ReplicaSet per pod template (named by its hash); old ones scale to zero. */
const deploymentController: Controller = (cluster) => {
  let changed = false;
  for (const d of cluster.store.list(T.deployment)) {
    const ns = namespaceOf(d)!;
    const spec = rec(d.spec);
    const replicas = Number(spec.replicas ?? 1);
    const template = rec(spec.template);
    const hash = shortHash(template);
    const rsName = `${nameOf(d)}-${hash}`;
    const owned = cluster.store.list(T.replicaSet, ns).filter((rs) => ownedBy(rs, d));
    const revisions = owned.map((rs) =>
      Number(rec(rec(rs.metadata).annotations)['deployment.kubernetes.io/revision'] ?? 0),
    );
    let current = owned.find((rs) => nameOf(rs) === rsName);
    if (!current) {
      const labels = { ...podTemplateLabels(template), 'pod-template-hash': hash };
      current = {
        metadata: {
          name: rsName,
          namespace: ns,
          labels,
          annotations: { 'deployment.kubernetes.io/revision': String(Math.max(0, ...revisions) + 1) },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas,
          selector: { matchLabels: { ...rec(rec(spec.selector).matchLabels), 'pod-template-hash': hash } },
          template: { ...clone(template), metadata: { ...rec(template.metadata), labels } },
        },
      };
      changed = save(cluster, T.replicaSet, current) || changed;
    } else if (rec(current.spec).replicas !== replicas) {
      rec(current.spec).replicas = replicas;
      changed = save(cluster, T.replicaSet, current) || changed;
    }
    for (const rs of owned) {
      if (nameOf(rs) === rsName || rec(rs.spec).replicas === 0) continue;
      rec(rs.spec).replicas = 0;
      changed = save(cluster, T.replicaSet, rs) || changed;
    }
    const fresh = cluster.store.get(T.replicaSet, ns, rsName);
    const rsStatus = rec(fresh?.status);
    const ready = Number(rsStatus.readyReplicas ?? 0);
    const total = cluster.store
      .list(T.replicaSet, ns)
      .filter((rs) => ownedBy(rs, d))
      .reduce((n, rs) => n + Number(rec(rs.status).replicas ?? 0), 0);
    const available = ready >= replicas;
    const status: Record<string, unknown> = {
      observedGeneration: rec(d.metadata).generation,
      replicas: total,
      updatedReplicas: Number(rsStatus.replicas ?? 0),
      readyReplicas: ready,
      availableReplicas: ready,
      conditions: conditions(rec(d.status).conditions, [
        available
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
        available
          ? {
              type: 'Progressing',
              status: 'True',
              reason: 'NewReplicaSetAvailable',
              message: `ReplicaSet "${rsName}" has successfully progressed.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${rsName}" is progressing.`,
            },
      ]),
    };
    if (replicas - ready > 0) status.unavailableReplicas = replicas - ready;
    if (ready === 0) {
      delete status.readyReplicas;
      delete status.availableReplicas;
    }
    d.status = status;
    changed = save(cluster, T.deployment, d) || changed;
  }
  return changed;
};

/** A ReplicaSet keeps spec.replicas pods from its template, named <rs>-<hash of index>. */
const replicaSetController: Controller = (cluster) => {
  let changed = false;
  for (const rs of cluster.store.list(T.replicaSet)) {
    const ns = namespaceOf(rs)!;
    const spec = rec(rs.spec);
    const replicas = Number(spec.replicas ?? 1);
    const template = rec(spec.template);
    const pods = cluster.store.list(T.pod, ns).filter((p) => ownedBy(p, rs));
    const wanted = new Set(
      Array.from({ length: replicas }, (_, i) => `${nameOf(rs)}-${shortHash([nameOf(rs), i], 5)}`),
    );
    for (const pod of pods) {
      if (!wanted.has(nameOf(pod))) {
        cluster.store.remove(T.pod, ns, nameOf(pod));
        changed = true;
      }
    }
    for (const name of wanted) {
      if (cluster.store.get(T.pod, ns, name)) continue;
      const pod: KubeObject = {
        metadata: {
          name,
          namespace: ns,
          generateName: `${nameOf(rs)}-`,
          labels: podTemplateLabels(template),
          annotations: rec(rec(template.metadata).annotations),
          ownerReferences: [ownerRef(rs)],
        },
        spec: { ...clone(rec(template.spec)), nodeName: 'standin-node-1' },
        status: { phase: 'Pending' },
      };
      changed = save(cluster, T.pod, pod) || changed;
    }
    const current = cluster.store.list(T.pod, ns).filter((p) => ownedBy(p, rs));
    const ready = current.filter(podReady).length;
    const status: Record<string, unknown> = {
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rec(rs.metadata).generation,
    };
    if (ready === 0) {
      delete status.readyReplicas;
      delete status.availableReplicas;
    }
    rs.status = status;
    changed = save(cluster, T.replicaSet, rs) || changed;
  }
  return changed;
};

function podReady(pod: KubeObject): boolean {
  const conds = rec(pod.status).conditions;
  return Array.isArray(conds) && conds.some((c) => rec(c).type === 'Ready' && rec(c).status === 'True');
}

/** Pods run at once (or stay Pending when the stand-in is told deployments never become available). */
const podController: Controller = (cluster) => {
  let changed = false;
  const run = cluster.options.deploymentAvailable;
  for (const pod of cluster.store.list(T.pod)) {
    const status = rec(pod.status);
    const containers = Array.isArray(rec(pod.spec).containers)
      ? (rec(pod.spec).containers as unknown[]).map(rec)
      : [];
    const phase = run ? 'Running' : 'Pending';
    if (status.phase === phase && (run ? podReady(pod) : !podReady(pod))) continue;
    if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    const startTime = str(status.startTime) ?? now();
    const index = Math.abs(hashNumber(nameOf(pod))) % 250;
    pod.status = {
      phase,
      conditions: conditions(status.conditions, [
        { type: 'PodScheduled', status: 'True', reason: '', message: '' },
        { type: 'Initialized', status: 'True', reason: '', message: '' },
        {
          type: 'ContainersReady',
          status: run ? 'True' : 'False',
          reason: run ? '' : 'ContainersNotReady',
          message: '',
        },
        {
          type: 'Ready',
          status: run ? 'True' : 'False',
          reason: run ? '' : 'ContainersNotReady',
          message: '',
        },
      ]).map(({ lastUpdateTime: _drop, ...c }) => c),
      hostIP: '127.0.0.1',
      podIP: `10.244.0.${index + 2}`,
      podIPs: [{ ip: `10.244.0.${index + 2}` }],
      startTime,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `docker.io/${String(c.image)}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`,
        ready: run,
        started: run,
        restartCount: 0,
        state: run ? { running: { startedAt: startTime } } : { waiting: { reason: 'ContainerCreating' } },
      })),
    };
    changed = save(cluster, T.pod, pod) || changed;
  }
  return changed;
};

function hashNumber(text: string): number {
  return createHash('sha256').update(text).digest().readInt32LE(0);
}

/** StatefulSets, DaemonSets and Jobs report done, so helm --wait has nothing to wait for. */
const workloadStatusController: Controller = (cluster) => {
  let changed = false;
  for (const sts of cluster.store.list(T.statefulSet)) {
    const replicas = Number(rec(sts.spec).replicas ?? 1);
    const revision = `${nameOf(sts)}-${shortHash(rec(sts.spec).template)}`;
    sts.status = {
      observedGeneration: rec(sts.metadata).generation,
      replicas,
      readyReplicas: replicas,
      currentReplicas: replicas,
      updatedReplicas: replicas,
      availableReplicas: replicas,
      currentRevision: revision,
      updateRevision: revision,
    };
    changed = save(cluster, T.statefulSet, sts) || changed;
  }
  for (const ds of cluster.store.list(T.daemonSet)) {
    const n = cluster.store.list(T.node).length;
    ds.status = {
      observedGeneration: rec(ds.metadata).generation,
      currentNumberScheduled: n,
      desiredNumberScheduled: n,
      numberReady: n,
      numberAvailable: n,
      updatedNumberScheduled: n,
      numberMisscheduled: 0,
    };
    changed = save(cluster, T.daemonSet, ds) || changed;
  }
  for (const job of cluster.store.list(T.job)) {
    if (rec(job.status).completionTime) continue;
    const stamp = now();
    job.status = {
      startTime: stamp,
      completionTime: stamp,
      succeeded: 1,
      conditions: [{ type: 'Complete', status: 'True', lastProbeTime: stamp, lastTransitionTime: stamp }],
    };
    changed = save(cluster, T.job, job) || changed;
  }
  return changed;
};

// ---- persistent volumes ----

function claimKey(claim: KubeObject): string {
  return `${namespaceOf(claim)}/${nameOf(claim)}`;
}

function accessModes(obj: KubeObject): string[] {
  const modes = rec(obj.spec).accessModes;
  return Array.isArray(modes) ? modes.map(String) : [];
}

/** Why a volume cannot hold a claim, or undefined when it can (class, size, modes, volumeMode, selector). */
export function volumeMismatch(pv: KubeObject, claim: KubeObject): string | undefined {
  const pvSpec = rec(pv.spec);
  const claimSpec = rec(claim.spec);
  const pvClass = str(pvSpec.storageClassName) ?? '';
  const claimClass = str(claimSpec.storageClassName) ?? '';
  if (pvClass !== claimClass)
    return `storageClassName does not match (volume "${pvClass}", claim "${claimClass}")`;
  const capacity = parseQuantity(rec(pvSpec.capacity).storage) ?? 0;
  const request = parseQuantity(rec(rec(claimSpec.resources).requests).storage) ?? 0;
  if (capacity < request) {
    return `requested PV is too small (capacity ${String(rec(pvSpec.capacity).storage)} < request ${String(rec(rec(claimSpec.resources).requests).storage)})`;
  }
  const offered = accessModes(pv);
  const missing = accessModes(claim).filter((m) => !offered.includes(m));
  if (missing.length)
    return `incompatible accessMode (volume offers ${offered.join(',')}, claim wants ${missing.join(',')})`;
  if ((pvSpec.volumeMode ?? 'Filesystem') !== (claimSpec.volumeMode ?? 'Filesystem'))
    return 'incompatible volumeMode';
  if (claimSpec.selector !== undefined && !matchesLabelSelector(claimSpec.selector, labelsOf(pv))) {
    return 'volume labels do not match the claim selector';
  }
  return undefined;
}

/** Whether a volume's claimRef leaves it free for this claim: empty, or naming it (and its uid, if set). */
function claimRefAllows(pv: KubeObject, claim: KubeObject): boolean {
  const ref = rec(pv.spec).claimRef;
  if (!isRecord(ref)) return true;
  if (ref.namespace !== namespaceOf(claim) || ref.name !== nameOf(claim)) return false;
  return ref.uid === undefined || ref.uid === '' || ref.uid === uidOf(claim);
}

function recordEvent(
  cluster: Cluster,
  about: KubeObject,
  type: string,
  reason: string,
  message: string,
): boolean {
  const ns = namespaceOf(about) ?? 'default';
  const name = `${nameOf(about)}.${reason.toLowerCase()}`;
  const existing = cluster.store.get(T.event, ns, name);
  if (existing && existing.message === message) return false;
  const stamp = now();
  return save(cluster, T.event, {
    metadata: { name, namespace: ns },
    involvedObject: {
      kind: about.kind,
      apiVersion: about.apiVersion,
      namespace: namespaceOf(about),
      name: nameOf(about),
      uid: uidOf(about),
    },
    type,
    reason,
    message,
    source: { component: 'persistentvolume-controller' },
    firstTimestamp: existing?.firstTimestamp ?? stamp,
    lastTimestamp: stamp,
    count: Number(existing?.count ?? 0) + 1,
  });
}

function bind(cluster: Cluster, pv: KubeObject, claim: KubeObject, byController: boolean): boolean {
  const pvSpec = rec(pv.spec);
  pvSpec.claimRef = {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: namespaceOf(claim),
    name: nameOf(claim),
    uid: uidOf(claim),
  };
  pv.spec = pvSpec;
  pv.status = { phase: 'Bound' };
  const pvAnnotations = rec(metadataOf(pv).annotations);
  if (byController) pvAnnotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  if (Object.keys(pvAnnotations).length) metadataOf(pv).annotations = pvAnnotations;
  let changed = save(cluster, T.pv, pv);
  const claimSpec = rec(claim.spec);
  claimSpec.volumeName = nameOf(pv);
  claim.spec = claimSpec;
  const annotations: Record<string, unknown> = {
    ...rec(metadataOf(claim).annotations),
    'pv.kubernetes.io/bind-completed': 'yes',
  };
  if (byController) annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  metadataOf(claim).annotations = annotations;
  claim.status = { phase: 'Bound', accessModes: rec(pv.spec).accessModes, capacity: rec(pv.spec).capacity };
  changed = save(cluster, T.pvc, claim) || changed;
  return changed;
}

/** A new volume from the claim's class, as a CSI provisioner would make: named pvc-<claim uid>. */
function provision(cluster: Cluster, claim: KubeObject, className: string): KubeObject | undefined {
  const sc = cluster.store.get(T.storageClass, undefined, className);
  if (!sc) return undefined;
  const name = `pvc-${uidOf(claim)}`;
  const spec = rec(claim.spec);
  const pv: KubeObject = {
    metadata: {
      name,
      annotations: {
        'pv.kubernetes.io/provisioned-by': String(sc.provisioner),
        'volume.kubernetes.io/provisioner-deletion-secret-name': '',
      },
      finalizers: [],
    },
    spec: {
      accessModes: spec.accessModes,
      capacity: { storage: rec(rec(spec.resources).requests).storage },
      storageClassName: className,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      volumeMode: spec.volumeMode ?? 'Filesystem',
      csi: {
        driver: String(sc.provisioner),
        volumeHandle: `projects/standin/zones/${cluster.options.nodeZone}/disks/${name}`,
        fsType: 'ext4',
      },
    },
    status: { phase: 'Pending' },
  };
  delete rec(pv.metadata).finalizers;
  save(cluster, T.pv, pv);
  return cluster.store.get(T.pv, undefined, name);
}

/** The PersistentVolume binder: phases of volumes, then binding each pending claim. */
const volumeBinder: Controller = (cluster) => {
  let changed = false;
  const claims = new Map(cluster.store.list(T.pvc).map((c) => [claimKey(c), c]));
  for (const pv of cluster.store.list(T.pv)) {
    const ref = rec(rec(pv.spec).claimRef);
    const claim = ref.name ? claims.get(`${String(ref.namespace)}/${String(ref.name)}`) : undefined;
    let phase: string;
    if (!ref.name) phase = 'Available';
    else if (claim && (!ref.uid || ref.uid === uidOf(claim))) {
      phase = rec(claim.spec).volumeName === nameOf(pv) && ref.uid ? 'Bound' : 'Available';
    } else if (!ref.uid) phase = 'Available';
    else if (rec(pv.spec).persistentVolumeReclaimPolicy === 'Delete') {
      cluster.store.remove(T.pv, undefined, nameOf(pv));
      changed = true;
      continue;
    } else phase = 'Released';
    if (rec(pv.status).phase !== phase) {
      pv.status = { ...rec(pv.status), phase };
      changed = save(cluster, T.pv, pv) || changed;
    }
  }
  for (const claim of claims.values()) {
    const spec = rec(claim.spec);
    const volumeName = str(spec.volumeName);
    const bound = volumeName ? cluster.store.get(T.pv, undefined, volumeName) : undefined;
    if (rec(claim.status).phase === 'Bound') {
      if (!bound || rec(rec(bound.spec).claimRef).uid !== uidOf(claim)) {
        claim.status = { ...rec(claim.status), phase: 'Lost' };
        changed = save(cluster, T.pvc, claim) || changed;
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'ClaimLost',
            `Bound claim has lost its PersistentVolume. Data on the volume is lost!`,
          ) || changed;
      }
      continue;
    }
    if (rec(claim.status).phase === 'Lost') continue;
    if (volumeName) {
      if (!bound) {
        changed =
          recordEvent(cluster, claim, 'Warning', 'VolumeMismatch', `volume "${volumeName}" not found`) ||
          changed;
        continue;
      }
      const mismatch = volumeMismatch(bound, claim);
      if (mismatch) {
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'VolumeMismatch',
            `Cannot bind to requested volume "${volumeName}": ${mismatch}`,
          ) || changed;
        continue;
      }
      if (!claimRefAllows(bound, claim)) {
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'VolumeMismatch',
            `Cannot bind to requested volume "${volumeName}": volume already bound to a different claim.`,
          ) || changed;
        continue;
      }
      changed = bind(cluster, bound, claim, false) || changed;
      continue;
    }
    const candidates = cluster.store
      .list(T.pv)
      .filter(
        (pv) =>
          rec(pv.status).phase === 'Available' && claimRefAllows(pv, claim) && !volumeMismatch(pv, claim),
      )
      .sort((a, b) => {
        const pre = (pv: KubeObject): number => (isRecord(rec(pv.spec).claimRef) ? 0 : 1);
        const size = (pv: KubeObject): number => parseQuantity(rec(rec(pv.spec).capacity).storage) ?? 0;
        return pre(a) - pre(b) || size(a) - size(b);
      });
    const match = candidates[0];
    if (match) {
      changed = bind(cluster, match, claim, true) || changed;
      continue;
    }
    const className = str(spec.storageClassName);
    if (!className || spec.selector !== undefined) continue;
    const made = provision(cluster, claim, className);
    if (made) {
      changed = bind(cluster, made, claim, true) || changed;
      changed =
        recordEvent(
          cluster,
          claim,
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${nameOf(made)}`,
        ) || changed;
    } else {
      changed =
        recordEvent(
          cluster,
          claim,
          'Warning',
          'ProvisioningFailed',
          `storageclass.storage.k8s.io "${className}" not found`,
        ) || changed;
    }
  }
  return changed;
};

// ---- services ----

/** LoadBalancers get an address (after N reads, or never); Endpoints list the ready pods a selector picks. */
const serviceController: Controller = (cluster) => {
  let changed = false;
  const { loadBalancer, loadBalancerDelayPolls } = cluster.options;
  for (const svc of cluster.store.list(T.service)) {
    const spec = rec(svc.spec);
    const ingress = rec(rec(svc.status).loadBalancer).ingress;
    if (spec.type === 'LoadBalancer' && !Array.isArray(ingress) && loadBalancer === 'assign') {
      const polls = cluster.loadBalancerPolls.get(uidOf(svc)) ?? 0;
      if (polls >= loadBalancerDelayPolls) {
        svc.status = { loadBalancer: { ingress: [{ ip: cluster.allocateLoadBalancerIp(), ipMode: 'VIP' }] } };
        changed = save(cluster, T.service, svc) || changed;
      }
    }
    const selector = rec(spec.selector) as Record<string, string>;
    if (Object.keys(selector).length === 0) continue;
    const ns = namespaceOf(svc)!;
    const pods = cluster.store
      .list(T.pod, ns)
      .filter((p) => podReady(p) && Object.entries(selector).every(([k, v]) => labelsOf(p)[k] === v));
    const ports = Array.isArray(spec.ports) ? spec.ports.map(rec) : [];
    const endpoints: KubeObject = {
      metadata: { name: nameOf(svc), namespace: ns, labels: labelsOf(svc) },
      subsets: pods.length
        ? [
            {
              addresses: pods.map((p) => ({
                ip: rec(p.status).podIP,
                nodeName: rec(p.spec).nodeName,
                targetRef: { kind: 'Pod', namespace: ns, name: nameOf(p), uid: uidOf(p) },
              })),
              ports: ports.map((p) => ({
                name: p.name,
                port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
                protocol: p.protocol,
              })),
            },
          ]
        : [],
    };
    const existing = cluster.store.get(T.endpoints, ns, nameOf(svc));
    if (existing) endpoints.metadata = { ...rec(existing.metadata), labels: labelsOf(svc) };
    changed = save(cluster, T.endpoints, endpoints) || changed;
  }
  return changed;
};

/** Ingresses report the nginx controller's address, as ingress-nginx does. */
const ingressStatusController: Controller = (cluster) => {
  let changed = false;
  for (const ing of cluster.store.list(T.ingress)) {
    const ns = namespaceOf(ing)!;
    const controller = cluster.store
      .list(T.service, ns)
      .find(
        (s) =>
          nameOf(s).endsWith('-ingress-nginx-controller') &&
          Array.isArray(rec(rec(s.status).loadBalancer).ingress),
      );
    const address = controller ? rec(rec(controller.status).loadBalancer).ingress : undefined;
    const status = {
      loadBalancer: Array.isArray(address) ? { ingress: address.map((a) => ({ ip: rec(a).ip })) } : {},
    };
    if (JSON.stringify(ing.status) === JSON.stringify(status)) continue;
    ing.status = status;
    changed = save(cluster, T.ingress, ing) || changed;
  }
  return changed;
};

const controllers: Controller[] = [
  garbageCollector,
  namespaceController,
  deploymentController,
  replicaSetController,
  podController,
  workloadStatusController,
  volumeBinder,
  serviceController,
  ingressStatusController,
];

/** Runs every controller until nothing changes: deterministic, synchronous, right after each write. */
export function reconcile(cluster: Cluster): void {
  for (let round = 0; round < 25; round++) {
    let changed = false;
    for (const controller of controllers) changed = controller(cluster) || changed;
    if (!changed) return;
  }
  console.error('kubernetes stand-in: controllers did not settle after 25 rounds');
}

/** The objects a fresh cluster has: namespaces, nodes, the default StorageClass, the kubernetes Service. */
export function seedCluster(cluster: Cluster): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    cluster.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const zone = cluster.options.nodeZone;
  const region = zone.replace(/-[a-z]$/, '');
  for (let i = 1; i <= cluster.options.nodeCount; i++) {
    cluster.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `standin-node-${i}`,
        labels: {
          'kubernetes.io/hostname': `standin-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zone,
          'topology.kubernetes.io/region': region,
          'failure-domain.beta.kubernetes.io/zone': zone,
          'node.kubernetes.io/instance-type': 'e2-standard-8',
        },
      },
      spec: { podCIDR: `10.244.${i - 1}.0/24`, providerID: `gce://standin/${zone}/standin-node-${i}` },
      status: {
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: `standin-node-${i}` },
        ],
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '7910m', memory: '29Gi', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.33.5',
          osImage: 'Container-Optimized OS',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    });
  }
  if (cluster.options.defaultStorageClass) {
    cluster.put({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'standard-rwo',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'pd.csi.storage.gke.io',
      parameters: { type: 'pd-balanced' },
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    });
  }
  cluster.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
  });
}
