import type { IncomingMessage } from 'node:http';
import {
  AGGREGATED_DISCOVERY_TYPE,
  aggregatedDiscovery,
  documentEtag,
  wantsAggregatedDiscovery,
} from './aggregatedDiscovery.js';
import * as discovery from './discovery.js';
import type { Answer } from './requests.js';

// The fixed documents a client reads before anything else: the version, discovery and OpenAPI, with the caching
// headers the apiserver sends (aggregated discovery's ETag; kube-openapi's ETag and Last-Modified, and for a
// document asked by its hash, `Cache-Control: public, immutable` for a year), so that a client's HTTP cache
// (client-go keeps one under ~/.kube/cache/http) revalidates them, or does not ask again, as against a real cluster.

/** When the documents were built: their Last-Modified. */
const built = new Date();

/** GET of /version, /healthz, discovery and OpenAPI; undefined for any other path. */
export function discoveryAnswer(
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
): Answer | undefined {
  if (path === '/version') return ok(discovery.serverVersion);
  if (path === '/healthz' || path === '/livez' || path === '/readyz')
    return { status: 200, body: 'ok', contentType: 'text/plain' };
  if (path === '/api' || path === '/apis') {
    const scope = path === '/api' ? 'core' : 'named';
    if (wantsAggregatedDiscovery(req.headers.accept)) return aggregated(req, scope);
    return ok(scope === 'core' ? discovery.coreVersions() : discovery.groupList());
  }
  if (path === '/openapi/v3') return cached(req, discovery.openApiIndex(), {});
  if (path.startsWith('/openapi/v3/')) return openApiDocument(req, path, query);
  const core = /^\/api\/(v1)$/.exec(path);
  if (core) return orUndefined(discovery.resourceList('', 'v1'));
  const groupOnly = /^\/apis\/([^/]+)$/.exec(path);
  if (groupOnly) return orUndefined(discovery.group(groupOnly[1]!));
  const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (gv) return orUndefined(discovery.resourceList(gv[1]!, gv[2]!));
  return undefined;
}

/** The aggregated form, with the apiserver's ETag, `Vary: Accept` and `Cache-Control: public`. */
function aggregated(req: IncomingMessage, scope: 'core' | 'named'): Answer {
  const body = aggregatedDiscovery(scope);
  const headers = { ETag: JSON.stringify(documentEtag(body)), Vary: 'Accept', 'Cache-Control': 'public' };
  if (req.headers['if-none-match'] === headers.ETag) return { status: 304, body: '', headers };
  return { status: 200, body, contentType: AGGREGATED_DISCOVERY_TYPE, headers };
}

/**
 * One group-version's OpenAPI document (kube-openapi's handler3): asked by its current hash it may be cached for a
 * year; by another hash it is redirected (301) to the current one; without one it is served with its ETag.
 */
function openApiDocument(req: IncomingMessage, path: string, query: URLSearchParams): Answer | undefined {
  const gvPath = path.slice('/openapi/v3/'.length);
  const doc = discovery.openApiDocument(gvPath);
  if (!doc) return undefined;
  const etag = documentEtag(doc);
  const hash = query.get('hash');
  if (hash && hash !== etag) {
    const location = `/openapi/v3/${gvPath}?hash=${etag}`;
    return { status: 301, body: '', contentType: 'text/html', headers: { Location: location } };
  }
  const immutable: Record<string, string> = hash
    ? {
        'Cache-Control': 'public, immutable',
        Expires: new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString(),
      }
    : {};
  return cached(req, doc, { Vary: 'Accept', ...immutable });
}

/** A document with its ETag and Last-Modified, answered 304 when the client's copy is current (http.ServeContent). */
function cached(req: IncomingMessage, body: unknown, extra: Record<string, string>): Answer {
  const headers = {
    ETag: JSON.stringify(documentEtag(body)),
    'Last-Modified': built.toUTCString(),
    ...extra,
  };
  const match = req.headers['if-none-match'];
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  const notModified =
    match !== undefined ? match === headers.ETag : since >= Math.floor(built.getTime() / 1000) * 1000;
  if (notModified) return { status: 304, body: '', headers };
  return { status: 200, body, headers };
}

function ok(body: unknown): Answer {
  return { status: 200, body };
}

function orUndefined(body: Record<string, unknown> | undefined): Answer | undefined {
  return body ? ok(body) : undefined;
}
