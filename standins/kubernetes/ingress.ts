import aprMd5 from 'apache-md5';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { ClusterState } from './clusterState.js';
import { httpPort, ingressesServedBy, nginxControllers } from './ingressControllers.js';
import { routeRequest } from './ingressRoutes.js';
import { serveSkyPilot } from './skypilotServer.js';
import { findByResource, labelsOf, namespaceOf, rec, str, type KubeObject } from './resources.js';

const T = {
  service: findByResource('', 'v1', 'services')!,
  secret: findByResource('', 'v1', 'secrets')!,
  pod: findByResource('', 'v1', 'pods')!,
};

/**
 * Plays ingress-nginx: every controller (found by the subchart's labels) listens where its controller
 * Services are reachable (LoadBalancer IP:port, or node address:nodePort), serves the Ingresses of its
 * IngressClass, routes by their rules to a ready pod behind the backend Service, and answers there as the
 * SkyPilot API server in that pod does (skypilotServer.ts): each release on its own load balancer address.
 */
export class IngressSimulator {
  /** host:port -> controller key ("<namespace>/<instance>"). */
  private readonly listeners = new Map<string, { server: http.Server; controller: string }>();
  /** Addresses that could not be listened on, reported once each (every API write syncs again). */
  private readonly refused = new Set<string>();
  private pending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly cluster: ClusterState) {}

  /** Opens and closes listeners to match the controllers; resolves once they are listening. */
  sync(): Promise<void> {
    this.pending = this.pending
      .then(() => this.apply())
      .catch((error: unknown) => {
        console.error('kubernetes stand-in: ingress sync failed:', error);
      });
    return this.pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pending;
    await Promise.all([...this.listeners.keys()].map((key) => this.stop(key)));
  }

  /** Addresses served now, as "host:port". */
  addresses(): string[] {
    return [...this.listeners.keys()];
  }

  private desired(): Map<string, string> {
    const out = new Map<string, string>();
    if (this.closed) return out;
    for (const controller of nginxControllers(this.cluster)) {
      for (const svc of controller.services) {
        const spec = rec(svc.spec);
        const port = httpPort(svc);
        if (spec.type === 'LoadBalancer') {
          const list = rec(rec(svc.status).loadBalancer).ingress;
          const ip = Array.isArray(list) ? str(rec(list[0]).ip) : undefined;
          if (ip) out.set(`${ip}:${Number(port?.port ?? 80)}`, controller.key);
        } else if (spec.type === 'NodePort' && port?.nodePort !== undefined) {
          out.set(`${this.cluster.options.nodeAddress}:${Number(port.nodePort)}`, controller.key);
        }
      }
    }
    return out;
  }

  private async apply(): Promise<void> {
    const desired = this.desired();
    for (const [key, have] of [...this.listeners]) {
      if (desired.get(key) !== have.controller) await this.stop(key);
    }
    for (const [key, controller] of desired) {
      if (this.listeners.has(key)) continue;
      const [host = '127.0.0.1', port = '80'] = key.split(':');
      const server = http.createServer((req, res) => this.handle(controller, req, res));
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', resolve);
        server.listen(Number(port), host, () => resolve(undefined));
      });
      if (error) this.report(key, error);
      else this.listeners.set(key, { server, controller });
    }
  }

  /** One line per address, saying what to do: the server behind it then simply does not answer. */
  private report(key: string, error: NodeJS.ErrnoException): void {
    if (this.refused.has(key)) return;
    this.refused.add(key);
    const port = Number(key.split(':')[1]);
    const why =
      error.code === 'EACCES' && port < 1024
        ? `port ${port} needs root; startLocalWorld (standins/world.ts) picks a high port for a normal user`
        : error.code === 'EADDRNOTAVAIL'
          ? 'this machine has no such loopback address; set SKYHA_STANDIN_SINGLE_ADDRESS=1 (a NodePort on 127.0.0.1)'
          : error.message;
    console.error(
      `kubernetes stand-in: the ingress cannot listen on ${key} (${error.code ?? 'error'}): ${why}`,
    );
  }

  private async stop(key: string): Promise<void> {
    const listener = this.listeners.get(key);
    if (!listener) return;
    this.listeners.delete(key);
    listener.server.closeAllConnections();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
  }

  private handle(controllerKey: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const controller = nginxControllers(this.cluster).find((c) => c.key === controllerKey);
    const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s);
    const route = controller
      ? routeRequest(ingressesServedBy(this.cluster, controller), req.headers.host ?? '', path)
      : undefined;
    if (!route) return nginxPage(res, 404, 'Not Found');
    const auth = basicAuth(this.cluster, route.ingress);
    // A location whose auth secret cannot be read is "denied" by ingress-nginx: 503 for every request.
    if (auth === 'denied') return nginxPage(res, 503, 'Service Temporarily Unavailable');
    if (auth && !checkCredentials(req.headers.authorization, auth.lines)) {
      res.setHeader('WWW-Authenticate', `Basic realm="${auth.realm}"`);
      return nginxPage(res, 401, 'Authorization Required');
    }
    const pod = backendPod(this.cluster, namespaceOf(route.ingress) ?? 'default', route.backend);
    if (!pod) return nginxPage(res, 503, 'Service Temporarily Unavailable');
    serveSkyPilot(
      this.cluster,
      pod,
      { path: route.upstreamPath, query: new URLSearchParams(query), req },
      res,
    );
  }
}

