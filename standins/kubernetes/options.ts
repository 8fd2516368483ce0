import type { ServerState } from '../serverState.js';
import { localLoadBalancerAddresses, type LoadBalancerAddresses } from './loadBalancers.js';

export interface KubeStandInOptions {
  /** 'never' keeps LoadBalancer Services without an address (to test timeouts). */
  loadBalancer?: 'assign' | 'never';
  /** Reads of a LoadBalancer Service before it gets its address. */
  loadBalancerDelayPolls?: number;
  /**
   * Milliseconds from the write of a LoadBalancer Service to its address (default 0), as a cloud provisions a load
   * balancer; the address then reaches watchers like any write. Combines with loadBalancerDelayPolls (both must
   * have passed).
   */
  loadBalancerDelayMs?: number;
  /**
   * Milliseconds after each write before the controllers act on it (default 0: at once, before the write is
   * answered). A fast cloud's controllers take a few hundred; what they write reaches watchers as it happens.
   */
  controllerDelayMs?: number;
  /** The `topology.kubernetes.io/zone` label of the nodes. */
  nodeZone?: string;
  /** 'unhealthy' makes the health endpoint behind the ingress answer 503 {status: unhealthy}. */
  healthStatus?: 'healthy' | 'unhealthy';
  /** false keeps Deployments' pods Pending and the Deployment unavailable. */
  deploymentAvailable?: boolean;
  /**
   * Images whose container exits as soon as it starts (a broken release): their pods run but never become Ready
   * (CrashLoopBackOff), so their Deployment never becomes available and the server never answers.
   */
  crashingImages?: string[];
  /** The nodes' InternalIP, where NodePort Services are served (default 127.0.0.1; another 127.x.y.z avoids port clashes). */
  nodeAddress?: string;
  /** How many Node objects exist (default 1). */
  nodeCount?: number;
  /** Whether a default StorageClass exists to provision claims dynamically (default true). */
  defaultStorageClass?: boolean;
  /**
   * Deployments ("name" in any namespace, or "namespace/name") whose ReplicaSets never get a pod, as when a
   * quota refuses them: the Deployment exists, is not Available, and `kubectl logs deploy/NAME` has no pod.
   */
  deploymentsWithoutPods?: string[];
  /** The SkyPilot version the simulated API server reports when its image tag is no version (e.g. `latest`). */
  skypilotVersion?: string;
  /**
   * Where LoadBalancer Services get their addresses (see loadBalancers.ts). Default: a provider of this stand-in's
   * own, fresh 127.X.Y.Z addresses that grants an address a Service asks for unless another of its rules holds it.
   */
  loadBalancerAddresses?: LoadBalancerAddresses;
  /**
   * The SkyPilot server's state on the disk behind a volume handle (`csi.volumeHandle` of the PersistentVolume its
   * release mounts): what `/users` and `/api/completion/cluster_name` answer from. Default: no disk has state.
   */
  serverState?: (volumeHandle: string) => ServerState | undefined;
  /** false: the server predates `/users` and `/api/completion/cluster_name` and answers them 404 (default true). */
  stateEndpoints?: boolean;
  /** The pv-protection and pvc-protection finalizers of a real cluster (see protection.ts); default off. */
  storageProtection?: boolean;
}

export type ResolvedOptions = Required<KubeStandInOptions>;

export function resolveOptions(options: KubeStandInOptions = {}): ResolvedOptions {
  return {
    loadBalancer: options.loadBalancer ?? 'assign',
    loadBalancerDelayPolls: options.loadBalancerDelayPolls ?? 0,
    loadBalancerDelayMs: options.loadBalancerDelayMs ?? 0,
    controllerDelayMs: options.controllerDelayMs ?? 0,
    nodeZone: options.nodeZone ?? 'us-central1-a',
    healthStatus: options.healthStatus ?? 'healthy',
    deploymentAvailable: options.deploymentAvailable ?? true,
    crashingImages: options.crashingImages ?? [],
    nodeAddress: options.nodeAddress ?? '127.0.0.1',
    nodeCount: options.nodeCount ?? 1,
    defaultStorageClass: options.defaultStorageClass ?? true,
    deploymentsWithoutPods: options.deploymentsWithoutPods ?? [],
    skypilotVersion: options.skypilotVersion ?? '1.0.0.dev20250218',
    loadBalancerAddresses: options.loadBalancerAddresses ?? localLoadBalancerAddresses(),
    serverState: options.serverState ?? (() => undefined),
    stateEndpoints: options.stateEndpoints ?? true,
    storageProtection: options.storageProtection ?? false,
  };
}
