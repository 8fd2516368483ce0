/**
 * The action against the bare runbook: bench/runbook.sh (curl, kubectl apply, helm upgrade --install, a poll of the
 * Service, one health curl) and dist/index.js, each against its own stand-in world behind the same latency proxies,
 * timed in interleaved pairs for a converged rerun and a fresh deploy. bench/run.ts calls benchBaseline().
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { realBinaries } from '../standins/binaries.js';
import { bundle } from '../standins/runner.js';
import { startLocalWorld, WORLD, type LatencyOptions, type LocalWorld } from '../standins/world.js';
import {
  Bench,
  median,
  now,
  proxiesOf,
  statsOf,
  toEpoch,
  type BenchSection,
  type ProxyStats,
} from './action.js';

/** Round trips of the baseline: Compute API 100 ms, Kubernetes API 30 ms, chart repository 50 ms. */
export const BASELINE_RTT: Required<LatencyOptions> = { compute: 100, kube: 30, charts: 50 };

export interface BaselineOptions {
  /** Interleaved pairs per scenario (at least 5 for the report). */
  pairs: number;
  latencyMs: Required<LatencyOptions>;
  /** Keep each side's HOME between runs (kubectl discovery and helm repository caches) instead of a fresh one. */
  keepHome: boolean;
  /** A sentence for the report about this measurement (e.g. what else ran on the machine). */
  note?: string;
}

/** What the action must reach (the performance issue); each figure is shown next to its target. */
export const TARGETS = {
  firstRequestMs: 250,
  convergedRatio: 0.8,
  freshRatio: 1.0,
  nodeRssMb: 120,
  /** dist/ total (all files) at commit a174c97, before the performance work. */
  distBytes: 9_295_265,
} as const;

const runbookScript = fileURLToPath(new URL('runbook.sh', import.meta.url));
const gnuTime = '/usr/bin/time';

type SideName = 'action' | 'script';
type Scenario = 'converged' | 'fresh';

/** The names one run deploys: the same on both sides. */
interface Names {
  disk: string;
  release: string;
}
const CONVERGED: Names = { disk: 'sky-api-server-state', release: 'skypilot' };
const NAMESPACE = 'skypilot';
const PV_NAME = 'sky-api-server-pv';

/** One timed run of one side. */
export interface SideRun {
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
  /** 1-min load average as the run started: other work on a shared machine shows here. */
  load1: number;
}

/** What one run measures, before the harness files it under its side, scenario and pair. */
type Measured = Pick<SideRun, 'wallMs' | 'selfExitMs' | 'firstRequestMs' | 'peakRssMb' | 'proxies'>;

interface Side {
  name: SideName;
  world: LocalWorld;
  run(names: Names, label: string): Promise<Measured>;
}

// ---------------------------------------------------------------------------------------------------------------
// The two sides

function actionSide(bench: Bench, world: LocalWorld, options: BaselineOptions): Side {
  return {
    name: 'action',
    world,
    async run(names, label) {
      const overrides = { 'disk-name': names.disk, 'release-name': names.release };
      const m = await bench.measure(world, label, { overrides, freshHome: !options.keepHome });
      const fresh = label.startsWith('fresh');
      if (fresh !== (m.outputs['disk-created'] === 'true') || fresh !== (m.outputs['pv-created'] === 'true'))
        throw new Error(`action, ${label}: disk-created/pv-created ${JSON.stringify(m.outputs)}`);
      return {
        wallMs: m.exitSeenMs,
        selfExitMs: m.wallMs,
        firstRequestMs: m.firstProxyRequestMs,
        peakRssMb: m.vmHwmMb,
        proxies: m.proxies,
      };
    },
  };
}

/** A Compute access token from the stand-in's token exchange, fetched directly (not through a proxy, untimed). */
async function readyToken(world: LocalWorld): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: 'bench-oidc-token',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  });
  const answer = await fetch(world.compute.tokenUrl, { method: 'POST', body: form });
  const body = (await answer.json()) as { access_token?: string };
  if (!answer.ok || !body.access_token) throw new Error(`token exchange: HTTP ${answer.status}`);
  return body.access_token;
}

/** The tools the script runs, refusing early with the Debian package to install. */
function checkScriptTools(): void {
  if (!fs.existsSync(gnuTime)) throw new Error(`baseline: ${gnuTime} is missing: apt-get install time`);
  const probes: [string, string[]][] = [
    ['jq', ['--version']],
    ['curl', ['--version']],
    ['openssl', ['version']],
  ];
  for (const [tool, args] of probes) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      throw new Error(`baseline: bench/runbook.sh needs ${tool}: apt-get install ${tool}`);
    }
  }
}

