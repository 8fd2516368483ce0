import { randomBytes } from 'node:crypto';
import { alreadyExists, inUse, invalid, notFound } from './errors.js';
import { applyLabels, invalidLabel, labelFingerprint, labelsToSet } from './labels.js';
import { listAnswer } from './listing.js';
import type { Operations } from './operations.js';
import {
  DEFAULT_PROJECT,
  GCE_NAME,
  link,
  newId,
  relative,
  timestamp,
  type AddressJson,
  type OperationState,
} from './resources.js';
import type { ApiCall, Json, Route } from './routes.js';
import type { AddressSeed } from './seeds.js';

/** The Address fields a list filter may name (compute/v1 Address). */
export const ADDRESS_FIELDS = [
  'address',
  'addressType',
  'creationTimestamp',
  'description',
  'id',
  'ipCollection',
  'ipVersion',
  'ipv6EndpointType',
  'kind',
  'labelFingerprint',
  'labels',
  'name',
  'network',
  'networkTier',
  'prefixLength',
  'purpose',
  'region',
  'selfLink',
  'status',
  'subnetwork',
  'users',
] as const;

const NETWORK_TIERS = ['PREMIUM', 'STANDARD'] as const;
/** A loopback address other than 127.0.0.x: the Kubernetes stand-in's load balancers listen on these. */
const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * compute/v1 addresses (regional external addresses; region operations): insert, get, list, delete, setLabels.
 * Each address is a loopback IP this machine can bind, never handed out twice, so a test's load balancer can
 * listen on it; `use` and `free` are what a forwarding rule does to it (the world ties load balancers to them).
 */
export class Addresses {
  /** By path: projects/P/regions/R/addresses/N. */
  readonly byKey = new Map<string, AddressJson>();
  /** Every IP this stand-in handed out or was given, so none is handed out again. */
  private readonly issued = new Set<string>();
  /** Ephemeral IPs held by forwarding rules (no address resource): IP -> the rule's name. */
  private readonly ephemeral = new Map<string, string>();

  constructor(private readonly ops: Operations) {}

  routes(): Route[] {
    const collection = /^projects\/([^/]+)\/regions\/([^/]+)\/addresses$/;
    const one = /^projects\/([^/]+)\/regions\/([^/]+)\/addresses\/([^/]+)$/;
    return [
      ['POST', collection, (call) => this.ops.once(call, () => this.insert(call))],
      ['GET', one, ({ match: m }) => this.read(`projects/${m[1]}/regions/${m[2]}/addresses/${m[3]}`)],
      ['GET', collection, (call) => this.list(call)],
      ['DELETE', one, (call) => this.ops.once(call, () => this.remove(call))],
      [
        'POST',
        /^projects\/([^/]+)\/regions\/([^/]+)\/addresses\/([^/]+)\/setLabels$/,
        (call) => this.ops.once(call, () => this.setLabels(call)),
      ],
    ];
  }

  get(pathOrUrl: string): AddressJson | undefined {
    const key = relative(pathOrUrl);
    const address = this.byKey.get(key);
    // A promoted ephemeral IP is IN_USE by its forwarding rule from the moment its insert is DONE.
    return address && this.ops.read(key, address, address.users?.length ? 'IN_USE' : 'RESERVED');
  }

  all(): AddressJson[] {
    return [...this.byKey.keys()].map((key) => this.get(key)!);
  }

  /** A RESERVED address (IN_USE when the seed names users), as if reserved before the test. */
  put(seed: AddressSeed): AddressJson {
    const projectId = seed.project ?? DEFAULT_PROJECT;
    const region = seed.region ?? 'us-east5';
    const key = `projects/${projectId}/regions/${region}/addresses/${seed.name}`;
    if (seed.address !== undefined) this.checkRequestedIp(seed.address);
    const users = (seed.users ?? []).map((u) =>
      u.includes('/') ? u : link(`projects/${projectId}/regions/${region}/forwardingRules/${u}`),
    );
    const address = newAddress(projectId, region, {
      name: seed.name,
      address: seed.address ?? this.freshIp(),
      ...(seed.networkTier ? { networkTier: seed.networkTier } : {}),
      ...(seed.labels ? { labels: seed.labels } : {}),
      ...(seed.description ? { description: seed.description } : {}),
    });
    address.status = users.length ? 'IN_USE' : 'RESERVED';
    if (users.length) address.users = users;
    this.issued.add(address.address);
    this.byKey.set(key, address);
    return address;
  }

