import * as core from '@actions/core';
import { clusterCredentials } from './clusterCredentials.js';
import { createComputeClients, type ComputeClients } from './compute.js';
import type { Deadline } from './deadline.js';
import {
  diskTarget,
  observeDiskInOtherScope,
  type DiskFacts,
  type DiskPlan,
  type DiskTarget,
} from './disk.js';
import { ActionError } from './errors.js';
import { Helm } from './helm.js';
import type { Config } from './inputs.js';
import { Kubectl } from './kubectl.js';
import type { PersistentVolumeTarget } from './persistentVolume.js';
import { installTools, type InstalledTools } from './tools/index.js';

// Steps every mode shares (deploy, plan, drill), in the runbook's words.

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
  const tools = installTools(config.tools, {
    deadline,
    needGcloud: config.cluster !== undefined,
    ...(config.tools.gcloudSha256 ? { gcloudSha256: config.tools.gcloudSha256 } : {}),
  });
  return { compute, target: diskTarget(config), tools };
}

/** Cluster credentials, then the two clients every Kubernetes step goes through. */
export async function connectToCluster(
  config: Config,
  tools: InstalledTools,
): Promise<{ kubectl: Kubectl; helm: Helm; kubeconfig: string | undefined }> {
  const target = config.cluster
    ? { cluster: config.cluster, location: config.clusterLocation, project: config.project }
    : undefined;
  const kubeconfig = await clusterCredentials(tools.gcloud?.binary ?? 'gcloud', target);
  if (target && kubeconfig) core.setOutput('kubeconfig', kubeconfig);
  const options = kubeconfig ? { kubeconfig } : {};
  return {
    kubectl: new Kubectl(tools.kubectl.binary, options),
    helm: new Helm(tools.helm.binary, options),
    kubeconfig,
  };
}

/** The disk as it will be once the plan is applied: what the volume is planned against, before anything changes. */
export function projectedDiskFacts(target: DiskTarget, plan: DiskPlan): DiskFacts {
  if (plan.action === 'refuse') throw new ActionError(plan.reason, { hint: plan.hint });
  if (plan.action === 'use') {
    const d = plan.disk;
    return {
      resourcePath: d.resourcePath,
      name: d.name,
      sizeGb: d.sizeGb,
      zones: d.zones,
      regional: d.regional,
      created: false,
      type: d.type,
    };
  }
  return {
    resourcePath: plan.request.resourcePath,
    name: target.name,
    sizeGb: Number(plan.request.disk.sizeGb),
    zones: plan.request.regional ? target.replicaZones : [target.zone],
    regional: plan.request.regional,
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
    claim: { namespace: release.namespace, name: `${release.name}-state` },
  };
}

/** Before creating a disk: refuse when the state already lives on a disk of this name in the other scope. */
export async function refuseShadowDisk(
  compute: ComputeClients,
  target: DiskTarget,
  plan: DiskPlan,
  deadline: Deadline,
): Promise<void> {
  if (plan.action !== 'create') return;
  const other = await observeDiskInOtherScope(compute, target, deadline);
  if (!other) return;
  const want = target.replicaZones.length ? 'regional' : 'zonal';
  throw new ActionError(
    `The inputs ask for a ${want} disk ${target.name}, but the state is on the ${other.regional ? 'regional' : 'zonal'} disk ${other.resourcePath}`,
    {
      hint:
        `Creating a new ${want} disk would start the server empty. Keep replica-zones as it was, or move the state: ` +
        'snapshot the disk and pass the snapshot as disk-source-snapshot with a new disk-name',
    },
  );
}
