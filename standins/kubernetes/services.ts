import type { ClusterState } from './clusterState.js';
import { T, podReady, recordEvent, save, uidOf, type Controller } from './controllerKit.js';
import { nginxControllers, publishedAddress, servesIngress } from './ingressControllers.js';
import { forwardingRuleName, requestedAddress } from './loadBalancers.js';
import { labelsOf, nameOf, namespaceOf, rec, str, type KubeObject } from './resources.js';

/**
 * LoadBalancers get an address (after N reads and a time, or never; the one they ask for, or refused with an Event); their
 * forwarding rules go when they do. Endpoints list the ready pods a selector picks.
 */
export const serviceController: Controller = (cluster) => {
  let changed = false;
  const live = new Set<string>();
  for (const svc of cluster.store.list(T.service)) {
    if (rec(svc.spec).type === 'LoadBalancer') changed = loadBalance(cluster, svc, live) || changed;
    changed = updateEndpoints(cluster, svc) || changed;
  }
  cluster.loadBalancers.releaseAllBut(live);
  return changed;
};

/** GKE's service controller for one LoadBalancer Service; adds its forwarding rule to `live` while it has one. */
function loadBalance(cluster: ClusterState, svc: KubeObject, live: Set<string>): boolean {
  let changed = false;
  const rule = forwardingRuleName(svc);
  const list = rec(rec(svc.status).loadBalancer).ingress;
  const current = Array.isArray(list) ? str(rec(list[0]).ip) : undefined;
  const requested = requestedAddress(svc);
  if (current !== undefined && (requested === undefined || requested === current)) {
    cluster.loadBalancers.keep(svc, current);
    live.add(rule);
    return false;
  }
  if (current !== undefined) {
    // The Service asks for another address now: GKE replaces the forwarding rule.
    cluster.loadBalancers.release(rule);
    svc.status = { loadBalancer: {} };
    changed = save(cluster, T.service, svc);
  }
  const { loadBalancer, loadBalancerDelayPolls } = cluster.options;
  const polls = cluster.loadBalancerPolls.get(uidOf(svc)) ?? 0;
  if (loadBalancer !== 'assign' || polls < loadBalancerDelayPolls || provisioning(cluster, svc))
    return changed;
  const answer = cluster.loadBalancers.assign(svc);
  if ('refused' in answer) {
    const message = `Error syncing load balancer: failed to ensure load balancer: ${answer.refused}`;
    return (
      recordEvent(cluster, svc, 'Warning', 'SyncLoadBalancerFailed', message, 'service-controller') || changed
    );
  }
  live.add(rule);
  svc.status = { loadBalancer: { ingress: [{ ip: answer.ip, ipMode: 'VIP' }] } };
  return save(cluster, T.service, svc) || changed;
}

/**
 * `loadBalancerDelayMs`: the cloud provisions the load balancer from the Service's write on; until the time is up
 * the Service shows no address, and the controllers run again when it is (both delays, polls and time, must pass).
 */
function provisioning(cluster: ClusterState, svc: KubeObject): boolean {
  const written = cluster.loadBalancerWrites.get(uidOf(svc));
  const left = written === undefined ? 0 : written + cluster.options.loadBalancerDelayMs - Date.now();
  if (left <= 0) return false;
  cluster.requeueAfter(left);
  return true;
}

function updateEndpoints(cluster: ClusterState, svc: KubeObject): boolean {
  const spec = rec(svc.spec);
  const selector = rec(spec.selector) as Record<string, string>;
  if (Object.keys(selector).length === 0) return false;
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
  return save(cluster, T.endpoints, endpoints);
}

/** Ingresses report the address of the ingress-nginx controller that serves their class, as it writes it. */
export const ingressStatusController: Controller = (cluster) => {
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
