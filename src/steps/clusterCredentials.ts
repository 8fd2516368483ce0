import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as core from '@actions/core';
import { CommandError, runCommand } from '../clients/command.js';
import type { ClusterEndpoint } from '../config/location.js';
import type { Budget } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';

export interface ClusterTarget {
  cluster: string;
  /** A zone or a region. */
  location: string;
  project: string;
  /** Which control-plane endpoint the kubeconfig names (default: the cluster's `endpoint`, as gcloud picks it). */
  endpoint?: ClusterEndpoint;
}

/** gcloud's own flags for the endpoints of a private cluster. */
const ENDPOINT_FLAGS: Record<ClusterEndpoint, string[]> = {
  ip: [],
  'internal-ip': ['--internal-ip'],
  dns: ['--dns-endpoint'],
};

/** The get-credentials argv: the runbook's command, with the endpoint a private cluster is reached at. */
export function getCredentialsArgs(target: ClusterTarget): string[] {
  return [
    'container',
    'clusters',
    'get-credentials',
    target.cluster,
    `--location=${target.location}`,
    `--project=${target.project}`,
    ...ENDPOINT_FLAGS[target.endpoint ?? 'ip'],
  ];
}

/** What to do about a failed get-credentials: gcloud's words for an endpoint the cluster lacks, else the usual checks. */
export function credentialsHint(endpoint: ClusterEndpoint, stderr: string): string {
  if (/unrecognized arguments: --dns-endpoint/.test(stderr))
    return 'This gcloud predates --dns-endpoint: set gcloud-version to latest (or a recent version such as 548.0.0)';
  if (/is not a private cluster|missing private endpoint|IP access is disabled/.test(stderr))
    return (
      'cluster-endpoint is internal-ip but the cluster has no private IP endpoint it can use: use cluster-endpoint ' +
      'ip for a cluster with a public endpoint, or dns for its DNS-based endpoint'
    );
  if (/DNSEndpoint|dnsEndpointConfig|allowExternalTraffic/.test(stderr))
    return (
      "cluster-endpoint is dns but the cluster's DNS-based endpoint is not enabled for access from outside Google " +
      'Cloud: enable it (gcloud container clusters update CLUSTER --location=LOCATION --enable-dns-access), or use ' +
      'internal-ip from a runner in the VPC'
    );
  const reach =
    endpoint === 'ip' ? '' : `, and that this runner can reach the cluster's ${endpoint} endpoint`;
  return (
    'Check the cluster and cluster-location inputs, and that the workflow authenticated to Google Cloud ' +
    `(google-github-actions/auth) with a role that can read the cluster (roles/container.developer)${reach}`
  );
}

/**
 * The kubeconfig every later kubectl/helm call uses: with a cluster, a private one from
 * `gcloud container clusters get-credentials`, exported as KUBECONFIG for later steps; without, the runner's own.
 */
export async function clusterCredentials(
  gcloud: string,
  target: ClusterTarget | undefined,
  env: NodeJS.ProcessEnv = process.env,
  budget?: Budget,
): Promise<string | undefined> {
  if (!target) return env.KUBECONFIG || undefined;
  const dir = fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'skyha-kube-'));
  const kubeconfig = path.join(dir, 'config');
  // Created 0600 before gcloud writes to it, so the file is never readable by others, not even for a moment.
  fs.writeFileSync(kubeconfig, '', { mode: 0o600, flag: 'wx' });
  try {
    await runCommand(gcloud, getCredentialsArgs(target), {
      env: { KUBECONFIG: kubeconfig, USE_GKE_GCLOUD_AUTH_PLUGIN: 'True' },
      ...(budget ? { budget } : {}),
    });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    const stderr = error instanceof CommandError ? error.result.stderr : '';
    throw new ActionError(
      `Could not get credentials for the GKE cluster ${target.cluster} in ${target.location}`,
      { cause: error, hint: credentialsHint(target.endpoint ?? 'ip', stderr) },
    );
  }
  fs.chmodSync(kubeconfig, 0o600);
  core.exportVariable('KUBECONFIG', kubeconfig);
  core.info(`Credentials for cluster ${target.cluster} written to ${kubeconfig} (exported as KUBECONFIG)`);
  return kubeconfig;
}
