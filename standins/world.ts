import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { realBinaries, type HelmFlavour } from './binaries.js';
import { linkedToCompute } from './cloudLink.js';
import { crashingImages, startChartRepo, type ChartRepo, type ChartRepoOptions } from './chartRepo.js';
import { startComputeStandIn, type ComputeStandIn, type ComputeStandInOptions } from './compute/index.js';
import { startDownloadSite, type DownloadSite } from './downloads.js';
import { freeNodePort, freePort, hostNetwork, portIsFree, type NetworkMode } from './hostNetwork.js';
import { startKubeStandIn, type KubeStandIn, type KubeStandInOptions } from './kubernetes/index.js';
import { startLatencyProxy, type LatencyProxy } from './latency.js';
import { startAction, type ActionRun, type RunningAction } from './runner.js';
import YAML from 'yaml';

// Everything the action talks to, on this machine: Google Compute (with the workload identity token exchange),
// a GKE cluster's API server with its ingress, the tool download sites and the SkyPilot chart repository.
// Used by the end-to-end tests, the benchmarks and the demo alike.

export const WORLD = { project: 'standin-project', zone: 'us-east5-b', password: 'demo-Pa55word!' } as const;

/** The tool versions each helm flavour's real binaries are served as. */
export const TOOL_VERSIONS: Record<HelmFlavour, { helm: string; kubectl: string }> = {
  helm4: { helm: '4.1.4', kubectl: '1.35.2' },
  helm3: { helm: '3.17.3', kubectl: '1.31.9' },
};

export interface LocalWorld {
  flavour: HelmFlavour;
  compute: ComputeStandIn;
  kube: KubeStandIn;
  downloads: DownloadSite;
  charts: ChartRepo;
  /** One runner: its tool cache and temp dir survive between runs, as on a real self-hosted runner. */
  runnerDir: string;
  /** The inputs of a deploy against this world; override any. */
  inputs(overrides?: Record<string, string>): Record<string, string>;
  /** The environment an earlier auth step and a kubeconfig step would leave. */
  env(): Record<string, string>;
  /** Makes `dir` a run's GITHUB_WORKSPACE: writes what this machine's network mode needs there; returns it. */
  workspace(dir: string): string;
  /** Runs the bundled action as the runner does, in this world. */
  run(overrides?: Record<string, string>, extraEnv?: Record<string, string>): Promise<ActionRun>;
  /** Starts a run without waiting for it (to cancel or kill it midway); `runnerDir` for another runner. */
  start(
    overrides?: Record<string, string>,
    extraEnv?: Record<string, string>,
    options?: { runnerDir?: string; timeoutMs?: number },
  ): RunningAction;
  /**
   * The cluster is lost: its API server is thrown away and a brand-new empty one (with `replacement` options) takes
   * its place. GKE deletes the lost cluster's load balancers (their addresses are released) unless
   * `loss.leaveForwardingRules`: a dead cluster whose forwarding rules GKE did not clean up keeps its addresses.
   */
  loseCluster(replacement?: KubeStandInOptions, loss?: ClusterLoss): Promise<void>;
  /** The latency proxies the action goes through, when the world was started with `latencyMs`. */
  latency?: WorldLatency;
  /** How the server is reached on this machine (see hostNetwork.ts). */
  network: WorldNetwork;
  close(): Promise<void>;
}

/** How a cluster is lost. */
export interface ClusterLoss {
  /** Its load balancers' forwarding rules stay behind, holding their addresses (default false). */
  leaveForwardingRules?: boolean;
}

/** The server URL's shape on this machine, and what the world adds to every run's inputs to get it. */
export interface WorldNetwork {
  mode: NetworkMode;
  /** One line: the mode and why; the demo and the tests print it first. */
  summary: string;
  /** The controller Service's http port (high-port) or node port (single-address) on the current cluster. */
  readonly port: number | undefined;
  /** What every server URL of the current cluster matches. */
  serverUrlPattern(): RegExp;
}

/** Round-trip times (ms) to put in front of the stand-ins; the action then reaches them only through proxies. */
export interface LatencyOptions {
  compute: number;
  kube: number;
  /** The chart repository helm downloads from (default: no proxy). */
  charts?: number;
}

export interface WorldLatency {
  /** Compute API and the STS token exchange. */
  compute: LatencyProxy;
  /** The current cluster's API server (a lost cluster's replacement gets a new proxy, as it has a new address). */
  readonly kube: LatencyProxy;
  charts?: LatencyProxy;
}

