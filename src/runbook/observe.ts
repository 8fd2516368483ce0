import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { isRefusal } from '../lib/plan.js';
import type { Report } from '../report.js';
import { addressTarget, observeAddress, type ObservedAddress } from '../steps/address.js';
import { observeCredentialSecrets } from '../steps/cloudCredentials.js';
import { observeDisk, observeDiskInOtherScope, planDisk, type DiskTarget } from '../steps/disk.js';
import { observeDiskSources } from '../steps/diskSource.js';
import {
  observeRelease,
  readRelease,
  type ObservedRelease,
  type ReleaseObservation,
} from '../steps/helmRelease.js';
import {
  observePersistentVolume,
  type PersistentVolume,
  type PersistentVolumePlan,
} from '../steps/persistentVolume.js';
import { chooseChartVersion, stateRecord, type StateRecord } from '../steps/serverVersion.js';
import {
  observeAttachedPolicies,
  observeOwnPolicy,
  scheduleTarget,
  type ScheduleTarget,
} from '../steps/snapshotSchedule.js';
import { clusterKubeconfig, helmClient, kubeClient, type Cluster, type Prepared } from './cluster.js';
import { planDiskAndVolume, type Observed } from './plan.js';
import { readAhead, type ReadAhead } from './readAhead.js';
import { nameRelease, ownClaim, type ReleaseNames } from './release.js';

/**
 * Observe everything: the disk (and static-ip's address) while the tools install and the cluster is reached, then
 * every read side by side, then what the release would make, and last the claim it mounts and the Service that
 * holds the address (whose names only the release can tell: read ahead under the deployed release's names, see
 * readAhead.ts).
 */
export async function observeRunbook(
  config: Config,
  deadline: Deadline,
  prepared: Prepared,
  report: Report,
  connected?: Cluster,
): Promise<{ observed: Observed; cluster: Cluster; ahead: ReadAhead }> {
  enterStep('observe');
  const { compute, target } = prepared;
  const backups = scheduleTarget(config);
  let volumeSeen: (absent: boolean) => void = () => undefined;
  const looksNew = new Promise<boolean>((resolve) => (volumeSeen = resolve));
  const computeSide = readCompute(config, prepared, backups, deadline, looksNew);
  computeSide.catch(() => undefined); // awaited below; a failure must not go unhandled while the cluster is reached
  // The release and what it names are read as soon as the cluster is reachable, before the tools are there.
  const kubeconfig = connected ? undefined : await clusterKubeconfig(config, prepared.tools, deadline);
  const kube = connected?.kube ?? kubeClient(kubeconfig, deadline);
  const volumeRead = observePersistentVolume(kube, config.pvName);
  volumeRead.then(
    (volume) => volumeSeen(volume === undefined),
    () => volumeSeen(false),
  );
  const deployed = readRelease(kube, config.release.name, config.release.namespace);
  const ahead = readAhead(kube, config, deployed, deadline);
  report.tools = await prepared.tools;
  const cluster = connected ?? { kube, helm: helmClient(report.tools, kubeconfig, deadline) };
  // The version recorded with the state (the disk's labels, or its snapshot's) comes with the disk's read.
  const recorded = computeSide.then(({ disk, otherScopeDisk: otherScope, sources }) =>
    stateRecord(disk, planDisk(target, disk, { otherScope, sources })),
  );
  const clusterSide = readCluster(config, cluster, { volume: volumeRead, deployed }, recorded);
  const naming = renderAhead(config, cluster, target, clusterSide, computeSide);
  naming.catch(() => undefined); // awaited below, after the disk
  // What the disk tells to read next, as soon as it is read.
  const afterDisk = computeSide.then(({ disk }) =>
    Promise.all([
      observeAttachedPolicies(compute, backups, disk, deadline),
      disk?.users.length ? listNodeNames(kube) : [],
    ]),
  );
  const [{ disk, otherScopeDisk, sources, policy, reserved }, clusterReads, [attached, nodeNames]] =
    await Promise.all([computeSide, clusterSide, afterDisk]);
  const { volume, secrets, release } = clusterReads;
  const schedule = { policy, ...attached };
  const first = { target, disk, otherScopeDisk, sources, schedule, nodeNames, volume, secrets, release };
  // The volume as it will be (its class and size reach the chart's values); the claim it names comes next.
  const { volume: volumePlan } = planDiskAndVolume(config, first, ownClaim(config));
  const names = await (await naming)(volumePlan);
  const withAddress = config.staticIp !== undefined;
  const service = names.objects?.controllerService?.name;
  const [claim, loadBalancer] = await Promise.all([
    ahead.claim(names.claim),
    withAddress ? ahead.loadBalancer(service) : undefined,
  ]);
  const address = withAddress ? { address: { address: reserved, loadBalancer } } : {};
  return { observed: { ...first, names, claim, ...address }, cluster, ahead };
}

