/**
 * The baseline's figures and its section of bench/report.md: each world's ratios against the bare script next to
 * their targets, and the critical path of each scenario (which wait each part of the wall time was spent on).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundle } from '../standins/runner.js';
import type { LatencyOptions } from '../standins/world.js';
import { median, type ProxyStats } from './action.js';
import { pathLine, pathRows, type PathSegment } from './criticalPath.js';
import { WORLD_TEXT, type WorldName } from './worlds.js';

export interface BaselineOptions {
  /** Interleaved pairs per scenario (at least 5 for the report). */
  pairs: number;
  latencyMs: Required<LatencyOptions>;
  /** Keep each side's HOME between runs (kubectl discovery and helm repository caches) instead of a fresh one. */
  keepHome: boolean;
  /** A sentence for the report about this measurement (e.g. what else ran on the machine). */
  note?: string;
  /** The worlds to measure in (see worlds.ts), in this order. */
  worlds: readonly WorldName[];
}

export type SideName = 'action' | 'script';
export type Scenario = 'converged' | 'fresh';

/** One timed run of one side. */
export interface SideRun {
  world: WorldName;
  side: SideName;
  scenario: Scenario;
  pair: number;
  /** Spawn to the harness seeing the process end. */
  wallMs: number;
  /** Action only: spawn to its own exit hook (the probe), a few ms before the harness sees it end. */
  selfExitMs?: number;
  /** Spawn to the first request any of the side's latency proxies saw. */
  firstRequestMs: number | undefined;
  /** Action: VmHWM of the node process. Script: ru_maxrss of its largest process (GNU time %M). */
  peakRssMb: number | undefined;
  proxies: Record<string, ProxyStats>;
  /** Which wait each part of the wall time was spent on (see criticalPath.ts). */
  path: PathSegment[];
  /** 1-min load average as the run started: other work on a shared machine shows here. */
  load1: number;
}

/** What the action must reach (issue 21), in both worlds; each figure is shown next to its target. */
export const TARGETS = {
  firstRequestMs: 100,
  convergedRatio: 0.3,
  freshRatio: 0.8,
  nodeRssMb: 100,
  /** dist/ total (all files) at commit a174c97, before the performance work. */
  distBytes: 9_295_265,
} as const;

interface SideSummary {
  wallMs: number;
  /** Median of first request to exit: the run without its start-up. */
  afterFirstRequestMs: number;
  wallRunsMs: number[];
  roundTrips: number;
  requests: Record<string, number>;
  kubeWrites: number;
  /** The critical path of the run with the median wall time. */
  path: PathSegment[];
}

function summariseSide(runs: readonly SideRun[]): SideSummary {
  const m = (f: (r: SideRun) => number): number => median(runs.map(f));
  const names = ['compute', 'kube', 'charts'];
  const typical = [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((runs.length - 1) / 2)];
  return {
    wallMs: m((r) => r.wallMs),
    afterFirstRequestMs: m((r) => r.wallMs - (r.firstRequestMs ?? NaN)),
    wallRunsMs: runs.map((r) => r.wallMs),
    roundTrips: m((r) => Object.values(r.proxies).reduce((s, p) => s + p.roundTrips, 0)),
    requests: Object.fromEntries(names.map((n) => [n, m((r) => r.proxies[n]?.requests ?? 0)])),
    kubeWrites: m((r) =>
      Object.entries(r.proxies.kube?.kinds ?? {})
        .filter(([k]) => k.endsWith(' write'))
        .reduce((s, [, n]) => s + n, 0),
    ),
    path: typical?.path ?? [],
  };
}

function distBytes(): number {
  const dir = path.dirname(bundle);
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => fs.statSync(path.join(dir, f)))
    .filter((s) => s.isFile())
    .reduce((sum, s) => sum + s.size, 0);
}

interface ScenarioVerdict {
  action: SideSummary;
  script: SideSummary;
  /** Median of the action's walls over median of the script's: the figure the target is about. */
  ratio: number;
  /** Median of action/script within each pair: steadier when the machine's load drifts. */
  pairRatio: number;
}

export interface Verdicts {
  world: WorldName;
  converged: ScenarioVerdict;
  fresh: ScenarioVerdict;
  firstRequestMs: Record<SideName, number>;
  peakRssMb: Record<SideName, { max: number; median: number }>;
  distBytes: number;
}

