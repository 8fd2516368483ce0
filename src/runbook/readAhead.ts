import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { observeLoadBalancer, type ObservedLoadBalancer } from '../steps/address.js';
import { observeClaim, type Claim, type ClaimRef } from '../steps/claim.js';
import { discoverServerUrl, lookAtEndpoint, type EarlyEndpoint } from '../steps/endpoint.js';
import type { ObservedRelease } from '../steps/helmRelease.js';
import { releaseObjects } from '../steps/releaseManifest.js';
import { observeServerState, type StateReading } from '../steps/serverState.js';
import { ownClaim, type ReleaseNames } from './release.js';

// Reads started as soon as what they need is known, not when the plan reaches them, so that a run waits for its
// slowest chain of reads rather than their sum. The deployed release names the claim its server mounts and the
// Service users reach it by: both are read beside the disk (the longest chain: the token exchange, then the disk),
// and so is one health check. A converged rerun then ends with the disk read: the plan finds the same names, and
// applying an unchanged release reuses what was read here. A read that needs nothing joins the first reads in
// observe.ts; one that needs the deployed release's names (the server's state, say) joins `endpoint` here. While
// helm installs or upgrades, the Service it makes is watched already (`watchAddress`): its address is known as
// helm ends.

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

/** The address of the Service a release being installed or upgraded makes, watched since helm started. */
export interface WatchedAddress {
  namespace: string;
  service: string;
  /** The static address's IP it waits for (static-ip), as the endpoint step would. */
  loadBalancerIP: string | undefined;
  url: Promise<string>;
}

/**
 * Watches for the address of the ingress controller Service the planned release makes (named by its render), from
 * now on: a load balancer that gets its address while helm still works is seen then, not after helm.
 */
export function watchAddress(
  kube: KubernetesClient,
  config: Config,
  names: ReleaseNames,
  deadline: Deadline,
): WatchedAddress | undefined {
  const service = names.objects?.controllerService?.name;
  if (!service) return undefined;
  const { name: release, namespace } = config.release;
  const { loadBalancerIP } = names;
  const where = { release, namespace, service, ...(loadBalancerIP ? { loadBalancerIP } : {}) };
  const url = discoverServerUrl(kube, where, deadline);
  // Awaited by the endpoint step when helm made this Service; helm failing first must not leave it unhandled.
  url.catch(() => undefined);
  return { namespace, service, loadBalancerIP, url };
}
