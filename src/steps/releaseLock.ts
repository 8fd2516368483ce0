import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as core from '@actions/core';
import {
  isKubeReason,
  KubeApiError,
  type Budget,
  type KubeObject,
  type KubernetesClient,
} from '../clients/kubernetes.js';
import { budgetOf, sleep } from '../lib/deadline.js';
import { ActionError, describeError } from '../lib/errors.js';

// One deploy of a release at a time: a coordination.k8s.io/v1 Lease in the release namespace, taken before any
// change, renewed while the run works, released at its end. A killed run's Lease expires by itself.

/** How long a Lease nobody renews keeps other runs out: the wait a killed run costs the next one. */
export const LEASE_SECONDS = 60;

export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LockTarget {
  namespace: string;
  release: string;
}

export interface LockOptions {
  /** Who we are, as other runs will read it (lockHolder()). */
  holder: string;
  /** The run's deadline: waiting for another holder ends with it. */
  budget: Budget;
  /** Stop waiting when no more than this is left of the budget: the work needs time once the lock is ours. */
  keepMs?: number;
  /** The longest pause between two looks at a held Lease. */
  pollMs?: number;
  leaseSeconds?: number;
  now?: () => number;
  log?: (line: string) => void;
}

const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'skyha-action' };

/** The Lease's name: one per release. */
export function leaseName(release: string): string {
  return `skyha-${release}`;
}

/** Who holds the lock, for other runs to read: the workflow run and attempt, and a nonce unique to this process. */
export function lockHolder(
  env: NodeJS.ProcessEnv = process.env,
  nonce = randomBytes(3).toString('hex'),
): string {
  if (env.GITHUB_RUN_ID) {
    const job = env.GITHUB_JOB ? ` job ${env.GITHUB_JOB}` : '';
    const repo = env.GITHUB_REPOSITORY ?? 'unknown repository';
    return `${repo} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT ?? '1'}${job} (${nonce})`;
  }
  return `${os.hostname()} pid ${process.pid} (${nonce})`;
}

/** metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits (the API server rejects three). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** When a Lease stops keeping others out (ms since the epoch); undefined when nobody holds it. */
export function leaseExpiry(lease: LeaseObject): number | undefined {
  const spec = lease.spec ?? {};
  if (!spec.holderIdentity) return undefined;
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  if (Number.isNaN(renewed)) return 0;
  return renewed + (spec.leaseDurationSeconds ?? 0) * 1000;
}

/**
 * Takes the release's lock: creates the Lease, or takes over one that expired, or waits (with backoff, within
 * the budget) for its holder to release it, and then fails naming that holder. Creates the namespace when it
 * is missing (idempotent, as `helm --create-namespace` would), since the Lease lives in it.
 */
export async function acquireReleaseLock(
  kube: KubernetesClient,
  target: LockTarget,
  options: LockOptions,
): Promise<ReleaseLock> {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => core.info(line));
  const seconds = options.leaseSeconds ?? LEASE_SECONDS;
  const name = leaseName(target.release);
  const started = now();
  let delay = 500;
  let lastLog = -Infinity;
  let waitedFor: string | undefined;
  for (;;) {
    const created = await createLease(kube, target, name, options.holder, seconds, now);
    if (created) return new ReleaseLock(kube, target, created, { ...options, now, log, seconds }, waitedFor);
    const current = await kube.get<LeaseObject>('coordination.k8s.io/v1', 'Lease', name, {
      namespace: target.namespace,
    });
    if (!current) continue; // released between our create and our read
    const expiresAt = leaseExpiry(current);
    if (expiresAt === undefined || expiresAt <= now()) {
      const taken = await takeOver(kube, current, options.holder, seconds, now);
      if (taken) {
        const previous = current.spec?.holderIdentity;
        if (previous) log(`Took over the expired lock of ${describe(target)} from ${previous}`);
        return new ReleaseLock(kube, target, taken, { ...options, now, log, seconds }, waitedFor ?? previous);
      }
      continue;
    }
    waitedFor = current.spec?.holderIdentity ?? 'unknown';
    const left = options.budget.remainingMs() - (options.keepMs ?? 0);
    if (left <= 0) throw heldError(target, name, current, expiresAt, now() - started);
    if (now() - lastLog >= 15_000) {
      lastLog = now();
      log(
        `Waiting for the lock of ${describe(target)}: Lease ${name} is held by ${waitedFor} ` +
          `(expires in ${Math.ceil((expiresAt - now()) / 1000)} s unless renewed)`,
      );
    }
    // Look again when it would expire, sooner with backoff, never past the budget.
    await sleep(Math.max(50, Math.min(delay, left, expiresAt - now() + 50)));
    delay = Math.min(delay * 2, options.pollMs ?? 5000);
  }
}

/** The lock this run holds: renewed in the background until released. */
export class ReleaseLock {
  readonly name: string;
  private lease: LeaseObject;
  private lost: string | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private lastRenewed: number;
  private released = false;

