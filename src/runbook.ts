import * as core from '@actions/core';
import { createComputeClients, type ComputeClients } from './clients/compute.js';
import { Helm } from './clients/helm.js';
import { Kubectl } from './clients/kubectl.js';
import { KubernetesClient } from './clients/kubernetes.js';
import type { Config } from './config/config.js';
import { enterStep } from './lib/cancellation.js';
import type { Deadline } from './lib/deadline.js';
import { isRefusal, refusalError, type Refusal } from './lib/plan.js';
import { planAdvice, planStep, type Report } from './report.js';
import {
  describeClaimPlan,
  observeClaim,
  planClaim,
  verifyClaimBinding,
  type Claim,
  type ClaimRef,
} from './steps/claim.js';
import {
  applyCredentialSecrets,
  credentialValues,
  observeCredentialSecrets,
  planCredentialSecrets,
  type CredentialSecretPlan,
} from './steps/cloudCredentials.js';
import { clusterCredentials } from './steps/clusterCredentials.js';
import {
  applyDiskPlan,
  describeDiskPlan,
  diskResourcePath,
  diskTarget,
  observeDisk,
  observeDiskInOtherScope,
  planDisk,
  type DiskFacts,
  type DiskPlan,
  type DiskTarget,
  type ObservedDisk,
} from './steps/disk.js';
import { discoverServerUrl, waitForHealth } from './steps/endpoint.js';
import {
  applyHelmRelease,
  describeReleasePlan,
  mergeValues,
  observeRelease,
  planHelmRelease,
  type HelmReleasePlan,
  type ReleaseObservation,
  type ReleaseTarget,
} from './steps/helmRelease.js';
import {
  applyPersistentVolumePlan,
  describePersistentVolumePlan,
  observePersistentVolume,
  planPersistentVolume,
  secureRefusedVolume,
  type ClaimFit,
  type PersistentVolume,
  type PersistentVolumePlan,
  type PersistentVolumeTarget,
} from './steps/persistentVolume.js';
import { installTools, type InstalledTools } from './tools/index.js';

// The runbook's steps in order, each observed, planned and applied through its step module. main.ts runs
// them for a deploy (and plan mode); drill.ts reuses the shared parts.

/** What every mode starts with: the tools and the Compute client, loading side by side. */
export interface Prepared {
  compute: ComputeClients;
  target: DiskTarget;
  tools: Promise<InstalledTools>;
}

export function prepare(config: Config, deadline: Deadline): Prepared {
  const compute = createComputeClients({
    project: config.project,
    ...(config.computeEndpoint ? { endpoint: config.computeEndpoint } : {}),
  });
  const tools = installTools(config.tools, { deadline });
  return { compute, target: diskTarget(config), tools };
}

/** The clients every Kubernetes step goes through, each bounded by the run's deadline. */
export interface Cluster {
  kubectl: Kubectl;
  helm: Helm;
  /** The in-process client (the release lock). */
  kube: KubernetesClient;
}

/** Cluster credentials, then the clients. */
export async function connectToCluster(
  config: Config,
  tools: InstalledTools,
  deadline: Deadline,
): Promise<Cluster> {
  const target = config.cluster
    ? { cluster: config.cluster, location: config.clusterLocation, project: config.project }
    : undefined;
  const kubeconfig = await clusterCredentials(
    tools.gcloud?.binary ?? 'gcloud',
    target,
    process.env,
    deadline,
  );
  if (target && kubeconfig) core.setOutput('kubeconfig', kubeconfig);
  const options = { ...(kubeconfig ? { kubeconfig } : {}), budget: deadline };
  return {
    kubectl: new Kubectl(tools.kubectl.binary, options),
    helm: new Helm(tools.helm.binary, options),
    kube: KubernetesClient.fromKubeconfig(kubeconfig ? { path: kubeconfig } : {}, {
      budget: deadline,
      debug: (line) => core.debug(line),
    }),
  };
}

/** Everything the deploy looks at, read before anything changes. */
export interface Observed {
  disk: ObservedDisk | undefined;
  /** Read only when the disk is absent: the same name in the other scope would be shadowed by a new disk. */
  otherScopeDisk: ObservedDisk | undefined;
  /** Read only when the disk is attached: its instances may be this cluster's nodes. */
  nodeNames: string[];
  volume: PersistentVolume | undefined;
  claim: Claim | undefined;
  secrets: Awaited<ReturnType<typeof observeCredentialSecrets>>;
  release: ReleaseObservation;
}