/** One world's figures from its runs. */
export function verdicts(world: WorldName, all: readonly SideRun[]): Verdicts {
  const runs = all.filter((r) => r.world === world);
  const of = (side: SideName, scenario?: Scenario): SideRun[] =>
    runs.filter((r) => r.side === side && (!scenario || r.scenario === scenario));
  const scenario = (s: Scenario): ScenarioVerdict => {
    const action = summariseSide(of('action', s));
    const script = summariseSide(of('script', s));
    const scriptWall = new Map(of('script', s).map((r) => [r.pair, r.wallMs]));
    const pairRatios = of('action', s).map((r) => r.wallMs / (scriptWall.get(r.pair) ?? NaN));
    return { action, script, ratio: action.wallMs / script.wallMs, pairRatio: median(pairRatios) };
  };
  const values = (side: SideName, f: (r: SideRun) => number | undefined): number[] =>
    of(side)
      .map(f)
      .filter((v): v is number => v !== undefined);
  const rss = (side: SideName) => {
    const v = values(side, (r) => r.peakRssMb);
    return { max: Math.max(...v), median: median(v) };
  };
  return {
    world,
    converged: scenario('converged'),
    fresh: scenario('fresh'),
    firstRequestMs: {
      action: median(values('action', (r) => r.firstRequestMs)),
      script: median(values('script', (r) => r.firstRequestMs)),
    },
    peakRssMb: { action: rss('action'), script: rss('script') },
    distBytes: distBytes(),
  };
}

const pass = (ok: boolean): string => (ok ? '**pass**' : '**fail**');
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

function verdictRows(all: readonly Verdicts[]): string[] {
  const ratioRow = (v: Verdicts, title: string, s: Scenario, target: number): string => {
    const x = v[s];
    return `| ${title} | ${v.world} | ${x.action.wallMs} ms | ${x.script.wallMs} ms | ${x.ratio.toFixed(2)}x | ${x.pairRatio.toFixed(2)}x | <= ${target.toFixed(1)}x | ${pass(x.ratio <= target)} |`;
  };
  const firstRow = (v: Verdicts): string => {
    const f = v.firstRequestMs;
    return `| spawn to first request (median of all runs) | ${v.world} | ${f.action} ms | ${f.script} ms | ${(f.action / f.script).toFixed(1)}x | - | action <= ${TARGETS.firstRequestMs} ms | ${pass(f.action <= TARGETS.firstRequestMs)} |`;
  };
  const rssRow = (v: Verdicts): string => {
    const r = v.peakRssMb;
    return `| peak RSS, max of all runs (median): the action's node process, the script's largest process | ${v.world} | ${r.action.max} MB (${r.action.median}) | ${r.script.max} MB (${r.script.median}) | ${(r.action.max / r.script.max).toFixed(1)}x | - | node <= ${TARGETS.nodeRssMb} MB | ${pass(r.action.max <= TARGETS.nodeRssMb)} |`;
  };
  const dist = all[0]?.distBytes ?? 0;
  return [
    '| scenario | world | action | script | action / script | median of per-pair ratios | target | result |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...all.map((v) => ratioRow(v, 'converged rerun (wall, median)', 'converged', TARGETS.convergedRatio)),
    ...all.map((v) =>
      ratioRow(v, 'fresh deploy: new cluster, new disk (wall, median)', 'fresh', TARGETS.freshRatio),
    ),
    ...all.map(firstRow),
    ...all.map(rssRow),
    `| dist/ total size | - | ${mb(dist)} | - | - | - | <= ${mb(TARGETS.distBytes)} (${TARGETS.distBytes} bytes) | ${pass(dist <= TARGETS.distBytes)} |`,
  ];
}

function detailRows(all: readonly Verdicts[]): string[] {
  const line = (v: Verdicts, title: string, s: SideSummary): string =>
    `| ${v.world} | ${title} | ${s.afterFirstRequestMs} ms | ${s.roundTrips} | ${s.requests.compute} + ${s.requests.kube} + ${s.requests.charts} | ${s.kubeWrites} | ${s.wallRunsMs.join(', ')} |`;
  return [
    '| world | run | first request to exit | round trips (requests + connections) | requests: Compute + Kube + charts | Kube writes | wall per pair (ms) |',
    '|---|---|---:|---:|---:|---:|---|',
    ...all.flatMap((v) => [
      line(v, 'converged rerun, action', v.converged.action),
      line(v, 'converged rerun, script', v.converged.script),
      line(v, 'fresh deploy, action', v.fresh.action),
      line(v, 'fresh deploy, script', v.fresh.script),
    ]),
  ];
}

/** Each world's scenarios: the action's critical path as a table, the script's in one line. */
function pathSection(all: readonly Verdicts[]): string[] {
  const scenarios: [Scenario, string][] = [
    ['converged', 'converged rerun'],
    ['fresh', 'fresh deploy'],
  ];
  return all.flatMap((v) =>
    scenarios.flatMap(([s, title]) => {
      const x = v[s];
      return [
        `**${v.world} world, ${title}**: the action's median run (${x.action.wallMs} ms by the harness; ms from the spawn)`,
        '',
        '| from | to | ms | waiting on |',
        '|---:|---:|---:|---|',
        ...pathRows(x.action.path),
        '',
        `The script's median run: ${pathLine(x.script.path)}.`,
        '',
      ];
    }),
  );
}

