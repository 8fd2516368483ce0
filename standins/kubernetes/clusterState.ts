import type { LoadBalancers } from './loadBalancers.js';
import type { ResolvedOptions } from './options.js';
import type { ObjectStore } from './store.js';

// Where the cluster's API semantics (cluster.ts) and its controllers meet: the controllers get this and nothing of
// the cluster's internals; the cluster runs the controllers it was given (index.ts registers them) after each write.

/** What admission, the controllers and the ingress see of a cluster. */
export interface ClusterState {
  readonly store: ObjectStore;
  readonly options: ResolvedOptions;
  /** Reads of each LoadBalancer Service (by uid), for `loadBalancerDelayPolls`. */
  readonly loadBalancerPolls: ReadonlyMap<string, number>;
  /** When each LoadBalancer Service (by uid) was first written as one (ms since the epoch), for `loadBalancerDelayMs`. */
  readonly loadBalancerWrites: ReadonlyMap<string, number>;
  /** The forwarding rules of the cluster's LoadBalancer Services, and their addresses. */
  readonly loadBalancers: LoadBalancers;
  allocateClusterIp(): string;
  /** Runs the controllers again `ms` from now: a controller waiting on the cloud asks this (controller-runtime's RequeueAfter). */
  requeueAfter(ms: number): void;
}

/** One simulated controller: brings the store one step closer to what it wants; tells whether it wrote. */
export type Controller = (cluster: ClusterState) => boolean;