/** A ready pod behind the backend Service (through its selector), or undefined: nginx then answers 503. */
function backendPod(
  cluster: ClusterState,
  namespace: string,
  backend: Record<string, unknown>,
): KubeObject | undefined {
  const ref = rec(backend.service);
  const svc = cluster.store.get(T.service, namespace, str(ref.name) ?? '');
  if (!svc) return undefined;
  const wantPort = rec(ref.port);
  const ports = Array.isArray(rec(svc.spec).ports) ? (rec(svc.spec).ports as unknown[]).map(rec) : [];
  if (
    !ports.some(
      (p) => p.port === wantPort.number || (wantPort.name !== undefined && p.name === wantPort.name),
    )
  )
    return undefined;
  const selector = rec(rec(svc.spec).selector) as Record<string, string>;
  if (Object.keys(selector).length === 0) return undefined;
  return cluster.store
    .list(T.pod, namespace)
    .find((p) => ready(p) && Object.entries(selector).every(([k, v]) => labelsOf(p)[k] === v));
}

function ready(pod: KubeObject): boolean {
  const conds = rec(pod.status).conditions;
  return Array.isArray(conds) && conds.some((c) => rec(c).type === 'Ready' && rec(c).status === 'True');
}

/**
 * The htpasswd lines an Ingress's nginx auth annotations point at (auth-secret as `name` in the Ingress's
 * namespace or `namespace/name`; auth-file or auth-map secrets); 'denied' when they cannot be read.
 */
function basicAuth(
  cluster: ClusterState,
  ing: KubeObject,
): { lines: string[]; realm: string } | 'denied' | undefined {
  const annotations = rec(rec(ing.metadata).annotations);
  const type = annotations['nginx.ingress.kubernetes.io/auth-type'];
  if (type === undefined) return undefined;
  if (type !== 'basic') return 'denied';
  const ref = str(annotations['nginx.ingress.kubernetes.io/auth-secret']);
  if (!ref) return 'denied';
  const [secretNs, secretName] = ref.includes('/') ? ref.split('/', 2) : [namespaceOf(ing), ref];
  const secret = cluster.store.get(T.secret, secretNs, secretName ?? '');
  if (!secret) return 'denied';
  const data = rec(secret.data);
  const decode = (v: unknown): string => Buffer.from(String(v), 'base64').toString('utf8');
  let lines: string[];
  if (annotations['nginx.ingress.kubernetes.io/auth-secret-type'] === 'auth-map') {
    lines = Object.entries(data).map(([user, hash]) => `${user}:${decode(hash).trim()}`);
  } else {
    if (data.auth === undefined) return 'denied';
    lines = decode(data.auth)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
  return {
    lines,
    realm: str(annotations['nginx.ingress.kubernetes.io/auth-realm']) ?? 'Authentication Required',
  };
}

/** Verifies "user:password" against htpasswd lines ($apr1$ Apache MD5 or {SHA}). */
export function checkCredentials(header: string | undefined, lines: string[]): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  for (const line of lines) {
    const sep = line.indexOf(':');
    if (line.slice(0, sep) !== user) continue;
    const stored = line.slice(sep + 1);
    let computed: string | undefined;
    if (stored.startsWith('$apr1$')) computed = aprMd5(password, stored);
    else if (stored.startsWith('{SHA}'))
      computed = `{SHA}${createHash('sha1').update(password).digest('base64')}`;
    if (
      computed !== undefined &&
      computed.length === stored.length &&
      timingSafeEqual(Buffer.from(computed), Buffer.from(stored))
    ) {
      return true;
    }
  }
  return false;
}

function nginxPage(res: http.ServerResponse, code: number, title: string): void {
  res.writeHead(code, { 'Content-Type': 'text/html' });
  res.end(
    `<html>\r\n<head><title>${code} ${title}</title></head>\r\n<body>\r\n<center><h1>${code} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  );
}
