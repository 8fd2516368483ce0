import * as core from '@actions/core';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { isRefusal } from '../lib/plan.js';
import { withProgress } from '../lib/progress.js';
import {
  reportRecovered,
  reportRestoredFrom,
  reportServerState,
  reportServerUrl,
  type Report,
} from '../report.js';
import { applyAddressPlan } from '../steps/address.js';
import { applyClaimPlan, verifyClaimBinding, type ClaimRef } from '../steps/claim.js';
import { applyCredentialSecrets } from '../steps/cloudCredentials.js';
import { applyDiskPlan, restoredFrom, type DiskFacts } from '../steps/disk.js';
import {
  discoverServerUrl,
  waitForHealth,
  type EarlyEndpoint,
  type EndpointTarget,
} from '../steps/endpoint.js';
import { applyHelmRelease } from '../steps/helmRelease.js';
import { applyPersistentVolumePlan, planPersistentVolume } from '../steps/persistentVolume.js';
import { releaseObjects, type ReleaseObjects } from '../steps/releaseManifest.js';
import { waitForRollout } from '../steps/rollout.js';
import { observeServerState, settleStateReading, type StateReading } from '../steps/serverState.js';
import { applySnapshotSchedulePlan, scheduleTarget } from '../steps/snapshotSchedule.js';
import type { Cluster } from './cluster.js';
import type { ApplyContext } from './context.js';
import { volumeTarget, type RunbookPlan } from './plan.js';
import { watchAddress, type WatchedAddress } from './readAhead.js';
import { planRelease, releaseTarget } from './release.js';
import {
  finishReleaseBesideDisk,
  seeReleaseThrough,
  startReleaseBesideDisk,
  type VolumeAndClaim,
} from './releaseBesideDisk.js';
import { recordVersion, rollBackFailedUpgrade, snapshotBeforeUpgrade, upgradeDeadline } from './upgrade.js';

/**
 * Apply, in the runbook's order, one log group per step. Outputs are written as each step lands, so a failed
 * run still says how far it got.
 */
export async function applyRunbook(
  config: Config,
  deadline: Deadline,
  given: ApplyContext,
  planned: RunbookPlan,
): Promise<void> {
  const step = (name: string): void => {
    enterStep(name);
    given.lock?.check(`the ${name} step`);
  };
  const { ctx, plan } = await applyAddress(config, deadline, given, planned, step);
  // Before anything in the cluster changes: the state as it is, when the server's version is about to change.
  const snapshot = await snapshotBeforeUpgrade(ctx, plan, deadline);
  // An upgrade that would be rolled back leaves the rollback its share of the run.
  const upgrade = upgradeDeadline(config, plan, deadline);
  const early = startReleaseBesideDisk(config, ctx, plan, upgrade);
  const changesRelease = !isRefusal(plan.release) && plan.release.action !== 'keep';
  const watched = changesRelease
    ? watchAddress(ctx.cluster.kube, config, ctx.observed.names, upgrade)
    : undefined;
  const { disk, pv, schedule } = await beforeRelease(config, deadline, ctx, plan, step).catch(
    async (error: unknown) => {
      if (early) await seeReleaseThrough(config, early);
      throw error;
    },
  );
  await releaseAndServe(config, upgrade, ctx, plan, { pv, early, step, watched }).catch((error: unknown) =>
    rollBackFailedUpgrade(config, deadline, ctx, plan, { error, snapshot }, (manifest, left) =>
      serveRelease(config, left, ctx, { manifest, changed: true, pvName: pv.name, claimBound: false }),
    ),
  );
  await schedule;
  await recordVersion(ctx, plan, disk, deadline);
}

/** The runbook's `helm upgrade --install`, then the server URL and its health. */
async function releaseAndServe(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
  parts: {
    pv: VolumeAndClaim;
    early: ReturnType<typeof startReleaseBesideDisk>;
    step: (name: string) => void;
    /** The address, watched while helm works. */
    watched: WatchedAddress | undefined;
  },
): Promise<void> {
  const { cluster, report, observed } = ctx;
  const { pv, early, step, watched } = parts;
  const release = await core.group(`Helm release ${config.release.namespace}/${config.release.name}`, () => {
    step('helm');
    if (early) return finishReleaseBesideDisk(config, ctx, plan, early, pv, deadline);
    const releasePlan =
      pv.volumePlan === plan.volume
        ? plan.release
        : planRelease(config, observed.release, pv.volumePlan, plan.claim, observed.names);
    const target = releaseTarget(config, pv.claimFit, observed.names);
    return applyHelmRelease(cluster.helm, cluster.kube, target, releasePlan, { deadline });
  });
  report.helmRevision = release.revision;
  core.setOutput('helm-revision', String(release.revision));
  const claimBound = plan.claim.action === 'bound';
  await serveRelease(config, deadline, ctx, { ...release, pvName: pv.name, claimBound, watched });
}

