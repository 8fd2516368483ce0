import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import type { Report } from '../report.js';
import { observeClaim } from '../steps/claim.js';
import { observeCredentialSecrets } from '../steps/cloudCredentials.js';
import { observeDisk, observeDiskInOtherScope } from '../steps/disk.js';
import { observeDiskSources } from '../steps/diskSource.js';
import { observeRelease } from '../steps/helmRelease.js';
import { observePersistentVolume } from '../steps/persistentVolume.js';
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
  // Awaited below with everything else; a failure here must not go unhandled while the cluster is reached.
  diskRead.catch(() => undefined);
  policyRead.catch(() => undefined);
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
  const names = await nameRelease(config, cluster, { release: first.release, volume: volumePlan });
  const claim = await observeClaim(kube, names.claim);
  return { observed: { ...first, names, claim }, cluster };
}

async function listNodeNames(kube: KubernetesClient): Promise<string[]> {
  return (await kube.list('v1', 'Node')).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
}
