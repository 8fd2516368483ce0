/**
 * Where the wall time of one run went: its critical path, read backwards from the exit through the requests the
 * latency proxies saw. From the exit, the request that ended last is what the end waited for; from its start, the
 * request that ended last before it; and so on back to the spawn. Time between two such requests, with none of
 * them in flight, is the process itself (start-up, CPU, a child process starting, a sleep). Consecutive requests
 * of helm or kubectl are one wait ("helm: 212 requests"), as the process makes them one after another.
 */
import type { LatencyProxy } from '../standins/latency.js';

/** One request, in ms from the run's spawn. */
export interface TimedRequest {
  proxy: string;
  /** What it was, in the runbook's words: `GET disks`, `watch services`, `token exchange`... */
  label: string;
  /** Who made it: the action's own process, helm, kubectl, curl... */
  client: string;
  startMs: number;
  endMs: number;
  /** The request's path, for the trace. */
  path: string;
}

/** One part of the wall time and what it was spent on. */
export interface PathSegment {
  startMs: number;
  endMs: number;
  /** What was waited for: a request, a run of one tool's requests, or the process itself. */
  what: string;
}

/** A mark from the run's log (a `$ helm ...` line, a milestone), to say what a gap without requests was. */
export interface PathMark {
  atMs: number;
  label: string;
}

const discovery = /^\/(version|openapi(\/.*)?|api|api\/v1|apis|apis\/[^/]+|apis\/[^/]+\/[^/]+)$/;

function clientOf(proxy: string, userAgent: string): string {
  if (proxy === 'charts') return userAgent.startsWith('Helm') ? 'helm' : 'chart client';
  if (userAgent.startsWith('kubectl')) return 'kubectl';
  if (userAgent.startsWith('Helm')) return 'helm';
  if (userAgent.startsWith('curl')) return 'curl';
  return 'action';
}

/** The collection a Kubernetes or Compute path names: `/api/v1/namespaces/x/services/y` is `services`. */
function collectionOf(path: string, named: boolean): string {
  const parts = path.split('/').filter(Boolean);
  // A named object is `.../<collection>/<name>` (or `.../<collection>/<name>/<subresource>` for a few).
  const index = named ? parts.length - 2 : parts.length - 1;
  return parts[Math.max(0, index)] ?? path;
}

function labelOf(proxy: string, method: string, path: string, query: string): string {
  if (proxy === 'compute') {
    if (path.endsWith('/token')) return 'token exchange';
    if (path.includes('/operations/')) return 'operation wait';
    return `${method} ${collectionOf(path, method === 'GET' && !/\/(disks|resourcePolicies|snapshots)$/.test(path))}`;
  }
  if (proxy === 'charts') return path.endsWith('.tgz') ? 'chart download' : 'chart index';
  if (discovery.test(path)) return 'discovery';
  const parts = path.split('/').filter(Boolean);
  const base = parts[0] === 'api' ? 2 : 3;
  const rest = parts.slice(base);
  const scoped = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const resource = scoped[0] ?? path;
  if (/(^|&)watch=(true|1)/.test(query)) return `watch ${resource}`;
  if (method === 'GET') return `${scoped.length > 1 ? 'GET' : 'list'} ${resource}`;
  return `${method} ${resource}`;
}

/** The proxies' requests of one run, in ms from its spawn (`spawnedAt`, epoch ms). */
export function timedRequests(
  proxies: Record<string, LatencyProxy>,
  spawnedAt: number,
  endedAt: number,
): TimedRequest[] {
  const epoch = (t: number): number => performance.timeOrigin + t - spawnedAt;
  return Object.entries(proxies).flatMap(([proxy, p]) =>
    p.requests.map((r) => ({
      proxy,
      label: labelOf(proxy, r.method, r.path, r.query),
      client: clientOf(proxy, r.userAgent),
      startMs: epoch(r.arrivedAt),
      endMs: r.doneAt === undefined ? endedAt - spawnedAt : epoch(r.doneAt),
      path: r.path,
    })),
  );
}

