import type { ServerState } from '../serverState.js';
import { Addresses } from './addresses.js';
import { Contents } from './content.js';
import { diskPolicyRoutes } from './diskPolicies.js';
import { Disks } from './disks.js';
import { Faults, HeldRequests, type Fault } from './faults.js';
import { Operations } from './operations.js';
import { ResourcePolicies } from './resourcePolicies.js';
import type { AddressJson, DiskJson, OperationJson, ResourcePolicyJson, SnapshotJson } from './resources.js';
import { startRouter, type Router } from './router.js';
import type { LoggedRequest } from './routes.js';
import type { AddressSeed, DiskSeed, ResourcePolicySeed, SnapshotSeed } from './seeds.js';
import { Snapshots } from './snapshots.js';
import { TokenExchange, writeExternalAccountCredentials } from './token.js';

export type { Fault, RequestMatch } from './faults.js';
export type {
  AddressJson,
  DiskJson,
  OperationJson,
  ResourcePolicyJson,
  SnapshotJson,
  SnapshotSchedulePolicyJson,
} from './resources.js';
export type { LoggedRequest } from './routes.js';
export type { AddressSeed, DiskSeed, ResourcePolicySeed, SnapshotSeed } from './seeds.js';
export type { ServerState } from '../serverState.js';

export interface ComputeStandInOptions {
  /** Polls (GET or wait) an operation needs to reach DONE. */
  operationPolls?: number;
  /** GETs of a new disk or snapshot, after its operation is DONE, before it reads READY. */
  readyPolls?: number;
  /** Loopback address to listen on. */
  host?: string;
}

export interface ComputeStandIn {
  /** Base URL for the compute-endpoint input, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  host: string;
  /** The STS endpoint for workload identity federation files. */
  tokenUrl: string;
  /** An access token the API accepts, for tests that hand the client an OAuth2Client. */
  accessToken: string;
  /** API requests (the token exchange is counted in tokenExchanges instead, its body is a credential). */
  requests: LoggedRequest[];
  tokenExchanges(): number;
  disks(): DiskJson[];
  /** One disk by resource path (projects/P/zones/Z/disks/D) or URL, as stored (its resourcePolicies included). */
  disk(resourcePath: string): DiskJson | undefined;
  snapshots(): SnapshotJson[];
  resourcePolicies(): ResourcePolicyJson[];
  operations(): OperationJson[];
  putDisk(seed: DiskSeed): DiskJson;
  putSnapshot(seed: SnapshotSeed): SnapshotJson;
  putResourcePolicy(seed: ResourcePolicySeed): ResourcePolicyJson;
  /** The disaster: the disk is gone at once, without an operation; its snapshots remain. */
  removeDisk(resourcePath: string): boolean;
  /** Regional addresses, as a GET reads them. */
  addresses(): AddressJson[];
  /** One address by resource path (projects/P/regions/R/addresses/N) or URL. */
  address(resourcePathOrUrl: string): AddressJson | undefined;
  /** A reserved address (IN_USE if the seed names users); its IP is a fresh 127.X.Y.Z unless given. */
  putAddress(seed: AddressSeed): AddressJson;
  /**
   * The forwarding rule `forwardingRuleName` (in the address's region) now uses the reserved address `ip`: IN_USE,
   * users = [the rule's URL]. False when `ip` is not a reserved address of this stand-in or another rule uses it.
   */
  useAddress(ip: string, forwardingRuleName: string): boolean;
  /**
   * The forwarding rule `forwardingRuleName` holds the ephemeral `ip` (no address resource): an insert with
   * `address: ip` then promotes it to an address IN_USE by that rule (in the region the insert names).
   */
  holdEphemeralAddress(ip: string, forwardingRuleName: string): void;
  /** The forwarding rule is gone: the address it used is RESERVED again (its ephemeral IP, forgotten). False if it used none. */
  freeAddress(forwardingRuleName: string): boolean;
  /** Writes the server's state on a disk (a copy; undefined: an empty disk). Throws for an unknown disk. */
  setDiskState(diskPath: string, state: ServerState | undefined): void;
  /** A copy of what a disk holds, by path (zonal or regional), URL or PersistentVolume volumeHandle. */
  diskState(diskPathOrUrlOrVolumeHandle: string): ServerState | undefined;
  /** A copy of what a snapshot holds, by name, path or URL. */
  snapshotState(name: string): ServerState | undefined;
  /** The snapshot schedule attached to the disk takes a snapshot now (READY, with the schedule's labels). */
  takeScheduledSnapshot(diskPath: string): SnapshotJson;
  inject(fault: Fault): void;
  /** Requests a `hang` fault holds, oldest first. */
  held(): LoggedRequest[];
  /** Resolves once at least `count` requests are held (so tests need no sleeps). */
  whenHeld(count?: number): Promise<LoggedRequest[]>;
  /** Performs and answers every held request in arrival order; returns how many it released. */
  release(): number;
  writeExternalAccountCredentials(dir: string): string;
  close(): Promise<void>;
}

