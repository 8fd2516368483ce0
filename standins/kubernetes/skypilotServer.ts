import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import type { ServerState } from '../serverState.js';
import type { ClusterState } from './clusterState.js';
import { T } from './controllerKit.js';
import { namespaceOf, rec, str, type KubeObject } from './resources.js';

// The SkyPilot API server in a pod, as the ingress reaches it. What it answers, with the shapes of
// sky/server/server.py and sky/users/server.py (FastAPI; read from skypilot-org/skypilot):
// - GET /api/health -> {status, api_version, version, version_on_disk, commit, basic_auth_enabled, user,
//   service_account_token_enabled, ingress_basic_auth_enabled, latest_version}; 503 while unhealthy.
// - GET /users -> [{"id", "name", "created_at", "role"}] in the database's order, service accounts (ids "sa-...")
//   left out; created_at in Unix seconds; never password hashes. The server writes its own user `skypilot-system`
//   into the database at every start (its internal daemons run as it: sky/server/requests/executor.py), so even a
//   server on a new, empty disk lists that one user.
// - GET /api/completion/{cluster,storage,volume}_name?incomplete=P -> ["name", ...]: the names starting with P.
//   `incomplete` is a required query parameter: without it FastAPI answers 422 {"detail": [{"type": "missing", ...}]}.
// - Any other path: 404 {"detail": "Not Found"}; another method on these paths: 405 {"detail": "Method Not Allowed"}.
// The version comes from the image tag, which the chart sets from its appVersion, so the version follows the chart
// version that deployed the server (an upgrade A -> B shows in /api/health); the state (users, clusters) from the
// disk its release mounts: pod -> claim -> bound PersistentVolume -> csi.volumeHandle -> options.serverState.

/** Answers one request that reached the server in `pod` at `path` (after the ingress's rewrite). */
export function serveSkyPilot(
  cluster: ClusterState,
  pod: KubeObject,
  request: { path: string; query: URLSearchParams; req: http.IncomingMessage },
  res: http.ServerResponse,
): void {
  const { path, query, req } = request;
  const stateful = cluster.options.stateEndpoints && (path === '/users' || COMPLETIONS[path] !== undefined);
  if (path === '/api/health') return serveHealth(cluster, pod, req, res);
  if (!stateful) return json(res, 404, { detail: 'Not Found' });
  if (req.method !== 'GET') return json(res, 405, { detail: 'Method Not Allowed' });
  const state = stateOnDisk(cluster, pod) ?? { users: [], clusters: [] };
  if (path === '/users') return json(res, 200, listUsers(state, pod));
  const incomplete = query.get('incomplete');
  if (incomplete === null) {
    const missing = { type: 'missing', loc: ['query', 'incomplete'], msg: 'Field required', input: null };
    return json(res, 422, { detail: [missing] });
  }
  const names = COMPLETIONS[path]!(state);
  json(
    res,
    200,
    names.filter((name) => name.startsWith(incomplete)),
  );
}

/** The completion endpoints, each answered from its table of the state database. */
const COMPLETIONS: Record<string, ((state: ServerState) => string[]) | undefined> = {
  '/api/completion/cluster_name': (state) => state.clusters,
  '/api/completion/storage_name': (state) => state.storages ?? [],
  '/api/completion/volume_name': (state) => state.volumes ?? [],
};

/** GET /users: the server's own user first (written when it started on this disk), then the disk's users. */
function listUsers(state: ServerState, pod: KubeObject): Record<string, unknown>[] {
  const started = Date.parse(str(rec(pod.metadata).creationTimestamp) ?? '');
  const system = {
    id: 'skypilot-system',
    name: 'skypilot-system',
    role: 'admin',
    created_at: Math.floor((Number.isNaN(started) ? Date.now() : started) / 1000),
  };
  const users = state.users.some((u) => u.id === system.id) ? state.users : [system, ...state.users];
  return users
    .filter((u) => !u.id.startsWith('sa-'))
    .map((u) => ({ id: u.id, name: u.name, created_at: u.created_at, role: u.role }));
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

/**
 * The state on the disk the server keeps `~/.sky` on: the claim of the volume mounted at /root/.sky (else its
 * first claim), the PersistentVolume bound to that claim, its `csi.volumeHandle`. Undefined without one.
 */
export function stateOnDisk(cluster: ClusterState, pod: KubeObject): ServerState | undefined {
  const namespace = namespaceOf(pod) ?? 'default';
  const mounts = Array.isArray(firstContainer(pod).volumeMounts)
    ? (firstContainer(pod).volumeMounts as unknown[]).map(rec)
    : [];
  const home = str(mounts.find((m) => m.mountPath === '/root/.sky')?.name);
  const volumes = (Array.isArray(rec(pod.spec).volumes) ? (rec(pod.spec).volumes as unknown[]) : [])
    .map(rec)
    .filter((v) => str(rec(v.persistentVolumeClaim).claimName));
  const volume = volumes.find((v) => v.name === home) ?? volumes[0];
  if (!volume) return undefined;
  const claim = cluster.store.get(T.pvc, namespace, String(rec(volume.persistentVolumeClaim).claimName));
  const volumeName = str(rec(claim?.spec).volumeName);
  const pv = volumeName ? cluster.store.get(T.pv, undefined, volumeName) : undefined;
  if (!claim || !pv || rec(rec(pv.spec).claimRef).uid !== rec(claim.metadata).uid) return undefined;
  const handle = str(rec(rec(pv.spec).csi).volumeHandle);
  return handle ? cluster.options.serverState(handle) : undefined;
}