/** Observe everything: the disk while the tools install, then the cluster (`connected`: again), every read side by side. */
export async function observeRunbook(
  config: Config,
  deadline: Deadline,
  prepared: Prepared,
  report: Report,
  connected?: Cluster,
): Promise<{ observed: Observed; cluster: Cluster }> {
  enterStep('observe');
  const { compute, target } = prepared;
  const [tools, disk] = await Promise.all([prepared.tools, observeDisk(compute, target, deadline)]);
  report.tools = tools;
  const cluster = connected ?? (await connectToCluster(config, tools, deadline));
  const { kubectl, helm } = cluster;
  const ns = config.release.namespace;
  const authSecret = config.auth.authSecret;
  const [otherScopeDisk, nodeNames, volume, claim, secrets, release, authSecretFound] = await Promise.all([
    disk ? undefined : observeDiskInOtherScope(compute, target, deadline),
    disk?.users.length ? listNodeNames(kubectl) : [],
    observePersistentVolume(kubectl, config.pvName),
    observeClaim(kubectl, claimOf(config)),
    observeCredentialSecrets(kubectl, config.credentialSecrets, ns),
    observeRelease(helm, config.release),
    authSecret ? kubectl.getJson('secret', authSecret, ns) : undefined,
  ]);
  const authSecretExists = authSecret ? authSecretFound !== undefined : undefined;
  return {
    observed: {
      disk,
      otherScopeDisk,
      nodeNames,
      volume,
      claim,
      secrets,
      release: { ...release, authSecretExists },
    },
    cluster,
  };
}

async function listNodeNames(kubectl: Kubectl): Promise<string[]> {
  return (await kubectl.list('nodes')).map((n) => n.metadata?.name ?? '').filter(Boolean);
}

/** The chart's claim, `<release>-state` in the release namespace. */
function claimOf(config: Pick<Config, 'release'>): ClaimRef {
  return { namespace: config.release.namespace, name: `${config.release.name}-state` };
}

/** Every step's plan, in the runbook's order. */
export interface RunbookPlan {
  disk: DiskPlan;
  secrets: CredentialSecretPlan[];
  volume: PersistentVolumePlan;
  claim: ReturnType<typeof planClaim>;
  release: HelmReleasePlan;
}

/** Pure: plan every step from what was observed. Each later step is planned against what the earlier one will make. */
export function planRunbook(config: Config, observed: Observed): RunbookPlan {
  const target = diskTarget(config);
  const disk = planDisk(target, observed.disk, {
    clusterNodeNames: observed.nodeNames,
    otherScope: observed.otherScopeDisk,
  });
  const volume = planPersistentVolume(
    volumeTarget(config, projectedDiskFacts(target, disk)),
    observed.volume,
  );
  const claim = planClaim(
    claimOf(config),
    observed.claim,
    config.pvName,
    observed.release.release !== undefined,
  );
  return {
    disk,
    secrets: planCredentialSecrets(config.credentialSecrets, observed.secrets, config.release.namespace),
    volume,
    claim,
    release: planRelease(config, observed, volume, claim),
  };
}

function planRelease(
  config: Config,
  observed: Observed,
  volume: PersistentVolumePlan,
  claim: RunbookPlan['claim'],
): HelmReleasePlan {
  const fit = isRefusal(volume) ? { storageClassName: config.storageClassName, size: '' } : volume.claimFit;
  return planHelmRelease(releaseTarget(config, fit), observed.release, {
    ...(claim.action === 'repair' ? { repair: claim.reason } : {}),
    planOnly: config.mode === 'plan',
  });
}

/** The release the deploy makes: the runbook's helm command with the credentials' values and our claim. */
function releaseTarget(config: Config, claimFit: ClaimFit): ReleaseTarget {
  return {
    ...config.release,
    values: mergeValues(credentialValues(config.credentialSecrets), config.release.values),
    storage: { ...claimFit, volumeName: config.pvName },
    auth: config.auth,
  };
}

/** Prints every plan the same way in deploy and plan mode, with its warnings and notes. */
export function reportRunbookPlan(report: Report, config: Config, plan: RunbookPlan): void {
  const ns = config.release.namespace;
  planStep(report, 'disk', config.disk.name, describeDiskPlan(plan.disk));
  if (!isRefusal(plan.disk)) planAdvice(report, plan.disk);
  for (const p of plan.secrets) planStep(report, 'credentials', `Secret ${ns}/${p.secret.name}`, p.action);
  for (const line of describePersistentVolumePlan(plan.volume))
    planStep(report, 'volume', config.pvName, line);
  if (!isRefusal(plan.volume)) planAdvice(report, plan.volume);
  planStep(report, 'claim', `${ns}/${claimOf(config).name}`, describeClaimPlan(plan.claim));
  planStep(report, 'helm', `${ns}/${config.release.name}`, describeReleasePlan(plan.release));
  if (!isRefusal(plan.release)) planAdvice(report, plan.release);
  planStep(report, 'endpoint', `${ns}/${config.release.name}`, 'wait for the address and health');
}

