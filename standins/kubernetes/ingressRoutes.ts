import { rec, str, type KubeObject } from './resources.js';

/** Where ingress-nginx sends one request: the Ingress whose rule matched, its backend, the upstream path. */
export interface Route {
  ingress: KubeObject;
  backend: Record<string, unknown>;
  upstreamPath: string;
}

interface Candidate {
  ingress: KubeObject;
  host: string;
  path: string;
  pathType: string;
  backend: Record<string, unknown>;
}

function annotation(ing: KubeObject, name: string): string | undefined {
  return str(rec(rec(ing.metadata).annotations)[`nginx.ingress.kubernetes.io/${name}`]);
}

/** With use-regex or rewrite-target, ingress-nginx turns the Ingress's paths into case-insensitive regexes. */
function regexMode(ing: KubeObject): boolean {
  return annotation(ing, 'use-regex') === 'true' || annotation(ing, 'rewrite-target') !== undefined;
}

function candidates(ingresses: KubeObject[]): Candidate[] {
  const out: Candidate[] = [];
  for (const ingress of ingresses) {
    const rules = Array.isArray(rec(ingress.spec).rules)
      ? (rec(ingress.spec).rules as unknown[]).map(rec)
      : [];
    for (const rule of rules) {
      const paths = rec(rule.http).paths;
      for (const p of Array.isArray(paths) ? paths.map(rec) : []) {
        out.push({
          ingress,
          host: (str(rule.host) ?? '').toLowerCase(),
          path: str(p.path) ?? '/',
          pathType: str(p.pathType) ?? 'ImplementationSpecific',
          backend: rec(p.backend),
        });
      }
    }
  }
  return out;
}

/** nginx's server_name choice: an exact host, else a matching `*.` wildcard, else the default server. */
function serverFor(hosts: string[], requestHost: string): string {
  if (hosts.includes(requestHost)) return requestHost;
  const wildcard = hosts.find(
    (h) =>
      h.startsWith('*.') &&
      requestHost.endsWith(h.slice(1)) &&
      !requestHost.slice(0, -h.length + 1).includes('.'),
  );
  return wildcard ?? '';
}

/** The match of one path rule, or undefined: Exact, Prefix (by path element), or nginx's prefix/regex. */
function matchPath(c: Candidate, path: string): RegExpExecArray | string[] | undefined {
  if (regexMode(c.ingress) && c.pathType !== 'Exact')
    return new RegExp(`^${c.path}`, 'i').exec(path) ?? undefined;
  if (c.pathType === 'Exact') return path === c.path ? [path] : undefined;
  if (c.pathType === 'Prefix') {
    const base = c.path.replace(/\/+$/, '');
    return base === '' || path === base || path.startsWith(`${base}/`) ? [path] : undefined;
  }
  return path.startsWith(c.path) ? [path] : undefined;
}

/** Routes a request as ingress-nginx does: by host, then the most specific path; else a default backend. */
export function routeRequest(ingresses: KubeObject[], hostHeader: string, path: string): Route | undefined {
  const requestHost = hostHeader.toLowerCase().replace(/:\d+$/, '');
  const all = candidates(ingresses);
  const server = serverFor([...new Set(all.map((c) => c.host).filter(Boolean))], requestHost);
  const matches = all
    .filter((c) => c.host === server)
    .map((c) => ({ c, match: matchPath(c, path) }))
    .filter((m): m is { c: Candidate; match: RegExpExecArray | string[] } => m.match !== undefined);
  // Exact paths first, then the longest; on a tie the oldest Ingress (the list's order) wins.
  matches.sort(
    (a, b) =>
      Number(b.c.pathType === 'Exact') - Number(a.c.pathType === 'Exact') ||
      b.c.path.length - a.c.path.length,
  );
  const best = matches[0];
  if (best) {
    const target = annotation(best.c.ingress, 'rewrite-target');
    const upstreamPath = target
      ? target.replace(/\$(\d)/g, (_all, n: string) => best.match[Number(n)] ?? '')
      : path;
    return { ingress: best.c.ingress, backend: best.c.backend, upstreamPath };
  }
  const fallback = ingresses.find((ing) => rec(ing.spec).defaultBackend !== undefined);
  return fallback
    ? { ingress: fallback, backend: rec(rec(fallback.spec).defaultBackend), upstreamPath: path }
    : undefined;
}