/** A PATH dir with the same kubectl and helm binaries the action gets, each run once so the page cache has them. */
async function scriptBin(world: LocalWorld, scratch: string): Promise<string> {
  const binaries = await realBinaries(world.flavour);
  const bin = path.join(scratch, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(binaries.kubectl, path.join(bin, 'kubectl'));
  fs.symlinkSync(binaries.helm, path.join(bin, 'helm'));
  const env = { PATH: process.env.PATH ?? '', HOME: scratch };
  execFileSync(path.join(bin, 'kubectl'), ['version', '--client'], { stdio: 'ignore', env });
  execFileSync(path.join(bin, 'helm'), ['version'], { stdio: 'ignore', env });
  return bin;
}

async function scriptSide(world: LocalWorld, scratch: string, options: BaselineOptions): Promise<Side> {
  checkScriptTools();
  const bin = await scriptBin(world, scratch);
  const token = await readyToken(world);
  let runs = 0;
  return {
    name: 'script',
    world,
    async run(names, label) {
      const home = path.join(scratch, options.keepHome ? 'home' : `home-${++runs}`);
      fs.mkdirSync(home, { recursive: true });
      const inputs = world.inputs();
      const env = {
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
        HOME: home,
        KUBECONFIG: world.env().KUBECONFIG!,
        COMPUTE: inputs['compute-endpoint']!,
        TOKEN: token,
        PROJECT: WORLD.project,
        ZONE: WORLD.zone,
        DISK_NAME: names.disk,
        DISK_SIZE: '10G',
        PV_NAME,
        RELEASE_NAME: names.release,
        NAMESPACE,
        CHART_REPO: inputs['helm-repo-url']!,
        WEB_PASSWORD: WORLD.password,
      };
      const { code, output, measured } = await timeScript(world, env, path.join(scratch, 'rss'));
      if (code !== 0 || !output.includes('"status":"healthy"'))
        throw new Error(`script, ${label}: exit ${code}\n${output.slice(-3000)}`);
      const created = (measured.proxies.compute?.kinds['POST disk'] ?? 0) > 0;
      if (created !== label.startsWith('fresh'))
        throw new Error(`script, ${label}: disk created: ${created}`);
      return measured;
    },
  };
}

/** Runs bench/runbook.sh under GNU time, whose %M is ru_maxrss of the largest process in the tree it waited for. */
async function timeScript(
  world: LocalWorld,
  env: Record<string, string>,
  rssFile: string,
): Promise<{ code: number | null; output: string; measured: Measured }> {
  const proxies = proxiesOf(world);
  for (const proxy of Object.values(proxies)) proxy.clear();
  const spawnedAt = now();
  const child = spawn(gnuTime, ['-f', '%M', '-o', rssFile, 'bash', runbookScript], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const endedAt = now();
  clearTimeout(timer);
  const arrivals = Object.values(proxies).flatMap((p) => p.requests.map((r) => toEpoch(r.arrivedAt)));
  // On failure GNU time writes "Command exited with non-zero status N" first; %M is the last line.
  const maxKb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
  return {
    code,
    output,
    measured: {
      wallMs: Math.round(endedAt - spawnedAt),
      firstRequestMs: arrivals.length ? Math.round(Math.min(...arrivals) - spawnedAt) : undefined,
      peakRssMb: Number.isFinite(maxKb) ? Math.round(maxKb / 1024) : undefined,
      proxies: Object.fromEntries(Object.entries(proxies).map(([name, p]) => [name, statsOf(name, p)])),
    },
  };
}

/** The claim the chart made is bound to the volume that points at the disk: the runbook's state is attached. */
function checkAttached(side: Side, names: Names): void {
  const claim = side.world.kube.get('v1', 'PersistentVolumeClaim', NAMESPACE, `${names.release}-state`);
  const volumeName = (claim?.spec as { volumeName?: string } | undefined)?.volumeName;
  const pv = volumeName ? side.world.kube.get('v1', 'PersistentVolume', undefined, volumeName) : undefined;
  const handle = (pv?.spec as { csi?: { volumeHandle?: string } } | undefined)?.csi?.volumeHandle ?? '';
  if (!handle.endsWith(`/disks/${names.disk}`))
    throw new Error(`${side.name}: claim ${names.release}-state is bound to "${volumeName}" (${handle})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Pairs

/** One run per side per pair; the side that goes first alternates, so drift on a busy machine hits both alike. */
async function runPairs(
  sides: readonly [Side, Side],
  scenario: Scenario,
  pairs: number,
  prepare: (side: Side, pair: number) => Promise<Names>,
): Promise<SideRun[]> {
  const runs: SideRun[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    for (const side of order) {
      const names = await prepare(side, pair);
      const load1 = os.loadavg()[0] ?? 0;
      const measured = await side.run(names, `${scenario} ${pair + 1}`);
      checkAttached(side, names);
      runs.push({ side: side.name, scenario, pair: pair + 1, load1, ...measured });
    }
    console.log(`bench: baseline ${scenario} pair ${pair + 1}/${pairs}: ${pairText(runs, pair + 1)}`);
  }
  return runs;
}

function pairText(runs: readonly SideRun[], pair: number): string {
  return runs
    .filter((r) => r.pair === pair)
    .map((r) => `${r.side} ${r.wallMs} ms`)
    .join(', ');
}

/** A new cluster, a new disk and a new release for each side's fresh deploy. */
async function freshNames(side: Side, pair: number): Promise<Names> {
  await side.world.loseCluster();
  return { disk: `bench-fresh-${pair + 1}`, release: `skypilot-${pair + 1}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Summary and report

interface SideSummary {
  wallMs: number;
  /** Median of first request to exit: the run without its start-up. */
  afterFirstRequestMs: number;
  wallRunsMs: number[];
  roundTrips: number;
  requests: Record<string, number>;
  kubeWrites: number;
}

function summariseSide(runs: readonly SideRun[]): SideSummary {
  const m = (f: (r: SideRun) => number): number => median(runs.map(f));
  const names = ['compute', 'kube', 'charts'];
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

interface Verdicts {
  converged: ScenarioVerdict;
  fresh: ScenarioVerdict;
  firstRequestMs: Record<SideName, number>;
  peakRssMb: Record<SideName, { max: number; median: number }>;
  distBytes: number;
}

function verdicts(runs: readonly SideRun[]): Verdicts {
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

function verdictRows(v: Verdicts): string[] {
  const row = (title: string, s: 'converged' | 'fresh', target: number): string => {
    const x = v[s];
    return `| ${title} | ${x.action.wallMs} ms | ${x.script.wallMs} ms | ${x.ratio.toFixed(2)}x | ${x.pairRatio.toFixed(2)}x | <= ${target.toFixed(1)}x | ${pass(x.ratio <= target)} |`;
  };
  const first = v.firstRequestMs;
  const rss = v.peakRssMb;
  return [
    '| scenario | action | script | action / script | median of per-pair ratios | target | result |',
    '|---|---:|---:|---:|---:|---:|---|',
    row('converged rerun (wall, median)', 'converged', TARGETS.convergedRatio),
    row('fresh deploy: new cluster, new disk (wall, median)', 'fresh', TARGETS.freshRatio),
    `| spawn to first request (median of all runs) | ${first.action} ms | ${first.script} ms | ${(first.action / first.script).toFixed(1)}x | - | action <= ${TARGETS.firstRequestMs} ms | ${pass(first.action <= TARGETS.firstRequestMs)} |`,
    `| peak RSS, max of all runs (median): action's node process vs the script's largest process | ${rss.action.max} MB (${rss.action.median}) | ${rss.script.max} MB (${rss.script.median}) | ${(rss.action.max / rss.script.max).toFixed(1)}x | - | node <= ${TARGETS.nodeRssMb} MB | ${pass(rss.action.max <= TARGETS.nodeRssMb)} |`,
    `| dist/ total size | ${mb(v.distBytes)} | - | - | - | <= ${mb(TARGETS.distBytes)} (${TARGETS.distBytes} bytes) | ${pass(v.distBytes <= TARGETS.distBytes)} |`,
  ];
}

function detailRows(v: Verdicts): string[] {
  const line = (title: string, s: SideSummary): string =>
    `| ${title} | ${s.afterFirstRequestMs} ms | ${s.roundTrips} | ${s.requests.compute} + ${s.requests.kube} + ${s.requests.charts} | ${s.kubeWrites} | ${s.wallRunsMs.join(', ')} |`;
  return [
    '| run | first request to exit | round trips (requests + connections) | requests: Compute + Kube + charts | Kube writes | wall per pair (ms) |',
    '|---|---:|---:|---:|---:|---|',
    line('converged rerun, action', v.converged.action),
    line('converged rerun, script', v.converged.script),
    line('fresh deploy, action', v.fresh.action),
    line('fresh deploy, script', v.fresh.script),
  ];
}

/** 1-min load averages seen as the runs started. */
export interface LoadSeen {
  min: number;
  max: number;
  cpus: number;
}

function markdown(v: Verdicts, options: BaselineOptions, load: LoadSeen, header: string[]): string {
  const rtt = options.latencyMs;
  return [
    '## Action vs the bare runbook script',
    '',
    ...header,
    '',
    `Both sides run against their own stand-in world (\`standins/world.ts\`) behind the same latency proxies: Compute`,
    `${rtt.compute} ms, Kubernetes ${rtt.kube} ms, chart repository ${rtt.charts} ms per round trip (plus one per new connection).`,
    '**Action**: the committed `dist/index.js`, spawned as the runner does, tools in the runner tool cache, workload',
    'identity token exchange included. **Script**: [`bench/runbook.sh`](runbook.sh), the runbook as plain commands',
    '(curl GET of the disk, and if absent insert + wait on the operation; `kubectl apply -f` of the PV; `helm repo add`',
    "+ `helm upgrade --install` with the runbook's `--set` flags, no `--wait`; `kubectl get svc` until the address",
    'appears; one curl of `/api/health` with basic auth), given a ready Compute token and the same kubectl and helm.',
    `${options.pairs} interleaved pairs per scenario, the side going first alternating; each run with ${options.keepHome ? "its side's kept HOME" : 'a fresh HOME (a fresh hosted runner: no kubectl discovery or helm repository cache)'}.`,
    'Converged rerun: the state that side already deployed. Fresh deploy: each side loses its cluster and deploys a new',
    'disk, PV and release. Wall time is spawn to exit as the harness sees it; first request is the first request any',
    "of the side's proxies saw. Peak RSS: the action's node process (VmHWM; its helm/kubectl children not counted); the",
    "script's largest single process (GNU time `%M`: ru_maxrss of the largest process in the tree it waited for).",
    'The script makes a new Helm revision on every run (its Kube writes) and does not wait for the rollout.',
    `1-min load average as each run started: ${load.min.toFixed(2)}-${load.max.toFixed(2)} on ${load.cpus} CPUs; the bench itself`,
    load.min > 1.5
      ? 'keeps about one busy, so other work shared the machine: wall times are disturbed, start-up (CPU) more than waits.'
      : 'keeps about one busy, so the machine was otherwise quiet.',
    ...(options.note ? [options.note] : []),
    '',
    ...verdictRows(v),
    '',
    ...detailRows(v),
    '',
    "Per-run numbers (every proxy's requests by kind) are in `bench/results/baseline.json`. To reproduce (as root:",
    'the stand-in load balancers listen on 127.x.y.z:80):',
    '',
    '```sh',
    'apt-get install -y curl jq openssl time   # Debian packages bench/runbook.sh and its RSS measurement need',
    'npm ci',
    'npm run bench -- --only baseline          # this section only; `npm run bench` runs every section',
    `npm run bench -- --only baseline --pairs ${options.pairs} --compute-ms ${rtt.compute} --kube-ms ${rtt.kube} --charts-ms ${rtt.charts}`,
    '```',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

/** Both sides, set up, warmed and deployed once (untimed), then the converged pairs and the fresh pairs. */
export async function benchBaseline(options: BaselineOptions, header: string[]): Promise<BenchSection> {
  const bench = new Bench();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-bench-baseline-'));
  const worlds = await Promise.all([1, 2].map(() => startLocalWorld({ latencyMs: options.latencyMs })));
  try {
    const sides = [
      actionSide(bench, worlds[0]!, options),
      await scriptSide(worlds[1]!, scratch, options),
    ] as const;
    for (const side of sides) {
      // Untimed: the first deploy (tools into the action's cache) leaves the state both converged reruns find.
      await side.run(CONVERGED, 'fresh warm-up');
      await side.run(CONVERGED, 'converged warm-up');
    }
    const runs = [
      ...(await runPairs(sides, 'converged', options.pairs, () => Promise.resolve(CONVERGED))),
      ...(await runPairs(sides, 'fresh', options.pairs, freshNames)),
    ];
    const v = verdicts(runs);
    const loads = runs.map((r) => r.load1);
    const load: LoadSeen = {
      min: Math.min(...loads),
      max: Math.max(...loads),
      cpus: os.availableParallelism(),
    };
    return {
      name: 'baseline',
      markdown: markdown(v, options, load, header),
      data: { options, targets: TARGETS, loadAverage: load, summary: v, runs },
    };
  } finally {
    await Promise.all(worlds.map((w) => w.close()));
    bench.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
