import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as core from '@actions/core';
import { runCommand } from '../clients/command.js';
import type { Budget } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';

export interface ClusterTarget {
  cluster: string;
  /** A zone or a region. */
  location: string;
  project: string;
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
    await runCommand(
      gcloud,
      [
        'container',
        'clusters',
        'get-credentials',
        target.cluster,
        `--location=${target.location}`,
        `--project=${target.project}`,
      ],
      { env: { KUBECONFIG: kubeconfig, USE_GKE_GCLOUD_AUTH_PLUGIN: 'True' }, ...(budget ? { budget } : {}) },
    );
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new ActionError(
      `Could not get credentials for the GKE cluster ${target.cluster} in ${target.location}`,
      {
        cause: error,
        hint:
          'Check the cluster and cluster-location inputs, and that the workflow authenticated to Google Cloud ' +
          '(google-github-actions/auth) with a role that can read the cluster (roles/container.developer)',
      },
    );
  }
  fs.chmodSync(kubeconfig, 0o600);
  core.exportVariable('KUBECONFIG', kubeconfig);
  core.info(`Credentials for cluster ${target.cluster} written to ${kubeconfig} (exported as KUBECONFIG)`);
  return kubeconfig;
}
