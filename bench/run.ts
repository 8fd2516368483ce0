/**
 * `npm run bench`: every benchmark, one after another (they would disturb each other side by side on a small
 * machine), then bench/report.md and one JSON file per benchmark under bench/results/.
 * `npm run bench -- --only baseline [--pairs N] [--worlds today,fast] [--compute-ms MS] [--kube-ms MS] [--charts-ms MS] [--keep-home]
 * [--note TEXT]` runs only the action-vs-script baseline and replaces only its section of the report;
 * `npm run bench -- --only trace [--world fast|today]` prints every request of one rerun and one fresh deploy.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchAction, RUNNER_NODE, versionOf, type BenchSection } from './action.js';
import { BASELINE_RTT, benchBaseline } from './baseline.js';
import type { BaselineOptions } from './baselineReport.js';
import { benchTools } from './tools.js';
import { trace } from './trace.js';
import { WORLD_NAMES, type WorldName } from './worlds.js';

const reportFile = fileURLToPath(new URL('report.md', import.meta.url));
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));

interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memoryGb: number;
  os: string;
  node: string;
  commit: string;
}

function machine(): Machine {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the report just says so.
  }
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit,
  };
}

/** A few sentences on start-up and memory, from the numbers of this run (the runbook's are in the baseline). */
function reading(sections: BenchSection[]): string[] {
  const cold = sections.find((s) => s.name === 'cold-start')?.data as ColdData | undefined;
  if (!cold) return [];
  const med = (v: number[] | undefined): number => {
    const s = [...(v ?? [])].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? NaN;
  };
  const lines: string[] = [];
  const runner = cold.byNode.at(-1);
  if (runner) {
    lines.push(
      `- **Start-up.** On ${runner.node} user code runs ${med(runner.userCodeMs)} ms after the spawn, the first log ` +
        `line comes at ${med(runner.firstOutputMs)} ms and the first Compute request (the token exchange) at ` +
        `${med(runner.firstRequestMs)} ms; the cluster's first reads and the chart's download leave before it ` +
        '(the baseline counts the first request of any kind).' +
        (cold.profile
          ? ` The CPU profile of one converged rerun puts ${cold.profile.categories["the bundle's code"] ?? '?'} ms in ` +
            `the bundle's own code, ${cold.profile.categories['reading and compiling the bundle'] ?? '?'} ms in ` +
            `reading and compiling it and ${cold.profile.categories['garbage collection'] ?? '?'} ms in garbage collection.`
          : ''),
    );
  }
  const [older, newer] = cold.byNode;
  if (older && newer) {
    lines.push(
      `- **node ${newer.node} vs ${older.node}:** first Compute request ${med(newer.firstRequestMs)} ms vs ` +
        `${med(older.firstRequestMs)} ms, peak RSS ${med(newer.vmHwmMb)} MB vs ${med(older.vmHwmMb)} MB (the runner ` +
        'uses node 24 for `runs.using: node24`; the action keeps the young generation from growing and turns ' +
        "V8's compiling tiers off, see `src/lib/memory.ts`).",
    );
  }
  return lines;
}

interface ColdData {
  runs: { node: string; marks: { atMs: number; label: string }[] }[];
  profile?: { categories: Record<string, number>; top: { fn: string; ms: number }[] };
  byNode: {
    node: string;
    userCodeMs: number[];
    firstOutputMs: number[];
    firstRequestMs: number[];
    vmHwmMb: number[];
  }[];
}

interface Cli {
  only?: 'baseline' | 'trace';
  /** For --only trace: the world to trace in. */
  world: WorldName;
  baseline: BaselineOptions;
}

/** The command line; a bad value stops the bench before anything runs. */
function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      pairs: { type: 'string', default: '7' },
      'compute-ms': { type: 'string', default: String(BASELINE_RTT.compute) },
      'kube-ms': { type: 'string', default: String(BASELINE_RTT.kube) },
      'charts-ms': { type: 'string', default: String(BASELINE_RTT.charts) },
      'keep-home': { type: 'boolean', default: false },
      note: { type: 'string' },
      world: { type: 'string', default: 'fast' },
      worlds: { type: 'string', default: WORLD_NAMES.join(',') },
    },
  });
  if (values.only !== undefined && values.only !== 'baseline' && values.only !== 'trace')
    throw new Error(
      `--only ${values.only}: "baseline" (that section of the report) or "trace" (print one run's requests)`,
    );
  const world = WORLD_NAMES.find((w) => w === values.world);
  if (!world) throw new Error(`--world ${values.world}: one of ${WORLD_NAMES.join(', ')}`);
  const worlds = values.worlds.split(',').map((w) => {
    const found = WORLD_NAMES.find((name) => name === w.trim());
    if (!found)
      throw new Error(`--worlds ${values.worlds}: a comma-separated list of ${WORLD_NAMES.join(', ')}`);
    return found;
  });
  const number = (flag: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag} ${value}: an integer >= ${min} is needed`);
    return n;
  };
  return {
    ...(values.only === 'baseline' || values.only === 'trace' ? { only: values.only } : {}),
    world,
    baseline: {
      pairs: number('pairs', values.pairs, 1),
      latencyMs: {
        compute: number('compute-ms', values['compute-ms'], 0),
        kube: number('kube-ms', values['kube-ms'], 0),
        charts: number('charts-ms', values['charts-ms'], 0),
      },
      keepHome: values['keep-home'],
      worlds,
      ...(values.note ? { note: values.note } : {}),
    },
  };
}

const BASELINE_START = '<!-- baseline:start (npm run bench -- --only baseline rewrites this section) -->';
const BASELINE_END = '<!-- baseline:end -->';

/** The report with its baseline section replaced, or inserted under the title when it has none yet. */
function withBaseline(report: string, section: string): string {
  const block = `${BASELINE_START}\n${section}${BASELINE_END}\n`;
  const start = report.indexOf(BASELINE_START);
  const end = report.indexOf(BASELINE_END);
  if (start >= 0 && end > start)
    return report.slice(0, start) + block + report.slice(end + BASELINE_END.length + 1);
  const title = report.indexOf('\n') + 1;
  return `${report.slice(0, title)}\n${block}${report.slice(title)}`;
}

function baselineHeader(about: Machine): string[] {
  return [
    `Measured ${about.date} on commit ${about.commit} (dist/ as built there); ${about.nproc} CPUs (${about.cpu}),`,
    `${about.memoryGb} GB RAM; the action on node ${versionOf(RUNNER_NODE)}. Generated by \`npm run bench -- --only baseline\``,
    '(bench/baseline.ts); the machine may be shared: see the load average below.',
  ];
}

