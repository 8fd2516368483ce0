import * as core from '@actions/core';
import type { Config } from './config/config.js';
import { Deadline, sleep } from './lib/deadline.js';
import { ActionError, describeError } from './lib/errors.js';
import { isRefusal, refusalError } from './lib/plan.js';
import { planAdvice, planStep, type Report } from './report.js';
import {
  connectToCluster,
  projectedDiskFacts,
  serveAndCheck,
  volumeTarget,
  type Cluster,
  type Prepared,
} from './runbook.js';
import { verifyClaimBinding } from './steps/claim.js';
import {
  applyDiskPlan,
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
import { deleteDrillResource } from './steps/drillCleanup.js';
import { applyHelmRelease, mergeValues, observeRelease, planHelmRelease } from './steps/helmRelease.js';
import {
  applyPersistentVolumePlan,
  observePersistentVolume,
  planPersistentVolume,
} from './steps/persistentVolume.js';
import { snapshotDisk } from './steps/snapshot.js';

const DRILL_LABEL = 'skyha-drill';
const CLEANUP_MS = 5 * 60_000;

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
    release: `${config.release.name.slice(0, 47)}-drill`,
    // The run in the namespace: a later drill on the same cluster never collides with one left behind.
    namespace: `${config.release.namespace.slice(0, 63 - runId.length - 7)}-drill-${runId}`,
    labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value, [DRILL_LABEL]: runId },
  };
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
}

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
  // Reach the cluster before creating anything, so a bad cluster input leaves no drill disk behind.
  const cluster = await connectToCluster(config, report.tools!, deadline);
  const ctx = drillContext(config, deadline, report, prepared, production);
  try {
    await restoreDrill(ctx, cluster);
  } finally {
    // A drill usually fails by running out of time: its cleanup gets a budget of its own.
    if (config.drillCleanup) await cleanUpDrill(ctx, cluster, new Deadline(CLEANUP_MS));
  }
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
  const plan = planDisk(target, production, { attachedElsewhereIsExpected: true });
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action !== 'use') throw new ActionError(`Disk ${target.name} vanished while it was read`);
  return { production, plan };
}

function drillContext(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
  production: ObservedDisk,
): DrillContext {
  const names = drillNames(config);
  const { target } = prepared;
  const snapshotPath = `projects/${target.project}/global/snapshots/${names.snapshot}`;
  const drillTarget: DiskTarget = {
    ...target,
    name: names.disk,
    sizeGb: production.sizeGb,
    type: production.type,
    sourceSnapshot: snapshotPath,
    labels: names.labels,
    description: `Disaster-recovery drill ${names.runId} of ${production.resourcePath} (skyha-action)`,
  };
  return { config, deadline, report, prepared, names, production, drillTarget, snapshotPath };
}

/** Snapshot, drill disk, drill volume, drill release, claim, URL and health: the recovery, on a copy. */
async function restoreDrill(ctx: DrillContext, cluster: Cluster): Promise<void> {
  const { config, deadline, report, prepared, names, production, drillTarget } = ctx;
  const { compute } = prepared;
  planStep(
    report,
    'snapshot',
    names.snapshot,
    `snapshot of ${production.resourcePath} (production is only read)`,
  );
  await snapshotDisk(
    compute,
    projectedDiskFacts(prepared.target, useOf(production)),
    names.snapshot,
    names.labels,
    deadline,
  );

  const drillPlan = planDisk(drillTarget, await observeDisk(compute, drillTarget, deadline));
  planStep(report, 'disk', names.disk, describeDiskPlan(drillPlan));
  if (!isRefusal(drillPlan)) planAdvice(report, drillPlan);
  const disk = await applyDiskPlan(compute, drillTarget, drillPlan, deadline);
  core.setOutput('disk', disk.resourcePath);
  core.setOutput('disk-created', String(disk.created));

  const release = { ...config.release, name: names.release, namespace: names.namespace };
  const { kubectl, helm } = cluster;
  const pvTarget = volumeTarget(config, disk, names.pv, release);
  const pvPlan = planPersistentVolume(pvTarget, await observePersistentVolume(kubectl, names.pv));
  const pv = await applyPersistentVolumePlan(kubectl, names.pv, pvPlan);
  planStep(report, 'volume', names.pv, pv.created ? 'created' : 'kept');
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));

  // No cloud credentials: the drill proves the state comes back, it launches nothing.
  const target = {
    ...release,
    values: mergeValues(release.values, drillIngressValues(names)),
    storage: { ...pv.claimFit, volumeName: pv.name },
    auth: config.auth,
  };
  const observation = { ...(await observeRelease(helm, release)), authSecretExists: undefined };
  const deployed = await applyHelmRelease(helm, target, planHelmRelease(target, observation), {
    deadline,
    kubectl,
  });
  report.helmRevision = deployed.revision;
  core.setOutput('helm-revision', String(deployed.revision));
  planStep(report, 'helm', `${release.namespace}/${release.name}`, `revision ${deployed.revision}`);
  await verifyClaimBinding(kubectl, pvTarget.claim, pv.name, deadline);

  await serveAndCheck({ ...config, healthCheck: true }, deadline, kubectl, report, {
    release: release.name,
    namespace: release.namespace,
  });
  report.restored = true;
  core.setOutput('restored', 'true');
  report.notes.push(
    `Drill ${names.runId}: the snapshot of ${production.resourcePath} came back healthy behind ${report.serverUrl}.`,
  );
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
  const kubectl = cluster.kubectl.withBudget(deadline);
  const helm = cluster.helm.withBudget(deadline);
  const diskPath = diskResourcePath(ctx.drillTarget);
  const steps: Array<[string, () => Promise<unknown>]> = [
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
        ]),
    ],
    [
      'volume',
      async () => {
        const pv = await observePersistentVolume(kubectl, names.pv);
        // The drill's volume is deleted only while it still points at the drill disk.
        if (pv?.spec?.csi?.volumeHandle === diskPath)
          await kubectl.run(['delete', 'persistentvolume', names.pv, '--wait=true']);
      },
    ],
    // Named after this run, so it holds nothing but the drill's release.
    [
      'namespace',
      () => kubectl.run(['delete', 'namespace', names.namespace, '--ignore-not-found', '--wait=true']),
    ],
    ['disk', () => deleteWhenDetached(prepared, diskPath, names.labels, deadline)],
    [
      'snapshot',
      () => deleteDrillResource(prepared.compute, 'snapshot', snapshotPath, names.labels, deadline),
    ],
  ];
  for (const [what, step] of steps) {
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
