import * as core from '@actions/core';
import type { Budget } from '../lib/deadline.js';
import { runCommand, type CommandOptions, type CommandResult } from './command.js';

export interface HelmOptions {
  /** Passed as --kubeconfig on every call; without it helm uses $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Extra environment for every call (tests point HELM_CACHE_HOME and friends at a temp dir). */
  env?: Record<string, string>;
  /** The run's time: each helm process is stopped when it runs out (helm's API requests have no timeout). */
  budget?: Budget;
}

/** Where a chart comes from, as `helm pull` and `helm upgrade` take it. */
export interface ChartRef {
  /** REPO-less chart name with `repo`, an oci:// reference, or a local path. */
  chart: string;
  version?: string;
  devel?: boolean;
  /** Chart repository URL (`--repo`), so the user's own repository list is never touched. */
  repo?: string;
}

export interface UpgradeInstall {
  release: string;
  /** A chart directory (what `pull` unpacked), so the version installed is the version planned. */
  chartDir: string;
  namespace: string;
  /**
   * Every value helm is given, already merged in helm's order: sent as JSON on standard input (`--values -`), so
   * no secret is ever in a file (which a killed run could not remove) or in argv.
   */
  values: Record<string, unknown>;
  /** Go duration for --timeout, e.g. `540s`. */
  timeout: string;
  /** Strings that must never reach the log even if helm echoes them. */
  secrets?: readonly string[];
  /** Where helm's command line and output go (default: the log now). */
  log?: (text: string) => void;
}

/** How helm words its own --timeout running out (helm 3's wait, helm 4's status watcher, client-go). */
const HELM_TIMEOUT = /context deadline exceeded|timed out waiting for the condition/i;

/**
 * The Helm client, started only to fetch a chart or to change a release (the release itself is read from its
 * storage, in-process). Every call goes through `run`, and so through runCommand.
 */
export class Helm {
  constructor(
    readonly binary: string,
    private readonly options: HelmOptions = {},
  ) {}

  run(args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const global = this.options.kubeconfig ? [`--kubeconfig=${this.options.kubeconfig}`] : [];
    const env = this.options.env || options.env ? { ...this.options.env, ...options.env } : undefined;
    const budget = options.budget ?? this.options.budget;
    return runCommand(this.binary, [...args, ...global], {
      isRequestTimeout: (result) => HELM_TIMEOUT.test(result.stderr),
      ...options,
      ...(env ? { env } : {}),
      ...(budget ? { budget } : {}),
    });
  }

  /** The same client, its processes bounded by `budget` instead (a cleanup with a budget of its own). */
  withBudget(budget: Budget): Helm {
    return new Helm(this.binary, { ...this.options, budget });
  }

  /** `--timeout` for a helm call that waits: what the client's budget leaves, less a margin (see helmTimeout). */
  timeout(): string {
    return helmTimeout(this.options.budget);
  }

  /** `v3.17.3` or `v4.1.4`. */
  async version(): Promise<string> {
    return (await this.run(['version', '--template={{.Version}}'])).stdout.trim();
  }

  /** Downloads the chart `upgrade --install` would pick and unpacks it under `dir` (as `dir/<chart name>`). */
  async pull(ref: ChartRef, dir: string): Promise<void> {
    await this.run(['pull', ref.chart, ...chartArgs(ref), '--untar', '--untardir', dir]);
  }

  /**
   * `helm template`: what the release would make with these values, rendered by the chart itself (its NOTES
   * included, so a chart that refuses the values says so here, before anything changes).
   */
  async template(request: Omit<UpgradeInstall, 'timeout'>): Promise<string> {
    const args = ['template', request.release, request.chartDir, '--namespace', request.namespace];
    args.push('--values', '-');
    const options = { secrets: request.secrets ?? [], stdin: JSON.stringify(request.values) };
    return (await this.run(args, options)).stdout;
  }

  /** `helm rollback`: a new revision with the given one's chart and values (it frees a release left pending). */
  async rollback(release: string, namespace: string, revision: number): Promise<void> {
    await this.run([
      'rollback',
      release,
      String(revision),
      '--namespace',
      namespace,
      '--timeout',
      this.timeout(),
    ]);
  }

  /** `helm uninstall --wait`: deletes what the release made, and its records. */
  async uninstall(release: string, namespace: string): Promise<void> {
    await this.run(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', this.timeout()]);
  }

  /**
   * `helm upgrade --install`: values only on standard input, so no secret reaches argv or a file. Without --wait: the action
   * watches the rollout itself, side by side with the claim and the address (helm still waits for hook Jobs).
   */
  async upgradeInstall(request: UpgradeInstall): Promise<void> {
    const args = [
      'upgrade',
      '--install',
      request.release,
      request.chartDir,
      '--namespace',
      request.namespace,
    ];
    args.push('--create-namespace', '--timeout', request.timeout, '--values', '-');
    // Printed after the fact rather than streamed, so the redaction of secrets applies to it too.
    const log = request.log ?? core.info;
    const stdin = JSON.stringify(request.values);
    const result = await this.run(args, { secrets: request.secrets ?? [], log, stdin });
    if (result.stdout.trim()) log(result.stdout.trimEnd());
  }
}

/**
 * helm's `--timeout` from what is left of the budget, less a margin (a tenth, 2-15 s) so that helm reports its
 * own timeout and records the release as failed before the budget's end stops the process.
 */
export function helmTimeout(budget: Budget | undefined, fallbackSeconds = 300): string {
  if (!budget) return `${fallbackSeconds}s`;
  const left = budget.remainingMs();
  const margin = Math.min(15_000, Math.max(2_000, left / 10));
  return `${Math.max(1, Math.floor((left - margin) / 1000))}s`;
}

function chartArgs(ref: ChartRef): string[] {
  const args: string[] = [];
  if (ref.version) args.push('--version', ref.version);
  if (ref.devel) args.push('--devel');
  if (ref.repo) args.push('--repo', ref.repo);
  return args;
}
