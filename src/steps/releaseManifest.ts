import { parseAllDocuments } from 'yaml';
import { at, isMap } from '../lib/json.js';
import { refuse, type Refusal } from '../lib/plan.js';

// What a release made (or would make), learned from its manifest, never from string templates of the chart's
// names: the chart names things after its full name, its subchart after rules of its own, and users override both.

/** The objects of the release that the action depends on, by what they are rather than by what they are called. */
export interface ReleaseObjects {
  /** The ingress controller's Service users reach the server through (the one with a port named http). */
  controllerService: { name: string; type: string } | undefined;
  /** The API server Deployment: the one that mounts the state claim. */
  apiServer: { name: string; claim: string } | undefined;
  /** The Ingress in front of the API server, the Service it routes to and the Secret it takes basic auth from. */
  ingress: { name: string; backend: string | undefined; authSecret: string | undefined } | undefined;
  /** Names by kind, as rendered: what exists after an install (Secret, Service, PersistentVolumeClaim, ...). */
  names: Record<string, string[]>;
  /** Names over the limit the API server enforces for their kind; `subchart` when ingress-nginx made them. */
  tooLong: Array<{ kind: string; name: string; limit: number; subchart: boolean }>;
  /** Every object, hooks included: what helm will ask the API server to make (the permission preflight's input). */
  resources: ManifestResource[];
}

/** One object of a manifest, as helm writes it. */
export interface ManifestResource {
  apiVersion: string;
  kind: string;
  name: string;
  /** As rendered; helm puts a namespaced object without one in the release namespace. */
  namespace: string | undefined;
  /** A hook (helm.sh/hook): helm creates it at its event and waits for a Job to complete. */
  hook: boolean;
  /** A hook helm deletes again (helm.sh/hook-delete-policy). */
  hookDeleted: boolean;
}

/** Service names are DNS-1035 labels (63); most other objects DNS-1123 subdomains (253). */
const NAME_LIMITS: Record<string, number> = { Service: 63, Namespace: 63 };

/** The last manifests parsed: a run reads one release's manifest in several steps, and its YAML is the costly part. */
const parsed = new Map<string, ReleaseObjects>();

/** What a release's manifest makes (parsed once per manifest and release name; callers only read it). */
export function releaseObjects(manifest: string, release: string): ReleaseObjects {
  const key = `${release}\n${manifest}`;
  const known = parsed.get(key);
  if (known) return known;
  const objects = parseReleaseObjects(manifest, release);
  if (parsed.size >= 4) parsed.delete(parsed.keys().next().value ?? '');
  parsed.set(key, objects);
  return objects;
}

function parseReleaseObjects(manifest: string, release: string): ReleaseObjects {
  const objects = parseAllDocuments(manifest)
    .map((d) => d.toJS() as unknown)
    .filter(isMap);
  const names: Record<string, string[]> = {};
  const tooLong: ReleaseObjects['tooLong'] = [];
  for (const o of objects) {
    const kind = String(o.kind ?? '');
    const name = String(at(o, 'metadata', 'name') ?? '');
    (names[kind] ??= []).push(name);
    const limit = NAME_LIMITS[kind] ?? 253;
    const subchart = at(o, 'metadata', 'labels', 'app.kubernetes.io/name') === 'ingress-nginx';
    if (name.length > limit) tooLong.push({ kind, name, limit, subchart });
  }
  return {
    controllerService: controllerService(objects, release),
    apiServer: apiServer(objects),
    ingress: ingressOf(objects),
    names,
    tooLong,
    resources: objects.map(manifestResource),
  };
}

function manifestResource(o: Record<string, unknown>): ManifestResource {
  const annotations = (at(o, 'metadata', 'annotations') ?? {}) as Record<string, unknown>;
  const namespace = at(o, 'metadata', 'namespace');
  return {
    apiVersion: String(o.apiVersion ?? ''),
    kind: String(o.kind ?? ''),
    name: String(at(o, 'metadata', 'name') ?? ''),
    namespace: typeof namespace === 'string' && namespace ? namespace : undefined,
    hook: typeof annotations['helm.sh/hook'] === 'string',
    hookDeleted: typeof annotations['helm.sh/hook-delete-policy'] === 'string',
  };
}

/** ingress-nginx labels its controller Service with its name, this release and the controller component. */
function controllerService(
  objects: Record<string, unknown>[],
  release: string,
): ReleaseObjects['controllerService'] {
  for (const o of objects.filter((x) => x.kind === 'Service')) {
    const labels = (at(o, 'metadata', 'labels') ?? {}) as Record<string, unknown>;
    const ports = at(o, 'spec', 'ports');
    const http = Array.isArray(ports) && ports.some((p) => at(p, 'name') === 'http');
    if (
      labels['app.kubernetes.io/name'] === 'ingress-nginx' &&
      labels['app.kubernetes.io/component'] === 'controller' &&
      labels['app.kubernetes.io/instance'] === release &&
      http
    ) {
      return { name: String(at(o, 'metadata', 'name')), type: String(at(o, 'spec', 'type') ?? 'ClusterIP') };
    }
  }
  return undefined;
}

