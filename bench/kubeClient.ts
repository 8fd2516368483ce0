/**
 * `node --import tsx bench/kubeClient.ts`: one converged rerun's worth of Kubernetes reads (the volume, the claim,
 * three Secrets, the Helm release, the controller Service) as kubectl/helm processes (today) and through the
 * in-process client (src/clients/), against the Kubernetes stand-in behind a 30 ms RTT latency proxy; then the
 * client's bundle bytes and, on the runner's node, its import time, first request after the spawn and peak RSS.
 * Numbers only; results in bench/results/kube-client.json.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { realBinaries } from '../standins/binaries.js';
import { startChartRepo } from '../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../standins/kubernetes/index.js';
import { startLatencyProxy, type LatencyProxy } from '../standins/latency.js';
import { readHelmRelease } from '../src/clients/helmStorage.js';
import { KubernetesClient } from '../src/clients/kubernetes.js';
import { Deadline } from '../src/lib/deadline.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const RTT = 30;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const NS = 'skypilot';
const RELEASE = 'skypilot';
const SECRETS = ['gcp-credentials', 'aws-credentials', `${RELEASE}-basic-auth`];
const SERVICE = `${RELEASE}-ingress-nginx-controller`;

interface Sample {
  wallMs: number;
  requests: number;
  connections: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function setUp(kube: KubeStandIn, helm: string, dir: string): Promise<void> {
  const repo = await startChartRepo(helm);
  const env = {
    ...process.env,
    HOME: dir,
    HELM_CACHE_HOME: path.join(dir, 'hc'),
    HELM_CONFIG_HOME: path.join(dir, 'hf'),
    HELM_DATA_HOME: path.join(dir, 'hd'),
  };
  const kubeconfig = kube.writeKubeconfig(dir);
  await run(
    helm,
    [
      'upgrade',
      '--install',
      RELEASE,
      'skypilot-nightly',
      '--repo',
      repo.url,
      '--devel',
      '-n',
      NS,
      '--create-namespace',
      '--set',
      'apiService.skipResourceCheck=true',
      '--set',
      'storage.enabled=false',
      '--set',
      'ingress.authCredentials=u:x',
      '--wait',
      '--kubeconfig',
      kubeconfig,
    ],
    { env },
  );
  await repo.close();
  kube.put({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'sky-api-server-pv' },
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'sky-pv',
      csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/d', fsType: 'ext4' },
    },
  });
  kube.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${RELEASE}-state`, namespace: NS },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'sky-pv',
      volumeName: 'sky-api-server-pv',
      resources: { requests: { storage: '10Gi' } },
    },
  });
  for (const name of SECRETS.slice(0, 2))
    kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: NS },
      data: { key: Buffer.from('x').toString('base64') },
    });
}

function proxiedKubeconfig(dir: string, proxy: LatencyProxy): string {
  const file = path.join(dir, 'proxied-kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: proxy.url } }],
    users: [{ name: 'u', user: {} }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: NS } }],
    'current-context': 'x',
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
  return file;
}

/** Today's reads: one process each, as src/kubectl.ts and src/helm.ts run them; `parallel` as far as the steps allow. */
async function withProcesses(
  bins: { kubectl: string; helm: string },
  kubeconfig: string,
  home: string,
  parallel: boolean,
): Promise<void> {
  const env = {
    ...process.env,
    HOME: home,
    HELM_CACHE_HOME: path.join(home, 'hc'),
    HELM_CONFIG_HOME: path.join(home, 'hf'),
    HELM_DATA_HOME: path.join(home, 'hd'),
  };
  const kubectl = (...args: string[]) =>
    run(
      bins.kubectl,
      ['--request-timeout=30s', `--kubeconfig=${kubeconfig}`, ...args, '-o', 'json', '--ignore-not-found'],
      { env },
    );
  const helm = (...args: string[]) =>
    run(bins.helm, [...args, '--namespace', NS, '--output', 'json', `--kubeconfig=${kubeconfig}`], { env });
  const jobs: Array<() => Promise<unknown>> = [
    () => kubectl('get', 'persistentvolume', 'sky-api-server-pv'),
    () => kubectl('get', 'persistentvolumeclaim', `${RELEASE}-state`, '-n', NS),
    ...SECRETS.map((s) => () => kubectl('get', 'secret', s, '-n', NS)),
    () => helm('get', 'metadata', RELEASE).then(() => helm('get', 'values', RELEASE)),
    () => kubectl('get', 'service', SERVICE, '-n', NS),
  ];
  if (parallel) await Promise.all(jobs.map((j) => j()));
  else for (const j of jobs) await j();
}

