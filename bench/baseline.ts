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
import { WORLD, type LatencyOptions, type LocalWorld } from '../standins/world.js';
import { Bench, now, proxiesOf, statsOf, toEpoch, type BenchSection } from './action.js';
import {
  markdown,
  TARGETS,
  verdicts,
  type BaselineOptions,
  type LoadSeen,
  type Scenario,
  type SideName,
  type SideRun,
} from './baselineReport.js';
import { criticalPath, timedRequests } from './criticalPath.js';
import { startBenchWorld, WORLD_NAMES, type WorldName } from './worlds.js';

/** Round trips of the baseline: Compute API 100 ms, Kubernetes API 30 ms, chart repository 50 ms. */
export const BASELINE_RTT: Required<LatencyOptions> = { compute: 100, kube: 30, charts: 50 };

const runbookScript = fileURLToPath(new URL('runbook.sh', import.meta.url));
const gnuTime = '/usr/bin/time';

/** The names one run deploys: the same on both sides. */
interface Names {
  disk: string;
  release: string;
}
const CONVERGED: Names = { disk: 'sky-api-server-state', release: 'skypilot' };
const NAMESPACE = 'skypilot';
const PV_NAME = 'sky-api-server-pv';

/** What one run measures, before the harness files it under its side, scenario and pair. */
type Measured = Pick<SideRun, 'wallMs' | 'selfExitMs' | 'firstRequestMs' | 'peakRssMb' | 'proxies' | 'path'>;

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
        path: m.path,
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
  const wallMs = Math.round(endedAt - spawnedAt);
  // On failure GNU time writes "Command exited with non-zero status N" first; %M is the last line.
  const maxKb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
  return {
    code,
    output,
    measured: {
      wallMs,
      firstRequestMs: arrivals.length ? Math.round(Math.min(...arrivals) - spawnedAt) : undefined,
      peakRssMb: Number.isFinite(maxKb) ? Math.round(maxKb / 1024) : undefined,
      proxies: Object.fromEntries(Object.entries(proxies).map(([name, p]) => [name, statsOf(name, p)])),
      path: criticalPath(timedRequests(proxies, spawnedAt, endedAt), [], wallMs, 'the script'),
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
  world: WorldName,
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
      runs.push({ world, side: side.name, scenario, pair: pair + 1, load1, ...measured });
    }
    console.log(
      `bench: baseline, ${world} world, ${scenario} pair ${pair + 1}/${pairs}: ${pairText(runs, pair + 1)}`,
    );
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

/** One world: both sides set up, warmed and deployed once (untimed), then the converged and the fresh pairs. */
async function benchWorld(
  bench: Bench,
  world: WorldName,
  options: BaselineOptions,
  scratch: string,
): Promise<SideRun[]> {
  const worlds = await Promise.all([1, 2].map(() => startBenchWorld(world, options.latencyMs)));
  try {
    const sides = [
      actionSide(bench, worlds[0]!, options),
      await scriptSide(worlds[1]!, path.join(scratch, world), options),
    ] as const;
    for (const side of sides) {
      // Untimed: the first deploy (tools into the action's cache) leaves the state both converged reruns find.
      await side.run(CONVERGED, 'fresh warm-up');
      await side.run(CONVERGED, 'converged warm-up');
    }
    return [
      ...(await runPairs(world, sides, 'converged', options.pairs, () => Promise.resolve(CONVERGED))),
      ...(await runPairs(world, sides, 'fresh', options.pairs, freshNames)),
    ];
  } finally {
    await Promise.all(worlds.map((w) => w.close()));
  }
}

/** Every world in turn (today's, then the fast cloud), each with its own pairs; one report for all. */
export async function benchBaseline(options: BaselineOptions, header: string[]): Promise<BenchSection> {
  const bench = new Bench();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-bench-baseline-'));
  try {
    const runs: SideRun[] = [];
    for (const world of options.worlds) runs.push(...(await benchWorld(bench, world, options, scratch)));
    const v = WORLD_NAMES.filter((w) => options.worlds.includes(w)).map((w) => verdicts(w, runs));
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
    bench.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
