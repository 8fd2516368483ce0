import type { Config } from '../config/config.js';
import {
  addressTarget,
  describeAddressPlan,
  planAddress,
  type AddressObservation,
  type AddressPlan,
} from '../steps/address.js';
import { enterStep } from '../lib/cancellation.js';
import { isRefusal, refusalError, type Refusal } from '../lib/plan.js';
import { planAdvice, planStep, type Report } from '../report.js';
import {
  describeClaimPlan,
  planClaim,
  planOwnedClaim,
  type Claim,
  type ClaimPlan,
  type ClaimRef,
} from '../steps/claim.js';
import {
  planCredentialSecrets,
  type CredentialSecretPlan,
  type observeCredentialSecrets,
} from '../steps/cloudCredentials.js';
import {
  describeDiskPlan,
  diskResourcePath,
  planDisk,
  type DiskFacts,
  type DiskPlan,
  type DiskTarget,
  type ObservedDisk,
} from '../steps/disk.js';
import { describeReleasePlan, type HelmReleasePlan, type ReleaseObservation } from '../steps/helmRelease.js';
import {
  applyRetainFirst,
  describePersistentVolumePlan,
  planPersistentVolume,
  secureRefusedVolume,
  type PersistentVolume,
  type PersistentVolumePlan,
  type PersistentVolumeTarget,
} from '../steps/persistentVolume.js';
import type { SnapshotObservation } from '../steps/diskSource.js';
import {
  describeServerVersionPlan,
  planServerVersion,
  runningChart,
  stateRecord,
  type ServerVersionPlan,
} from '../steps/serverVersion.js';
import { versionLabels } from '../steps/versionRecord.js';
import {
  backupsLine,
  describeSnapshotSchedulePlan,
  managedPolicyName,
  planSnapshotSchedule,
  scheduleTarget,
  type ObservedSchedules,
  type SnapshotSchedulePlan,
} from '../steps/snapshotSchedule.js';
import type { Cluster } from './cluster.js';
import { planRelease, type ReleaseNames } from './release.js';

/** Everything the deploy looks at, read before anything changes. */
export interface Observed {
  /** The disk the inputs ask for (the drill's own, in a drill). */
  target: DiskTarget;
  disk: ObservedDisk | undefined;
  /** Read only when the disk is absent: the same name in the other scope would be shadowed by a new disk. */
  otherScopeDisk: ObservedDisk | undefined;
  /** Read only when the disk is absent: the snapshots it can be restored from. */
  sources: SnapshotObservation | undefined;
  schedule: ObservedSchedules;
  /** Read only when the disk is attached: its instances may be this cluster's nodes. */
  nodeNames: string[];
  volume: PersistentVolume | undefined;
  secrets: Awaited<ReturnType<typeof observeCredentialSecrets>>;
  release: ReleaseObservation;
  /** What the release makes (its manifest) or would make (the chart rendered), and the claim it mounts. */
  names: ReleaseNames;
  claim: Claim | undefined;
  /** Read only with static-ip: the address, and the controller Service that would hold it. */
  address?: AddressObservation;
}

/** Every step's plan, in the runbook's order. */
export interface RunbookPlan {
  disk: DiskPlan;
  schedule: SnapshotSchedulePlan;
  secrets: CredentialSecretPlan[];
  volume: PersistentVolumePlan;
  claim: ClaimPlan;
  release: HelmReleasePlan;
  /** Only with static-ip: the address the controller Service asks for. */
  address?: AddressPlan;
  /** The server's chart version over the state: what changes, the snapshot first, the record after. */
  version: ServerVersionPlan;
}

/**
 * Pure: plan every step from what was observed (`now` names a snapshot taken before a version change). Each later
 * step is planned against what the earlier one will make.
 */
export function planRunbook(config: Config, observed: Observed, now = new Date()): RunbookPlan {
  const { disk, volume } = planDiskAndVolume(config, observed, observed.names.claim);
  const claim = planTheClaim(config, observed, volume);
  const address = planTheAddress(config, observed);
  const names = {
    ...observed.names,
    loadBalancerIP: address && !isRefusal(address) ? address.ip : undefined,
  };
  const release = awaitingAddress(planRelease(config, observed.release, volume, claim, names), address);
  const version = planTheVersion(config, observed, disk, release, now);
  // The schedule's snapshots carry the version the state records (a change is recorded once healthy), so a restore
  // from one knows it; with none recorded yet, the version this run installs.
  const recorded = stateRecord(observed.disk, disk)?.version ?? (isRefusal(version) ? undefined : version.to);
  const backups = scheduleTarget(config);
  const versioned = recorded ? versionLabels(recorded) : undefined;
  return {
    disk,
    schedule: planSnapshotSchedule(
      { ...backups, snapshotLabels: { ...backups.snapshotLabels, ...versioned } },
      observed.schedule,
    ),
    secrets: planCredentialSecrets(config.credentialSecrets, observed.secrets, config.release.namespace),
    volume,
    claim,
    release,
    version,
    ...(address ? { address } : {}),
  };
}