/** The same reads from this process: a fresh client (new connection), as a new action run would have. */
async function withClient(kubeconfig: string, parallel: boolean): Promise<void> {
  const client = KubernetesClient.fromKubeconfig({ path: kubeconfig }, { budget: new Deadline(60_000) });
  const jobs: Array<() => Promise<unknown>> = [
    () => client.get('v1', 'PersistentVolume', 'sky-api-server-pv'),
    () => client.get('v1', 'PersistentVolumeClaim', `${RELEASE}-state`),
    ...SECRETS.map((s) => () => client.get('v1', 'Secret', s)),
    () => readHelmRelease(client, RELEASE, NS, { driver: 'secret' }),
    () => client.get('v1', 'Service', SERVICE),
  ];
  try {
    if (parallel) await Promise.all(jobs.map((j) => j()));
    else for (const j of jobs) await j();
  } finally {
    client.close();
  }
}

async function sample(proxy: LatencyProxy, fn: () => Promise<void>): Promise<Sample> {
  proxy.clear();
  const start = performance.now();
  await fn();
  return {
    wallMs: performance.now() - start,
    requests: proxy.requests.length,
    connections: proxy.connections(),
  };
}

function summarize(samples: Sample[]): Sample {
  return {
    wallMs: Math.round(median(samples.map((s) => s.wallMs))),
    requests: median(samples.map((s) => s.requests)),
    connections: median(samples.map((s) => s.connections)),
  };
}

/** Bundles an entry with ncc (as `npm run build` does) and answers its size in bytes. */
function bundle(entry: string, out: string): number {
  execFileSync(
    path.join(root, 'node_modules/.bin/ncc'),
    ['build', entry, '-o', out, '--transpile-only', '-q'],
    { cwd: root, stdio: 'pipe' },
  );
  return fs.readdirSync(out).reduce((sum, f) => sum + fs.statSync(path.join(out, f)).size, 0);
}

// Entries with absolute imports, so the scratch folder can live outside the repository (and its linting).
const ENTRY_CLIENT = `import { readHelmRelease } from '${root}src/clients/helmStorage.js';
import { KubernetesClient } from '${root}src/clients/kubernetes.js';
import { Deadline } from '${root}src/deadline.js';
const client = KubernetesClient.fromKubeconfig({}, { budget: new Deadline(30_000) });
const [pv, release] = await Promise.all([client.get('v1', 'PersistentVolume', 'sky-api-server-pv'), readHelmRelease(client, '${RELEASE}', '${NS}')]);
client.close();
console.log(JSON.stringify({ pv: pv?.metadata?.name, revision: release?.revision }));
`;
// What dist/ bundles already (the client's only third-party imports): the difference is the client's own cost.
const ENTRY_BASELINE = `import { parse } from '${root}node_modules/yaml/dist/index.js';
import { getProxyUrl } from '${root}node_modules/@actions/http-client/lib/proxy.js';
console.log(String(parse('a: 1')) + String(getProxyUrl(new URL('https://x'))));
`;

