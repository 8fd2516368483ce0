import aprMd5 from 'apache-md5';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { Cluster } from './cluster.js';
import { findByResource, nameOf, namespaceOf, rec, str, type KubeObject } from './resources.js';

const T = {
  service: findByResource('', 'v1', 'services')!,
  secret: findByResource('', 'v1', 'secrets')!,
  ingress: findByResource('networking.k8s.io', 'v1', 'ingresses')!,
  deployment: findByResource('apps', 'v1', 'deployments')!,
};

const controllerSuffix = '-ingress-nginx-controller';

interface Listener {
  server: http.Server;
  namespace: string;
  release: string;
}

/**
 * Plays ingress-nginx in front of the SkyPilot API server: listens where the controller Service's address
 * is (LoadBalancer IP:80 or 127.0.0.1:nodePort) and answers /api/health behind the Ingress's basic auth.
 */
export class IngressSimulator {
  private readonly listeners = new Map<string, Listener>();
  private pending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly cluster: Cluster) {}

  /** Opens and closes listeners to match the Services; resolves once they are listening. */
  sync(): Promise<void> {
    this.pending = this.pending
      .then(() => this.apply())
      .catch((error: unknown) => {
        console.error('kubernetes stand-in: ingress listener failed:', error);
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

  private desired(): Map<string, { namespace: string; release: string }> {
    const out = new Map<string, { namespace: string; release: string }>();
    if (this.closed) return out;
    for (const svc of this.cluster.store.list(T.service)) {
      const name = nameOf(svc);
      if (!name.endsWith(controllerSuffix)) continue;
      const where = { namespace: namespaceOf(svc)!, release: name.slice(0, -controllerSuffix.length) };
      const spec = rec(svc.spec);
      const ports = Array.isArray(spec.ports) ? spec.ports.map(rec) : [];
      const http = ports.find((p) => p.name === 'http' || p.port === 80) ?? ports[0];
      if (spec.type === 'LoadBalancer') {
        const ingress = rec(svc.status).loadBalancer;
        const list = rec(ingress).ingress;
        const ip = Array.isArray(list) ? str(rec(list[0]).ip) : undefined;
        if (ip) out.set(`${ip}:${Number(http?.port ?? 80)}`, where);
      } else if (spec.type === 'NodePort' && http?.nodePort !== undefined) {
        out.set(`${this.cluster.options.nodeAddress}:${Number(http.nodePort)}`, where);
      }
    }
    return out;
  }

  private async apply(): Promise<void> {
    const desired = this.desired();
    for (const key of [...this.listeners.keys()]) {
      const want = desired.get(key);
      const have = this.listeners.get(key);
      if (!want || want.namespace !== have?.namespace || want.release !== have.release) await this.stop(key);
    }
    for (const [key, where] of desired) {
      if (this.listeners.has(key)) continue;
      const [host = '127.0.0.1', port = '80'] = key.split(':');
      const server = http.createServer((req, res) => this.handle(where.namespace, where.release, req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(port), host, () => resolve());
      });
      this.listeners.set(key, { server, ...where });
    }
  }

  private async stop(key: string): Promise<void> {
    const listener = this.listeners.get(key);
    if (!listener) return;
    this.listeners.delete(key);
    listener.server.closeAllConnections();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
  }

  private handle(
    namespace: string,
    release: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    const auth = this.basicAuth(namespace);
    if (auth && !checkCredentials(req.headers.authorization, auth.lines)) {
      res.writeHead(401, { 'Content-Type': 'text/html', 'WWW-Authenticate': `Basic realm="${auth.realm}"` });
      res.end(nginxPage(401, 'Authorization Required'));
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const deployment = this.cluster.store.get(T.deployment, namespace, `${release}-api-server`);
    if (!deployment || !available(deployment)) {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end(nginxPage(503, 'Service Temporarily Unavailable'));
      return;
    }
    if (path !== '/api/health') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Not Found' }));
      return;
    }
    const version = imageTag(deployment);
    const body = {
      status: this.cluster.options.healthStatus,
      api_version: '16',
      version,
      version_on_disk: version,
      commit: createHash('sha1').update(version).digest('hex'),
      basic_auth_enabled: auth !== undefined,
    };
    res.writeHead(this.cluster.options.healthStatus === 'healthy' ? 200 : 503, {
      'Content-Type': 'application/json',
    });
    res.end(JSON.stringify(body));
  }

  /** The htpasswd lines the Ingress's nginx auth annotations point at, or undefined without auth. */
  private basicAuth(namespace: string): { lines: string[]; realm: string } | undefined {
    for (const ing of this.cluster.store.list(T.ingress, namespace)) {
      const annotations = rec(rec(ing.metadata).annotations);
      if (annotations['nginx.ingress.kubernetes.io/auth-type'] !== 'basic') continue;
      const ref = str(annotations['nginx.ingress.kubernetes.io/auth-secret']) ?? '';
      const [secretNs, secretName] = ref.includes('/') ? ref.split('/', 2) : [namespace, ref];
      const secret = this.cluster.store.get(T.secret, secretNs, secretName ?? '');
      const encoded = str(rec(secret?.data).auth);
      // nginx refuses every request when the referenced secret is missing: no lines, nothing matches.
      const lines = encoded
        ? Buffer.from(encoded, 'base64')
            .toString('utf8')
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
        : [];
      return {
        lines,
        realm: str(annotations['nginx.ingress.kubernetes.io/auth-realm']) ?? 'Authentication Required',
      };
    }
    return undefined;
  }
}

function available(deployment: KubeObject): boolean {
  const conds = rec(deployment.status).conditions;
  return Array.isArray(conds) && conds.some((c) => rec(c).type === 'Available' && rec(c).status === 'True');
}

function imageTag(deployment: KubeObject): string {
  const containers = rec(rec(rec(deployment.spec).template).spec).containers;
  const image = Array.isArray(containers) ? (str(rec(containers[0]).image) ?? '') : '';
  const withoutDigest = image.split('@')[0] ?? '';
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : 'latest';
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

function nginxPage(code: number, title: string): string {
  return `<html>\r\n<head><title>${code} ${title}</title></head>\r\n<body>\r\n<center><h1>${code} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