function planTheAddress(config: Config, observed: Observed): AddressPlan | undefined {
  const target = addressTarget(config);
  if (!target) return undefined;
  return planAddress(target, observed.address ?? { address: undefined, loadBalancer: undefined });
}

/**
 * An address GCE has yet to pick is not in the release's values until it is reserved (the release is planned again
 * then): a release that would otherwise be kept is upgraded to ask for it.
 */
function awaitingAddress(release: HelmReleasePlan, address: AddressPlan | undefined): HelmReleasePlan {
  if (address?.action !== 'reserve' || address.ip || release.action !== 'keep') return release;
  return {
    ...release,
    action: 'upgrade',
    reason: `to ask for address ${address.target.name}, reserved first`,
  };
}

function planTheVersion(
  config: Config,
  observed: Observed,
  disk: DiskPlan,
  release: HelmReleasePlan,
  now: Date,
): ServerVersionPlan {
  const { chart } = observed.release;
  const existing = observed.disk;
  return planServerVersion(
    {
      running: runningChart(observed.release.release, chart.name),
      recorded: stateRecord(existing, disk),
      chart: { chart: chart.name, version: chart.version },
      asked: config.release.chartVersion,
      existingDisk: existing && { resourcePath: existing.resourcePath, name: existing.name },
      ...(disk.action === 'create' && disk.source ? { restoredFrom: disk.source.name } : {}),
      releaseAction: isRefusal(release) ? 'keep' : release.action,
    },
    { ...config.upgrades, now },
  );
}

/** The disk, and the volume planned against the disk as it will be. */
export function planDiskAndVolume(
  config: Config,
  observed: Pick<Observed, 'target' | 'disk' | 'nodeNames' | 'otherScopeDisk' | 'sources' | 'volume'>,
  claim: ClaimRef,
): { disk: DiskPlan; volume: PersistentVolumePlan } {
  const { target } = observed;
  const disk = planDisk(target, observed.disk as ObservedDisk | undefined, {
    clusterNodeNames: observed.nodeNames,
    otherScope: observed.otherScopeDisk,
    sources: observed.sources,
  });
  const volume = planPersistentVolume(
    volumeTarget(config, projectedDiskFacts(target, disk), claim),
    observed.volume,
  );
  return { disk, volume };
}

function planTheClaim(config: Config, observed: Observed, volume: PersistentVolumePlan): ClaimPlan {
  const { claim } = observed.names;
  const { chart } = observed.release;
  if (!observed.names.ownsClaim) {
    const exists = observed.release.release !== undefined;
    return planClaim(claim, observed.claim, config.pvName, exists, `chart ${chart.name} ${chart.version}`);
  }
  const fit = isRefusal(volume) ? { storageClassName: config.storageClassName, size: '' } : volume.claimFit;
  return planOwnedClaim({ ...claim, volumeName: config.pvName, ...fit }, observed.claim);
}

/** Prints every plan the same way in deploy and plan mode, with its warnings and notes. */
export function reportRunbookPlan(
  report: Report,
  config: Config,
  plan: RunbookPlan,
  observed: Observed,
): void {
  const ns = config.release.namespace;
  planStep(report, 'disk', config.disk.name, describeDiskPlan(plan.disk));
  if (!isRefusal(plan.disk)) planAdvice(report, plan.disk);
  const backups = scheduleTarget(config);
  planStep(
    report,
    'backups',
    managedPolicyName(plan.schedule) ?? backups.name,
    describeSnapshotSchedulePlan(plan.schedule, backups),
  );
  planAdvice(report, plan.schedule);
  report.backups = backupsLine(plan.schedule, backups);
  for (const p of plan.secrets) planStep(report, 'credentials', `Secret ${ns}/${p.secret.name}`, p.action);
  for (const line of describePersistentVolumePlan(plan.volume))
    planStep(report, 'volume', config.pvName, line);
  if (!isRefusal(plan.volume)) planAdvice(report, plan.volume);
  const { claim, objects, ownsClaim } = observed.names;
  const owner = ownsClaim ? "the action's (storage.existingClaim)" : "the chart's";
  planStep(report, 'claim', `${claim.namespace}/${claim.name}`, `${describeClaimPlan(plan.claim)}, ${owner}`);
  if (plan.address) {
    planStep(report, 'address', config.staticIp ?? '', describeAddressPlan(plan.address));
    if (!isRefusal(plan.address)) planAdvice(report, plan.address);
  }
  planStep(report, 'helm', `${ns}/${config.release.name}`, describeReleasePlan(plan.release));
  if (!isRefusal(plan.release)) planAdvice(report, plan.release);
  planStep(report, 'version', `${ns}/${config.release.name}`, describeServerVersionPlan(plan.version));
  if (!isRefusal(plan.version)) planAdvice(report, plan.version);
  const service = objects?.controllerService;
  const served = service ? `Service ${service.name} (${service.type})` : 'the release';
  const server = objects?.apiServer ? `, Deployment ${objects.apiServer.name}` : '';
  const ip = plan.address && !isRefusal(plan.address) && plan.address.ip ? ` ${plan.address.ip}` : '';
  planStep(
    report,
    'endpoint',
    `${ns}/${config.release.name}`,
    `wait for the address${ip} of ${served}${server} and health`,
  );
}

