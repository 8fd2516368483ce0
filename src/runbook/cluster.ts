import * as core from '@actions/core';
import { createComputeClients, type ComputeClients } from '../clients/compute.js';
import { Helm } from '../clients/helm.js';
import { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { clusterCredentials } from '../steps/clusterCredentials.js';
import { diskTarget, type DiskTarget } from '../steps/disk.js';
import { installTools, type InstalledTools } from '../tools/index.js';

// What every mode (deploy, plan, drill) starts from: the clients, built once and handed to every step.

/** The tools and the Compute client, loading side by side. */
export interface Prepared {
  compute: ComputeClients;
  target: DiskTarget;
  tools: Promise<InstalledTools>;
  /** Everything this run creates must be new (a drill): a name taken meanwhile is refused, never used. */
  ownOnly?: boolean;
}

export function prepare(config: Config, deadline: Deadline): Prepared {
  const compute = createComputeClients({
    project: config.project,
    ...(config.computeEndpoint ? { endpoint: config.computeEndpoint } : {}),
  });
  const tools = installTools(config.tools, { deadline });
  return { compute, target: diskTarget(config), tools };
}

/**
 * The two clients every Kubernetes step goes through: the API from the action's own process (reads and most
 * writes), and helm, started only to fetch the chart and to change the release.
 */
export interface Cluster {
  kube: KubernetesClient;
  helm: Helm;
}

/** Cluster credentials, then the clients, both on the same kubeconfig. */
export async function connectToCluster(
  config: Config,
  tools: InstalledTools,
  deadline: Deadline,
): Promise<Cluster> {
  const kubeconfig = await clusterKubeconfig(config, Promise.resolve(tools), deadline);
  return { kube: kubeClient(kubeconfig, deadline), helm: helmClient(tools, kubeconfig, deadline) };
}

/**
 * The kubeconfig the clients use: gcloud's for the `cluster` input (once the tools are there), else the
 * environment's ($KUBECONFIG, or undefined for ~/.kube/config) at once: the cluster's reads need not wait for the
 * tools then.
 */
export async function clusterKubeconfig(
  config: Config,
  tools: Promise<InstalledTools>,
  deadline: Deadline,
): Promise<string | undefined> {
  if (!config.cluster) return clusterCredentials('gcloud', undefined, process.env, deadline);
  const target = {
    cluster: config.cluster,
    location: config.clusterLocation,
    project: config.project,
    endpoint: config.clusterEndpoint,
  };
  const gcloud = (await tools).gcloud?.binary ?? 'gcloud';
  const kubeconfig = await clusterCredentials(gcloud, target, process.env, deadline);
  if (kubeconfig) core.setOutput('kubeconfig', kubeconfig);
  return kubeconfig;
}

export function kubeClient(kubeconfig: string | undefined, deadline: Deadline): KubernetesClient {
  return KubernetesClient.fromKubeconfig(kubeconfig ? { path: kubeconfig } : {}, {
    budget: deadline,
    debug: (line) => core.debug(line),
  });
}

export function helmClient(tools: InstalledTools, kubeconfig: string | undefined, deadline: Deadline): Helm {
  return new Helm(tools.helm.binary, { ...(kubeconfig ? { kubeconfig } : {}), budget: deadline });
}