/**
 * Side by side with the address: the claim's binding and the rollout. An unchanged release whose claim was
 * already Bound to our volume needs neither look again (its health is checked all the same).
 */
async function serveRelease(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  release: {
    manifest: string;
    changed: boolean;
    pvName: string;
    claimBound: boolean;
    watched?: WatchedAddress | undefined;
  },
): Promise<void> {
  const { cluster, report, observed } = ctx;
  const made = releaseObjects(release.manifest, config.release.name);
  const ip = observed.names.loadBalancerIP;
  const where = { ...endpointOf(config, made.controllerService), ...(ip ? { loadBalancerIP: ip } : {}) };
  const settling = release.changed || !release.claimBound;
  enterStep(settling ? 'rollout' : 'endpoint');
  const settled = settling
    ? settle(cluster, observed.names.claim, release.pvName, made, where, deadline)
    : Promise.resolve();
  // Nothing changed on the server's side: what was read of it beside the disk still holds; else the address
  // watched while helm worked.
  const seen = settling ? release.watched : await ctx.ahead?.endpoint;
  await core.group('Server URL and health', () =>
    serveAndCheck(config, deadline, cluster.kube, report, where, settled, seen),
  );
}

/**
 * The static address (static-ip) first: the release's values carry its IP, so the Service never asks for an address
 * before it is reserved (GKE would take an unreserved one for its own). The release is planned again when the IP
 * was not known before (GCE picked it just now, or someone reserved the address meanwhile).
 */
async function applyAddress(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
  step: (name: string) => void,
): Promise<{ ctx: ApplyContext; plan: RunbookPlan }> {
  const { address } = plan;
  if (!address) return { ctx, plan };
  const { prepared, report, observed } = ctx;
  const facts = await core.group(`Address ${config.staticIp ?? ''}`, () => {
    step('address');
    return applyAddressPlan(prepared.compute, address, observed.address?.loadBalancer, deadline);
  });
  report.address = { resourcePath: facts.resourcePath, ip: facts.ip, reserved: facts.reserved };
  core.setOutput('static-ip-address', facts.ip);
  const names = { ...observed.names, loadBalancerIP: facts.ip };
  const now = { ...observed, names };
  const planned = isRefusal(address) ? undefined : address.ip;
  const release =
    facts.ip === planned ? plan.release : planRelease(config, now.release, plan.volume, plan.claim, names);
  return { ctx: { ...ctx, observed: now }, plan: { ...plan, release } };
}

/** The runbook's steps before the release: the disk (and its schedule, beside), credentials, volume and claim. */
async function beforeRelease(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
  step: (name: string) => void,
): Promise<{ disk: DiskFacts; pv: VolumeAndClaim; schedule: Promise<unknown> }> {
  const { prepared, observed } = ctx;
  const disk = await core.group(
    `Disk ${config.disk.name}`,
    () => (step('disk'), applyDisk(deadline, ctx, plan)),
  );
  // Beside the cluster steps: the schedule needs only the disk, and must not delay the server's recovery.
  const schedule = applySnapshotSchedulePlan(
    prepared.compute,
    scheduleTarget(config),
    plan.schedule,
    disk.resourcePath,
    deadline,
  );
  schedule.catch(() => undefined); // awaited at the end; a cluster step failing first must not leave it unhandled
  await applyCredentials(config, ctx, plan, step);
  const pv = await core.group(`Volume ${config.pvName} and claim ${observed.names.claim.name}`, () =>
    applyVolumeAndClaim(config, ctx, plan, disk, step),
  );
  return { disk, pv, schedule };
}

/** The namespace and the cloud credential Secrets, when something needs them (nothing is written otherwise). */
async function applyCredentials(
  config: Config,
  ctx: ApplyContext,
  plan: RunbookPlan,
  step: (name: string) => void,
): Promise<void> {
  const ns = config.release.namespace;
  const ownClaimChanges = plan.claim.action === 'create' || plan.claim.action === 'adopt';
  const secretsChange = plan.secrets.some((p) => p.action !== 'keep');
  if (!ctx.makeNamespace && !ownClaimChanges && !secretsChange) return;
  await core.group(`Namespace ${ns} and cloud credentials`, async () => {
    step('credentials');
    const { kube } = ctx.cluster;
    if (ctx.makeNamespace) await ctx.makeNamespace();
    else await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await applyCredentialSecrets(kube, plan.secrets, ns);
  });
}

