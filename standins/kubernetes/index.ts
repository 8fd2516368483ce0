import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import YAML from 'yaml';
import { Cluster } from './cluster.js';
import { controllers } from './controllers.js';
import { seedCluster } from './seed.js';
import { IngressSimulator } from './ingress.js';
import type { HeldLoadBalancer } from './loadBalancers.js';
import { resolveOptions, type KubeStandInOptions } from './options.js';
import { findByKind, type KubeObject } from './resources.js';
import type { AccessRule } from './access.js';
import type { InjectedFault, KubeFault } from './faults.js';
import { ApiRouter, type RecordedRequest } from './server.js';
import { startTlsListener, type TlsListener, type TlsListenerOptions } from './tls.js';

export type { KubeStandInOptions } from './options.js';
export type { RecordedRequest } from './server.js';
export type { TlsListener, TlsListenerOptions } from './tls.js';
export type { InjectedFault, KubeFault, RequestMatch } from './faults.js';
export {
  forwardingRuleName,
  localLoadBalancerAddresses,
  refusals,
  type HeldLoadBalancer,
  type LoadBalancerAddresses,
  type LoadBalancerRequest,
} from './loadBalancers.js';
export type { ServerState, ServerUser } from '../serverState.js';
export type { AccessRule } from './access.js';

export interface KubeStandIn {
  /** http://127.0.0.1:PORT */
  url: string;
  requests: RecordedRequest[];
  /** POST/PUT/PATCH/DELETE, without access reviews (which only read). */
  mutatingRequests(): RecordedRequest[];
  clearRequests(): void;
  /** Writes <dir>/kubeconfig (0600) pointing at this server; returns its path. */
  writeKubeconfig(dir: string): string;
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Record<string, unknown> | undefined;
  list(apiVersion: string, kind: string, namespace?: string): Record<string, unknown>[];
  /** Test setup: create or replace directly (runs the controllers). */
  put(object: Record<string, unknown>): Record<string, unknown>;
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  /** Changes options mid-test (e.g. make health unhealthy, stop assigning addresses); re-runs controllers. */
  configure(options: Partial<KubeStandInOptions>): Promise<void>;
  /**
   * Arms a fault for matching API requests (by method, path, user agent; `times`, default 1): 'hang' reads
   * the request and never answers until release() or close(); 'error' answers with a Status error.
   */
  inject(fault: KubeFault): InjectedFault;
  /**
   * Denies a permission, as RBAC would: the real request gets 403 Forbidden and a SelfSubjectAccessReview says
   * `allowed: false` (everything else stays allowed). Returns what lifts the denial again.
   */
  deny(rule: AccessRule): () => void;
  /** host:port addresses where the simulated ingress answers now. */
  ingressAddresses(): string[];
  /** The cluster's load balancers: each LoadBalancer Service's forwarding rule and address. */
  loadBalancers(): HeldLoadBalancer[];
  /**
   * The cluster is deleted, and GKE deletes its load balancers with it: the address provider's release hook runs
   * for every forwarding rule. (A dead cluster whose rules GKE did not clean up: don't call it.)
   */
  releaseLoadBalancers(): void;
  /** Also serves the same cluster over TLS, authenticating clients as a real API server does (see tls.ts). */
  listenTls(options: TlsListenerOptions): Promise<TlsListener>;
  close(): Promise<void>;
}

const reviewPath =
  /\/(selfsubjectaccessreviews|selfsubjectrulesreviews|subjectaccessreviews|selfsubjectreviews|tokenreviews)$/;

function typeOrThrow(apiVersion: string, kind: string): ReturnType<typeof findByKind> & object {
  const t = findByKind(apiVersion, kind);
  if (!t) throw new Error(`the Kubernetes stand-in does not serve ${apiVersion} ${kind}`);
  return t;
}

/** Starts an in-memory Kubernetes API server on 127.0.0.1 (ephemeral port) that real kubectl and helm accept. */
export async function startKubeStandIn(options: KubeStandInOptions = {}): Promise<KubeStandIn> {
  const cluster = new Cluster(resolveOptions(options), controllers);
  const ingress = new IngressSimulator(cluster);
  seedCluster(cluster);
  // Controllers acting between requests (delays) change what the ingress serves: it follows them then too.
  cluster.onControllersActed = () => void ingress.sync();
  const router = new ApiRouter(cluster, () => ingress.sync());
  const handle: http.RequestListener = (req, res) => {
    router.handle(req, res).catch((error: unknown) => {
      console.error('kubernetes stand-in: request failed:', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const server = http.createServer(handle);
  const tlsListeners: TlsListener[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests: router.requests,
    mutatingRequests: () =>
      router.requests.filter(
        (r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !reviewPath.test(r.path),
      ),
    clearRequests: () => {
      router.requests.length = 0;
    },
    writeKubeconfig: (dir) => writeKubeconfig(url, dir),
    get: (apiVersion, kind, namespace, name) =>
      cluster.store.get(typeOrThrow(apiVersion, kind), namespace, name),
    list: (apiVersion, kind, namespace) => cluster.store.list(typeOrThrow(apiVersion, kind), namespace),
    put(object: KubeObject): KubeObject {
      const stored = cluster.put(object);
      void ingress.sync();
      return stored;
    },
    remove(apiVersion, kind, namespace, name): void {
      const t = typeOrThrow(apiVersion, kind);
      const ns = t.namespaced ? (namespace ?? 'default') : undefined;
      if (cluster.store.get(t, ns, name)) cluster.delete(t, ns, name, {});
      void ingress.sync();
    },
    async configure(changes: Partial<KubeStandInOptions>): Promise<void> {
      cluster.options = { ...cluster.options, ...changes };
      cluster.reconcile();
      await ingress.sync();
    },
    inject: (fault) => router.faults.inject(fault),
    deny: (rule) => router.access.deny(rule),
    ingressAddresses: () => ingress.addresses(),
    loadBalancers: () => cluster.loadBalancers.held(),
    releaseLoadBalancers: () => cluster.loadBalancers.releaseAll(),
    async listenTls(tlsOptions: TlsListenerOptions): Promise<TlsListener> {
      const listener = await startTlsListener(handle, tlsOptions);
      tlsListeners.push(listener);
      return listener;
    },
    async close(): Promise<void> {
      cluster.stop();
      router.faults.closeAll();
      for (const stream of router.watchStreams) stream.end();
      await Promise.all(tlsListeners.map((l) => l.close()));
      await ingress.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes <dir>/kubeconfig (0600) pointing at the server; returns its path. */
function writeKubeconfig(url: string, dir: string): string {
  const file = path.join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'standin', cluster: { server: url } }],
    users: [{ name: 'standin', user: {} }],
    contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'standin', namespace: 'default' } }],
    'current-context': 'standin',
    preferences: {},
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
  return file;
}
