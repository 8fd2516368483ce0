import * as core from '@actions/core';
import { verifyClaimBinding } from './claim.js';
import { Deadline, sleep } from './deadline.js';
import {
  applyDiskPlan,
  diskResourcePath,
  describeDiskPlan,
  labelValue,
  observeDisk,
  planDisk,
  MANAGED_BY_LABEL,
  type DiskTarget,
} from './disk.js';
import { discoverServerUrl, waitForHealth } from './endpoint.js';
import { ActionError, describeError } from './errors.js';
import { deployRelease } from './helmRelease.js';
import type { Config } from './inputs.js';
import type { Kubectl } from './kubectl.js';
import type { Helm } from './helm.js';
import { connectToCluster, projectedDiskFacts, volumeTarget, type Prepared } from './runbook.js';
import {
  applyPersistentVolumePlan,
  observePersistentVolume,
  planPersistentVolume,
} from './persistentVolume.js';
import { planStep, type Report } from './report.js';
import { deleteDrillResource, snapshotDisk } from './snapshot.js';

export const DRILL_LABEL = 'skyha-drill';
const CLEANUP_MS = 5 * 60_000;

/** Names of everything a drill creates: derived from the run, so they can never be production's. */
export interface DrillNames {
  runId: string;
  snapshot: string;
  disk: string;
  pv: string;
  release: string;
  namespace: string;
  labels: Record<string, string>;
}

export function drillNames(config: Config, env: NodeJS.ProcessEnv = process.env): DrillNames {
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
  const { compute, target } = prepared;
  const names = drillNames(config);
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
  // Reach the cluster before creating anything, so a bad cluster input leaves no drill disk behind.
  const { kubectl, helm } = await connectToCluster(config, tools);
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
  const diskPath = diskResourcePath(drillTarget);
  const release = { ...config.release, name: names.release, namespace: names.namespace };
  try {
    planStep(
      report,
      'snapshot',
      names.snapshot,
      `snapshot of ${production.resourcePath} (production is only read)`,
    );
    const productionFacts = projectedDiskFacts(target, {
      action: 'use',
      disk: production,
      warnings: [],
      notes: [],
    });
    await snapshotDisk(compute, productionFacts, names.snapshot, names.labels, deadline);

    const drillPlan = planDisk(drillTarget, await observeDisk(compute, drillTarget, deadline));
    planStep(report, 'disk', names.disk, describeDiskPlan(drillPlan));
    const disk = await applyDiskPlan(compute, drillTarget, drillPlan, deadline);
    core.setOutput('disk', disk.resourcePath);
    core.setOutput('disk-created', String(disk.created));

    const pvTarget = volumeTarget(config, disk, names.pv, release);
    const pv = await applyPersistentVolumePlan(
      kubectl,
      names.pv,
      planPersistentVolume(pvTarget, await observePersistentVolume(kubectl, names.pv)),
    );
    planStep(report, 'volume', names.pv, pv.created ? 'created' : 'kept');
    core.setOutput('pv-name', pv.name);
    core.setOutput('pv-created', String(pv.created));

    const deployed = await deployRelease(
      helm,
      {
        ...release,
        // No cloud credentials: the drill proves the state comes back, it launches nothing.
        values: config.release.values,
        storage: { ...pv.claimFit, volumeName: pv.name },
        auth: config.auth,
      },
      { deadline, kubectl },
    );
    report.helmRevision = deployed.revision;
    core.setOutput('helm-revision', String(deployed.revision));
    planStep(report, 'helm', `${release.namespace}/${release.name}`, `revision ${deployed.revision}`);
    await verifyClaimBinding(
      kubectl,
      { namespace: release.namespace, name: `${release.name}-state` },
      pv.name,
      deadline,
    );

    const url = await discoverServerUrl(
      kubectl,
      { release: release.name, namespace: release.namespace },
      deadline,
    );
    report.serverUrl = url;
    core.setOutput('server-url', url);
    const health = await waitForHealth(url, config.auth, deadline, {
      kubectl,
      target: { release: release.name, namespace: release.namespace },
    });
    report.restored = true;
    core.setOutput('restored', 'true');
    if (health.version) {
      report.serverVersion = health.version;
      core.setOutput('server-version', health.version);
    }
    report.notes.push(
      `Drill ${names.runId}: the snapshot of ${production.resourcePath} came back healthy behind ${url}.`,
    );
  } finally {
    if (config.drillCleanup)
      await cleanUpDrill(names, diskPath, snapshotPath, {
        kubectl,
        helm,
        // A drill usually fails by running out of time: its cleanup gets a budget of its own.
        deadline: new Deadline(CLEANUP_MS),
        prepared,
        report,
      });
  }
}

/** Removes what this drill created, and only that: every deletion checks the run's label or the drill disk. */
async function cleanUpDrill(
  names: DrillNames,
  diskPath: string,
  snapshotPath: string,
  ctx: { kubectl: Kubectl; helm: Helm; deadline: Deadline; prepared: Prepared; report: Report },
): Promise<void> {
  const { kubectl, helm, deadline, prepared, report } = ctx;
  const steps: Array<[string, () => Promise<void>]> = [
    [
      'release',
      async () =>
        void (await helm.run([
          'uninstall',
          names.release,
          '--namespace',
          names.namespace,
          '--wait',
          '--ignore-not-found',
        ])),
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
    [
      'namespace',
      // Named after this run, so it holds nothing but the drill's release.
      async () =>
        void (await kubectl.run([
          'delete',
          'namespace',
          names.namespace,
          '--ignore-not-found',
          '--wait=true',
        ])),
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
