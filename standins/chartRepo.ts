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

export const chartSource = fileURLToPath(new URL('./chart/skypilot-nightly', import.meta.url));

export interface ChartRepo {
  url: string;
  requests: RecordedRequest[];
  /** The chart versions served, by chart name (newest last). */
  charts: Record<string, string[]>;
  /** Points index.yaml's chart URLs at another base, e.g. a latency proxy, so downloads pay its latency too. */
  serveThrough(baseUrl: string): void;
  close(): Promise<void>;
}

/** The charts the repository serves: the nightly (newest and one older pre-release) and a stable `skypilot`. */
const releases = [
  { name: 'skypilot-nightly', version: '1.0.0-dev.20250101', appVersion: '1.0.0.dev20250101' },
  { name: 'skypilot-nightly', version: null, appVersion: null },
  { name: 'skypilot', version: '0.9.0', appVersion: '0.9.0' },
];

/**
 * A Helm chart repository over HTTP on 127.0.0.1 (like helm.skypilot.co): `helm package` builds the test
 * chart(s) and `helm repo index` writes index.yaml with digests and absolute urls.
 */
export async function startChartRepo(helmBinary: string): Promise<ChartRepo> {
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
    for (const [i, release] of releases.entries()) {
      const dir = path.join(root, `src-${i}`, release.name);
      fs.cpSync(chartSource, dir, { recursive: true });
      const chartFile = path.join(dir, 'Chart.yaml');
      const chart = YAML.parse(fs.readFileSync(chartFile, 'utf8')) as Record<string, unknown>;
      chart.name = release.name;
      if (release.version) chart.version = release.version;
      if (release.appVersion) chart.appVersion = release.appVersion;
      fs.writeFileSync(chartFile, YAML.stringify(chart));
      await run(helmBinary, ['package', dir, '--destination', served], { env });
      (charts[release.name] ??= []).push(String(chart.version));
    }
    await run(helmBinary, ['repo', 'index', served, '--url', url], { env });
    const index = path.join(served, 'index.yaml');
    const serveThrough = (baseUrl: string): void =>
      fs.writeFileSync(index, fs.readFileSync(index, 'utf8').split(`${url}/`).join(`${baseUrl}/`));
    return { url, requests, charts, serveThrough, close };
  } catch (error) {
    await close();
    throw error;
  }
}
