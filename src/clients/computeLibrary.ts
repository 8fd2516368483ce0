// The Compute client library, loaded on demand (compute.ts imports this module dynamically, so the bundle keeps
// it in a chunk of its own): google-gax, google-auth-library and the clients are ~3 MB of code to evaluate.
// Only the clients used: the package root pulls in every Compute client (a 50 MB bundle).
import { AddressesClient } from '@google-cloud/compute/build/src/v1/addresses_client.js';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ResourcePoliciesClient } from '@google-cloud/compute/build/src/v1/resource_policies_client.js';
import { SnapshotsClient } from '@google-cloud/compute/build/src/v1/snapshots_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import * as gax from 'google-gax';
import type { ClientOptions, GoogleAuth } from 'google-gax';
import { trimComputeProtos, type ProtoNode } from './computeProtos.js';

export interface LoadedComputeClients {
  readonly disks: DisksClient;
  readonly regionDisks: RegionDisksClient;
  readonly zoneOperations: ZoneOperationsClient;
  readonly regionOperations: RegionOperationsClient;
  readonly globalOperations: GlobalOperationsClient;
  readonly snapshots: SnapshotsClient;
  readonly resourcePolicies: ResourcePoliciesClient;
  readonly addresses: AddressesClient;
}

export interface LibraryOptions {
  base: ClientOptions;
  /** Replaces Application Default Credentials (tests). */
  authClient?: NonNullable<ClientOptions['authClient']>;
  /** The credentials every client shares, their token already being fetched (see computeAuth.ts). */
  auth?: GoogleAuth;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

type Root = ReturnType<gax.fallback.GrpcClient['loadProtoJSON']>;
const roots = new WeakMap<object, Root>();

/**
 * Each client hands gax the package's descriptors; this builds a root of only the calls the action makes
 * (see computeProtos.ts), once per descriptor object. In the bundle they are trimmed already (scripts/build.ts).
 */
class TrimmedGrpcClient extends gax.fallback.GrpcClient {
  override loadProtoJSON(json: Parameters<gax.fallback.GrpcClient['loadProtoJSON']>[0]): Root {
    let root = roots.get(json);
    if (!root) {
      root = gax.fallback.protobuf.Root.fromJSON(trimComputeProtos(json as ProtoNode));
      roots.set(json, root);
    }
    return root;
  }
}

// The clients' documented way to choose the transport (their second argument), here with the trimmed root.
const gaxInstance: typeof gax = { ...gax, fallback: { ...gax.fallback, GrpcClient: TrimmedGrpcClient } };

/** The clients, each built on first use and sharing one set of credentials. */
export function loadedComputeClients(options: LibraryOptions): LoadedComputeClients {
  let sharedAuth: GoogleAuth | undefined = options.auth;
  const clientOptions = (): ClientOptions => {
    if (options.authClient) return { ...options.base, authClient: options.authClient };
    // One GoogleAuth for all clients, so the credentials (e.g. a workload identity token exchange) are fetched once.
    return sharedAuth ? { ...options.base, auth: sharedAuth } : { ...options.base, scopes: [CLOUD_PLATFORM] };
  };
  const lazy = <T extends { auth: GoogleAuth }>(make: (opts: ClientOptions) => T): (() => T) => {
    let client: T | undefined;
    return () => {
      if (!client) {
        client = make(clientOptions());
        if (!options.authClient) sharedAuth ??= client.auth;
      }
      return client;
    };
  };
  const disks = lazy((o) => new DisksClient(o, gaxInstance));
  const regionDisks = lazy((o) => new RegionDisksClient(o, gaxInstance));
  const zoneOperations = lazy((o) => new ZoneOperationsClient(o, gaxInstance));
  const regionOperations = lazy((o) => new RegionOperationsClient(o, gaxInstance));
  const globalOperations = lazy((o) => new GlobalOperationsClient(o, gaxInstance));
  const snapshots = lazy((o) => new SnapshotsClient(o, gaxInstance));
  const resourcePolicies = lazy((o) => new ResourcePoliciesClient(o, gaxInstance));
  const addresses = lazy((o) => new AddressesClient(o, gaxInstance));
  return {
    get disks() {
      return disks();
    },
    get regionDisks() {
      return regionDisks();
    },
    get zoneOperations() {
      return zoneOperations();
    },
    get regionOperations() {
      return regionOperations();
    },
    get globalOperations() {
      return globalOperations();
    },
    get snapshots() {
      return snapshots();
    },
    get resourcePolicies() {
      return resourcePolicies();
    },
    get addresses() {
      return addresses();
    },
  };
}