/** The state lives on the claim the API server mounts: its Deployment is the one with a claim volume. */
function apiServer(objects: Record<string, unknown>[]): ReleaseObjects['apiServer'] {
  for (const o of objects.filter((x) => x.kind === 'Deployment')) {
    const volumes = at(o, 'spec', 'template', 'spec', 'volumes');
    const claim = Array.isArray(volumes)
      ? volumes.map((v) => at(v, 'persistentVolumeClaim', 'claimName')).find((c) => typeof c === 'string')
      : undefined;
    if (typeof claim === 'string') return { name: String(at(o, 'metadata', 'name')), claim };
  }
  return undefined;
}

function ingressOf(objects: Record<string, unknown>[]): ReleaseObjects['ingress'] {
  const ingress = objects.find((x) => x.kind === 'Ingress');
  if (!ingress) return undefined;
  const annotations = (at(ingress, 'metadata', 'annotations') ?? {}) as Record<string, unknown>;
  const rules = at(ingress, 'spec', 'rules');
  const paths = Array.isArray(rules) ? rules.flatMap((r) => (at(r, 'http', 'paths') as unknown[]) ?? []) : [];
  const backend =
    paths.map((p) => at(p, 'backend', 'service', 'name')).find((n) => typeof n === 'string') ??
    at(ingress, 'spec', 'defaultBackend', 'service', 'name');
  const secret = annotations['nginx.ingress.kubernetes.io/auth-secret'];
  return {
    name: String(at(ingress, 'metadata', 'name')),
    backend: typeof backend === 'string' ? backend : undefined,
    // `ns/name` names a Secret of another namespace; the chart's is always `name`.
    authSecret: typeof secret === 'string' ? (secret.split('/').pop() ?? secret) : undefined,
  };
}

/** What the action needs the release to make, to check against what it would make. */
export interface ReleaseExpectations {
  /** The claim bound to the state volume. */
  claim: string;
  /** The auth-secret input, when given: a Secret the release does not make but the Ingress may name. */
  authSecret: string | undefined;
  /** The release name: what most names start with, so what to shorten when one is too long. */
  release: string;
}

/**
 * Pure: refuses, before anything changes, a release whose objects would not serve the state: names over the API
 * server's limits, a server that mounts another claim than the one bound to the volume (e.g. fullnameOverride on
 * a chart without storage.existingClaim), an Ingress routed to a Service or a Secret the release does not make.
 */
export function checkReleaseObjects(
  objects: ReleaseObjects,
  expect: ReleaseExpectations,
): Refusal | undefined {
  const long = objects.tooLong[0];
  if (long) return tooLongRefusal(long, expect.release);
  if (!objects.apiServer) {
    return refuse(
      'The chart would make no Deployment that mounts a claim: the server would keep no state',
      'Check the chart and its storage values; nothing was changed',
    );
  }
  if (objects.apiServer.claim !== expect.claim) {
    return refuse(
      `The chart's Deployment ${objects.apiServer.name} would mount the claim ${objects.apiServer.claim}, but the state volume is for ${expect.claim}`,
      'The chart names the claim after the release and the Deployment after fullnameOverride: remove fullnameOverride/nameOverride from the values, or use a chart version with storage.existingClaim; nothing was changed',
    );
  }
  return checkIngress(objects, expect);
}

/** Which limit a name breaks, and the one input or value that makes it fit (most names start with the release's). */
function tooLongRefusal(long: ReleaseObjects['tooLong'][number], release: string): Refusal {
  const rule = long.limit === 63 ? 'a DNS-1035 label' : 'a DNS-1123 subdomain';
  const reason = `The chart would name a ${long.kind} '${long.name}' (${long.name.length} characters), but a ${long.kind} name is ${rule} of at most ${long.limit}`;
  if (long.subchart) {
    return refuse(
      reason,
      'The ingress-nginx subchart names it after ingress-nginx.fullnameOverride (or nameOverride) in the values: shorten that, or remove it (the action then gives the subchart a short name of its own); nothing was changed',
    );
  }
  if (long.name.startsWith(release)) {
    const most = long.limit - (long.name.length - release.length);
    return refuse(
      reason,
      `The chart names it '<release-name>${long.name.slice(release.length)}': use a release-name of at most ${most} characters; nothing was changed`,
    );
  }
  return refuse(
    reason,
    'Shorten the value the chart names it after (fullnameOverride in the values); nothing was changed',
  );
}

function checkIngress(objects: ReleaseObjects, expect: ReleaseExpectations): Refusal | undefined {
  if (!objects.controllerService) {
    return refuse(
      'The chart would make no ingress controller Service (ingress-nginx, a port named http): the server would have no address',
      'Keep ingress-nginx.enabled true in the values; nothing was changed',
    );
  }
  const ingress = objects.ingress;
  if (!ingress) return undefined;
  const services = objects.names.Service ?? [];
  if (ingress.backend && !services.includes(ingress.backend)) {
    return refuse(
      `The chart's Ingress ${ingress.name} would route to the Service ${ingress.backend}, which the release does not make`,
      'The chart names its Ingress backend after the release and its Service after fullnameOverride: remove fullnameOverride from the values; nothing was changed',
    );
  }
  const secrets = objects.names.Secret ?? [];
  if (
    ingress.authSecret &&
    ingress.authSecret !== expect.authSecret &&
    !secrets.includes(ingress.authSecret)
  ) {
    return refuse(
      `The chart's Ingress ${ingress.name} would take basic auth from the Secret ${ingress.authSecret}, which the release does not make: nobody could log in`,
      'Remove fullnameOverride from the values, or pass auth-secret; nothing was changed',
    );
  }
  return undefined;
}
