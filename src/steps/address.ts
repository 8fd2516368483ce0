import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { protos } from '@google-cloud/compute';
import {
  computeGet,
  httpStatus,
  startOperation,
  waitForOperation,
  type ComputeClients,
  type Operation,
} from '../clients/compute.js';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { isRefusal, refuse, refusalError, type Advice, type Refusal } from '../lib/plan.js';
import { withProgress } from '../lib/progress.js';
import { MANAGED_BY_LABEL } from './disk.js';

// The address users log in to (`static-ip`): a regional external address, reserved once and given to the ingress
// controller's LoadBalancer Service, so a new cluster serves at the same URL. The action never releases one.

type Address = protos.google.cloud.compute.v1.IAddress;

/** The address the inputs name, in the cluster's region, and the release it serves. */
export interface AddressTarget {
  project: string;
  region: string;
  name: string;
  release: { name: string; namespace: string };
}

export interface ObservedAddress {
  resourcePath: string;
  ip: string;
  /** RESERVING, RESERVED or IN_USE. */
  status: string;
  /** What uses it, as relative paths: projects/P/regions/R/forwardingRules/RULE. */
  users: string[];
  addressType: string;
  ipVersion: string | undefined;
  labels: Record<string, string>;
}

/** The ingress controller's Service as the cloud sees it: its forwarding rule, the IP it shows and the one it asks for. */
export interface ObservedLoadBalancer {
  /** namespace/name */
  service: string;
  type: string;
  /** GKE's name for the Service's forwarding rule. */
  forwardingRule: string;
  /** status.loadBalancer.ingress[0].ip */
  ip: string | undefined;
  /** spec.loadBalancerIP */
  requestedIp: string | undefined;
}

export interface AddressObservation {
  address: ObservedAddress | undefined;
  /** Undefined when the Service does not exist (yet): then any user of the address is foreign. */
  loadBalancer: ObservedLoadBalancer | undefined;
}

/** The insert's body: an external address, labelled as the action's; `address` promotes the IP a rule holds. */
export interface AddressRequest {
  name: string;
  addressType: 'EXTERNAL';
  networkTier: 'PREMIUM';
  labels: Record<string, string>;
  description: string;
  address?: string;
}

export type AddressPlan =
  | (Advice & { action: 'use'; target: AddressTarget; address: ObservedAddress; ip: string })
  | (Advice & {
      action: 'reserve';
      target: AddressTarget;
      request: AddressRequest;
      /** Known before the insert only when the load balancer's current IP is reserved (promoted). */
      ip: string | undefined;
    })
  | Refusal;

/** What the apply leaves: the address and its IP, and whether this run reserved it. */
export interface AddressFacts {
  resourcePath: string;
  ip: string;
  reserved: boolean;
}

/** The address static-ip names; undefined when the Service gets an ephemeral address (static-ip empty). */
export function addressTarget(
  config: Pick<Config, 'project' | 'region' | 'staticIp'> & { release: AddressTarget['release'] },
): AddressTarget | undefined {
  if (config.staticIp === undefined) return undefined;
  const { name, namespace } = config.release;
  return {
    project: config.project,
    region: config.region,
    name: config.staticIp,
    release: { name, namespace },
  };
}

export function addressPath(target: Pick<AddressTarget, 'project' | 'region' | 'name'>): string {
  return `projects/${target.project}/regions/${target.region}/addresses/${target.name}`;
}

/** One GET; undefined when the address does not exist in the region. */
export async function observeAddress(
  clients: ComputeClients,
  target: AddressTarget,
  deadline: Deadline,
): Promise<ObservedAddress | undefined> {
  const { project, region, name: address } = target;
  const found = await computeGet(`reading address ${addressPath(target)}`, deadline, (options) =>
    clients.addresses.get({ project, region, address }, options),
  );
  return found && observedFrom(found, addressPath(target));
}

function observedFrom(address: Address, resourcePath: string): ObservedAddress {
  return {
    resourcePath,
    ip: address.address ?? '',
    status: address.status ?? 'UNKNOWN',
    users: (address.users ?? []).map(relativePath),
    addressType: address.addressType ?? 'EXTERNAL',
    ipVersion: address.ipVersion ?? undefined,
    labels: { ...(address.labels ?? {}) },
  };
}