/** Shorter than this between two requests is the process handing one answer to the next call, not a wait. */
const GAP_MS = 3;

/** The critical path of a run of `wallMs`, oldest segment first. */
export function criticalPath(
  requests: readonly TimedRequest[],
  marks: readonly PathMark[],
  wallMs: number,
  self = 'the action',
): PathSegment[] {
  const raw: (PathSegment & { client?: string })[] = [];
  let t = wallMs;
  for (;;) {
    const before = requests.filter((r) => r.endMs <= t + 1 && r.startMs < t);
    const last = before.reduce<TimedRequest | undefined>(
      (a, r) => (!a || r.endMs > a.endMs ? r : a),
      undefined,
    );
    if (!last) {
      raw.push({ startMs: 0, endMs: t, what: startUp(self, marks, t) });
      break;
    }
    if (t - last.endMs > GAP_MS)
      raw.push({ startMs: last.endMs, endMs: t, what: gapOf(self, marks, last.endMs, t) });
    raw.push({
      startMs: last.startMs,
      endMs: Math.min(last.endMs, t),
      what: last.label,
      client: last.client,
    });
    t = last.startMs;
  }
  return merge(raw.reverse());
}

function startUp(self: string, marks: readonly PathMark[], endMs: number): string {
  const tools = marks.filter((m) => m.atMs <= endMs && m.label.startsWith('`')).length;
  return tools
    ? `${self} starting, then ${tools} process start${tools > 1 ? 's' : ''}`
    : `${self} starting (runtime, code, inputs)`;
}

function gapOf(self: string, marks: readonly PathMark[], from: number, to: number): string {
  const inside = marks.filter((m) => m.atMs >= from - 1 && m.atMs <= to + 1 && m.label.startsWith('`'));
  const tools = [...new Set(inside.map((m) => m.label.split(' ')[0]?.replace('`', '')))];
  return tools.length ? `${self}, starting ${tools.join(' and ')}` : `${self} itself`;
}

const TOOLS = new Set(['helm', 'kubectl']);

/**
 * Consecutive requests of helm or kubectl (and the time between them, that tool's own work) are one wait, as are
 * consecutive requests of the same kind.
 */
function merge(segments: readonly (PathSegment & { client?: string })[]): PathSegment[] {
  const out: (PathSegment & { key: string; count: number })[] = [];
  segments.forEach((s, i) => {
    const prev = out.at(-1);
    const next = segments[i + 1];
    const toolGap = s.client === undefined && prev && TOOLS.has(prev.key) && next?.client === prev.key;
    if (toolGap) {
      prev.endMs = s.endMs;
      return;
    }
    const key = s.client && TOOLS.has(s.client) ? s.client : `${s.client ?? ''} ${s.what}`;
    if (prev && prev.key === key && s.client !== undefined) {
      prev.endMs = s.endMs;
      prev.count++;
      return;
    }
    out.push({ ...s, key, count: 1 });
  });
  return out.map((s) => ({
    startMs: Math.round(s.startMs),
    endMs: Math.round(s.endMs),
    what: describe(s),
  }));
}

function describe(s: { key: string; what: string; count: number }): string {
  if (TOOLS.has(s.key))
    return s.count === 1
      ? `${s.key}: ${s.what}`
      : `${s.key}: ${s.count} requests and its own work between them`;
  return s.count === 1 ? s.what : `${s.what} (${s.count}x)`;
}

/** One line: each part's length and what it waited on, e.g. `85 start-up · 201 token exchange · ...`. */
export function pathLine(segments: readonly PathSegment[]): string {
  return segments.map((s) => `${s.endMs - s.startMs} ${s.what}`).join(' · ');
}

/** The parts as table rows: from, to, length, what it waited on. */
export function pathRows(segments: readonly PathSegment[]): string[] {
  return segments.map((s) => `| ${s.startMs} | ${s.endMs} | ${s.endMs - s.startMs} | ${s.what} |`);
}