/** Spawns the bundle on `node` (stand-in kubeconfig, no latency): spawn to first request, import time, VmHWM. */
async function startUp(
  node: string,
  bundleFile: string,
  kubeconfig: string,
  kube: KubeStandIn,
): Promise<{ firstRequestMs: number; exitMs: number; hwmMb: number }> {
  const probe = path.join(path.dirname(bundleFile), 'probe.mjs');
  fs.writeFileSync(
    probe,
    `import { readFileSync } from 'node:fs'; process.on('exit', () => { const kb = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status','utf8'))[1]; process.stderr.write('HWM ' + kb + '\\n'); });\n`,
  );
  // A zero-delay front to timestamp the first request as it arrives.
  let first = NaN;
  const front = http.createServer((req, res) => {
    if (Number.isNaN(first)) first = performance.now();
    const up = http.request(
      kube.url + (req.url ?? '/'),
      { method: req.method, headers: req.headers },
      (a) => {
        res.writeHead(a.statusCode ?? 502, a.headers);
        a.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const dir = path.dirname(kubeconfig);
  const config = YAML.parse(fs.readFileSync(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  config.clusters[0]!.cluster.server = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const fronted = path.join(dir, 'fronted-kubeconfig');
  fs.writeFileSync(fronted, YAML.stringify(config));
  const start = performance.now();
  const child = spawn(node, ['--import', probe, bundleFile], {
    env: { ...process.env, KUBECONFIG: fronted },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise((r) => child.on('exit', r));
  const exitMs = performance.now() - start;
  front.close();
  return {
    firstRequestMs: Math.round(first - start),
    exitMs: Math.round(exitMs),
    hwmMb: Math.round(Number(/HWM (\d+)/.exec(stderr)?.[1]) / 102.4) / 10,
  };
}

async function main(): Promise<void> {
  const bins = await realBinaries('helm4');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-bench-kclient-'));
  const kube = await startKubeStandIn();
  await setUp(kube, bins.helm, dir);
  const proxy = await startLatencyProxy({ target: kube.url, rttMs: RTT });
  const kubeconfig = proxiedKubeconfig(dir, proxy);
  const warmHome = path.join(dir, 'warm-home');
  await withProcesses(bins, kubeconfig, warmHome, false); // fills kubectl's discovery cache for the warm runs
  const runs: Record<string, Sample[]> = {};
  const add = async (name: string, fn: () => Promise<void>): Promise<void> =>
    void (runs[name] ??= []).push(await sample(proxy, fn));
  for (let round = 0; round < ROUNDS; round++) {
    const cold = path.join(dir, `cold-${round}`);
    await add('processes, one after another, fresh HOME (a new runner)', () =>
      withProcesses(bins, kubeconfig, cold, false),
    );
    await add('processes, one after another, discovery cached', () =>
      withProcesses(bins, kubeconfig, warmHome, false),
    );
    await add('processes, side by side, discovery cached', () =>
      withProcesses(bins, kubeconfig, warmHome, true),
    );
    await add('in-process client, one after another', () => withClient(kubeconfig, false));
    await add('in-process client, side by side', () => withClient(kubeconfig, true));
  }
  const reads = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, summarize(v)]));

  const out = path.join(dir, 'bundles');
  fs.mkdirSync(path.join(out, 'entry'), { recursive: true });
  // ncc compiles with the tsconfig nearest the entry: the project's settings, with the scratch entries included.
  const tsconfig = {
    extends: path.join(root, 'tsconfig.json'),
    compilerOptions: { rootDir: '/' },
    include: ['entry', path.join(root, 'src')],
  };
  fs.writeFileSync(path.join(out, 'tsconfig.json'), JSON.stringify(tsconfig));
  fs.writeFileSync(path.join(out, 'entry', 'client.ts'), ENTRY_CLIENT);
  fs.writeFileSync(path.join(out, 'entry', 'baseline.ts'), ENTRY_BASELINE);
  const clientBytes = bundle(path.join(out, 'entry', 'client.ts'), path.join(out, 'client'));
  const baselineBytes = bundle(path.join(out, 'entry', 'baseline.ts'), path.join(out, 'baseline'));
  const direct = kube.writeKubeconfig(dir);
  const nodes = { runner: path.join(root, 'node_modules/.bin/node'), system: process.execPath };
  const startup: Record<string, unknown> = {};
  for (const [label, node] of Object.entries(nodes)) {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const samples = [];
    for (let i = 0; i < ROUNDS; i++)
      samples.push(await startUp(node, path.join(out, 'client', 'index.js'), direct, kube));
    startup[`${label} ${version}`] = {
      firstRequestMs: median(samples.map((s) => s.firstRequestMs)),
      exitMs: median(samples.map((s) => s.exitMs)),
      hwmMb: median(samples.map((s) => s.hwmMb)),
    };
  }
  const result = {
    date: new Date().toISOString(),
    rttMs: RTT,
    rounds: ROUNDS,
    reads,
    bundle: { clientBytes, baselineBytes, addedBytes: clientBytes - baselineBytes },
    startup,
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'results', 'kube-client.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(JSON.stringify(result, null, 2));
  await proxy.close();
  await kube.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
