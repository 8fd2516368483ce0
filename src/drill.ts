import * as core from '@actions/core';
import type { Config } from './config/config.js';
import { Deadline, sleep } from './lib/deadline.js';
import { httpStatus } from './clients/compute.js';
import { isKubeReason, type KubernetesClient } from './clients/kubernetes.js';
import { ActionError, describeError, TakenError } from './lib/errors.js';
import { isRefusal, refusalError } from './lib/plan.js';
import { utcMinute } from './lib/time.js';
import { planAdvice, planStep, type Report } from './report.js';
import { applyRunbook } from './runbook/apply.js';
import { connectToCluster, type Cluster, type Prepared } from './runbook/cluster.js';
import { observeRunbook } from './runbook/observe.js';
import { planRunbook, projectedDiskFacts, refuseIfAny, reportRunbookPlan } from './runbook/plan.js';
import {
  describeDiskPlan,
  diskResourcePath,
  labelValue,
  observeDisk,
  planDisk,
  MANAGED_BY_LABEL,
  type DiskPlan,
  type DiskTarget,
  type ObservedDisk,
} from './steps/disk.js';
import { newestReadySnapshot, observeSnapshotsOf, type SnapshotFacts } from './steps/diskSource.js';
import { deleteDrillResource } from './steps/drillCleanup.js';
import {
  drillResourceLines,
  observeDrillResources,
  planDrillResources,
  type DrillResources,
} from './steps/drillResources.js';
import { mergeValues } from './steps/helmRelease.js';
import { observePersistentVolume } from './steps/persistentVolume.js';
import { snapshotDisk } from './steps/snapshot.js';

const DRILL_LABEL = 'skyha-drill';
const CLEANUP_MS = 5 * 60_000;
const HELM_RELEASE_LIMIT = 53;

/** Names of everything a drill creates: derived from the run, so they can never be production's. */
interface DrillNames {
  runId: string;
  snapshot: string;
  disk: string;
  pv: string;
  release: string;
  namespace: string;
  labels: Record<string, string>;
}

function drillNames(config: Config, env: NodeJS.ProcessEnv = process.env): DrillNames {
  const runId = labelValue(`${env.GITHUB_RUN_ID ?? Date.now()}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`);
  const gceName = (base: string): string =>
    `${base.slice(0, 62 - runId.length - 7)}-drill-${runId}`.replace(/-+$/, '');
  return {
    runId,
    snapshot: gceName(config.disk.name),
    disk: gceName(config.disk.name),
    pv: `${config.pvName.slice(0, 200)}-drill-${runId}`,
    release: drillRelease(config.release.name),
    // The run in the namespace: a later drill on the same cluster never collides with one left behind.
    namespace: `${config.release.namespace.slice(0, 63 - runId.length - 7)}-drill-${runId}`,
    labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value, [DRILL_LABEL]: runId },
  };
}

/** Helm allows 53 characters: `-drill` is appended up to that, and past it replaces the name's end. */
export function drillRelease(release: string): string {
  const suffix = '-drill';
  const kept = release.slice(0, HELM_RELEASE_LIMIT - suffix.length).replace(/-+$/, '');
  return `${kept}${suffix}`;
}

/** What a drill starts from: the production disk (only read and snapshotted) and the drill's own names. */
interface DrillContext {
  config: Config;
  deadline: Deadline;
  report: Report;
  prepared: Prepared;
  names: DrillNames;
  production: ObservedDisk;
  drillTarget: DiskTarget;
  snapshotPath: string;
  /** `disk-source-snapshot: latest`: the drill restores the newest existing snapshot instead of taking one. */
  existing: SnapshotFacts | undefined;
  /** What this run created (or began to), so the cleanup never touches what another run made. */
  made: Set<DrillPart>;
}

type DrillPart = 'release' | 'volume' | 'namespace' | 'disk' | 'snapshot';

/**
 * A disaster-recovery drill that never touches production: snapshot the state disk (only read and snapshotted),
 * restore the snapshot to a drill disk, deploy a drill release on it, check health, and report.
 */
