import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import type { ClusterState } from './clusterState.js';
import { rec, str, type KubeObject } from './resources.js';

// The SkyPilot API server in a pod, as the ingress reaches it: /api/health, with the shape of sky/server/server.py.

/** Answers one request that reached the server in `pod` at `path` (after the ingress's rewrite). */
export function serveSkyPilot(
  cluster: ClusterState,
  pod: KubeObject,
  request: { path: string; query: URLSearchParams; req: http.IncomingMessage },
  res: http.ServerResponse,
): void {
  const { path, req } = request;
  if (path === '/api/health') return serveHealth(cluster, pod, req, res);
  json(res, 404, { detail: 'Not Found' });
}

function serveHealth(
  cluster: ClusterState,
  pod: KubeObject,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const status = cluster.options.healthStatus;
  const code = status === 'healthy' ? 200 : 503;
  // A request without credentials gets the status alone, as a probe from Kubernetes does.
  if (req.headers.authorization === undefined) return json(res, code, { status });
  json(res, code, healthBody(pod, status, cluster.options.skypilotVersion));
}

function json(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The full /api/health answer for a pod: version from its environment, else its image tag, else the option. */
function healthBody(pod: KubeObject, status: string, fallbackVersion: string): Record<string, unknown> {
  const container = firstContainer(pod);
  const env = new Map(
    (Array.isArray(container.env) ? container.env.map(rec) : []).map((e) => [String(e.name), str(e.value)]),
  );
  const flag = (name: string): boolean => (env.get(name) ?? 'false').toLowerCase() === 'true';
  const version =
    env.get('SKYPILOT_VERSION') ?? versionFromImage(str(container.image) ?? '') ?? fallbackVersion;
  return {
    status,
    api_version: '16',
    version,
    version_on_disk: version,
    commit: createHash('sha1').update(version).digest('hex'),
    basic_auth_enabled: flag('ENABLE_BASIC_AUTH'),
    user: null,
    service_account_token_enabled: flag('ENABLE_SERVICE_ACCOUNTS'),
    ingress_basic_auth_enabled: flag('SKYPILOT_INGRESS_BASIC_AUTH_ENABLED'),
    latest_version: null,
  };
}

function firstContainer(pod: KubeObject): Record<string, unknown> {
  const containers = rec(pod.spec).containers;
  return Array.isArray(containers) ? rec(containers[0]) : {};
}

/** An image tag that is a SkyPilot version (1.0.0.dev20250218, 0.10.3, ...); `latest` and no tag are not. */
function versionFromImage(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : '';
  return /^v?\d+\.\d+(\.\d+)?([.-]?(dev|rc|post)\d+)?$/.test(tag) ? tag.replace(/^v/, '') : undefined;
}
