import type { ClusterState } from './clusterState.js';
import { findByResource, labelsOf, nameOf, namespaceOf, rec, str, type KubeObject } from './resources.js';

const T = {
  service: findByResource('', 'v1', 'services')!,
  deployment: findByResource('apps', 'v1', 'deployments')!,
  ingress: findByResource('networking.k8s.io', 'v1', 'ingresses')!,
  ingressClass: findByResource('networking.k8s.io', 'v1', 'ingressclasses')!,
};

/** ingress-nginx's own default for --controller-class, and the subchart's `controllerValue`. */
export const DEFAULT_CONTROLLER_CLASS = 'k8s.io/ingress-nginx';

/** One ingress-nginx controller: a release's controller Deployment and the Services in front of it. */
export interface NginxController {
  /** "<namespace>/<app.kubernetes.io/instance>" */
  key: string;
  namespace: string;
  instance: string;
  /** --controller-class: IngressClasses whose spec.controller equals it are this controller's. */
  controllerClass: string;
  /** --ingress-class: the value of the legacy `kubernetes.io/ingress.class` annotation it accepts. */
  ingressClass: string;
  watchWithoutClass: boolean;
  ingressClassByName: boolean;
  /** --publish-service: whose LoadBalancer address the served Ingresses report. */
  publishService: { namespace: string; name: string } | undefined;
  /** False when no controller Deployment exists and ingress-nginx's defaults were assumed (FALLBACK B). */
  fromDeployment: boolean;
  /** The controller Services (same labels) that carry an http port: where it can be reached. */
  services: KubeObject[];
}

const controllerLabels = (instance: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'ingress-nginx',
  'app.kubernetes.io/component': 'controller',
  'app.kubernetes.io/instance': instance,
});

function hasLabels(obj: KubeObject, wanted: Record<string, string>): boolean {
  const labels = labelsOf(obj);
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** The http port of a controller Service (named `http`, else port 80), if it has one. */
export function httpPort(svc: KubeObject): Record<string, unknown> | undefined {
  const ports = Array.isArray(rec(svc.spec).ports) ? (rec(svc.spec).ports as unknown[]).map(rec) : [];
  return ports.find((p) => p.name === 'http') ?? ports.find((p) => p.port === 80);
}

/**
 * Every controller in the cluster, found by the subchart's labels (never by object names).
 * FALLBACK B (remove once standins/chart renders the subchart's controller Deployment): controller
 * Services without a controller Deployment still make a controller, with ingress-nginx's default flags
 * (--controller-class=k8s.io/ingress-nginx, --ingress-class=nginx, no --publish-service). Without the
 * fallback such Services would have no nginx behind them and serve nothing.
 */
export function nginxControllers(cluster: ClusterState): NginxController[] {
  const groups = new Map<string, KubeObject[]>();
  for (const svc of cluster.store.list(T.service)) {
    const instance = labelsOf(svc)['app.kubernetes.io/instance'];
    if (instance === undefined || !hasLabels(svc, controllerLabels(instance)) || !httpPort(svc)) continue;
    const key = `${namespaceOf(svc)}/${instance}`;
    groups.set(key, [...(groups.get(key) ?? []), svc]);
  }
  return [...groups].map(([key, services]) => {
    const namespace = namespaceOf(services[0]!)!;
    const instance = key.slice(namespace.length + 1);
    const deployment = cluster.store
      .list(T.deployment, namespace)
      .find((d) => hasLabels(d, controllerLabels(instance)));
    const flags = deployment ? controllerFlags(deployment) : new Map<string, string>();
    const publish = flags.get('publish-service');
    const [pubNs, pubName] = publish?.includes('/') ? publish.split('/', 2) : [namespace, publish];
    return {
      key,
      namespace,
      instance,
      controllerClass: flags.get('controller-class') ?? DEFAULT_CONTROLLER_CLASS,
      ingressClass: flags.get('ingress-class') ?? 'nginx',
      watchWithoutClass: flags.get('watch-ingress-without-class') === 'true',
      ingressClassByName: flags.get('ingress-class-by-name') === 'true',
      publishService: pubName ? { namespace: pubNs!, name: pubName } : undefined,
      fromDeployment: deployment !== undefined,
      services,
    };
  });
}

/** `--flag=value` and `--flag value` from the containers' command and args, with $(VAR) expanded. */
function controllerFlags(deployment: KubeObject): Map<string, string> {
  const flags = new Map<string, string>();
  const podSpec = rec(rec(rec(deployment.spec).template).spec);
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.map(rec) : [];
  for (const c of containers) {
    const words = [c.command, c.args].flatMap((a) => (Array.isArray(a) ? a.map(String) : []));
    const expand = (text: string): string =>
      text.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (all, name: string) => envValue(c, name, deployment) ?? all,
      );
    words.forEach((word, i) => {
      const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(word);
      if (!m) return;
      const next = words[i + 1];
      const value = m[2] ?? (next !== undefined && !next.startsWith('-') ? next : 'true');
      flags.set(m[1]!, expand(value));
    });
  }
  return flags;
}

