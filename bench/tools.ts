/**
 * Installing helm, kubectl and gcloud against the download-site stand-in: cold (empty tool cache), warm
 * (cached), and the three concurrent installs against the sum of the three one after another.
 * Run alone with `node --import tsx bench/tools.ts`; bench/run.ts calls benchTools().
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Deadline } from '../src/lib/deadline.js';
import { parseToolRequests } from '../src/config/tools.js';
import { ensureAuthPlugin } from '../src/tools/auth-plugin.js';
import { gcloud } from '../src/tools/gcloud.js';
import { helm } from '../src/tools/helm.js';
import { installTools } from '../src/tools/index.js';
import { installTool } from '../src/tools/installer.js';
import { kubectl } from '../src/tools/kubectl.js';
import type { Platform } from '../src/tools/platform.js';
import { siteFor, type ToolSpec } from '../src/tools/types.js';
import { parseVersionRequest } from '../src/tools/version.js';
import { startDownloadSite, type DownloadSite } from '../standins/downloads.js';

const ROUNDS = 3;
const RAW_VERSIONS = { helm: '3.17.3', kubectl: '1.35.2', gcloud: '548.0.0' };
const VERSIONS = parseToolRequests(RAW_VERSIONS, true);
const PLATFORM: Platform = { os: 'linux', arch: 'x64' };
const resultsFile = fileURLToPath(new URL('results/tools.json', import.meta.url));

interface Row {
  case: string;
  medianMs: number;
  runsMs: number[];
}

/** Loopback shows the installer's own cost; a capped link shows what running the downloads side by side buys. */
const LINKS: { name: string; bytesPerSecond?: number }[] = [
  { name: 'loopback, unlimited' },
  { name: 'link capped at 25 MB/s per download', bytesPerSecond: 25 * 1024 * 1024 },
];

export async function benchTools(): Promise<string> {
  const sections: string[] = [];
  const results: Record<string, { rows: Row[]; concurrentSpeedup: number }> = {};
  for (const link of LINKS) {
    const rows = await benchLink(link.bytesPerSecond);
    const speedup = rows[2]!.medianMs / rows[0]!.medianMs;
    results[link.name] = { rows, concurrentSpeedup: Number(speedup.toFixed(2)) };
    sections.push(
      `#### ${link.name}`,
      '',
      '| case | median | runs |',
      '|---|---:|---|',
      ...rows.map((r) => `| ${r.case} | ${r.medianMs} ms | ${r.runsMs.join(', ')} |`),
      '',
      `Sequential sum / concurrent cold install: ${speedup.toFixed(2)}x.`,
      '',
    );
  }
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(
    resultsFile,
    `${JSON.stringify({ rounds: ROUNDS, versions: VERSIONS, platform: PLATFORM, node: process.version, results }, null, 2)}\n`,
  );
  return [
    `### Tool installs against the download-site stand-in (real kubectl ${VERSIONS.kubectl} and helm ${VERSIONS.helm}; median of ${ROUNDS})`,
    '',
    "The stand-in's gcloud archive is a few KB (the real one is ~150 MB), so gcloud is cheaper here than on a runner.",
    '',
    ...sections,
  ].join('\n');
}

async function benchLink(bytesPerSecond: number | undefined): Promise<Row[]> {
  const site = await startDownloadSite(bytesPerSecond === undefined ? {} : { bytesPerSecond });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-bench-tools-'));
  const savedEnv = {
    PATH: process.env.PATH,
    RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE,
    RUNNER_TEMP: process.env.RUNNER_TEMP,
  };
  let fresh = 0;
  const freshCache = (): void => {
    fresh += 1;
    process.env.RUNNER_TOOL_CACHE = path.join(scratch, `cache-${fresh}`);
    process.env.RUNNER_TEMP = path.join(scratch, `temp-${fresh}`);
    fs.mkdirSync(process.env.RUNNER_TEMP, { recursive: true });
  };
  const all = (): Promise<unknown> =>
    installTools(VERSIONS, {
      deadline: new Deadline(300_000),
      platform: PLATFORM,
      searchPath: '',
      bases: site.bases,
    });
  const rows: Row[] = [];
  try {
    await quietly(async () => {
      freshCache();
      await all(); // builds the stand-in's archives once, so no round pays for that

      const cold: number[] = [];
      const warm: number[] = [];
      const sequential: number[] = [];
      const single: Record<string, number[]> = { helm: [], kubectl: [], gcloud: [] };
      for (let round = 0; round < ROUNDS; round++) {
        freshCache();
        cold.push(await timed(all));
        warm.push(await timed(all));
        freshCache();
        let sum = 0;
        for (const spec of [helm, kubectl, gcloud]) {
          const ms = await timed(() => installOne(spec, site));
          single[spec.name]!.push(ms);
          sum += ms;
        }
        sequential.push(sum);
      }
      rows.push(
        row('cold: helm + kubectl + gcloud concurrently, empty tool cache', cold),
        row('warm: the same, all three from the tool cache', warm),
        row('sequential: the three installs one after another, empty tool cache', sequential),
        row('helm alone (cold)', single.helm!),
        row('kubectl alone (cold)', single.kubectl!),
        row('gcloud + auth plugin alone (cold)', single.gcloud!),
      );
    });
  } finally {
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = value;
    }
    fs.rmSync(scratch, { recursive: true, force: true });
    await site.close();
  }
  return rows;
}

/** One tool as installTools does it (gcloud with its auth plugin), for the sequential sum. */
async function installOne(spec: ToolSpec, site: DownloadSite): Promise<void> {
  const tool = await installTool(
    spec,
    parseVersionRequest(`${spec.name}-version`, RAW_VERSIONS[spec.name], spec.defaultVersion),
    {
      deadline: new Deadline(300_000),
      platform: PLATFORM,
      mirror: undefined,
      base: site.bases[spec.name],
      searchPath: '',
    },
  );
  if (spec === gcloud)
    await ensureAuthPlugin(tool, siteFor(gcloud, undefined, site.bases.gcloud), gcloud.officialBase, '');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return Math.round(performance.now() - start);
}

function row(name: string, runs: number[]): Row {
  const sorted = [...runs].sort((a, b) => a - b);
  return { case: name, medianMs: sorted[Math.floor(sorted.length / 2)]!, runsMs: runs };
}

/** The installer logs through @actions/core (stdout); the benchmark prints only its table. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchTools().then(
    (markdown) => console.log(markdown),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
