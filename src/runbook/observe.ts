import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import type { Report } from '../report.js';
import {
  addressTarget,
  observeAddress,
  observeLoadBalancer,
  type ObservedAddress,
} from '../steps/address.js';
import { observeClaim } from '../steps/claim.js';
import { observeCredentialSecrets } from '../steps/cloudCredentials.js';
import { observeDisk, observeDiskInOtherScope } from '../steps/disk.js';
import { observeDiskSources } from '../steps/diskSource.js';
import { observeRelease } from '../steps/helmRelease.js';
import { observePersistentVolume, type PersistentVolumePlan } from '../steps/persistentVolume.js';
import { observeAttachedPolicies, observeOwnPolicy, scheduleTarget } from '../steps/snapshotSchedule.js';
import { connectToCluster, type Cluster, type Prepared } from './cluster.js';
import { planDiskAndVolume, type Observed } from './plan.js';
import { nameRelease, ownClaim } from './release.js';

/**
 * Observe everything: the disk while the tools install and the cluster is reached, then every read side by side,
 * then what the release would make, and last the claim it mounts (whose name only the release can tell).
 */
export async function observeRunbook(
  config: Config,
  deadline: Deadline,
  prepared: Prepared,
  report: Report,
  connected?: Cluster,
): Promise<{ observed: Observed; cluster: Cluster }> {
  enterStep('observe');
  const { compute, target } = prepared;
  const backups = scheduleTarget(config);
  const diskRead = observeDisk(compute, target, deadline);
  const policyRead = observeOwnPolicy(compute, backups, deadline);
  const addressRead = readAddress(config, prepared, deadline);
  // Awaited below with everything else; a failure here must not go unhandled while the cluster is reached.
  diskRead.catch(() => undefined);
  policyRead.catch(() => undefined);
  addressRead.catch(() => undefined);
  const sourcesAsked = {
    disk: target,
    named: target.sourceSnapshot,
    startEmpty: target.startEmpty === true,
  };
  report.tools = await prepared.tools;
  const cluster = connected ?? (await connectToCluster(config, report.tools, deadline));
  const { kube, helm } = cluster;
  const ns = config.release.namespace;
  const authSecret = config.auth.authSecret;
  const [
    disk,
    otherScopeDisk,
    sources,
    policy,
    attached,
    nodeNames,
    volume,
    secrets,
    release,
    authSecretFound,
    reserved,
  ] = await Promise.all([
    diskRead,
    diskRead.then((d) => (d ? undefined : observeDiskInOtherScope(compute, target, deadline))),
    diskRead.then((d) => (d ? undefined : observeDiskSources(compute, sourcesAsked, deadline))),
    policyRead,
    diskRead.then((d) => observeAttachedPolicies(compute, backups, d, deadline)),
    diskRead.then((d) => (d?.users.length ? listNodeNames(kube) : [])),
    observePersistentVolume(kube, config.pvName),
    observeCredentialSecrets(kube, config.credentialSecrets, ns),
    observeRelease(helm, kube, config.release),
    authSecret ? kube.get('v1', 'Secret', authSecret, { namespace: ns }) : undefined,
    addressRead,
  ]);
  const authSecretExists = authSecret ? authSecretFound !== undefined : undefined;
  const observation = { ...release, authSecretExists };
  const schedule = { policy, ...attached };
  const first = {
    target,
    disk,
    otherScopeDisk,
    sources,
    schedule,
    nodeNames,
    volume,
    secrets,
    release: observation,
  };
  // The volume as it will be (its class and size reach the chart's values); the claim it names comes next.
  const { volume: volumePlan } = planDiskAndVolume(config, first, ownClaim(config));
  const made = await observeWhatTheReleaseMakes(config, cluster, { ...first, volumePlan }, reserved);
  return { observed: { ...first, ...made }, cluster };
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

/**
 * What the release makes, then the claim it mounts and (with static-ip) the Service that holds the address, side
 * by side: only the release can tell their names.
 */
async function observeWhatTheReleaseMakes(
  config: Config,
  cluster: Cluster,
  first: Pick<Observed, 'release'> & { volumePlan: PersistentVolumePlan },
  reserved: ObservedAddress | undefined,
): Promise<Pick<Observed, 'names' | 'claim' | 'address'>> {
  const { release, volumePlan: volume } = first;
  const names = await nameRelease(config, cluster, { release, volume, loadBalancerIP: reserved?.ip });
  const service = names.objects?.controllerService?.name;
  const withAddress = config.staticIp !== undefined;
  const [claim, loadBalancer] = await Promise.all([
    observeClaim(cluster.kube, names.claim),
    withAddress ? observeLoadBalancer(cluster.kube, config.release.namespace, service) : undefined,
  ]);
  return { names, claim, ...(withAddress ? { address: { address: reserved, loadBalancer } } : {}) };
}

async function listNodeNames(kube: KubernetesClient): Promise<string[]> {
  return (await kube.list('v1', 'Node')).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
}