function envValue(container: Record<string, unknown>, name: string, owner: KubeObject): string | undefined {
  const env = Array.isArray(container.env) ? container.env.map(rec) : [];
  const entry = env.find((e) => e.name === name);
  if (!entry) return undefined;
  if (typeof entry.value === 'string') return entry.value;
  const fieldPath = str(rec(rec(entry.valueFrom).fieldRef).fieldPath);
  return fieldPath === 'metadata.namespace' ? namespaceOf(owner) : undefined;
}

/**
 * ingress-nginx's ingress class check: spec.ingressClassName must name an IngressClass whose spec.controller
 * is this controller's class; else the legacy annotation must equal --ingress-class; else only
 * --watch-ingress-without-class takes it.
 * FALLBACK A (remove once standins/chart ships the IngressClass `nginx`): a class name with no IngressClass
 * object at all counts as served by default-class controllers; ingress-nginx itself ignores such an Ingress.
 */
export function servesIngress(
  cluster: ClusterState,
  controller: NginxController,
  ingress: KubeObject,
): boolean {
  const className = str(rec(ingress.spec).ingressClassName);
  if (className) {
    const ingressClass = cluster.store.get(T.ingressClass, undefined, className);
    if (!ingressClass) return controller.controllerClass === DEFAULT_CONTROLLER_CLASS; // FALLBACK A
    return (
      rec(ingressClass.spec).controller === controller.controllerClass ||
      (controller.ingressClassByName && className === controller.ingressClass)
    );
  }
  const annotation = rec(rec(ingress.metadata).annotations)['kubernetes.io/ingress.class'];
  if (typeof annotation === 'string') return annotation === controller.ingressClass;
  return controller.watchWithoutClass;
}

/**
 * The Ingresses (any namespace) a controller serves, in ingress-nginx's order: oldest first, and on equal
 * creation seconds "namespace/name" descending. The first to claim a host and path keeps it.
 */
export function ingressesServedBy(cluster: ClusterState, controller: NginxController): KubeObject[] {
  const created = (o: KubeObject): string => String(rec(o.metadata).creationTimestamp ?? '');
  const key = (o: KubeObject): string => `${namespaceOf(o) ?? ''}/${nameOf(o)}`;
  return cluster.store
    .list(T.ingress)
    .filter((ing) => servesIngress(cluster, controller, ing))
    .sort((a, b) => byteOrder(created(a), created(b)) || byteOrder(key(b), key(a)));
}

/** Go's string comparison (bytes), not the locale's. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The address a controller writes into the status of the Ingresses it serves: its --publish-service's
 * LoadBalancer ingress; the node address without that flag; its own LoadBalancer Services without a
 * Deployment (the fallback).
 */
export function publishedAddress(
  cluster: ClusterState,
  controller: NginxController,
): Array<Record<string, unknown>> {
  const lbIngress = (svc: KubeObject | undefined): Array<Record<string, unknown>> => {
    const list = rec(rec(svc?.status).loadBalancer).ingress;
    return Array.isArray(list)
      ? list.map(rec).map((a) => (a.hostname ? { hostname: a.hostname } : { ip: a.ip }))
      : [];
  };
  if (controller.publishService) {
    const { namespace, name } = controller.publishService;
    return lbIngress(cluster.store.get(T.service, namespace, name));
  }
  if (controller.fromDeployment) return [{ ip: cluster.options.nodeAddress }];
  return controller.services.flatMap(lbIngress); // FALLBACK B: as if it published its own Service
}