  /**
   * A forwarding rule named `forwardingRuleName`, in the address's region, now uses the reserved address `ip`:
   * IN_USE, users = [its URL]. False when `ip` is no reserved address of this stand-in (an ephemeral one) or
   * another rule uses it. A rule has one IP: an address it used before is freed.
   */
  use(ip: string, forwardingRuleName: string): boolean {
    const key = this.holder(ip);
    const address = key === undefined ? undefined : this.get(key);
    if (key === undefined || !address) return false;
    const rule = link(`${key.replace(/\/addresses\/[^/]+$/, '')}/forwardingRules/${forwardingRuleName}`);
    if (address.status === 'RESERVING') return false;
    if (address.users?.length && !address.users.includes(rule)) return false;
    this.free(forwardingRuleName);
    address.status = 'IN_USE';
    address.users = [rule];
    return true;
  }

  /**
   * A forwarding rule holds the ephemeral `ip` (a load balancer that asked for no address): no address resource, but
   * an insert that names this IP promotes it, as GCE does, to an address IN_USE by that rule.
   */
  holdEphemeral(ip: string, forwardingRuleName: string): void {
    this.issued.add(ip);
    this.ephemeral.set(ip, forwardingRuleName);
  }

  /** The forwarding rule is gone: every address it used is RESERVED again. True if it used one. */
  free(forwardingRuleName: string): boolean {
    for (const [ip, rule] of this.ephemeral) if (rule === forwardingRuleName) this.ephemeral.delete(ip);
    let freed = false;
    for (const address of this.byKey.values()) {
      const users = address.users?.filter((u) => !u.endsWith(`/forwardingRules/${forwardingRuleName}`));
      if (!users || users.length === address.users?.length) continue;
      freed = true;
      if (users.length) address.users = users;
      else {
        delete address.users;
        address.status = 'RESERVED';
      }
    }
    return freed;
  }

  private read(key: string): AddressJson {
    const address = this.get(key);
    if (!address) throw notFound(key);
    return address;
  }

  private list({ match: m, query }: ApiCall) {
    const collection = `projects/${m[1]}/regions/${m[2]}/addresses`;
    const all = [...this.byKey.keys()]
      .filter((key) => key.startsWith(`${collection}/`))
      .map((key) => this.get(key)!);
    return listAnswer('compute#addressList', collection, all, query, ADDRESS_FIELDS);
  }

  /** Applied when accepted, as the stand-in's other inserts: RESERVING until its operation is DONE. */
  private insert(call: ApiCall): OperationState {
    const [projectId, region] = [call.match[1]!, call.match[2]!];
    const requested = call.body.address;
    if (requested !== undefined) this.checkRequestedIp(requested);
    const address = newAddress(projectId, region, {
      ...call.body,
      address: typeof requested === 'string' ? requested : this.freshIp(),
    });
    const key = `projects/${projectId}/regions/${region}/addresses/${address.name}`;
    if (this.byKey.has(key)) throw alreadyExists(key);
    const op = this.ops.start(call, `regions/${region}`, 'insert', key);
    op.json.targetId = address.id;
    if (!op.failure) {
      this.promote(address, `projects/${projectId}/regions/${region}`);
      this.issued.add(address.address);
      this.byKey.set(key, address);
      this.ops.awaitDone(key, op, 0);
    }
    return op;
  }