export async function runDrill(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
): Promise<void> {
  const { production, plan } = await observeProduction(config, deadline, report, prepared);
  planStep(report, 'disk', config.disk.name, `${describeDiskPlan(plan)} (only read and snapshotted)`);
  planAdvice(report, plan);
  const existing = config.disk.fromLatestSnapshot
    ? await newestSnapshotOf(prepared, production, deadline)
    : undefined;
  // Reach the cluster before creating anything, so a bad cluster input leaves no drill disk behind.
  const cluster = await connectToCluster(config, report.tools!, deadline);
  const ctx = drillContext(config, deadline, report, prepared, production, existing);
  // Refused before anything exists: there is nothing of this run's to clean up.
  await refuseTakenNames(ctx, cluster.kube);
  try {
    await restoreDrill(ctx, cluster);
  } finally {
    // A drill usually fails by running out of time: its cleanup gets a budget of its own.
    if (config.drillCleanup) await cleanUpDrill(ctx, cluster, new Deadline(CLEANUP_MS));
  }
}

/** The drill's own names, looked for before anything is created: any that is taken stops the drill. */
async function refuseTakenNames(ctx: DrillContext, kube: KubernetesClient): Promise<void> {
  const { names, prepared, report, deadline } = ctx;
  const wanted: DrillResources = {
    runId: names.runId,
    runLabel: DRILL_LABEL,
    project: prepared.target.project,
    snapshot: names.snapshot,
    disk: ctx.drillTarget,
    volume: names.pv,
    namespace: names.namespace,
  };
  const observed = await observeDrillResources(prepared.compute, kube, wanted, deadline);
  // With `latest`, the snapshot is production's own: only the drill's own names must be free.
  const relevant = ctx.existing ? { ...observed, snapshot: undefined } : observed;
  // Only what is taken is printed here; what is free is printed as it is created.
  for (const line of drillResourceLines(wanted, relevant).filter((l) => l.taken))
    planStep(report, line.step, line.resource, line.action);
  const plan = planDrillResources(wanted, relevant);
  if (isRefusal(plan)) throw refusalError(plan);
}

/** The production disk, planned as a deploy would use it (for its warnings); a drill never changes it. */
async function observeProduction(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
): Promise<{ production: ObservedDisk; plan: Exclude<DiskPlan, { action: 'refuse' | 'create' }> }> {
  const { compute, target } = prepared;
  const [tools, production] = await Promise.all([prepared.tools, observeDisk(compute, target, deadline)]);
  report.tools = tools;
  if (!production) {
    throw new ActionError(
      `There is no disk ${target.name} in ${target.replicaZones.length ? target.region : target.zone} to drill`,
      {
        hint: 'A drill restores the production state disk: run a deploy first, or check disk-name, zone and project',
      },
    );
  }
  // A drill reads disk-source-snapshot itself (latest picks what it restores): not a note about production's disk.
  const asDeployed = { ...target, fromLatestSnapshot: false, startEmpty: false };
  const plan = planDisk(asDeployed, production, { attachedElsewhereIsExpected: true });
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action !== 'use') throw new ActionError(`Disk ${target.name} vanished while it was read`);
  return { production, plan };
}

/** What a lost disk would come back from: the newest READY snapshot of production. None: stop before any change. */
async function newestSnapshotOf(
  prepared: Prepared,
  production: ObservedDisk,
  deadline: Deadline,
): Promise<SnapshotFacts> {
  // The same snapshots a recovery with `latest` would choose from: of a disk of this name in any zone of the region.
  const disk = { project: prepared.target.project, name: production.name, region: prepared.target.region };
  const snapshots = await observeSnapshotsOf(prepared.compute, disk, deadline);
  const newest = newestReadySnapshot(snapshots, disk);
  if (!newest) {
    throw new ActionError(`Disk ${production.resourcePath} has no READY snapshot to drill on`, {
      hint: 'Nothing was changed. Give it a snapshot-schedule, or drill without disk-source-snapshot (the drill then takes a snapshot)',
    });
  }
  return newest;
}

function drillContext(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
  production: ObservedDisk,
  existing: SnapshotFacts | undefined,
): DrillContext {
  const names = drillNames(config);
  const { target } = prepared;
  const snapshotPath =
    existing?.resourcePath ?? `projects/${target.project}/global/snapshots/${names.snapshot}`;
  const drillTarget: DiskTarget = {
    ...target,
    name: names.disk,
    sizeGb: Math.max(production.sizeGb, existing?.diskSizeGb ?? 0),
    fromLatestSnapshot: false,
    createDisk: 'if-absent',
    type: production.type,
    sourceSnapshot: snapshotPath,
    labels: names.labels,
    description: `Disaster-recovery drill ${names.runId} of ${production.resourcePath} (skyha-action)`,
  };
  const made = new Set<DrillPart>();
  return { config, deadline, report, prepared, names, production, drillTarget, snapshotPath, existing, made };
}

