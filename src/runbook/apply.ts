import * as core from '@actions/core';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { reportRecovered, reportRestoredFrom, type Report } from '../report.js';
import { applyClaimPlan, verifyClaimBinding } from '../steps/claim.js';
import { applyCredentialSecrets } from '../steps/cloudCredentials.js';
import { applyDiskPlan, restoredFrom, type DiskFacts } from '../steps/disk.js';
import { discoverServerUrl, waitForHealth, type EndpointTarget } from '../steps/endpoint.js';
import { applyHelmRelease } from '../steps/helmRelease.js';
import { applyPersistentVolumePlan, planPersistentVolume } from '../steps/persistentVolume.js';
import { releaseObjects } from '../steps/releaseManifest.js';
import { applySnapshotSchedulePlan, scheduleTarget } from '../steps/snapshotSchedule.js';
import type { Cluster, Prepared } from './cluster.js';
import { volumeTarget, type Observed, type RunbookPlan } from './plan.js';
import { planRelease, releaseTarget } from './release.js';

/** What applying needs; `lock` is the release lock, checked before each step that changes something. */
export interface ApplyContext {
  prepared: Prepared;
  cluster: Cluster;
  report: Report;
  observed: Observed;
  lock?: { check(before: string): void };
  /** Makes the namespace (a drill creates its own, labelled); default: applied when something needs it first. */
  makeNamespace?: () => Promise<void>;
}

/** Apply, in the runbook's order. Outputs are written as each step lands, so a failed run still says how far it got. */
export async function applyRunbook(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
): Promise<void> {
  const { prepared, cluster, report, observed } = ctx;
  const step = (name: string): void => {
    enterStep(name);
    ctx.lock?.check(`the ${name} step`);
  };
  const { kube, helm } = cluster;
  const { claim } = observed.names;
  step('disk');
  const disk = await applyDisk(deadline, ctx, plan);

  // Beside the cluster steps: the schedule needs only the disk, and must not delay the server's recovery.
  const schedule = applySnapshotSchedulePlan(
    prepared.compute,
    scheduleTarget(config),
    plan.schedule,
    disk.resourcePath,
    deadline,
  );
  schedule.catch(() => undefined); // awaited at the end; a cluster step failing first must not leave it unhandled

  const ns = config.release.namespace;
  const ownClaimChanges = plan.claim.action === 'create' || plan.claim.action === 'adopt';
  step('credentials');
  if (ctx.makeNamespace) await ctx.makeNamespace();
  if (ownClaimChanges || plan.secrets.some((p) => p.action !== 'keep')) {
    if (!ctx.makeNamespace) await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await applyCredentialSecrets(kube, plan.secrets, ns);
  }

  // Planned against the projected disk; a new disk (ours or another run's) may differ: plan again, purely.
  const volume = volumeTarget(config, disk, claim, config.pvName, prepared.target.labels);
  const volumePlan =
    plan.disk.action === 'create' ? planPersistentVolume(volume, observed.volume) : plan.volume;
  // A run that must make all it uses (a drill) refuses a volume made meanwhile; a deploy checks and uses it.
  const recheck = prepared.ownOnly ? {} : { recheck: volume };
  step('volume');
  const pv = await applyPersistentVolumePlan(kube, config.pvName, volumePlan, recheck);
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));
  step('claim');
  await applyClaimPlan(kube, plan.claim, claim);

  const releasePlan =
    volumePlan === plan.volume
      ? plan.release
      : planRelease(config, observed.release, volumePlan, plan.claim, observed.names);
  const target = releaseTarget(config, pv.claimFit, observed.names);
  step('helm');
  const release = await applyHelmRelease(helm, kube, target, releasePlan, { deadline });
  report.helmRevision = release.revision;
  core.setOutput('helm-revision', String(release.revision));

  enterStep('claim');
  // An unchanged release whose claim was already Bound to our volume needs no second look.
  const claimBound =
    release.changed || plan.claim.action !== 'bound'
      ? verifyClaimBinding(kube, claim, pv.name, deadline)
      : Promise.resolve();
  const made = releaseObjects(release.manifest, config.release.name);
  await serveAndCheck(config, deadline, kube, report, endpointOf(config, made.controllerService), claimBound);
  await schedule;
}

/** The disk, and the outputs that say what this run did and found. */
async function applyDisk(deadline: Deadline, ctx: ApplyContext, plan: RunbookPlan): Promise<DiskFacts> {
  const { prepared, report, observed } = ctx;
  const disk = await applyDiskPlan(prepared.compute, prepared.target, plan.disk, deadline, {
    clusterNodeNames: observed.nodeNames,
    refuseTaken: prepared.ownOnly === true,
  });
  // restored: the state was there when this run looked; a disk another run made a moment later is no restore.
  report.restored = observed.disk !== undefined;
  if (plan.disk.action === 'create' && !disk.created) {
    report.notes.push(
      `Disk ${disk.resourcePath} was created by another run between this run's read and its insert: this run used it (disk-created=false, restored=false).`,
    );
  }
  reportRestoredFrom(report, restoredFrom(plan.disk, disk));
  core.setOutput('disk', disk.resourcePath);
  core.setOutput('disk-created', String(disk.created));
  core.setOutput('restored', String(report.restored));
  return disk;
}

/** Where users reach the server: the controller Service the release made, by its own name. */
export function endpointOf(
  config: Pick<Config, 'release'>,
  service: { name: string } | undefined,
  release = config.release,
): EndpointTarget {
  if (!service) {
    throw new ActionError(
      `Helm release ${release.namespace}/${release.name} made no ingress controller Service`,
      {
        hint: 'Keep ingress-nginx.enabled true in the values; the state disk is untouched',
      },
    );
  }
  return { release: release.name, namespace: release.namespace, service: service.name };
}

/**
 * The server URL users log in to, then its health: the runbook's last step. The address is awaited side by side
 * with `before` (the claim's binding); health is only asked once both are there.
 */
export async function serveAndCheck(
  config: Config,
  deadline: Deadline,
  kube: KubernetesClient,
  report: Report,
  where: EndpointTarget,
  before: Promise<void> = Promise.resolve(),
): Promise<void> {
  enterStep('endpoint');
  const [url] = await Promise.all([discoverServerUrl(kube, where, deadline), before]);
  report.serverUrl = url;
  core.setOutput('server-url', url);
  if (!config.healthCheck) return;
  const health = await waitForHealth(url, config.auth, deadline, { kube, target: where });
  reportRecovered(report);
  if (health.version) {
    report.serverVersion = health.version;
    core.setOutput('server-version', health.version);
  }
}
