import * as core from '@actions/core';
import type { Helm } from '../clients/helm.js';
import { readHelmRelease } from '../clients/helmStorage.js';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { FreeRelease } from './helmRelease.js';

/**
 * Frees a Helm release that a stopped run left pending, as planned: `helm rollback` to the last deployed
 * revision, or `helm uninstall` when there is none (which also finishes an interrupted uninstall). Only the holder of the release lock calls this, and only
 * while the release is still the revision and status that were planned. Returns what was done, for the summary,
 * or undefined when the release changed meanwhile (the caller plans again either way).
 */
export async function freePendingRelease(
  helm: Helm,
  kube: KubernetesClient,
  release: { name: string; namespace: string },
  free: FreeRelease,
): Promise<string | undefined> {
  const { name, namespace } = release;
  const now = await readHelmRelease(kube, name, namespace);
  if (now?.revision !== free.pendingRevision || now.status !== free.status) {
    core.info(
      `Helm release ${namespace}/${name} is no longer revision ${free.pendingRevision} ${free.status}; not freeing it`,
    );
    return undefined;
  }
  if (free.action === 'rollback') {
    await helm.rollback(name, namespace, free.revision);
    return `Freed Helm release ${namespace}/${name}: ${free.reason}; rolled it back to revision ${free.revision}.`;
  }
  await helm.uninstall(name, namespace);
  const done = free.status === 'uninstalling' ? 'finished its uninstall' : 'uninstalled it';
  return (
    `Freed Helm release ${namespace}/${name}: ${free.reason}; ${done} ` +
    '(the Retain volume kept the disk and its state) to install it again.'
  );
}