export interface WorldOptions {
  flavour?: HelmFlavour;
  /**
   * The clusters' options (a lost cluster's replacement too). By default they are linked to the world's Compute
   * project (standins/cloudLink.ts): a load balancer that asks for an address gets a reserved Compute address that
   * no other forwarding rule holds, and the SkyPilot server reads the state of the disk its volume names; and the
   * images of the chart repository's broken versions crash (chartRepo.ts, crashingImages).
   */
  kube?: KubeStandInOptions;
  compute?: ComputeStandInOptions;
  /** Route the action through latency proxies (see standins/latency.ts), e.g. { compute: 40, kube: 15 }. */
  latencyMs?: LatencyOptions;
  /** The network mode, instead of the one this machine allows (to test a mode anywhere). */
  network?: NetworkMode;
  /** The chart repository's variant (e.g. without hook Jobs, as a fast cloud's lighter chart). */
  charts?: ChartRepoOptions;
}

export async function startLocalWorld(options: WorldOptions = {}): Promise<LocalWorld> {
  const flavour = options.flavour ?? 'helm4';
  const binaries = await realBinaries(flavour);
  const [compute, downloads, charts] = await Promise.all([
    startComputeStandIn(options.compute),
    startDownloadSite(),
    startChartRepo(binaries.helm, options.charts),
  ]);
  const runnerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-world-'));
  const network = await startWorldNetwork(options.network, runnerDir);
  const secrets = path.join(runnerDir, 'secrets');
  fs.mkdirSync(secrets, { recursive: true });
  const { computeProxy, chartsProxy } = await startProxies(options.latencyMs, compute.url, charts);
  const cluster = await startWorldCluster(
    { ...options, kube: { ...linkedToCompute(compute), crashingImages: crashingImages(), ...options.kube } },
    secrets,
    network,
  );
  // The token exchange goes through the Compute proxy too: on a runner it is one more round trip to Google.
  const credentials = throughProxy(
    compute.writeExternalAccountCredentials(secrets),
    compute.url,
    computeProxy,
  );
  const world: LocalWorld = {
    flavour,
    compute,
    get kube() {
      return cluster.kube;
    },
    downloads,
    charts,
    runnerDir,
    network,
    inputs: (overrides = {}) =>
      network.withInputs({
        project: WORLD.project,
        zone: WORLD.zone,
        'compute-endpoint': computeProxy?.url ?? compute.url,
        'helm-repo-url': chartsProxy?.url ?? charts.url,
        'tools-mirror': downloads.mirror,
        'helm-version': TOOL_VERSIONS[flavour].helm,
        'kubectl-version': TOOL_VERSIONS[flavour].kubectl,
        'gcloud-version': 'none',
        'web-password': WORLD.password,
        timeout: '3m',
        ...overrides,
      }),
    env: () => ({ GOOGLE_APPLICATION_CREDENTIALS: credentials, KUBECONFIG: cluster.kubeconfig }),
    run: (overrides = {}, extraEnv = {}) => world.start(overrides, extraEnv).done,
    start: (overrides = {}, extraEnv = {}, options = {}) =>
      startAction({
        inputs: world.inputs(overrides),
        env: { ...world.env(), ...extraEnv },
        runnerDir: network.workspace(options.runnerDir ?? runnerDir),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      }),
    workspace: (dir) => network.workspace(dir),
    loseCluster: (replacement = {}, loss = {}) => cluster.lose(replacement, loss),
    close: async () => {
      await Promise.all([computeProxy?.close(), chartsProxy?.close()]);
      await Promise.all([cluster.close(), compute.close(), downloads.close(), charts.close()]);
      fs.rmSync(runnerDir, { recursive: true, force: true });
    },
  };
  if (computeProxy && cluster.proxy) {
    world.latency = {
      compute: computeProxy,
      get kube() {
        return cluster.proxy!;
      },
      ...(chartsProxy ? { charts: chartsProxy } : {}),
    };
  }
  return world;
}

/** The world's current cluster: its API server, the proxy in front of it, the kubeconfig that reaches it. */
interface WorldCluster {
  readonly kube: KubeStandIn;
  readonly proxy: LatencyProxy | undefined;
  readonly kubeconfig: string;
  lose(replacement: KubeStandInOptions, loss: ClusterLoss): Promise<void>;
  close(): Promise<void>;
}

async function startWorldCluster(
  options: WorldOptions,
  secrets: string,
  network: StartedNetwork,
): Promise<WorldCluster> {
  const kubeOptions: KubeStandInOptions = {
    nodeZone: WORLD.zone,
    ...options.kube,
  };
  const rttMs = options.latencyMs?.kube;
  const proxyTo = async (kube: KubeStandIn): Promise<LatencyProxy | undefined> =>
    rttMs === undefined ? undefined : startLatencyProxy({ target: kube.url, rttMs });
  const kubeconfigOf = (kube: KubeStandIn, proxy: LatencyProxy | undefined): string =>
    throughProxy(kube.writeKubeconfig(fs.mkdtempSync(path.join(secrets, 'kube-'))), kube.url, proxy);
  let kube = await startKubeStandIn(kubeOptions);
  let proxy = await proxyTo(kube);
  let kubeconfig = kubeconfigOf(kube, proxy);
  return {
    get kube() {
      return kube;
    },
    get proxy() {
      return proxy;
    },
    get kubeconfig() {
      return kubeconfig;
    },
    async lose(replacement, loss) {
      if (!loss.leaveForwardingRules) kube.releaseLoadBalancers();
      await kube.close();
      kube = await startKubeStandIn({ ...kubeOptions, ...replacement });
      await network.newCluster();
      // A new cluster has a new address, so a new proxy.
      await proxy?.close();
      proxy = await proxyTo(kube);
      kubeconfig = kubeconfigOf(kube, proxy);
    },
    close: async () => {
      await proxy?.close();
      await kube.close();
    },
  };
}