  constructor(
    private readonly kube: KubernetesClient,
    readonly target: LockTarget,
    lease: LeaseObject,
    private readonly options: LockOptions & {
      now: () => number;
      log: (line: string) => void;
      seconds: number;
    },
    /** The other run this one waited for, or whose expired lock it took over: what it did may be unseen. */
    readonly waitedFor: string | undefined,
  ) {
    this.name = leaseName(target.release);
    this.lease = lease;
    this.lastRenewed = options.now();
    options.log(`Holding the lock of ${describe(target)} (Lease ${this.name}) as ${options.holder}`);
    this.timer = setInterval(
      () => {
        this.renewing = this.renew();
      },
      (options.seconds * 1000) / 3,
    );
    this.timer.unref();
  }

  get holder(): string {
    return this.options.holder;
  }

  /** Throws when the lock was lost (a renewal failed for a whole lease duration, or another run took it). */
  check(before: string): void {
    if (!this.lost) return;
    throw new ActionError(
      `Lost the lock of ${describe(this.target)} (Lease ${this.name}) before ${before}: ${this.lost}`,
      {
        hint: 'Another run may be deploying this release now, so this one changed nothing more: rerun once it has finished',
      },
    );
  }

  /** Deletes the Lease if it is still ours (preconditions uid and resourceVersion); bounded to a few seconds. */
  async release(budget: Budget = budgetOf(2000)): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.renewing;
    if (this.lost) return;
    const { uid, resourceVersion } = this.lease.metadata ?? {};
    try {
      await this.kube.delete('coordination.k8s.io/v1', 'Lease', this.name, {
        namespace: this.target.namespace,
        preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
        budget,
      });
      this.options.log(`Released the lock of ${describe(this.target)}`);
    } catch (error) {
      core.warning(
        `Could not release the lock of ${describe(this.target)} (${describeError(error)}); ` +
          `it expires by itself ${this.options.seconds} s after its last renewal`,
      );
    }
  }

  private async renew(): Promise<void> {
    if (this.lost || this.released) return;
    const { now, seconds } = this.options;
    const renewed = { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(now()) } };
    try {
      this.lease = await this.kube.replace(renewed, { budget: budgetOf((seconds * 1000) / 6) });
      this.lastRenewed = now();
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 409 || error.status === 404)) {
        this.lost = `another client changed or deleted the Lease (${error.reason})`;
      } else if (now() - this.lastRenewed >= seconds * 1000) {
        this.lost = `it could not be renewed for ${seconds} s (${describeError(error)})`;
      } else {
        core.warning(
          `Renewing the lock of ${describe(this.target)} failed (${describeError(error)}); retrying`,
        );
      }
    }
  }
}

/** POST the Lease (never PUT: a PUT of a missing Lease creates it, which would take a lock released meanwhile). */
async function createLease(
  kube: KubernetesClient,
  target: LockTarget,
  name: string,
  holder: string,
  seconds: number,
  now: () => number,
): Promise<LeaseObject | undefined> {
  const at = microTime(now());
  const lease: LeaseObject = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: target.namespace, labels: MANAGED_BY },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: seconds,
      acquireTime: at,
      renewTime: at,
      leaseTransitions: 0,
    },
  };
  try {
    return await kube.create(lease);
  } catch (error) {
    if (isKubeReason(error, 'AlreadyExists')) return undefined;
    if (!(error instanceof KubeApiError && error.status === 404 && error.details?.kind === 'namespaces'))
      throw error;
  }
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: target.namespace } });
  return createLease(kube, target, name, holder, seconds, now);
}

/** An update with the resourceVersion we read: if another run took it first, ours is a Conflict. */
async function takeOver(
  kube: KubernetesClient,
  current: LeaseObject,
  holder: string,
  seconds: number,
  now: () => number,
): Promise<LeaseObject | undefined> {
  const at = microTime(now());
  const transitions = (current.spec?.leaseTransitions ?? 0) + (current.spec?.holderIdentity ? 1 : 0);
  const spec = { ...current.spec, holderIdentity: holder, leaseDurationSeconds: seconds };
  try {
    return await kube.replace<LeaseObject>({
      ...current,
      spec: { ...spec, acquireTime: at, renewTime: at, leaseTransitions: transitions },
    });
  } catch (error) {
    if (isKubeReason(error, 'Conflict') || isKubeReason(error, 'NotFound')) return undefined;
    throw error;
  }
}

function heldError(
  target: LockTarget,
  name: string,
  lease: LeaseObject,
  expiresAt: number,
  waitedMs: number,
): ActionError {
  const holder = lease.spec?.holderIdentity ?? 'unknown';
  return new ActionError(
    `${describe(target)} is locked by another run: ${holder} holds Lease ${target.namespace}/${name} ` +
      `(last renewed ${lease.spec?.renewTime ?? 'never'}; it expires at ${new Date(expiresAt).toISOString()} unless renewed). ` +
      `Waited ${Math.round(waitedMs / 1000)} s`,
    {
      hint:
        'That run is still deploying this release: rerun when it has finished, or give these workflows one ' +
        'concurrency group so that they queue. A lock left by a killed run expires by itself. Nothing was changed',
    },
  );
}

function describe(target: LockTarget): string {
  return `Helm release ${target.namespace}/${target.release}`;
}
