import * as core from '@actions/core';
import { parse as parseYaml } from 'yaml';
import { CommandError, runCommand, type CommandOptions, type CommandResult } from './command.js';
import type { Budget } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { parseJson } from '../lib/json.js';

export interface HelmOptions {
  /** Passed as --kubeconfig on every call; without it helm uses $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Extra environment for every call (tests point HELM_CACHE_HOME and friends at a temp dir). */
  env?: Record<string, string>;
  /** The run's time: each helm process is stopped when it runs out (helm's API requests have no timeout). */
  budget?: Budget;
}

/** `helm get metadata -o json` (helm 3.13+ and helm 4): the latest revision, without values or manifest. */
export interface HelmReleaseMetadata {
  name: string;
  namespace?: string;
  /** The chart's name and version as deployed. */
  chart?: string;
  version?: string;
  revision: number;
  /** deployed, failed, pending-install, pending-upgrade, ... */
  status: string;
}

/** One line of `helm history -o json`. */
export interface HelmRevision {
  revision: number;
  status: string;
  chart?: string;
  description?: string;
}

export interface UpgradeInstall {
  release: string;
  chart: string;
  namespace: string;
  version?: string;
  devel?: boolean;
  /** Chart repository URL for a chart given by bare name (`--repo`). */
  repo?: string;
  /** Values files, later ones winning. */
  valuesFiles: string[];
  /** Go duration for --timeout, e.g. `540s`. */
  timeout: string;
  /** Strings that must never reach the log even if helm echoes them. */
  secrets?: readonly string[];
}

const HELM_JSON_HINT = 'Use helm 3.13 or later';

/** How helm words its own --timeout running out (helm 3's wait, helm 4's status watcher, client-go). */
const HELM_TIMEOUT = /context deadline exceeded|timed out waiting for the condition/i;

/** The Helm client: every helm call goes through `run`, and so through runCommand. */
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

  /** Adds (or re-points) a chart repository under `name`; helm fetches its index while adding it. */
  async repoAdd(name: string, url: string): Promise<void> {
    await this.run(['repo', 'add', name, url, '--force-update']);
  }

  /** The latest revision of a release, or undefined when there is none. */
  async metadata(release: string, namespace: string): Promise<HelmReleaseMetadata | undefined> {
    const args = ['get', 'metadata', release, '--namespace', namespace, '--output', 'json'];
    const result = await this.run(args, { allowFailure: true });
    if (result.exitCode !== 0) {
      if (/release: not found/i.test(result.stderr)) return undefined;
      throw new CommandError(`helm ${args.join(' ')}`, result);
    }
    return parseJson<HelmReleaseMetadata>(result.stdout, `helm get metadata ${release}`, HELM_JSON_HINT);
  }

  /** The release's revisions, oldest first. */
  async history(release: string, namespace: string): Promise<HelmRevision[]> {
    const result = await this.run([
      'history',
      release,
      '--namespace',
      namespace,
      '--max',
      '50',
      '--output',
      'json',
    ]);
    return parseJson<HelmRevision[] | null>(result.stdout, `helm history ${release}`, HELM_JSON_HINT) ?? [];
  }

  /** The values the user supplied to the deployed revision (what -f and --set gave, merged). */
  async getValues(release: string, namespace: string): Promise<Record<string, unknown>> {
    const result = await this.run(['get', 'values', release, '--namespace', namespace, '--output', 'json']);
    return (
      parseJson<Record<string, unknown> | null>(
        result.stdout,
        `helm get values ${release}`,
        HELM_JSON_HINT,
      ) ?? {}
    );
  }

  /** The chart version `upgrade --install` would pick, read from the repository index. */
  async chartVersion(
    chart: string,
    options: { version?: string; devel?: boolean; repo?: string } = {},
  ): Promise<string> {
    const args = ['show', 'chart', chart, ...chartArgs(options)];
    const metadata = parseYaml((await this.run(args)).stdout) as { version?: unknown } | null;
    if (typeof metadata?.version !== 'string') {
      throw new ActionError(`\`helm show chart ${chart}\` printed no version`, {
        hint: 'Check the chart and helm-repo-url inputs',
      });
    }
    return metadata.version;
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

  /** `helm upgrade --install --wait`: values only through files, so no secret reaches argv. */
  async upgradeInstall(request: UpgradeInstall): Promise<void> {
    const args = ['upgrade', '--install', request.release, request.chart, '--namespace', request.namespace];
    args.push('--create-namespace', ...chartArgs(request), '--wait', '--timeout', request.timeout);
    for (const file of request.valuesFiles) args.push('--values', file);
    // Printed after the fact rather than streamed, so the redaction of secrets applies to it too.
    const result = await this.run(args, { secrets: request.secrets ?? [] });
    if (result.stdout.trim()) core.info(result.stdout.trimEnd());
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

function chartArgs(options: { version?: string; devel?: boolean; repo?: string }): string[] {
  const args: string[] = [];
  if (options.version) args.push('--version', options.version);
  if (options.devel) args.push('--devel');
  if (options.repo) args.push('--repo', options.repo);
  return args;
}