/** The controller Service, by the name the release gives it; undefined when the release has none yet. */
export async function observeLoadBalancer(
  kube: KubernetesClient,
  namespace: string,
  service: string | undefined,
): Promise<ObservedLoadBalancer | undefined> {
  if (service === undefined) return undefined;
  const found = await kube.get<LoadBalancerService>('v1', 'Service', service, { namespace });
  return found && loadBalancerOf(found);
}

interface LoadBalancerService extends KubeObject {
  spec?: { type?: string; loadBalancerIP?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export function loadBalancerOf(service: LoadBalancerService): ObservedLoadBalancer {
  const { name = '', namespace = '' } = service.metadata ?? {};
  return {
    service: `${namespace}/${name}`,
    type: service.spec?.type ?? 'ClusterIP',
    forwardingRule: forwardingRuleName(service.metadata?.uid ?? ''),
    ip: service.status?.loadBalancer?.ingress?.[0]?.ip || undefined,
    requestedIp: service.spec?.loadBalancerIP || undefined,
  };
}

/** GKE names a Service's forwarding rule "a" and its uid without dashes, cut to 32 characters. */
export function forwardingRuleName(uid: string): string {
  return `a${uid}`.replace(/-/g, '').slice(0, 32);
}

/** Pure: use the address, reserve it (promoting the IP the Service holds, so the URL stays), or refuse it. */
export function planAddress(target: AddressTarget, seen: AddressObservation): AddressPlan {
  const { address, loadBalancer } = seen;
  if (!address) return planReservation(target, loadBalancer);
  const problem = unusable(target, address, loadBalancer);
  if (problem) return problem;
  const warnings = movesFrom(loadBalancer, address.ip, target);
  return { action: 'use', target, address, ip: address.ip, warnings, notes: [] };
}

function planReservation(target: AddressTarget, lb: ObservedLoadBalancer | undefined): AddressPlan {
  // An ephemeral IP the Service holds now is reserved as it is: turning static-ip on keeps the URL.
  const promoted = lb?.type === 'LoadBalancer' && !lb.requestedIp ? lb.ip : undefined;
  const { name, namespace } = target.release;
  const request: AddressRequest = {
    name: target.name,
    addressType: 'EXTERNAL',
    networkTier: 'PREMIUM',
    labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value },
    description: `SkyPilot API server address of release ${namespace}/${name} (skyha-action)`,
    ...(promoted ? { address: promoted } : {}),
  };
  const notes = promoted
    ? [
        `The load balancer's IP ${promoted} is reserved as address ${target.name}: the server URL stays the same.`,
      ]
    : [];
  const warnings = promoted ? [] : movesFrom(lb, undefined, target);
  return { action: 'reserve', target, request, ip: promoted, warnings, notes };
}

/** Users must log in again when the Service serves at another IP now than the one it will have. */
function movesFrom(
  lb: ObservedLoadBalancer | undefined,
  ip: string | undefined,
  target: AddressTarget,
): string[] {
  if (!lb?.ip || lb.ip === ip) return [];
  const to = ip ? `${target.name} (${ip})` : `the new address ${target.name}, whose IP GCE picks`;
  return [
    `Service ${lb.service} serves at ${lb.ip} now and moves to ${to}: users log in again with the new server-url.`,
  ];
}

/** An internal or IPv6 address, or one another forwarding rule (or resource) holds, cannot be the Service's. */
function unusable(
  target: AddressTarget,
  address: ObservedAddress,
  lb: ObservedLoadBalancer | undefined,
): Refusal | undefined {
  const where = `Address ${address.resourcePath} (${address.ip})`;
  const elsewhere = `give static-ip a name not taken in ${target.region} and the action reserves an external address there`;
  if (address.addressType !== 'EXTERNAL') {
    return refuse(
      `${where} is an ${address.addressType} address: the ingress controller's external load balancer cannot use it`,
      `Reserve an EXTERNAL address (gcloud compute addresses create NAME --region ${target.region} --project ${target.project}) or ${elsewhere}; nothing was changed`,
    );
  }
  if (address.ipVersion === 'IPV6') {
    return refuse(
      `${where} is an IPv6 address: the ingress controller's Service asks for an IPv4 one`,
      `Reserve an IPv4 address, or ${elsewhere}; nothing was changed`,
    );
  }
  // A Service that shows the address holds it, whatever its forwarding rules are called.
  if (lb?.ip === address.ip) return undefined;
  const foreign = address.users.find((u) => u.split('/').pop() !== lb?.forwardingRule);
  return foreign === undefined ? undefined : heldByAnother(where, foreign, lb);
}

/** Names who holds the address, and how to free it when that is a lost cluster's forwarding rule. */
function heldByAnother(where: string, user: string, lb: ObservedLoadBalancer | undefined): Refusal {
  const rule = /^projects\/([^/]+)\/(?:regions\/([^/]+)|global)\/forwardingRules\/([^/]+)$/.exec(user);
  if (!rule) {
    return refuse(
      `${where} is in use by ${user}`,
      'Free it from that resource, or give static-ip the name of another address (a new name is reserved by the action); nothing was changed',
    );
  }
  const [, project, region, name] = rule;
  const ours = lb
    ? `not by the load balancer of Service ${lb.service} (${lb.forwardingRule})`
    : 'and this cluster has no load balancer for it yet';
  const scope = region ? `--region ${region}` : '--global';
  return refuse(
    `${where} is IN_USE by forwarding rule ${name}, ${ours}: most likely the load balancer of a lost cluster that GKE did not delete`,
    `Make sure the cluster that owned it is gone (gcloud container clusters list --project ${project}), then free the address with ` +
      `\`gcloud compute forwarding-rules delete ${name} ${scope} --project ${project}\` and rerun; the action never releases an address. Nothing was changed`,
  );
}

export function describeAddressPlan(plan: AddressPlan): string {
  switch (plan.action) {
    case 'use': {
      const { status, users } = plan.address;
      const state = users.length ? "IN_USE by this Service's load balancer" : status;
      return `use address ${plan.address.resourcePath} (${plan.ip}, ${state})`;
    }
    case 'reserve': {
      const { name } = plan.target;
      return plan.ip
        ? `reserve address ${name} in ${plan.target.region} with the load balancer's IP ${plan.ip} (the URL stays)`
        : `reserve address ${name} in ${plan.target.region} (EXTERNAL, PREMIUM tier; GCE picks the IP)`;
    }
    case 'refuse':
      return `refuse: ${plan.reason}`;
  }
}

/** Reserves the address (safe to retry: one requestId), or uses it; returns its IP. Never releases one. */
export async function applyAddressPlan(
  clients: ComputeClients,
  plan: AddressPlan,
  loadBalancer: ObservedLoadBalancer | undefined,
  deadline: Deadline,
): Promise<AddressFacts> {
  if (isRefusal(plan)) throw refusalError(plan);
  const resourcePath = addressPath(plan.target);
  if (plan.action === 'use') return { resourcePath, ip: plan.ip, reserved: false };
  const { project, region } = plan.target;
  const requestId = randomUUID();
  const what = `reserving address ${resourcePath}`;
  let operation: Operation;
  try {
    operation = await startOperation(what, deadline, (options) =>
      clients.addresses.insert({ project, region, requestId, addressResource: plan.request }, options),
    );
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
    // Our own retries share one requestId and never see 409: someone reserved it between our read and our insert.
    core.info(`Address ${resourcePath} was reserved meanwhile by someone else; checking it instead`);
    return useReservedMeanwhile(clients, plan.target, loadBalancer, deadline);
  }
  const done = waitForOperation(clients, operation, { region }, deadline, what);
  await withProgress(`GCE to reserve address ${resourcePath}`, deadline, done);
  const made = await observeAddress(clients, plan.target, deadline);
  if (!made) {
    throw new ActionError(`Address ${resourcePath} was reserved, then not found`, { hint: 'Re-run the job' });
  }
  return { resourcePath, ip: made.ip, reserved: true };
}

async function useReservedMeanwhile(
  clients: ComputeClients,
  target: AddressTarget,
  loadBalancer: ObservedLoadBalancer | undefined,
  deadline: Deadline,
): Promise<AddressFacts> {
  const address = await observeAddress(clients, target, deadline);
  const again = planAddress(target, { address, loadBalancer });
  if (isRefusal(again)) throw refusalError(again);
  if (again.action !== 'use') {
    throw new ActionError(`Address ${addressPath(target)} was reported as existing, then not found`, {
      hint: 'Re-run the job',
    });
  }
  return { resourcePath: again.address.resourcePath, ip: again.ip, reserved: false };
}

/** projects/P/... from a resource URL (https://www.googleapis.com/compute/v1/projects/P/...). */
function relativePath(url: string): string {
  const at = url.indexOf('projects/');
  return at >= 0 ? url.slice(at) : url;
}
