import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import type { RealBinaries } from '../../standins/binaries.js';
import { toolEnv } from './clients.js';

const exec = promisify(execFile);

export type Manifest = Record<string, unknown>;

/** What a helm command printed, or why it failed (helm's own stderr), without throwing. */
export interface HelmOutcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Real helm (and kubectl) with their own HOME and caches, optionally pointed at a cluster. */
export class HelmRunner {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-chart-test-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly bins: RealBinaries) {
    this.env = { PATH: process.env.PATH, ...toolEnv(this.dir) };
  }

  /** Points helm and kubectl at a cluster (helm template needs none). */
  connect(kubeconfig: string): void {
    this.env.KUBECONFIG = kubeconfig;
  }

  async run(...args: string[]): Promise<HelmOutcome> {
    return this.exec(this.bins.helm, args);
  }

  private async exec(binary: string, args: string[]): Promise<HelmOutcome> {
    try {
      const { stdout, stderr } = await exec(binary, args, { env: this.env, maxBuffer: 16 << 20 });
      return { ok: true, stdout, stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
    }
  }

  /** Real kubectl with the same HOME and kubeconfig. */
  async kubectl(...args: string[]): Promise<HelmOutcome> {
    return this.exec(this.bins.kubectl, args);
  }

  /** `helm template` of one served chart version: the objects it renders, or helm's failure. */
  async template(chart: ChartRef, release: string, set: string[] = []): Promise<Manifest[]> {
    const out = await this.run(
      'template',
      release,
      ...chartArgs(chart),
      '--namespace',
      'sky',
      ...setArgs(set),
    );
    if (!out.ok) throw new Error(`helm template failed: ${out.stderr}`);
    return parseManifests(out.stdout);
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ChartRef {
  repoUrl: string;
  name: string;
  version: string;
}

export function chartArgs(chart: ChartRef): string[] {
  return [chart.name, '--repo', chart.repoUrl, '--version', chart.version];
}

export function setArgs(set: string[]): string[] {
  return set.flatMap((s) => ['--set', s]);
}

export function parseManifests(text: string): Manifest[] {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Manifest => typeof d === 'object' && d !== null);
}

/** The one rendered object of a kind and name; fails the test when it is missing. */
export function pick(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && field(m, 'metadata.name') === name);
  if (!found) {
    const have = manifests.map((m) => `${String(m.kind)}/${String(field(m, 'metadata.name'))}`);
    throw new Error(`no ${kind} ${name} rendered; rendered: ${have.join(', ')}`);
  }
  return found;
}

export function namesOf(manifests: Manifest[], kind: string): string[] {
  return manifests.filter((m) => m.kind === kind).map((m) => String(field(m, 'metadata.name')));
}

export function field(obj: unknown, dotted: string): unknown {
  let at = obj;
  for (const part of dotted.split('.')) {
    at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined;
  }
  return at;
}

/** The pod template's first container of a Deployment or Job. */
export function container(workload: Manifest): Manifest {
  const containers = field(workload, 'spec.template.spec.containers');
  return Array.isArray(containers) ? (containers[0] as Manifest) : {};
}

/** The claim the API server Deployment mounts as its state volume, or undefined for an emptyDir. */
export function mountedClaim(deployment: Manifest): string | undefined {
  const volumes = field(deployment, 'spec.template.spec.volumes');
  const state = Array.isArray(volumes)
    ? (volumes as Manifest[]).find((v) => v.name === 'state-volume')
    : undefined;
  const claimName = field(state, 'persistentVolumeClaim.claimName');
  return typeof claimName === 'string' ? claimName : undefined;
}