/** The volume (planned again against a disk just made, which may differ), then the action's own claim. */
async function applyVolumeAndClaim(
  config: Config,
  ctx: ApplyContext,
  plan: RunbookPlan,
  disk: DiskFacts,
  step: (name: string) => void,
): Promise<VolumeAndClaim> {
  const { prepared, cluster, observed } = ctx;
  const { claim } = observed.names;
  const volume = volumeTarget(config, disk, claim, config.pvName, prepared.target.labels);
  const volumePlan =
    plan.disk.action === 'create' ? planPersistentVolume(volume, observed.volume) : plan.volume;
  // A run that must make all it uses (a drill) refuses a volume made meanwhile; a deploy checks and uses it.
  const recheck = prepared.ownOnly ? {} : { recheck: volume };
  step('volume');
  const pv = await applyPersistentVolumePlan(cluster.kube, config.pvName, volumePlan, recheck);
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));
  step('claim');
  await applyClaimPlan(cluster.kube, plan.claim, claim);
  return { ...pv, volumePlan };
}

/** The claim Bound to our volume and the API server rolled out, watched side by side. */
async function settle(
  cluster: Cluster,
  claim: ClaimRef,
  volumeName: string,
  made: ReleaseObjects,
  where: EndpointTarget,
  deadline: Deadline,
): Promise<void> {
  const bound = verifyClaimBinding(cluster.kube, claim, volumeName, deadline);
  const deployment = made.apiServer?.name;
  const rollout = deployment
    ? waitForRollout(
        cluster.kube,
        { release: where.release, namespace: where.namespace, deployment },
        deadline,
      )
    : Promise.resolve();
  await Promise.all([bound, rollout]);
}

/** The disk, and the outputs that say what this run did and found. */
async function applyDisk(deadline: Deadline, ctx: ApplyContext, plan: RunbookPlan): Promise<DiskFacts> {
  const { prepared, report, observed } = ctx;
  const disk = await applyDiskPlan(prepared.compute, prepared.target, plan.disk, deadline, {
    clusterNodeNames: observed.nodeNames,
    refuseTaken: prepared.ownOnly === true,
  });
  const from = restoredFrom(plan.disk, disk);
  // restored: the server gets state that existed before this run, the disk it found or the snapshot it made the
  // disk from; a disk another run made a moment later is no restore. A drill's counts once its state is verified.
  report.restored = !prepared.ownOnly && (observed.disk !== undefined || from.kind === 'snapshot');
  if (plan.disk.action === 'create' && !disk.created) {
    report.notes.push(
      `Disk ${disk.resourcePath} was created by another run between this run's read and its insert: this run used it (disk-created=false, restored=false).`,
    );
  }
  reportRestoredFrom(report, from);
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

/** The same Service, and with static-ip, the same address: seen there already, or waited for. */
function sameEndpoint(early: EarlyEndpoint<StateReading> | WatchedAddress, where: EndpointTarget): boolean {
  if (early.service !== where.service || early.namespace !== where.namespace) return false;
  const ip = where.loadBalancerIP;
  if ('loadBalancerIP' in early) return early.loadBalancerIP === ip;
  return ip === undefined || early.url === undefined || new URL(early.url).hostname === ip;
}

/**
 * The server URL users log in to, then its health: the runbook's last step. The address is awaited side by side
 * with `before` (the claim's binding); health is only asked once both are there. `early`: the same Service's
 * address and health, read before the plan, when nothing changed since, or its address watched while helm worked
 * (see readAhead.ts).
 */
export async function serveAndCheck(
  config: Config,
  deadline: Deadline,
  kube: KubernetesClient,
  report: Report,
  where: EndpointTarget,
  before: Promise<void> = Promise.resolve(),
  early?: EarlyEndpoint<StateReading> | WatchedAddress,
): Promise<void> {
  const same = early && sameEndpoint(early, where) ? early : undefined;
  const address = same?.url ? Promise.resolve(same.url) : discoverServerUrl(kube, where, deadline);
  const seen = same && 'health' in same ? same : undefined;
  const [url] = await withProgress(
    `the address of Service ${where.namespace}/${where.service}`,
    deadline,
    Promise.all([address, before]),
  );
  reportServerUrl(report, url);
  enterStep('health');
  if (!config.healthCheck) {
    const reason = 'health-check is false, and the state is read only once the server answers healthy';
    reportServerState(report, { read: false, reason, transient: false });
    return;
  }
  // The state is read with every health check, so the one that answers healthy brings it along.
  const readState = (): Promise<StateReading> => observeServerState(url, config.auth, deadline);
  const known = seen?.url === url ? seen.health : undefined;
  const healthy = known
    ? Promise.resolve(known)
    : waitForHealth(url, config.auth, deadline, { kube, target: where, beside: readState });
  const health = await withProgress(`${url}/api/health to answer healthy`, deadline, healthy);
  reportRecovered(report);
  if (health.version) {
    report.serverVersion = health.version;
    core.setOutput('server-version', health.version);
  }
  reportServerState(report, await settleStateReading(health.beside, readState));
}
