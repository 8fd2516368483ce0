import { randomBytes } from 'node:crypto';
import { nameOf, namespaceOf, rec, str, type KubeObject } from './resources.js';

// The cloud's side of LoadBalancer Services: each one gets a forwarding rule, and the forwarding rule an address.
// Where the addresses come from is a provider in the options: by default fresh 127.X.Y.Z addresses (an address a
// Service asks for is granted unless another forwarding rule holds it); a world can plug in one backed by the
// Compute stand-in's reserved addresses, as GKE's service controller uses Compute's.

/** What a LoadBalancer Service asks its cloud for. */
export interface LoadBalancerRequest {
  /** The forwarding rule GKE makes for the Service (see forwardingRuleName). */
  forwardingRule: string;
  /** "namespace/name" of the Service. */
  service: string;
  /** The address the Service asks for (`spec.loadBalancerIP`); undefined for an ephemeral one. */
  requestedIp: string | undefined;
}

/** Where load balancers get their addresses. Synchronous: the stand-in's controllers run in one pass. */
export interface LoadBalancerAddresses {
  /**
   * The forwarding rule's address, or why it cannot have one (GKE's words, see `refusals`): the Service then
   * stays without an address, with a Warning Event `SyncLoadBalancerFailed`, and is tried again on every change.
   */
  assign(request: LoadBalancerRequest): { ip: string } | { refused: string };
  /** The forwarding rule is deleted: its Service is gone, no longer a LoadBalancer, or its cluster was deleted. */
  release(forwardingRule: string): void;
}

/** What GKE's service controller reports when the address a Service asks for cannot be its load balancer's. */
export const refusals = {
  /** The address is not a reserved (static) address of the project's region. */
  notReserved: (ip: string): string => `requested ip "${ip}" is neither static nor assigned to the LB`,
  /** Another forwarding rule (another Service, or a dead cluster's load balancer) holds the address. */
  inUse: (ip: string): string =>
    `googleapi: Error 400: Invalid value for field 'resource.IPAddress': '${ip}'. Specified IP address is in-use and would result in a conflict., invalid`,
};

/**
 * The default provider: a fresh 127.X.Y.Z address for each load balancer (never 127.0.0.x, never one it handed out
 * before), or the address the Service asks for unless another forwarding rule holds it. One provider shared by
 * several clusters (a world's, across a lost cluster) keeps a dead cluster's addresses taken until released.
 */
export function localLoadBalancerAddresses(): LoadBalancerAddresses {
  const handedOut = new Set<string>();
  /** address -> the forwarding rule that holds it */
  const holders = new Map<string, string>();
  const fresh = (): string => {
    for (;;) {
      const [a = 1, b = 0, c = 1] = randomBytes(3);
      const ip = `127.${(a % 254) + 1}.${b}.${(c % 253) + 2}`;
      if (!handedOut.has(ip)) return ip;
    }
  };
  return {
    assign({ forwardingRule, requestedIp }) {
      const holder = requestedIp === undefined ? undefined : holders.get(requestedIp);
      if (requestedIp !== undefined && holder !== undefined && holder !== forwardingRule) {
        return { refused: refusals.inUse(requestedIp) };
      }
      const ip = requestedIp ?? fresh();
      handedOut.add(ip);
      holders.set(ip, forwardingRule);
      return { ip };
    },
    release(forwardingRule) {
      for (const [ip, rule] of holders) if (rule === forwardingRule) holders.delete(ip);
    },
  };
}

/** GKE's name for a Service's forwarding rule: "a" and its uid without dashes, at most 32 characters. */
export function forwardingRuleName(service: KubeObject): string {
  return `a${String(rec(service.metadata).uid ?? '')}`.replace(/-/g, '').slice(0, 32);
}

/**
 * The address a Service asks for. GKE honours `spec.loadBalancerIP` (deprecated upstream, still read by GKE); its
 * annotation for named addresses is not modelled: GKE's "LoadBalancer Service parameters" page, as stored here,
 * did not show its exact form.
 */
export function requestedAddress(service: KubeObject): string | undefined {
  return str(rec(service.spec).loadBalancerIP) || undefined;
}

/** One load balancer of a cluster. */
export interface HeldLoadBalancer {
  /** "namespace/name" of the Service. */
  service: string;
  forwardingRule: string;
  ip: string;
}

/** The forwarding rules one cluster holds, and the provider they came from. */
export class LoadBalancers {
  private readonly rules = new Map<string, HeldLoadBalancer>();

  constructor(private readonly provider: () => LoadBalancerAddresses) {}

  /** Asks the provider for an address for a Service that shows none. */
  assign(service: KubeObject): { ip: string } | { refused: string } {
    const forwardingRule = forwardingRuleName(service);
    const key = serviceKey(service);
    const answer = this.provider().assign({
      forwardingRule,
      service: key,
      requestedIp: requestedAddress(service),
    });
    if ('ip' in answer) this.rules.set(forwardingRule, { service: key, forwardingRule, ip: answer.ip });
    return answer;
  }

  /** A Service that shows an address keeps its rule (also one a test wrote into its status itself). */
  keep(service: KubeObject, ip: string): void {
    const forwardingRule = forwardingRuleName(service);
    if (!this.rules.has(forwardingRule))
      this.rules.set(forwardingRule, { service: serviceKey(service), forwardingRule, ip });
  }

  release(forwardingRule: string): void {
    if (!this.rules.delete(forwardingRule)) return;
    this.provider().release(forwardingRule);
  }

  /** Deletes the rules of Services that are gone or no longer hold an address. */
  releaseAllBut(live: ReadonlySet<string>): void {
    for (const rule of [...this.rules.keys()]) if (!live.has(rule)) this.release(rule);
  }

  /** The cluster is deleted, and GKE with it deletes its load balancers. */
  releaseAll(): void {
    this.releaseAllBut(new Set());
  }

  held(): HeldLoadBalancer[] {
    return [...this.rules.values()].map((lb) => ({ ...lb }));
  }
}

function serviceKey(service: KubeObject): string {
  return `${namespaceOf(service) ?? ''}/${nameOf(service)}`;
}