function writeResults(about: Machine, sections: BenchSection[]): void {
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const section of sections) {
    fs.writeFileSync(
      `${resultsDir}${section.name}.json`,
      `${JSON.stringify({ machine: about, ...(section.data as object) }, null, 2)}\n`,
    );
  }
}

async function runBaseline(cli: Cli, about: Machine): Promise<BenchSection> {
  const b = cli.baseline;
  console.log(
    `bench: action vs the runbook script, ${b.pairs} pairs per scenario in ${b.worlds.join(' and ')} world ` +
      `(Compute ${b.latencyMs.compute} ms, Kubernetes ${b.latencyMs.kube} ms, charts ${b.latencyMs.charts} ms) ...`,
  );
  const section = await benchBaseline(b, baselineHeader(about));
  writeResults(about, [section]);
  return section;
}

async function main(): Promise<void> {
  const started = performance.now();
  const cli = parseCli(process.argv.slice(2));
  const about = machine();
  if (cli.only === 'trace') return trace(cli.world);
  if (cli.only === 'baseline') {
    const baseline = await runBaseline(cli, about);
    const old = fs.existsSync(reportFile)
      ? fs.readFileSync(reportFile, 'utf8')
      : '# skyha-action benchmarks\n';
    fs.writeFileSync(reportFile, withBaseline(old, baseline.markdown));
    console.log(
      `bench: wrote the baseline section of ${reportFile} in ${Math.round((performance.now() - started) / 1000)} s`,
    );
    return;
  }
  console.log(`bench: ${about.nproc} CPUs, node ${about.node}; this takes about 6 minutes`);
  const baseline = await runBaseline(cli, about);
  console.log('bench: the action (cold start, footprint) ...');
  const sections = await benchAction();
  console.log('bench: tool installs ...');
  const tools = await benchTools(); // writes results/tools.json itself
  const seconds = Math.round((performance.now() - started) / 1000);
  writeResults(about, sections);
  const report = [
    '# skyha-action benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); raw numbers in `bench/results/*.json`. Numbers, not assertions:',
    'rerun on the same machine to compare a change.',
    '',
    `- **Date:** ${about.date}`,
    `- **Machine:** ${about.nproc} CPUs (${about.cpu}), ${about.memoryGb} GB RAM, ${about.os}`,
    `- **Node:** the action runs on ${versionOf(RUNNER_NODE)} (as \`runs.using: node24\` has the runner do) unless a`,
    `  column says otherwise; the harness on ${about.node}`,
    `- **Commit:** ${about.commit} (dist/ as built there); whole run: ${seconds} s`,
    '',
    '## Method',
    '',
    '- Everything runs on this machine against the stand-ins in `standins/` (Compute API with the workload identity',
    '  token exchange, a Kubernetes API server that real kubectl and helm accept, the chart repository, the download',
    '  mirror). The action is the committed bundle `dist/index.js`, spawned as the runner spawns it',
    '  (`standins/runner.ts`), with real helm 4.1.4 and kubectl 1.35.2.',
    "- The runbook behind a cloud's round trips, side by side with the bare script in two worlds, is the baseline",
    '  above; the sections below are start-up, memory, bundle size and tool installs.',
    "- A probe module loaded through NODE_OPTIONS timestamps the action's log lines (its step milestones and each",
    "  `$ helm ...`/`$ kubectl ...` it runs) and reads the process's VmHWM from /proc/self/status at exit.",
    '- No benchmark runs in `npm test`.',
    '',
    '## Reading',
    '',
    ...reading(sections),
    '',
    '## Numbers',
    '',
    ...sections.map((s) => s.markdown),
    '### 3. Tool installs',
    '',
    tools,
  ].join('\n');
  fs.writeFileSync(reportFile, withBaseline(report, baseline.markdown));
  console.log(`bench: wrote ${reportFile} and ${resultsDir}*.json in ${seconds} s`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
