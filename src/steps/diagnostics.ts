import * as core from '@actions/core';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import { budgetOf, type Budget, type Deadline } from '../lib/deadline.js';
import { describeError } from '../lib/errors.js';
import { at } from '../lib/json.js';

/** Diagnostics explain a failure; they never get more than this, and never pass the run's end. */
export const DIAGNOSTICS_MS = 20_000;

/**
 * What a user needs when the rollout fails: pods, services, claims, recent events and the server's last log
 * lines, within a budget of their own (the run's time is usually what ran out).
 */
export async function printDiagnostics(
  kube: KubernetesClient,
  release: string,
  namespace: string,
  deadline: Deadline | undefined,
): Promise<void> {
  const budget = deadline ? deadline.grace(DIAGNOSTICS_MS) : budgetOf(DIAGNOSTICS_MS);
  const scope = { namespace, budget };
  // Not a group of its own: it is printed inside the step that failed.
  core.info(`--- Diagnostics for ${release} in ${namespace}`);
  try {
    const [pods, services, claims, events] = await Promise.all([
      kube.list('v1', 'Pod', scope),
      kube.list('v1', 'Service', scope),
      kube.list('v1', 'PersistentVolumeClaim', scope),
      kube.list('v1', 'Event', scope),
    ]);
    core.info(`--- pods\n${table(pods.items, podRow)}`);
    core.info(`--- services\n${table(services.items, serviceRow)}`);
    core.info(`--- claims\n${table(claims.items, claimRow)}`);
    // A busy namespace has hundreds of events: the newest 20.
    core.info(`--- recent events\n${table(newest(events.items, 20), eventRow)}`);
    await printServerLogs(kube, release, pods.items, scope);
  } catch (error) {
    core.info(`(could not collect diagnostics: ${describeError(error)})`);
  }
}

/**
 * The API server is the release's Deployment that mounts a claim (found, not named); its pods are those of its
 * selector, and their logs are read, never followed.
 */
async function printServerLogs(
  kube: KubernetesClient,
  release: string,
  pods: KubeObject[],
  scope: { namespace: string; budget: Budget },
): Promise<void> {
  const all = (await kube.list('apps/v1', 'Deployment', scope)).items;
  // The one that mounts the state claim; else (a release that lost its claim volume) the namespace's only one.
  const withClaim = all.filter(mountsClaim);
  const deployments = withClaim.length ? withClaim : all.length === 1 ? all : [];
  const server =
    deployments.find((d) => d.metadata?.labels?.['app.kubernetes.io/instance'] === release) ?? deployments[0];
  const name = server?.metadata?.name;
  const selector = at(server, 'spec', 'selector', 'matchLabels') as Record<string, string> | undefined;
  const mine = selector
    ? pods.filter((p) => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v))
    : [];
  if (!mine.length) {
    const header = server ? `deploy/${name}` : 'the API server';
    const why = server ? `no pod of deploy/${name} exists, so no logs` : 'no Deployment mounts a claim';
    core.info(`--- last log lines of ${header}\n(${why})`);
    return;
  }
  for (const pod of mine) {
    const podName = pod.metadata?.name ?? '';
    for (const container of containerNames(pod)) {
      const lines = await kube
        .podLogs(podName, { ...scope, container, tailLines: 50 })
        .catch((error: unknown) => `(no logs: ${describeError(error)})`);
      core.info(
        `--- last log lines of deploy/${name} (pod ${podName}, ${container})\n${lines.trimEnd() || '(empty)'}`,
      );
    }
  }
}

function mountsClaim(deployment: KubeObject): boolean {
  const volumes = at(deployment, 'spec', 'template', 'spec', 'volumes');
  return Array.isArray(volumes) && volumes.some((v) => at(v, 'persistentVolumeClaim') !== undefined);
}

function containerNames(pod: KubeObject): string[] {
  const containers = at(pod, 'spec', 'containers');
  return Array.isArray(containers) ? containers.map((c) => String(at(c, 'name') ?? '')).filter(Boolean) : [];
}

function table(items: KubeObject[], row: (item: KubeObject) => string[]): string {
  if (!items.length) return '(none)';
  const rows = items.map(row);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function podRow(pod: KubeObject): string[] {
  const statuses =
    (at(pod, 'status', 'containerStatuses') as Array<Record<string, unknown>> | undefined) ?? [];
  const ready = statuses.filter((s) => s.ready === true).length;
  const restarts = statuses.reduce((sum, s) => sum + Number(s.restartCount ?? 0), 0);
  return [
    pod.metadata?.name ?? '',
    String(at(pod, 'status', 'phase') ?? 'Unknown'),
    `ready ${ready}/${containerNames(pod).length}`,
    `restarts ${restarts}`,
    `node ${String(at(pod, 'spec', 'nodeName') ?? '<none>')}`,
  ];
}

function serviceRow(service: KubeObject): string[] {
  const ingress = at(service, 'status', 'loadBalancer', 'ingress') as
    Array<Record<string, string>> | undefined;
  const address = ingress?.map((i) => i.ip ?? i.hostname).join(',') || '<pending>';
  const ports = (at(service, 'spec', 'ports') as Array<Record<string, unknown>> | undefined) ?? [];
  return [
    service.metadata?.name ?? '',
    String(at(service, 'spec', 'type') ?? ''),
    `external ${at(service, 'spec', 'type') === 'LoadBalancer' ? address : '<none>'}`,
    ports.map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}`).join(','),
  ];
}

function claimRow(claim: KubeObject): string[] {
  return [
    claim.metadata?.name ?? '',
    String(at(claim, 'status', 'phase') ?? 'Pending'),
    `volume ${String(at(claim, 'spec', 'volumeName') || '<none>')}`,
    `class ${String(at(claim, 'spec', 'storageClassName') ?? '<default>')}`,
  ];
}

function eventRow(event: KubeObject): string[] {
  const object = `${String(at(event, 'involvedObject', 'kind') ?? '')}/${String(at(event, 'involvedObject', 'name') ?? '')}`;
  return [
    String(at(event, 'type') ?? ''),
    String(at(event, 'reason') ?? ''),
    object,
    String(at(event, 'message') ?? ''),
  ];
}

function newest(events: KubeObject[], count: number): KubeObject[] {
  const time = (e: KubeObject): string =>
    String(at(e, 'lastTimestamp') ?? at(e, 'eventTime') ?? e.metadata?.['creationTimestamp'] ?? '');
  return [...events].sort((a, b) => time(a).localeCompare(time(b))).slice(-count);
}