/**
 * The Compute reads, started before the cluster is reached: the disk, the schedule's policy and static-ip's
 * address side by side; only when the disk is absent, the same name in the other scope and what a new disk could
 * be restored from (a converged run asks Compute for nothing it does not use). When the cluster looks new (no
 * volume: a first deploy or a recovery) before the disk is read, those two reads go out beside the disk's rather
 * than after it; a recovery, whose disk exists, then made two reads it does not use, side by side.
 */
async function readCompute(
  config: Config,
  prepared: Prepared,
  backups: ScheduleTarget,
  deadline: Deadline,
  looksNew: Promise<boolean>,
) {
  const { compute, target } = prepared;
  const diskRead = observeDisk(compute, target, deadline);
  const policyRead = observeOwnPolicy(compute, backups, deadline);
  const addressRead = readAddress(config, prepared, deadline);
  // Awaited together below; a failure must not go unhandled while the disk is read.
  policyRead.catch(() => undefined);
  addressRead.catch(() => undefined);
  const ask = { disk: target, named: target.sourceSnapshot, startEmpty: target.startEmpty === true };
  const forNewDisk = () =>
    Promise.all([
      observeDiskInOtherScope(compute, target, deadline),
      observeDiskSources(compute, ask, deadline),
    ]);
  let early: ReturnType<typeof forNewDisk> | undefined;
  let diskKnown = false;
  void looksNew.then((yes) => {
    if (!yes || diskKnown) return;
    early = forNewDisk();
    early.catch(() => undefined); // awaited below when the disk is absent; unused when it exists
  });
  const disk = await diskRead.finally(() => (diskKnown = true));
  const [[otherScopeDisk, sources], policy, reserved] = await Promise.all([
    disk ? [undefined, undefined] : (early ?? forNewDisk()),
    policyRead,
    addressRead,
  ]);
  return { disk, otherScopeDisk, sources, policy, reserved };
}

/** static-ip's address, read beside the disk: one GET, none without static-ip. */
function readAddress(
  config: Config,
  prepared: Prepared,
  deadline: Deadline,
): Promise<ObservedAddress | undefined> {
  const address = addressTarget(config);
  return address ? observeAddress(prepared.compute, address, deadline) : Promise.resolve(undefined);
}

/** The cluster's reads, side by side: the volume, the credential Secrets, the release and its chart. */
async function readCluster(
  config: Config,
  cluster: Cluster,
  started: { volume: Promise<PersistentVolume | undefined>; deployed: Promise<ObservedRelease | undefined> },
  recorded: Promise<StateRecord | undefined>,
): Promise<ClusterReads> {
  const { kube, helm } = cluster;
  const { deployed } = started;
  const ns = config.release.namespace;
  const authSecret = config.auth.authSecret;
  const [volume, secrets, release, authSecretFound] = await Promise.all([
    started.volume,
    observeCredentialSecrets(kube, config.credentialSecrets, ns),
    // chart-version empty: the version that runs, else the one recorded with the state (then after the disk's read).
    observeRelease(helm, kube, config.release, deployed, (r) =>
      chooseChartVersion(config.release, r, recorded),
    ),
    authSecret ? kube.get('v1', 'Secret', authSecret, { namespace: ns }) : undefined,
  ]);
  const authSecretExists = authSecret ? authSecretFound !== undefined : undefined;
  return { volume, secrets, release: { ...release, authSecretExists } };
}

interface ClusterReads {
  volume: PersistentVolume | undefined;
  secrets: Observed['secrets'];
  release: ReleaseObservation;
}

/**
 * What the release makes, by the volume plan (and static-ip's IP, which its values carry). A release that will be
 * installed (none is deployed) is rendered as soon as the cluster's reads and the address are in, against the disk
 * as a new one would be, beside the disk's read rather than after it; the render is used when the disk comes out
 * with the same claim (a new disk, or one of that size).
 */
async function renderAhead(
  config: Config,
  cluster: Cluster,
  target: DiskTarget,
  clusterSide: Promise<ClusterReads>,
  computeSide: Promise<{ reserved: ObservedAddress | undefined }>,
): Promise<(volume: PersistentVolumePlan) => Promise<ReleaseNames>> {
  const fitOf = (v: PersistentVolumePlan): string => JSON.stringify(isRefusal(v) ? 'refused' : v.claimFit);
  const reads = await clusterSide;
  const loadBalancerIP = config.staticIp === undefined ? undefined : (await computeSide).reserved?.ip;
  const name = (volume: PersistentVolumePlan): Promise<ReleaseNames> =>
    nameRelease(config, cluster, { release: reads.release, volume, loadBalancerIP });
  if (reads.release.release?.status === 'deployed') return name;
  const projected = planDiskAndVolume(
    config,
    { ...reads, target, disk: undefined, otherScopeDisk: undefined, sources: undefined, nodeNames: [] },
    ownClaim(config),
  ).volume;
  const early = name(projected);
  early.catch(() => undefined);
  return (volume) => (fitOf(volume) === fitOf(projected) ? early : name(volume));
}

async function listNodeNames(kube: KubernetesClient): Promise<string[]> {
  return (await kube.list('v1', 'Node')).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
}