/** 1-min load averages seen as the runs started. */
export interface LoadSeen {
  min: number;
  max: number;
  cpus: number;
}

function method(options: BaselineOptions, load: LoadSeen): string[] {
  const rtt = options.latencyMs;
  return [
    `Both sides run against their own stand-in world (\`standins/world.ts\`) behind the same latency proxies: Compute`,
    `${rtt.compute} ms, Kubernetes ${rtt.kube} ms, chart repository ${rtt.charts} ms per round trip (plus one per new connection),`,
    `in two worlds (\`bench/worlds.ts\`): ${options.worlds.map((w) => `**${w}**, ${WORLD_TEXT[w]}`).join('; ')}.`,
    '**Action**: the committed `dist/index.js`, spawned as the runner does (on Node 24, as `runs.using: node24`), tools',
    'in the runner tool cache, workload identity token exchange included. **Script**: [`bench/runbook.sh`](runbook.sh),',
    'the runbook as plain commands (curl GET of the disk, and if absent insert + wait on the operation; `kubectl apply -f`',
    "of the PV; `helm repo add` + `helm upgrade --install` with the runbook's `--set` flags, no `--wait`; `kubectl get",
    'svc` every 5 s until the address appears; one curl of `/api/health` with basic auth), given a ready Compute token',
    `and the same kubectl and helm. ${options.pairs} interleaved pairs per scenario and world, the side going first`,
    `alternating; each run with ${options.keepHome ? "its side's kept HOME" : 'a fresh HOME (a fresh hosted runner: no kubectl discovery or helm repository cache)'}.`,
    'Converged rerun: the state that side already deployed. Fresh deploy: each side loses its cluster and deploys a new',
    'disk, PV and release. Wall time is spawn to exit as the harness sees it; first request is the first request any',
    "of the side's proxies saw. Peak RSS: the action's node process (VmHWM; its helm/kubectl children not counted); the",
    "script's largest single process (GNU time `%M`: ru_maxrss of the largest process in the tree it waited for).",
    'The script makes a new Helm revision on every run (its Kube writes) and does not wait for the rollout.',
    `1-min load average as each run started: ${load.min.toFixed(2)}-${load.max.toFixed(2)} on ${load.cpus} CPUs; the bench itself`,
    load.min > 1.5
      ? 'keeps about one busy, so other work shared the machine: wall times are disturbed, start-up (CPU) more than waits; the ratios within pairs and the critical paths hold better.'
      : 'keeps about one busy, so the machine was otherwise quiet.',
    ...(options.note ? [options.note] : []),
  ];
}

export function markdown(
  all: readonly Verdicts[],
  options: BaselineOptions,
  load: LoadSeen,
  header: string[],
): string {
  const rtt = options.latencyMs;
  return [
    '## Action vs the bare runbook script',
    '',
    ...header,
    '',
    ...method(options, load),
    '',
    ...verdictRows(all),
    '',
    '### Where the wall time goes: the critical path',
    '',
    'Read backwards from the exit through the requests the proxies saw (`bench/criticalPath.ts`): the request that',
    'ended last is what the end waited for; from its start, the request that ended last before it; and so on to the',
    'spawn. Time with none of them in flight is the process itself (start-up, CPU, a child process starting, the',
    "health check, which goes straight to the stand-in's ingress). helm's and kubectl's requests one after another",
    'count as one wait. A request that merely ended before the next one started may be coincidence, not a cause: the',
    'path says what was on the wire, `npm run bench -- --only trace --world fast` prints every request of one run.',
    '',
    ...pathSection(all),
    '### Requests',
    '',
    ...detailRows(all),
    '',
    "Per-run numbers (every proxy's requests by kind, each run's critical path) are in `bench/results/baseline.json`. To",
    'reproduce (as root: the stand-in load balancers listen on 127.x.y.z:80):',
    '',
    '```sh',
    'apt-get install -y curl jq openssl time   # Debian packages bench/runbook.sh and its RSS measurement need',
    'npm ci',
    'npm run bench -- --only baseline          # this section only; `npm run bench` runs every section',
    `npm run bench -- --only baseline --pairs ${options.pairs} --compute-ms ${rtt.compute} --kube-ms ${rtt.kube} --charts-ms ${rtt.charts} --worlds ${options.worlds.join(',')}`,
    'npm run bench -- --only trace --world fast   # every request of one converged rerun and one fresh deploy',
    '```',
    '',
  ].join('\n');
}
