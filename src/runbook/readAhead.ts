import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { observeLoadBalancer, type ObservedLoadBalancer } from '../steps/address.js';
import { observeClaim, type Claim, type ClaimRef } from '../steps/claim.js';
import { lookAtEndpoint, type EarlyEndpoint } from '../steps/endpoint.js';
import type { ObservedRelease } from '../steps/helmRelease.js';
import { releaseObjects } from '../steps/releaseManifest.js';
import { observeServerState, type StateReading } from '../steps/serverState.js';
import { ownClaim } from './release.js';

// Reads started as soon as what they need is known, not when the plan reaches them, so that a run waits for its
// slowest chain of reads rather than their sum. The deployed release names the claim its server mounts and the
// Service users reach it by: both are read beside the disk (the longest chain: the token exchange, then the disk),
// and so is one health check. A converged rerun then ends with the disk read: the plan finds the same names, and
// applying an unchanged release reuses what was read here. A read that needs nothing joins the first reads in
// observe.ts; one that needs the deployed release's names (the server's state, say) joins `endpoint` here.

export interface ReadAhead {
  /** The claim, from the read started early when the plan names the same one, else read now. */
  claim(ref: ClaimRef): Promise<Claim | undefined>;
  /** The controller Service with its load balancer (static-ip), from the early read when the names match. */
  loadBalancer(service: string | undefined): Promise<ObservedLoadBalancer | undefined>;
  /**
   * The deployed release's Service, its URL and one health answer with the server's state read beside it;
   * undefined without a deployed release.
   */
  endpoint: Promise<EarlyEndpoint<StateReading> | undefined>;
}

export function readAhead(
  kube: KubernetesClient,
  config: Config,
  deployed: Promise<ObservedRelease | undefined>,
  deadline: Deadline,
): ReadAhead {
  const objects = deployed.then((release) =>
    release?.manifest ? releaseObjects(release.manifest, config.release.name) : undefined,
  );
  // The claim the deployed server mounts (the chart's, or the action's own with existingClaim); the action's own
  // name when nothing is deployed (a chart with existingClaim, the newest, uses it).
  const guess = objects.then((o) => ({
    ...ownClaim(config),
    ...(o && { name: o.names.PersistentVolumeClaim?.[0] ?? o.apiServer?.claim ?? ownClaim(config).name }),
  }));
  const early = guess.then(async (ref) => ({ ref, claim: await observeClaim(kube, ref) }));
  const namespace = config.release.namespace;
  const service = Promise.all([deployed, objects]).then(([release, o]) =>
    release?.status === 'deployed' ? o?.controllerService?.name : undefined,
  );
  const endpoint = service.then((name) => {
    if (!name) return undefined;
    const auth = config.healthCheck ? config.auth : undefined;
    const readState = (url: string): Promise<StateReading> => observeServerState(url, config.auth, deadline);
    return lookAtEndpoint(kube, { namespace, service: name }, auth, deadline, readState);
  });
  const earlyLoadBalancer = service.then(async (name) => ({
    name,
    found: config.staticIp === undefined ? undefined : await observeLoadBalancer(kube, namespace, name),
  }));
  // Awaited by the steps that use them; a failure must not go unhandled before then (the steps read again).
  for (const read of [early, endpoint, earlyLoadBalancer]) read.catch(() => undefined);
  return {
    claim: async (ref) => {
      const read = await early.catch(() => undefined);
      return read && sameClaim(read.ref, ref) ? read.claim : observeClaim(kube, ref);
    },
    loadBalancer: async (name) => {
      const read = await earlyLoadBalancer.catch(() => undefined);
      return read && read.name === name ? read.found : observeLoadBalancer(kube, namespace, name);
    },
    endpoint: endpoint.catch(() => undefined),
  };
}

function sameClaim(a: ClaimRef, b: ClaimRef): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}