  /** An insert naming an ephemeral IP a forwarding rule holds reserves it in place: the rule keeps it, now static. */
  private promote(address: AddressJson, regionPath: string): void {
    const rule = this.ephemeral.get(address.address);
    if (rule === undefined) return;
    this.ephemeral.delete(address.address);
    address.users = [link(`${regionPath}/forwardingRules/${rule}`)];
  }

  /** GCE refuses to release an address a forwarding rule uses. */
  private remove(call: ApiCall): OperationState {
    const m = call.match;
    const key = `projects/${m[1]}/regions/${m[2]}/addresses/${m[3]}`;
    const address = this.read(key);
    if (address.users?.length) throw inUse('address', key, relative(address.users[0]!));
    return this.ops.start(call, `regions/${m[2]}`, 'delete', key, () => this.byKey.delete(key));
  }

  private setLabels(call: ApiCall): OperationState {
    const m = call.match;
    const key = `projects/${m[1]}/regions/${m[2]}/addresses/${m[3]}`;
    const address = this.read(key);
    const labels = labelsToSet(address, call.body);
    const op = this.ops.start(call, `regions/${m[2]}`, 'setLabels', key);
    op.json.targetId = address.id;
    if (!op.failure) applyLabels(address, labels);
    return op;
  }

  /** A given IP must be one this machine can bind and no other address holds. */
  private checkRequestedIp(ip: unknown): void {
    const octets = LOOPBACK.exec(String(ip))?.slice(1).map(Number);
    if (!octets || octets.some((o) => o > 255) || octets[0] === 0)
      throw invalid(
        `Invalid value for field 'resource.address': '${String(ip)}'. The stand-in's addresses are 127.X.Y.Z with X not 0.`,
      );
    const holder = this.holder(String(ip));
    if (holder)
      throw invalid(
        `Invalid value for field 'resource.address': '${String(ip)}'. It is in use by '${holder}'.`,
      );
  }

  private holder(ip: string): string | undefined {
    return [...this.byKey.entries()].find(([, a]) => a.address === ip)?.[0];
  }

  /** A random 127.X.Y.Z (X 1-254, Z 2-254), as the Kubernetes stand-in's load balancer addresses look. */
  private freshIp(): string {
    for (;;) {
      const [a = 1, b = 0, c = 1] = randomBytes(3);
      const ip = `127.${(a % 254) + 1}.${b}.${(c % 253) + 2}`;
      if (!this.issued.has(ip)) return ip;
    }
  }
}

/** A RESERVING address from an insert body (or a seed), checked as GCE checks one (400 invalid). */
function newAddress(projectId: string, region: string, body: Json): AddressJson {
  const name = typeof body.name === 'string' ? body.name : '';
  if (!GCE_NAME.test(name))
    throw invalid(
      `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
    );
  const addressType = body.addressType ?? 'EXTERNAL';
  if (addressType !== 'EXTERNAL')
    throw invalid(
      `Invalid value for field 'resource.addressType': '${String(addressType)}'. The stand-in implements EXTERNAL addresses only.`,
    );
  const networkTier = body.networkTier ?? 'PREMIUM';
  if (!(NETWORK_TIERS as readonly unknown[]).includes(networkTier))
    throw invalid(
      `Invalid value for field 'resource.networkTier': '${String(networkTier)}'. Must be one of ${NETWORK_TIERS.join(', ')}.`,
    );
  const labels = body.labels as Record<string, string> | undefined;
  const labelProblem = invalidLabel(labels);
  if (labelProblem) throw invalid(labelProblem);
  const key = `projects/${projectId}/regions/${region}/addresses/${name}`;
  return {
    kind: 'compute#address',
    id: newId(),
    creationTimestamp: timestamp(),
    name,
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    address: String(body.address),
    status: 'RESERVING',
    region: link(`projects/${projectId}/regions/${region}`),
    selfLink: link(key),
    networkTier: networkTier as AddressJson['networkTier'],
    addressType: 'EXTERNAL',
    ...(labels && Object.keys(labels).length ? { labels: { ...labels } } : {}),
    labelFingerprint: labelFingerprint(labels),
  };
}
