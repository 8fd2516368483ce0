import { isIP } from 'node:net';
import * as core from '@actions/core';
import { HttpClient } from '@actions/http-client';
import { BasicCredentialHandler } from '@actions/http-client/lib/auth';
import { KubeTimeoutError, type KubeObject, type KubernetesClient } from '../clients/kubernetes.js';
import { sleep, type Deadline } from '../lib/deadline.js';
import { backoffMs } from '../lib/retry.js';
import { ActionError } from '../lib/errors.js';
import { printDiagnostics } from './diagnostics.js';

export interface ServiceObject extends KubeObject {
  spec?: { type?: string; ports?: { name?: string; port?: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface NodeObject extends KubeObject {
  status?: { addresses?: { type?: string; address?: string }[] };
}

export interface EndpointTarget {
  release: string;
  namespace: string;
  /** The ingress controller's Service, as the release named it (see releaseManifest.ts). */
  service: string;
  /** The static address's IP (static-ip): the Service's URL counts only once it shows that one. */
  loadBalancerIP?: string;
}

export interface ServerHealth {
  url: string;
  /** Undefined when the health check could not authenticate (auth-secret without web-password). */
  version: string | undefined;
  apiVersion: string | undefined;
  commit: string | undefined;
}

export interface PollOptions {
  /** Longest pause between two health checks; they start 100 ms apart and double up to it (tests shorten it). */
  pollMs?: number;
}

/** The first pause between two health checks: a fast cloud's server answers a moment after its address. */
const FIRST_PAUSE_MS = 100;

/**
 * The server URL users log in to, without credentials: the LoadBalancer's IP or hostname, or a node's
 * address and the NodePort. Undefined while the cluster has not assigned it yet.
 */
export function serverUrlFromService(
  service: ServiceObject,
  nodes: NodeObject[],
  loadBalancerIP?: string,
): string | undefined {
  const ports = service.spec?.ports ?? [];
  const http = ports.find((p) => p.name === 'http') ?? ports[0];
  if (service.spec?.type === 'NodePort') {
    const address = nodeAddress(nodes);
    return address && http?.nodePort ? `http://${hostPart(address)}:${http.nodePort}` : undefined;
  }
  const ingress = service.status?.loadBalancer?.ingress?.[0];
  const host = ingress?.ip || ingress?.hostname;
  // A Service moving to its static address shows the old one until GKE has moved its forwarding rule.
  if (!host || (loadBalancerIP !== undefined && host !== loadBalancerIP)) return undefined;
  const port = http?.port ?? 80;
  return `http://${hostPart(host)}${port === 80 ? '' : `:${port}`}`;
}

/** One look at the server a deployed release serves, taken before the plan needs it (see readAhead.ts). */
export interface EarlyEndpoint<B = never> {
  namespace: string;
  service: string;
  /** Undefined when the Service had no address yet. */
  url: string | undefined;
  /** Undefined unless the one health check answered healthy; with what was asked beside it. */
  health: (ServerHealth & { beside?: B }) | undefined;
}

/**
 * The Service's URL, and when it has one, one health check with `beside` asked at the same moment (as
 * waitForHealth does): nothing is waited for, nothing is printed.
 */
export async function lookAtEndpoint<B = never>(
  kube: KubernetesClient,
  target: Omit<EndpointTarget, 'release'>,
  auth: { username: string; password: string | undefined } | undefined,
  deadline: Deadline,
  beside?: (url: string) => Promise<B>,
): Promise<EarlyEndpoint<B>> {
  const { namespace, service: name } = target;
  const service = await kube.get<ServiceObject>('v1', 'Service', name, { namespace });
  const nodes = service?.spec?.type === 'NodePort' ? (await kube.list<NodeObject>('v1', 'Node')).items : [];
  const url = service ? serverUrlFromService(service, nodes, target.loadBalancerIP) : undefined;
  const health =
    url && auth?.password !== undefined ? await healthNow(url, auth, deadline, beside) : undefined;
  return { namespace, service: name, url, health };
}

/** One health check with a short socket timeout: the answer when healthy, else undefined. */
async function healthNow<B>(
  url: string,
  auth: { username: string; password: string | undefined },
  deadline: Deadline,
  beside: ((url: string) => Promise<B>) | undefined,
): Promise<(ServerHealth & { beside?: B }) | undefined> {
  const handlers =
    auth.password === undefined ? [] : [new BasicCredentialHandler(auth.username, auth.password)];
  const socketTimeout = Math.max(500, Math.min(2000, deadline.remainingMs()));
  const client = new HttpClient('skyha-action', handlers, { socketTimeout, allowRetries: false });
  const [answer, besideAnswer] = await Promise.all([
    healthOnce(client, `${url}/api/health`).finally(() => client.dispose()),
    beside?.(url),
  ]);
  if (answer.kind !== 'healthy') return undefined;
  return { url, ...answer.health, ...(besideAnswer !== undefined && { beside: besideAnswer }) };
}

/**
 * The login command users paste: `sky api login -e` takes basic auth only as user:password@ in the URL, so the
 * password is a placeholder they replace (never `***`, which looks like masking and fails when pasted). Without a
 * known user (an htpasswd Secret holds the logins) the user is a placeholder too. Quoted for the shell.
 */
export function loginCommand(url: string, username: string | undefined): string {
  const parsed = new URL(url);
  const user = username === undefined ? '<user>' : encodeURIComponent(username);
  return `sky api login -e '${parsed.protocol}//${user}:<password>@${parsed.host}'`;
}

/** The URL the controller Service serves at now, without waiting: undefined when it has no address (or no Service). */
export async function observeServerUrl(
  kube: KubernetesClient,
  target: Pick<EndpointTarget, 'namespace' | 'service'>,
): Promise<string | undefined> {
  const service = await kube.get<ServiceObject>('v1', 'Service', target.service, {
    namespace: target.namespace,
  });
  if (!service) return undefined;
  const nodes = service.spec?.type === 'NodePort' ? (await kube.list<NodeObject>('v1', 'Node')).items : [];
  return serverUrlFromService(service, nodes);
}

/**
 * Waits for the controller Service's address (helm 4's --wait does not) and returns the server URL: read once,
 * then watched (a watch that ends is resumed), so the address is seen the moment the cloud writes it.
 */
export async function discoverServerUrl(
  kube: KubernetesClient,
  target: EndpointTarget,
  deadline: Deadline,
): Promise<string> {
  const name = target.service;
  let last: ServiceObject | undefined;
  try {
    last = await kube.waitFor<ServiceObject>(
      'v1',
      'Service',
      name,
      (service) => {
        last = service;
        // A NodePort's URL is a node's address: listed once, when the Service says it is one.
        if (service?.spec?.type === 'NodePort') return true;
        return serverUrlFromService(service ?? {}, [], target.loadBalancerIP) !== undefined;
      },
      { namespace: target.namespace, budget: deadline, what: `the address of Service ${name}` },
    );
  } catch (error) {
    if (!(error instanceof KubeTimeoutError)) throw error;
    await printDiagnostics(kube, target.release, target.namespace, deadline);
    throw noAddress(target, last, deadline);
  }
  const nodes = last?.spec?.type === 'NodePort' ? (await kube.list<NodeObject>('v1', 'Node')).items : [];
  const url = last ? serverUrlFromService(last, nodes, target.loadBalancerIP) : undefined;
  if (!url) throw noAddress(target, last, deadline);
  return url;
}

function noAddress(
  target: EndpointTarget,
  service: ServiceObject | undefined,
  deadline: Deadline,
): ActionError {
  const name = target.service;
  const waited = Math.round(deadline.totalMs / 1000);
  return new ActionError(
    service
      ? `Service ${name} got no ${addressKind(service, target)} within ${waited}s`
      : `Service ${name} does not exist in ${target.namespace} after ${waited}s`,
    {
      hint:
        `Check \`kubectl describe service ${name} -n ${target.namespace}\`: on GKE a LoadBalancer takes 1-2 minutes and ` +
        "needs forwarding-rule quota; raise 'timeout', or use service-type NodePort where no load balancer exists",
    },
  );
}

function addressKind(service: ServiceObject, target: EndpointTarget): string {
  if (service.spec?.type === 'NodePort') return 'node address';
  return target.loadBalancerIP
    ? `LoadBalancer address at its static address ${target.loadBalancerIP} (its events say why, e.g. the IP is in use by another forwarding rule)`
    : 'LoadBalancer address';
}

/**
 * Asks `GET /api/health` with basic auth until the server says `healthy`: 100 ms after a first answer that is not,
 * then twice as long each time up to 5 s, since a load balancer and its backends come up a moment after the address.
 * `beside` is asked with every check, at the same moment: the answer given with the healthy one comes back with it,
 * so it costs no round trip of its own.
 */
export async function waitForHealth<B = never>(
  url: string,
  auth: { username: string; password: string | undefined },
  deadline: Deadline,
  options: PollOptions & { kube?: KubernetesClient; target?: EndpointTarget; beside?: () => Promise<B> } = {},
): Promise<ServerHealth & { beside?: B }> {
  const handlers =
    auth.password === undefined ? [] : [new BasicCredentialHandler(auth.username, auth.password)];
  let rejected = 0;
  let last = 'no answer yet';
  const longest = options.pollMs ?? 5000;
  let polls = 0;
  for (;;) {
    // Each poll's socket timeout is what is left of the run (10 s at most), so a silent server cannot outlast it.
    const socketTimeout = Math.max(1000, Math.min(10_000, deadline.remainingMs()));
    const client = new HttpClient('skyha-action', handlers, { socketTimeout, allowRetries: false });
    const [answer, beside] = await Promise.all([
      healthOnce(client, `${url}/api/health`).finally(() => client.dispose()),
      options.beside?.(),
    ]);
    if (answer.kind === 'healthy') return { url, ...answer.health, ...(beside !== undefined && { beside }) };
    if (answer.kind === 'unauthorized') {
      if (auth.password === undefined) {
        core.warning(
          'The server asks for credentials and no web-password was given: its health was not checked',
        );
        return { url, version: undefined, apiVersion: undefined, commit: undefined };
      }
      // A changed password reaches ingress-nginx a moment after the rollout: a few 401s in a row are final.
      if (++rejected >= 3) {
        throw new ActionError(`The server at ${url} rejects the web-username/web-password credentials`, {
          hint: 'Check that web-password is the password of the deployed auth, or that auth-secret holds a matching htpasswd line',
        });
      }
    } else rejected = 0;
    last = answer.detail;
    const pause = backoffMs(++polls, FIRST_PAUSE_MS, longest);
    if (deadline.remainingMs() <= pause) {
      if (options.kube && options.target) {
        await printDiagnostics(options.kube, options.target.release, options.target.namespace, deadline);
      }
      throw new ActionError(
        `The server at ${url} was not healthy within ${Math.round(deadline.totalMs / 1000)}s (last: ${last})`,
        {
          hint: 'The pod status, events and server logs above show why; fix the cause and rerun (the disk keeps its state)',
        },
      );
    }
    await sleep(pause);
  }
}

type HealthAnswer =
  | { kind: 'healthy'; health: Omit<ServerHealth, 'url'> }
  | { kind: 'unauthorized'; detail: string }
  | { kind: 'waiting'; detail: string };

async function healthOnce(client: HttpClient, url: string): Promise<HealthAnswer> {
  let status: number;
  let body: string;
  try {
    const response = await client.get(url, { accept: 'application/json' });
    status = response.message.statusCode ?? 0;
    body = await response.readBody();
  } catch (error) {
    return { kind: 'waiting', detail: error instanceof Error ? error.message : String(error) };
  }
  if (status === 401) return { kind: 'unauthorized', detail: 'HTTP 401' };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { kind: 'waiting', detail: `HTTP ${status}${status === 200 ? ' without JSON' : ''}` };
  }
  if (status !== 200) return { kind: 'waiting', detail: `HTTP ${status}, status ${String(parsed.status)}` };
  if (parsed.status === 'needs_auth') return { kind: 'unauthorized', detail: 'status needs_auth' };
  if (parsed.status !== 'healthy') return { kind: 'waiting', detail: `status ${String(parsed.status)}` };
  const text = (v: unknown): string | undefined =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  return {
    kind: 'healthy',
    health: {
      version: text(parsed.version),
      apiVersion: text(parsed.api_version),
      commit: text(parsed.commit),
    },
  };
}

function nodeAddress(nodes: NodeObject[]): string | undefined {
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const node of nodes) {
      const found = node.status?.addresses?.find((a) => a.type === type && a.address);
      if (found?.address) return found.address;
    }
  }
  return undefined;
}

function hostPart(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