/** The Compute and chart repository proxies, when the world has latency (the cluster's is per cluster). */
async function startProxies(
  latencyMs: LatencyOptions | undefined,
  computeUrl: string,
  charts: ChartRepo,
): Promise<{ computeProxy: LatencyProxy | undefined; chartsProxy: LatencyProxy | undefined }> {
  const computeProxy =
    latencyMs && (await startLatencyProxy({ target: computeUrl, rttMs: latencyMs.compute }));
  const chartsProxy =
    latencyMs?.charts === undefined
      ? undefined
      : await startLatencyProxy({ target: charts.url, rttMs: latencyMs.charts });
  // helm downloads the chart from the index's absolute URL: through the proxy, like the index itself.
  if (chartsProxy) charts.serveThrough(chartsProxy.url);
  return { computeProxy: computeProxy || undefined, chartsProxy };
}

const announced = new Set<string>();

/** The values file each run's workspace holds, named in `values-files` ahead of any file a caller gives. */
const NETWORK_VALUES = 'standin-network-values.yaml';

interface StartedNetwork extends WorldNetwork {
  /** A run's inputs with what this mode needs: the network values file, the NodePort service type. */
  withInputs(inputs: Record<string, string>): Record<string, string>;
  /** Writes the network values file into a run's workspace (GITHUB_WORKSPACE = its runner dir); returns the dir. */
  workspace(dir: string): string;
  /**
   * A cluster replaced the lost one. Its load balancers keep the port (GKE serves every one on 80: a new cluster's URL
   * differs by its address alone, and a static address keeps it); on 127.0.0.1 a new NodePort makes the URL new.
   */
  newCluster(): Promise<void>;
}

/**
 * The action runs unchanged in every mode: the port is chart values in a file of the workspace (values-files
 * must lie inside GITHUB_WORKSPACE), and the action finds the URL, port included, from the Service.
 */
async function startWorldNetwork(
  forced: NetworkMode | undefined,
  runnerDir: string,
): Promise<StartedNetwork> {
  const { mode, summary } = await hostNetwork(forced);
  // Said once per process, first: the demo's and the tests' output shows which mode they ran in.
  if (!announced.has(summary)) console.log(summary);
  announced.add(summary);
  const used = new Set<number>();
  const pick = async (): Promise<number | undefined> => {
    if (mode === 'privileged-port') return undefined;
    const port = mode === 'high-port' ? await freePort() : await freeNodePort(used);
    used.add(port);
    return port;
  };
  let port = await pick();
  const values = (): string => {
    const service = mode === 'high-port' ? { ports: { http: port } } : { nodePorts: { http: port } };
    return YAML.stringify({ 'ingress-nginx': { controller: { service } } });
  };
  const network: StartedNetwork = {
    mode,
    summary,
    get port() {
      return port;
    },
    serverUrlPattern: () => {
      if (mode === 'single-address') return new RegExp(`^http://127\\.0\\.0\\.1:${port}$`);
      return new RegExp(`^http://127\\.\\d+\\.\\d+\\.\\d+${port === undefined ? '' : `:${port}`}$`);
    },
    withInputs: (inputs) => {
      if (port === undefined) return inputs;
      const given = inputs['values-files'] ?? '';
      return {
        ...(mode === 'single-address' ? { 'service-type': 'NodePort' } : {}),
        ...inputs,
        // First, so that a caller's own values files can still override it.
        'values-files': given.trim() ? `${NETWORK_VALUES}\n${given}` : NETWORK_VALUES,
      };
    },
    workspace: (dir) => {
      if (port === undefined) return dir;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, NETWORK_VALUES), values());
      return dir;
    },
    newCluster: async () => {
      if (mode === 'high-port' && port !== undefined && (await portIsFree(port))) return;
      port = await pick();
    },
  };
  network.workspace(runnerDir);
  return network;
}

/** Rewrites a credentials file or kubeconfig to reach its stand-in through the proxy (same file, same mode). */
function throughProxy(file: string, standInUrl: string, proxy: LatencyProxy | undefined): string {
  if (!proxy) return file;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split(standInUrl).join(proxy.url));
  return file;
}