/**
 * The first refusal of the plan, in runbook order, becomes the run's one error. A refused volume on the state
 * disk still gets its reclaim policy back to Retain first (except in plan mode, which changes nothing).
 */
export async function refuseIfAny(config: Config, cluster: Cluster, plan: RunbookPlan): Promise<void> {
  const refusal: Refusal | undefined = [plan.disk, plan.volume, plan.claim, plan.release].find(isRefusal);
  if (!refusal) return;
  if (config.mode !== 'plan') await secureRefusedVolume(cluster.kubectl, config.pvName, plan.volume);
  throw refusalError(refusal);
}

/** Whether applying the plan changes anything: only then is the release lock taken (a converged rerun writes nothing). */
export function planChangesAnything(plan: RunbookPlan): boolean {
  const release = plan.release;
  return (
    plan.disk.action === 'create' ||
    plan.secrets.some((p) => p.action !== 'keep') ||
    plan.volume.action === 'create' ||
    plan.volume.action === 'update' ||
    (!isRefusal(release) && (release.action !== 'keep' || release.free !== undefined))
  );
}

/** What applying needs; `lock` is the release lock, checked before each step that changes something. */
export interface ApplyContext {
  prepared: Prepared;
  cluster: Cluster;
  report: Report;
  observed: Observed;
  lock?: { check(before: string): void };
}

/** Apply, in the runbook's order. Outputs are written as each step lands, so a failed run still says how far it got. */
export async function applyRunbook(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
): Promise<void> {
  const { prepared, cluster, report, observed } = ctx;
  const { kubectl, helm } = cluster;
  const step = (name: string): void => {
    enterStep(name);
    ctx.lock?.check(`the ${name} step`);
  };
  step('disk');
  const disk = await applyDiskPlan(prepared.compute, prepared.target, plan.disk, deadline, {
    clusterNodeNames: observed.nodeNames,
  });
  report.restored = observed.disk !== undefined;
  core.setOutput('disk', disk.resourcePath);
  core.setOutput('disk-created', String(disk.created));
  core.setOutput('restored', String(report.restored));

  if (plan.secrets.some((p) => p.action !== 'keep')) {
    step('credentials');
    await kubectl.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: config.release.namespace },
    });
    await applyCredentialSecrets(kubectl, plan.secrets, config.release.namespace);
  }

  // Planned against the projected disk; a created disk may differ (e.g. a larger snapshot): plan again, purely.
  const volumePlan = disk.created
    ? planPersistentVolume(volumeTarget(config, disk), observed.volume)
    : plan.volume;
  step('volume');
  const pv = await applyPersistentVolumePlan(kubectl, config.pvName, volumePlan);
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));

  const releasePlan =
    volumePlan === plan.volume ? plan.release : planRelease(config, observed, volumePlan, plan.claim);
  step('helm');
  const release = await applyHelmRelease(helm, releaseTarget(config, pv.claimFit), releasePlan, {
    deadline,
    kubectl,
  });
  report.helmRevision = release.revision;
  core.setOutput('helm-revision', String(release.revision));

  enterStep('claim');
  // An unchanged release whose claim was already Bound to our volume needs no second look.
  if (release.changed || plan.claim.action !== 'bound')
    await verifyClaimBinding(kubectl, claimOf(config), pv.name, deadline);
  await serveAndCheck(config, deadline, kubectl, report, {
    release: config.release.name,
    namespace: config.release.namespace,
  });
}

/** The server URL users log in to, then its health: the runbook's last step. */
export async function serveAndCheck(
  config: Config,
  deadline: Deadline,
  kubectl: Kubectl,
  report: Report,
  where: { release: string; namespace: string },
): Promise<void> {
  enterStep('endpoint');
  const url = await discoverServerUrl(kubectl, where, deadline);
  report.serverUrl = url;
  core.setOutput('server-url', url);
  if (!config.healthCheck) return;
  const health = await waitForHealth(url, config.auth, deadline, { kubectl, target: where });
  if (health.version) {
    report.serverVersion = health.version;
    core.setOutput('server-version', health.version);
  }
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

/** The PersistentVolume the runbook writes by hand, for this disk and this release's claim. */
export function volumeTarget(
  config: Config,
  disk: DiskFacts,
  pvName = config.pvName,
  release = config.release,
): PersistentVolumeTarget {
  return {
    name: pvName,
    storageClassName: config.storageClassName,
    diskPath: disk.resourcePath,
    sizeGb: disk.sizeGb,
    zones: disk.zones,
    claim: claimOf({ release }),
  };
}