/**
 * The recovery, on a copy: snapshot the state disk, then the very runbook a recovery runs (disk, volume, claim,
 * release, URL and health) with the drill's own disk (from the snapshot), volume, release and namespace.
 */
async function restoreDrill(ctx: DrillContext, cluster: Cluster): Promise<void> {
  const { deadline, report, prepared, names, production } = ctx;
  await drillSource(ctx);
  const drill = drillConfig(ctx);
  // Everything the drill's runbook creates must be new: a name taken meanwhile is refused, never used.
  const copy: Prepared = { ...prepared, target: ctx.drillTarget, ownOnly: true };
  const { observed } = await observeRunbook(drill, deadline, copy, report, cluster);
  const plan = planRunbook(drill, observed);
  reportRunbookPlan(report, drill, plan, observed);
  await refuseIfAny(drill, cluster, plan);
  for (const part of ['disk', 'volume', 'release'] as const) ctx.made.add(part);
  const makeNamespace = (): Promise<void> => createNamespace(ctx, cluster.kube);
  await applyRunbook(
    drill,
    deadline,
    { prepared: copy, cluster, report, observed, makeNamespace },
    plan,
  ).catch((error: unknown) => {
    if (error instanceof TakenError) forgetFrom(ctx, error.resource);
    throw error;
  });
  report.restored = true;
  core.setOutput('restored', 'true');
  report.notes.push(
    `Drill ${names.runId}: the snapshot of ${production.resourcePath} came back healthy behind ${report.serverUrl}.`,
  );
}

/** The snapshot the drill restores: a new one of production, or (with `latest`) the newest one it already has. */
async function drillSource(ctx: DrillContext): Promise<void> {
  const { report, prepared, names, production, existing, deadline } = ctx;
  if (existing) {
    const line = `use ${existing.resourcePath}, the newest READY snapshot of ${production.resourcePath} (taken ${utcMinute(existing.createdAt)})`;
    planStep(report, 'snapshot', existing.name, line);
    return;
  }
  planStep(
    report,
    'snapshot',
    names.snapshot,
    `snapshot of ${production.resourcePath} (production is only read)`,
  );
  const facts = projectedDiskFacts(prepared.target, useOf(production));
  ctx.made.add('snapshot');
  await snapshotDisk(prepared.compute, facts, names.snapshot, names.labels, deadline).catch(
    (error: unknown) => {
      // Our retries share one requestId: a 409 is a snapshot someone else made after our look.
      if (httpStatus(error) !== 409) throw error;
      ctx.made.delete('snapshot');
      throw new TakenError(`Snapshot ${ctx.snapshotPath}`, RERUN);
    },
  );
}

const RERUN = 'Nothing of it was changed; run the drill again';

/** A name that went to someone else is not this run's to clean up, nor what comes after it (never begun). */
function forgetFrom(ctx: DrillContext, resource: string): void {
  const order: Array<[DrillPart, RegExp]> = [
    ['disk', /^Disk /],
    ['namespace', /^Namespace /],
    ['volume', /^PersistentVolume /],
    ['release', /^$/],
  ];
  const at = order.findIndex(([, pattern]) => pattern.test(resource));
  for (const [part] of order.slice(Math.max(0, at))) ctx.made.delete(part);
}

/** The drill's namespace, made by this run (so its release and everything in it are this run's too). */
async function createNamespace(ctx: DrillContext, kube: KubernetesClient): Promise<void> {
  const { names } = ctx;
  ctx.made.add('namespace');
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: names.namespace, labels: names.labels },
  };
  await kube.create(namespace).catch((error: unknown) => {
    if (!isKubeReason(error, 'AlreadyExists')) throw error;
    ctx.made.delete('namespace');
    throw new TakenError(`Namespace ${names.namespace}`, RERUN);
  });
  planStep(ctx.report, 'namespace', names.namespace, 'created');
}

/**
 * The inputs of the drill's runbook: production's, with the drill's names, no cloud credentials (the drill
 * proves the state comes back, it launches nothing), its own ingress class, and always a health check.
 */
