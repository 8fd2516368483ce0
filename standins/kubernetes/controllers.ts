import { createHash } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { clone, findByKind, labelsOf, nameOf, namespaceOf, rec, str, type KubeObject } from './resources.js';
import {
  T,
  conditions,
  now,
  ownedBy,
  ownerRef,
  save,
  shortHash,
  uidOf,
  type Controller,
} from './controllerKit.js';
import { jobController } from './jobs.js';
import { nginxControllers, publishedAddress, servesIngress } from './ingressControllers.js';
import { replicaFailureOf, starveReplicaSet, starved } from './podless.js';
import { volumeBinder } from './volumes.js';

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
    const failure = replicaFailureOf(fresh);
    if (failure)
      (status.conditions as unknown[]).push({ ...failure, lastUpdateTime: failure.lastTransitionTime });
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
    if (starved(cluster, rs)) {
      changed = starveReplicaSet(cluster, rs) || changed;
      continue;
    }
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
      hostIP: cluster.options.nodeAddress,
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

/** StatefulSets and DaemonSets report done, so helm --wait has nothing to wait for. */
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

/** Ingresses report the address of the ingress-nginx controller that serves their class, as it writes it. */
const ingressStatusController: Controller = (cluster) => {
  let changed = false;
  const nginx = nginxControllers(cluster);
  for (const ing of cluster.store.list(T.ingress)) {
    const serving = nginx.find((c) => servesIngress(cluster, c, ing));
    const address = serving ? publishedAddress(cluster, serving) : [];
    const status = { loadBalancer: address.length ? { ingress: address } : {} };
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
  jobController,
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
