import type { ComputeStandIn } from './compute/index.js';
import {
  localLoadBalancerAddresses,
  refusals,
  type KubeStandInOptions,
  type LoadBalancerAddresses,
} from './kubernetes/index.js';

// What ties a world's clusters to its Compute project, as GKE ties them to Google's: a load balancer that asks for
// an address gets it only when it is a reserved address of the project that no other forwarding rule holds, and its
// forwarding rule then shows in the address's `users`; the SkyPilot server reads its state from the disk its volume
// names.

/**
 * Load balancers backed by the Compute stand-in's reserved addresses. A Service that asks for none gets an ephemeral
 * address (not a Compute resource, as on GCE, though an insert with that IP promotes it); one that asks for an
 * address that is not reserved, or that another forwarding rule holds, waits with GKE's Event.
 */
export function computeLoadBalancerAddresses(compute: ComputeStandIn): LoadBalancerAddresses {
  const ephemeral = localLoadBalancerAddresses();
  return {
    assign(request) {
      const ip = request.requestedIp;
      if (ip === undefined) {
        const answer = ephemeral.assign(request);
        // Compute knows which rule holds it, so an address inserted with this IP promotes it.
        if ('ip' in answer) compute.holdEphemeralAddress(answer.ip, request.forwardingRule);
        return answer;
      }
      if (!compute.addresses().some((a) => a.address === ip)) return { refused: refusals.notReserved(ip) };
      return compute.useAddress(ip, request.forwardingRule) ? { ip } : { refused: refusals.inUse(ip) };
    },
    release(forwardingRule) {
      ephemeral.release(forwardingRule);
      compute.freeAddress(forwardingRule);
    },
  };
}

/** The options that connect a cluster to the world's Compute project (a test's own options win). */
export function linkedToCompute(compute: ComputeStandIn): KubeStandInOptions {
  return {
    loadBalancerAddresses: computeLoadBalancerAddresses(compute),
    serverState: (volumeHandle) => compute.diskState(volumeHandle),
  };
}