function drillConfig(ctx: DrillContext): Config {
  const { config, names, drillTarget } = ctx;
  return {
    ...config,
    disk: { ...config.disk, name: names.disk, sizeGb: drillTarget.sizeGb, type: drillTarget.type },
    pvName: names.pv,
    release: {
      ...config.release,
      name: names.release,
      namespace: names.namespace,
      values: mergeValues(config.release.values, drillIngressValues(names)),
    },
    credentialSecrets: [],
    healthCheck: true,
    // The drill's disk is thrown away: it gets no snapshot schedule.
    backup: { ...config.backup, schedule: undefined },
  };
}

/**
 * The drill's own IngressClass and controller class, so a drill beside production in one cluster owns none of
 * production's objects (helm refuses an IngressClass another release owns) and production's ingress never
 * serves the drill. Named after the drill's namespace, which is this run's.
 */
function drillIngressValues(names: DrillNames): Record<string, unknown> {
  const className = names.namespace;
  return {
    ingress: { ingressClassName: className },
    'ingress-nginx': {
      controller: {
        ingressClass: className,
        ingressClassResource: { name: className, controllerValue: `skyha-action.io/${className}` },
      },
    },
  };
}

function useOf(disk: ObservedDisk): DiskPlan {
  return { action: 'use', disk, warnings: [], notes: [] };
}

/** Removes what this drill created, and only that: every deletion checks the run's label or the drill disk. */
async function cleanUpDrill(ctx: DrillContext, cluster: Cluster, deadline: Deadline): Promise<void> {
  const { names, report, prepared, snapshotPath } = ctx;
  // The cleanup's own budget, not the run's (usually spent by then).
  const { kube } = cluster;
  const helm = cluster.helm.withBudget(deadline);
  const diskPath = diskResourcePath(ctx.drillTarget);
  const gone = (apiVersion: string, kind: string, name: string): Promise<unknown> =>
    kube.waitFor(apiVersion, kind, name, (o) => o === undefined, { budget: deadline });
  const steps: Array<[DrillPart, () => Promise<unknown>]> = [
    [
      'release',
      () =>
        helm.run([
          'uninstall',
          names.release,
          '--namespace',
          names.namespace,
          '--wait',
          '--ignore-not-found',
          '--timeout',
          helm.timeout(),
        ]),
    ],
    [
      'volume',
      async () => {
        const pv = await observePersistentVolume(kube, names.pv);
        // The drill's volume is deleted only while it still points at the drill disk, and only that version of it.
        if (pv?.spec?.csi?.volumeHandle !== diskPath) return;
        const preconditions = { uid: pv.metadata?.uid, resourceVersion: pv.metadata?.resourceVersion };
        await kube.delete('v1', 'PersistentVolume', names.pv, { preconditions, budget: deadline });
        await gone('v1', 'PersistentVolume', names.pv);
      },
    ],
    // Named after this run, so it holds nothing but the drill's release.
    [
      'namespace',
      async () => {
        await kube.delete('v1', 'Namespace', names.namespace, { budget: deadline });
        await gone('v1', 'Namespace', names.namespace);
      },
    ],
    ['disk', () => deleteWhenDetached(prepared, diskPath, names.labels, deadline)],
  ];
  // A snapshot the drill did not take (production's newest) is never deleted.
  if (!ctx.existing)
    steps.push([
      'snapshot',
      () => deleteDrillResource(prepared.compute, 'snapshot', snapshotPath, names.labels, deadline),
    ]);
  for (const [what, step] of steps) {
    if (!ctx.made.has(what)) continue;
    try {
      await step();
      planStep(report, 'cleanup', what, 'deleted (drill resource)');
    } catch (error) {
      core.warning(`Drill cleanup of the ${what} failed: ${describeError(error)}`);
      report.notes.push(
        `Cleanup of the drill ${what} failed; it is labelled ${DRILL_LABEL}=${names.runId} for manual removal.`,
      );
    }
  }
}

// The pod's node releases the disk a little after the pod is gone: a disk still in use is retried, not forced.
async function deleteWhenDetached(
  prepared: Prepared,
  diskPath: string,
  labels: Record<string, string>,
  deadline: Deadline,
): Promise<void> {
  for (;;) {
    try {
      return await deleteDrillResource(prepared.compute, 'disk', diskPath, labels, deadline);
    } catch (error) {
      if (!/in use|resourceInUse/i.test(describeError(error)) || deadline.remainingMs() < 10_000) throw error;
      await sleep(5000);
    }
  }
}