/** Whether applying the plan changes anything: only then is the release lock taken (a converged rerun writes nothing). */
export function planChangesAnything(plan: RunbookPlan): boolean {
  const { release, claim, schedule } = plan;
  return (
    plan.disk.action === 'create' ||
    plan.address?.action === 'reserve' ||
    ['create', 'update', 'attach'].includes(schedule.action) ||
    plan.secrets.some((p) => p.action !== 'keep') ||
    plan.volume.action === 'create' ||
    plan.volume.action === 'update' ||
    claim.action === 'create' ||
    claim.action === 'adopt' ||
    (!isRefusal(release) && (release.action !== 'keep' || release.free !== undefined))
  );
}

/**
 * The first refusal of the plan, in runbook order, becomes the run's one error. A refused volume on the state
 * disk still gets its reclaim policy back to Retain first (except in plan mode, which changes nothing).
 */
export async function refuseIfAny(config: Config, cluster: Cluster, plan: RunbookPlan): Promise<void> {
  const refusal = firstRefusal(plan)?.refusal;
  if (!refusal) return;
  if (config.mode !== 'plan') await secureRefusedVolume(cluster.kube, config.pvName, plan.volume);
  throw refusalError(refusal);
}

/** The refusal that becomes the run's error, and its step (as the `plan` output names steps). */
export function firstRefusal(plan: RunbookPlan): { step: string; refusal: Refusal } | undefined {
  const steps = [
    ['disk', plan.disk],
    ['volume', plan.volume],
    ['claim', plan.claim],
    ['release', plan.release],
    ['version', plan.version],
    ['address', plan.address],
  ] as const;
  for (const [step, planned] of steps) if (planned && isRefusal(planned)) return { step, refusal: planned };
  return undefined;
}

/**
 * A planned return of the state volume to Retain, applied before anything else: before a refusal of any step, the
 * lock wait and every other change (never in plan mode). Returns what is there and the plan after it, in which
 * the volume needs that change no more.
 */
export async function secureStateVolume(
  config: Config,
  cluster: Cluster,
  observed: Observed,
  plan: RunbookPlan,
): Promise<{ observed: Observed; plan: RunbookPlan }> {
  if (config.mode === 'plan') return { observed, plan };
  enterStep('volume');
  const volume = await applyRetainFirst(cluster.kube, config.pvName, plan.volume);
  if (!volume) return { observed, plan };
  const now = { ...observed, volume };
  return { observed: now, plan: planRunbook(config, now) };
}

/** The disk as it will be once the plan is applied: what the volume is planned against, before anything changes. */
export function projectedDiskFacts(target: DiskTarget, plan: DiskPlan): DiskFacts {
  if (plan.action === 'use') {
    const { resourcePath, name, sizeGb, zones, regional, type } = plan.disk;
    return { resourcePath, name, sizeGb, zones, regional, type, created: false };
  }
  // A refused disk is never applied; the volume's plan against the target only fills the printed plan.
  const regional = target.replicaZones.length > 0;
  return {
    resourcePath: diskResourcePath(target),
    name: target.name,
    sizeGb: plan.action === 'create' ? Number(plan.request.disk.sizeGb) : target.sizeGb,
    zones: regional ? target.replicaZones : [target.zone],
    regional,
    created: true,
    type: target.type,
  };
}

/** The PersistentVolume the runbook writes by hand, for this disk and the claim the server mounts. */
export function volumeTarget(
  config: Config,
  disk: DiskFacts,
  claim: ClaimRef,
  pvName = config.pvName,
  labels: Record<string, string> = {},
): PersistentVolumeTarget {
  return {
    name: pvName,
    labels,
    storageClassName: config.storageClassName,
    diskPath: disk.resourcePath,
    sizeGb: disk.sizeGb,
    zones: disk.zones,
    claim,
  };
}
