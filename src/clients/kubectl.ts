import { runCommand, type CommandOptions, type CommandResult } from './command.js';
import type { Budget } from '../lib/deadline.js';
import { parseJson } from '../lib/json.js';

/** The parts of a Kubernetes object every caller reads; the rest stays untyped JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
  };
  [key: string]: unknown;
}

export interface KubectlOptions {
  /** Passed as --kubeconfig on every call; without it kubectl uses $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Extra environment for every call (tests give kubectl its own HOME for the discovery cache). */
  env?: Record<string, string>;
  /** Per-request limit in seconds, so one hung API call cannot eat the whole deadline; default 30. */
  requestTimeoutSeconds?: number;
  /** The run's time: each call gets what is left of it (and never a longer --request-timeout). */
  budget?: Budget;
}

export type PatchType = 'json' | 'merge';

/** The field manager that owns what the action applies, so server-side apply can tell our fields from others'. */
const FIELD_MANAGER = 'skyha-action';

const KUBECTL_JSON_HINT =
  'Check that kubectl is a real kubectl and the kubeconfig points at a Kubernetes API server';

/** The Kubernetes client: every kubectl call goes through `run`, and so through runCommand. */
export class Kubectl {
  constructor(
    readonly binary: string,
    private readonly options: KubectlOptions = {},
  ) {}

  /** The same client, its calls bounded by `budget` instead (diagnostics after a failure, a cleanup). */
  withBudget(budget: Budget): Kubectl {
    return new Kubectl(this.binary, { ...this.options, budget });
  }

  /** Runs kubectl with the kubeconfig and a request timeout (never past the budget) added to `args`. */
  run(args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const budget = options.budget ?? this.options.budget;
    const global = [`--request-timeout=${requestTimeout(this.options.requestTimeoutSeconds ?? 30, budget)}`];
    if (this.options.kubeconfig) global.push(`--kubeconfig=${this.options.kubeconfig}`);
    const env = this.options.env || options.env ? { ...this.options.env, ...options.env } : undefined;
    return runCommand(this.binary, [...global, ...args], {
      isRequestTimeout: (result) => KUBECTL_TIMEOUT.test(result.stderr),
      ...options,
      ...(env ? { env } : {}),
      ...(budget ? { budget } : {}),
    });
  }

  /** One object as JSON, or undefined when it does not exist (other failures throw with kubectl's stderr). */
  async getJson<T extends KubeObject = KubeObject>(
    resource: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const args = ['get', resource, name, ...namespaceArgs(namespace), '-o', 'json', '--ignore-not-found'];
    const result = await this.run(args);
    return result.stdout.trim()
      ? parseJson<T>(result.stdout, `kubectl get ${resource} ${name}`, KUBECTL_JSON_HINT)
      : undefined;
  }

  /** The items of a list, optionally narrowed by a label selector. */
  async list<T extends KubeObject = KubeObject>(
    resource: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const args = ['get', resource, ...namespaceArgs(namespace), '-o', 'json'];
    if (labelSelector) args.push(`--selector=${labelSelector}`);
    const result = await this.run(args);
    const list = parseJson<{ items?: T[] }>(result.stdout, `kubectl get ${resource}`, KUBECTL_JSON_HINT);
    return list.items ?? [];
  }

  /**
   * Server-side apply of one object, sent on standard input so no value (a Secret's data) reaches argv.
   * `secrets` are redacted from anything kubectl prints, in plain and base64 form.
   */
  async apply<T extends KubeObject = KubeObject>(
    manifest: KubeObject,
    options: { secrets?: readonly string[]; forceConflicts?: boolean } = {},
  ): Promise<T> {
    const args = ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-', '-o', 'json'];
    if (options.forceConflicts) args.push('--force-conflicts');
    const secrets = (options.secrets ?? []).flatMap((s) => [s, Buffer.from(s).toString('base64')]);
    const result = await this.run(args, { stdin: JSON.stringify(manifest), secrets });
    return parseJson<T>(result.stdout, `kubectl apply ${describe(manifest)}`, KUBECTL_JSON_HINT);
  }

  /** A JSON patch (RFC 6902, with `test` guards) or a JSON merge patch of one object. */
  async patch<T extends KubeObject = KubeObject>(
    resource: string,
    name: string,
    patch: unknown,
    type: PatchType,
    namespace?: string,
  ): Promise<T> {
    const args = ['patch', resource, name, ...namespaceArgs(namespace), `--type=${type}`];
    args.push(`--patch=${JSON.stringify(patch)}`, `--field-manager=${FIELD_MANAGER}`, '-o', 'json');
    const result = await this.run(args);
    return parseJson<T>(result.stdout, `kubectl patch ${resource} ${name}`, KUBECTL_JSON_HINT);
  }

  /** The last lines a workload logged; failures become a line of text because this only feeds diagnostics. */
  async logs(target: string, namespace: string, tail = 50): Promise<string> {
    const result = await this.run(
      ['logs', target, '-n', namespace, `--tail=${tail}`, '--all-containers=true'],
      {
        allowFailure: true,
      },
    );
    return result.exitCode === 0
      ? result.stdout
      : `(no logs: ${result.stderr.trim() || `exit ${result.exitCode}`})`;
  }
}

/** How kubectl (client-go) words a request that got no answer within --request-timeout. */
const KUBECTL_TIMEOUT =
  /Client\.Timeout exceeded|context deadline exceeded|i\/o timeout|TLS handshake timeout|the server was unable to return a response in the time allotted/i;

/** The per-request cap, or what is left of the budget when that is less (whole seconds, at least 1). */
function requestTimeout(capSeconds: number, budget: Budget | undefined): string {
  const left = budget ? Math.floor(budget.remainingMs() / 1000) : Infinity;
  return `${Math.max(1, Math.min(capSeconds, left))}s`;
}

function namespaceArgs(namespace: string | undefined): string[] {
  return namespace ? ['-n', namespace] : [];
}

function describe(manifest: KubeObject): string {
  const namespace = manifest.metadata?.namespace ? `${manifest.metadata.namespace}/` : '';
  return `${manifest.kind ?? 'object'} ${namespace}${manifest.metadata?.name ?? ''}`;
}
