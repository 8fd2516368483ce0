import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import type { RecordedRequest } from './kubernetes/index.js';

const run = promisify(execFile);

/** The newest generation of the mimic chart; older ones are derived from it (see withoutExistingClaim). */
export const chartSource = fileURLToPath(new URL('./chart/skypilot-nightly', import.meta.url));
const storageBeforeExistingClaim = fileURLToPath(
  new URL('./chart/storage-before-existingClaim.tpl', import.meta.url),
);

/** One chart version the repository serves. */
export interface ServedChart {
  name: 'skypilot-nightly' | 'skypilot';
  version: string;
  appVersion: string;
  /** Charts from skypilot-org/skypilot PR #10085/#10086 on: `storage.existingClaim`, `storage.enabled` false. */
  existingClaim: boolean;
  /** A broken release: its server's image exits at start, so it never becomes healthy (see crashingImages). */
  crashes?: true;
}

/** Oldest first within a name; the newest nightly has existingClaim, so an unpinned `--devel` install gets it. */
export const servedCharts: readonly ServedChart[] = [
  {
    name: 'skypilot-nightly',
    version: '1.0.0-dev.20250101',
    appVersion: '1.0.0.dev20250101',
    existingClaim: false,
  },
  {
    name: 'skypilot-nightly',
    version: '1.0.0-dev.20250218',
    appVersion: '1.0.0.dev20250218',
    existingClaim: false,
  },
  {
    name: 'skypilot-nightly',
    version: '1.0.0-dev.20261115',
    appVersion: '1.0.0.dev20261115',
    existingClaim: true,
  },
  // Never the newest of its channel: an unpinned install gets a healthy server.
  {
    name: 'skypilot-nightly',
    version: '1.0.0-dev.20261120',
    appVersion: '1.0.0.dev20261120',
    existingClaim: true,
    crashes: true,
  },
  {
    name: 'skypilot-nightly',
    version: '1.0.0-dev.20261130',
    appVersion: '1.0.0.dev20261130',
    existingClaim: true,
  },
  { name: 'skypilot', version: '0.9.0', appVersion: '0.9.0', existingClaim: false },
  { name: 'skypilot', version: '0.11.0', appVersion: '0.11.0', existingClaim: true },
];

export interface ChartRepo {
  url: string;
  requests: RecordedRequest[];
  /** The chart versions served, by chart name (oldest first, newest last). */
  charts: Record<string, string[]>;
  /** Every served version with what it supports, so a test can pick a generation. */
  served: readonly ServedChart[];
  /** Points index.yaml's chart URLs at another base, e.g. a latency proxy, so downloads pay its latency too. */
  serveThrough(baseUrl: string): void;
  close(): Promise<void>;
}

/**
 * The server images of the broken versions, as the chart names its image (`berkeleyskypilot/<chart>:<appVersion>`,
 * templates/_helpers.tpl): what a cluster of the world runs as crashing (KubeStandInOptions.crashingImages).
 */
export function crashingImages(): string[] {
  return servedCharts.filter((c) => c.crashes).map((c) => `berkeleyskypilot/${c.name}:${c.appVersion}`);
}

/** The newest version of a chart with (or without) `storage.existingClaim`. */
export function newestChart(name: ServedChart['name'], existingClaim: boolean): ServedChart {
  const found = servedCharts.filter((c) => c.name === name && c.existingClaim === existingClaim).at(-1);
  if (!found) throw new Error(`the chart repository serves no ${name} with existingClaim=${existingClaim}`);
  return found;
}

/** Turns a copy of the chart into the generation before PR #10086: no existingClaim, storage on by default. */
function withoutExistingClaim(dir: string): void {
  fs.copyFileSync(storageBeforeExistingClaim, path.join(dir, 'templates', '_storage.tpl'));
  const valuesFile = path.join(dir, 'values.yaml');
  const values = YAML.parseDocument(fs.readFileSync(valuesFile, 'utf8'));
  values.deleteIn(['storage', 'existingClaim']);
  values.setIn(['storage', 'enabled'], true);
  fs.writeFileSync(valuesFile, values.toString());
}

export interface ChartRepoOptions {
  /**
   * false serves every chart with the ingress-nginx admission webhook off by default (the subchart's own
   * `controller.admissionWebhooks.enabled` switch): no hook Jobs, their RBAC and their polling, as a fast cloud's
   * lighter chart. Default true: the charts as they are.
   */
  hookJobs?: boolean;
}

/** Turns off the subchart's admission webhook by default: its pre- and post-install hook Jobs go with it. */
function withoutHookJobs(dir: string): void {
  const valuesFile = path.join(dir, 'charts', 'ingress-nginx', 'values.yaml');
  const values = YAML.parseDocument(fs.readFileSync(valuesFile, 'utf8'));
  values.setIn(['controller', 'admissionWebhooks', 'enabled'], false);
  fs.writeFileSync(valuesFile, values.toString());
}

/**
 * A Helm chart repository over HTTP on 127.0.0.1 (like helm.skypilot.co): `helm package` builds the test
 * chart(s) and `helm repo index` writes index.yaml with digests and absolute urls.
 */
export async function startChartRepo(helmBinary: string, options: ChartRepoOptions = {}): Promise<ChartRepo> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-chartrepo-'));
  const served = path.join(root, 'served');
  fs.mkdirSync(served);
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://repo');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      contentType: req.headers['content-type'],
      userAgent: req.headers['user-agent'],
      body: '',
    });
    const file = path.join(served, path.basename(decodeURIComponent(url.pathname)));
    if (req.method !== 'GET' || url.pathname === '/' || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    const type = file.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip';
    res.writeHead(200, { 'Content-Type': type });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    // helm must not touch the user's own repositories or cache.
    const env = { ...process.env, HELM_CONFIG_HOME: root, HELM_CACHE_HOME: root, HELM_DATA_HOME: root };
    const charts: Record<string, string[]> = {};
    for (const [i, release] of servedCharts.entries()) {
      const dir = path.join(root, `src-${i}`, release.name);
      fs.cpSync(chartSource, dir, { recursive: true });
      const chartFile = path.join(dir, 'Chart.yaml');
      const chart = YAML.parseDocument(fs.readFileSync(chartFile, 'utf8'));
      chart.set('name', release.name);
      chart.set('version', release.version);
      chart.set('appVersion', release.appVersion);
      fs.writeFileSync(chartFile, chart.toString());
      if (!release.existingClaim) withoutExistingClaim(dir);
      if (options.hookJobs === false) withoutHookJobs(dir);
      await run(helmBinary, ['package', dir, '--destination', served], { env });
      (charts[release.name] ??= []).push(release.version);
    }
    await run(helmBinary, ['repo', 'index', served, '--url', url], { env });
    const index = path.join(served, 'index.yaml');
    const serveThrough = (baseUrl: string): void =>
      fs.writeFileSync(index, fs.readFileSync(index, 'utf8').split(`${url}/`).join(`${baseUrl}/`));
    return { url, requests, charts, served: servedCharts, serveThrough, close };
  } catch (error) {
    await close();
    throw error;
  }
}
