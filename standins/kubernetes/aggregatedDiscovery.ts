import { createHash } from 'node:crypto';
import { groupVersions, resourceTypes, verbsOf, type ResourceType } from './resources.js';

// Aggregated discovery (apidiscovery.k8s.io/v2, GA in Kubernetes 1.30, what GKE serves): `/api` and `/apis` answer
// every group, version and resource in one document to a client that asks for it in its Accept header, as
// client-go (kubectl, helm) does first. Two requests then replace the /api/v1 and /apis/G/V round of the older form.
// The shape and the negotiation follow k8s.io/api/apidiscovery/v2 and the apiserver's aggregated handler.

/** The media type a client asks for, and the server answers with. */
export const AGGREGATED_DISCOVERY_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface MediaClause {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(accept: string): MediaClause[] {
  return accept
    .split(',')
    .map((clause) => {
      const [type = '', ...rest] = clause.split(';').map((p) => p.trim());
      const params = new Map<string, string>();
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
      }
      const q = params.has('q') ? Number(params.get('q')) : 1;
      params.delete('q');
      return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
    })
    .filter((c) => c.type && c.q > 0);
}

function isAggregatedV2(clause: MediaClause): boolean {
  const p = clause.params;
  return (
    clause.type === 'application/json' &&
    p.get('g') === 'apidiscovery.k8s.io' &&
    p.get('v') === 'v2' &&
    p.get('as') === 'APIGroupDiscoveryList'
  );
}

/**
 * Whether the Accept header chooses the aggregated form: a JSON v2 clause at the highest quality asked for (the
 * apiserver's negotiation prefers, at equal quality, the clause with parameters). v2beta1 is not served (removed
 * in 1.33), so a client that asks only for it gets the older form.
 */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  const clauses = parseAccept(accept ?? '');
  const best = Math.max(0, ...clauses.map((c) => c.q));
  return clauses.some((c) => c.q === best && isAggregatedV2(c));
}

function resourceDiscovery(t: ResourceType): Record<string, unknown> {
  const kind = (k: string, group = t.group, version = t.version) => ({ group, version, kind: k });
  const subresources = (t.subresources ?? []).map((sub) => ({
    subresource: sub,
    responseKind: sub === 'scale' ? kind('Scale', 'autoscaling', 'v1') : kind(t.kind),
    verbs: sub === 'log' ? ['get'] : ['get', 'patch', 'update'],
  }));
  return {
    resource: t.resource,
    responseKind: kind(t.kind),
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: verbsOf(t),
    ...(t.shortNames ? { shortNames: t.shortNames } : {}),
    ...(subresources.length ? { subresources } : {}),
  };
}

/** GET /api (the core group) or /apis (every named group) in the aggregated form. */
export function aggregatedDiscovery(scope: 'core' | 'named'): Record<string, unknown> {
  const wanted = groupVersions().filter((gv) => (scope === 'core') === (gv.group === ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: wanted.map((gv) => ({
      metadata: { name: gv.group, creationTimestamp: null },
      versions: [
        {
          version: gv.version,
          resources: resourceTypes
            .filter((t) => t.group === gv.group && t.version === gv.version)
            .map(resourceDiscovery),
          freshness: 'Current',
        },
      ],
    })),
  };
}

/** The apiserver's ETag of a discovery or OpenAPI document: SHA-512 of its JSON, upper-case hex. */
export function documentEtag(body: unknown): string {
  return createHash('sha512').update(JSON.stringify(body)).digest('hex').toUpperCase();
}