/** The stand-in's parts: one module per API resource, each with its state and routes, behind one router. */
interface Parts {
  faults: Faults;
  held: HeldRequests;
  tokens: TokenExchange;
  operations: Operations;
  contents: Contents;
  disks: Disks;
  snapshots: Snapshots;
  policies: ResourcePolicies;
  addresses: Addresses;
  requests: LoggedRequest[];
}

/**
 * The Compute REST API (disks, snapshots, snapshot schedules, addresses, operations) and the STS token exchange,
 * in memory over HTTP.
 */
export async function startComputeStandIn(options: ComputeStandInOptions = {}): Promise<ComputeStandIn> {
  const host = options.host ?? '127.0.0.1';
  const readyPolls = options.readyPolls ?? 1;
  const faults = new Faults();
  const operations = new Operations(faults, options.operationPolls ?? 3);
  const contents = new Contents();
  // Disks are built last, from snapshots and policies; those look disks up only when a request or seed asks.
  const policies = new ResourcePolicies(operations, (url) => disks.userOf(url));
  const snapshots = new Snapshots(operations, contents, readyPolls, {
    disk: (key) => disks.byKey.get(key),
    policy: (key) => policies.byKey.get(key),
  });
  const disks: Disks = new Disks(operations, contents, readyPolls, snapshots, policies.byKey);
  const addresses = new Addresses(operations);
  const parts: Parts = {
    faults,
    held: new HeldRequests(),
    tokens: new TokenExchange(),
    operations,
    contents,
    disks,
    snapshots,
    policies,
    addresses,
    requests: [],
  };
  const router = await startRouter(host, {
    ...parts,
    routes: [
      ...disks.routes(),
      ...diskPolicyRoutes(operations, disks.byKey, policies.byKey),
      ...snapshots.routes(),
      ...policies.routes(),
      ...addresses.routes(),
      ...operations.routes(),
    ],
  });
  return standInApi(parts, host, router);
}

function standInApi(parts: Parts, host: string, router: Router): ComputeStandIn {
  const { disks, snapshots, policies, addresses, contents } = parts;
  const url = `http://${host}:${router.port}`;
  const tokenUrl = `${url}/v1/token`;
  return {
    url,
    port: router.port,
    host,
    tokenUrl,
    accessToken: parts.tokens.accessToken,
    requests: parts.requests,
    tokenExchanges: () => parts.tokens.exchanges(),
    disks: () => [...disks.byKey.values()],
    disk: (resourcePath) => disks.get(resourcePath),
    snapshots: () => [...snapshots.byKey.values()],
    resourcePolicies: () => [...policies.byKey.values()],
    operations: () => parts.operations.all(),
    putDisk: (seed) => disks.put(seed),
    putSnapshot: (seed) => snapshots.put(seed),
    putResourcePolicy: (seed) => policies.put(seed),
    removeDisk: (resourcePath) => disks.remove(resourcePath),
    addresses: () => addresses.all(),
    address: (resourcePathOrUrl) => addresses.get(resourcePathOrUrl),
    putAddress: (seed) => addresses.put(seed),
    useAddress: (ip, forwardingRuleName) => addresses.use(ip, forwardingRuleName),
    holdEphemeralAddress: (ip, forwardingRuleName) => addresses.holdEphemeral(ip, forwardingRuleName),
    freeAddress: (forwardingRuleName) => addresses.free(forwardingRuleName),
    setDiskState: (diskPath, state) => {
      const disk = disks.get(diskPath);
      if (!disk) throw new Error(`setDiskState: no disk ${diskPath}`);
      contents.set(disk, state);
    },
    diskState: (diskPath) => contents.get(disks.get(diskPath)),
    snapshotState: (name) => contents.get(snapshots.find(name)),
    takeScheduledSnapshot: (diskPath) => snapshots.takeScheduled(diskPath),
    inject: (fault) => parts.faults.inject(fault),
    held: () => parts.held.requests(),
    whenHeld: (count) => parts.held.whenHeld(count),
    release: () => parts.held.release(),
    writeExternalAccountCredentials: (dir) => writeExternalAccountCredentials(dir, tokenUrl),
    close: () => router.close(),
  };
}
