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
// change, renewed while the run works, released at its end. Kubernetes' leader-election rule decides when a
// Lease nobody renews is free: no two runners' clocks are ever compared.

/** How long a Lease must stay unchanged before another run takes it over: the wait a killed run costs the next. */
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
  /** The lease duration this run announces (tests shorten it); a waiter honours the one in the record. */
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

/**
 * How a holder keeps a Lease of `seconds` (client-go's leader election: retryPeriod < renewDeadline < leaseDuration):
 * it renews every `renewEveryMs`, retries a failed renewal every `retryMs`, and holds itself lost once no renewal
 * sent within `renewDeadlineMs` succeeded, a third of the lease before any waiter could take it over.
 */
export function leaseTimings(seconds: number): {
  renewEveryMs: number;
  retryMs: number;
  renewDeadlineMs: number;
} {
  const leaseMs = seconds * 1000;
  return { renewEveryMs: leaseMs / 12, retryMs: leaseMs / 30, renewDeadlineMs: (leaseMs * 2) / 3 };
}

/**
 * What a waiter knows of a held Lease: the record it last saw and when it first saw it, by its own clock. The
 * holder's renewTime is never compared with this clock (another runner's clock may be minutes off): a record that
 * stays unchanged for its leaseDurationSeconds means its holder stopped renewing.
 */
export class LeaseObservation {
  private version: string | undefined;
  private since = 0;

  constructor(private readonly now: () => number = Date.now) {}

  see(lease: LeaseObject): { unchangedMs: number; durationMs: number } {
    const version = lease.metadata?.resourceVersion ?? JSON.stringify(lease.spec ?? {});
    if (version !== this.version) {
      this.version = version;
      this.since = this.now();
    }
    const seconds = lease.spec?.leaseDurationSeconds;
    const durationMs = (seconds && seconds > 0 ? seconds : LEASE_SECONDS) * 1000;
    return { unchangedMs: this.now() - this.since, durationMs };
  }
}

interface Settings extends LockOptions {
  now: () => number;
  log: (line: string) => void;
  seconds: number;
}

/**
 * Takes the release's lock: creates the Lease, or takes over one whose record stayed unchanged for its lease
 * duration (its holder stopped renewing), or waits (with backoff, within the budget) for its holder to release it,
 * and then fails naming that holder. Creates the namespace when it is missing (idempotent, as `helm
 * --create-namespace` would), since the Lease lives in it.
 */
export async function acquireReleaseLock(
  kube: KubernetesClient,
  target: LockTarget,
  options: LockOptions,
): Promise<ReleaseLock> {
  const settings: Settings = {
    ...options,
    now: options.now ?? Date.now,
    log: options.log ?? ((line: string) => core.info(line)),
    seconds: options.leaseSeconds ?? LEASE_SECONDS,
  };
  const { now, log } = settings;
  const name = leaseName(target.release);
  const started = now();
  const observation = new LeaseObservation(now);
  let delay = 500;
  let lastLog = -Infinity;
  let waitedFor: string | undefined;
  for (;;) {
    const sentAt = now();
    const created = await createLease(kube, target, name, settings);
    if (created) return new ReleaseLock(kube, target, created, settings, waitedFor, sentAt);
    const current = await kube.get<LeaseObject>('coordination.k8s.io/v1', 'Lease', name, {
      namespace: target.namespace,
    });
    if (!current) continue; // released between our create and our read
    const holder = current.spec?.holderIdentity;
    // Our own create, whose answer was lost: the holder names this process.
    if (holder === options.holder) return new ReleaseLock(kube, target, current, settings, waitedFor, sentAt);
    const seen = observation.see(current);
    if (!holder || seen.unchangedMs >= seen.durationMs) {
      const takenAt = now();
      const taken = await takeOver(kube, current, settings);
      if (!taken) continue;
      if (holder) log(`Took over the expired lock of ${describe(target)} from ${holder}`);
      return new ReleaseLock(kube, target, taken, settings, waitedFor ?? holder, takenAt);
    }
    waitedFor = holder;
    const left = options.budget.remainingMs() - (options.keepMs ?? 0);
    if (left <= 0) throw heldError(target, name, holder, seen, now() - started);
    if (now() - lastLog >= 15_000) {
      lastLog = now();
      log(
        `Waiting for the lock of ${describe(target)}: Lease ${name} is held by ${holder} (${unchanged(seen)})`,
      );
    }
    // Look again when it could be taken over, sooner with backoff, never past the budget.
    await sleep(Math.max(50, Math.min(delay, left, seen.durationMs - seen.unchangedMs + 50)));
    delay = Math.min(delay * 2, options.pollMs ?? 5000);
  }
}

/** The lock this run holds: renewed in the background until released, or until it is lost. */
export class ReleaseLock {
  readonly name: string;
  /** Settles, with why, once the lock is lost; never while it is held. */
  readonly lost: Promise<string>;
  private lease: LeaseObject;
  private lostReason: string | undefined;
  private declareLost: (reason: string) => void = () => undefined;
  private renewing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** When the last renewal that succeeded (or the acquisition) was sent: its deadline counts from there. */
  private renewedSentAt: number;
  private releasing: Promise<void> | undefined;
  private stopped = false;
  private warned = false;

  constructor(
    private readonly kube: KubernetesClient,
    readonly target: LockTarget,
    lease: LeaseObject,
    private readonly options: Settings,
    /** The other run this one waited for, or whose expired lock it took over: what it did may be unseen. */
    readonly waitedFor: string | undefined,
    sentAt: number,
  ) {
    this.name = leaseName(target.release);
    this.lease = lease;
    this.renewedSentAt = sentAt;
    this.lost = new Promise((resolve) => (this.declareLost = resolve));
    options.log(`Holding the lock of ${describe(target)} (Lease ${this.name}) as ${options.holder}`);
    this.schedule(leaseTimings(options.seconds).renewEveryMs);
  }

  get holder(): string {
    return this.options.holder;
  }

  /** Throws when the lock was lost (or could be by now), so that nothing more is changed under it. */
  check(before: string): void {
    this.overdue();
    if (this.lostReason) throw this.lostError(`before ${before}`);
  }

  /** The run's error for a lost lock, `where` it was noticed (`during step helm`, `before the volume step`). */
  lostError(where: string): ActionError {
    return new ActionError(
      `Lost the lock of ${describe(this.target)} (Lease ${this.name}) ${where}: ${this.lostReason ?? 'unknown'}`,
      {
        hint:
          'Another run may be deploying this release now, so this one stopped its helm and changed nothing more; ' +
          'a rerun converges once that run has finished',
      },
    );
  }

  /**
   * Deletes the Lease if it is still ours (preconditions uid and resourceVersion), within `budget` (a part of the
   * run's deadline). A budget already spent sends nothing: the Lease is then taken over once it has stayed
   * unchanged for its duration, and a cancelled run's cleanup may still release it with a budget of its own.
   */
  release(budget: Budget = budgetOf(5000)): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.lostReason) return Promise.resolve();
    if (!this.releasing && budget.remainingMs() <= 0) return Promise.resolve();
    this.releasing ??= this.deleteLease(budget);
    return this.releasing;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.lostReason) return;
    this.timer = setTimeout(() => {
      this.renewing = this.renew();
    }, ms);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.overdue()) return;
    const { now, seconds } = this.options;
    const { renewEveryMs, retryMs, renewDeadlineMs } = leaseTimings(seconds);
    const until = this.renewedSentAt + renewDeadlineMs;
    const sentAt = now();
    const renewed = { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(sentAt) } };
    try {
      this.lease = await this.kube.replace(renewed, { budget: budgetUntil(until, now) });
      this.renewedSentAt = sentAt;
      this.schedule(renewEveryMs);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof KubeApiError && (error.status === 409 || error.status === 404)) {
        return this.lose(`another run took the Lease over or deleted it (${error.reason || error.status})`);
      }
      if (this.overdue(error)) return;
      if (!this.warned) {
        this.warned = true;
        core.warning(
          `Renewing the lock of ${describe(this.target)} failed (${describeError(error)}); retrying`,
        );
      }
      this.schedule(Math.min(retryMs, Math.max(0, until - now())));
    }
  }

  /** Past the renew deadline, the lock counts as lost: a waiter could take it over a third of a lease later. */
  private overdue(error?: unknown): boolean {
    if (this.lostReason) return true;
    const { now, seconds } = this.options;
    const deadline = leaseTimings(seconds).renewDeadlineMs;
    if (now() < this.renewedSentAt + deadline) return false;
    const why = error ? ` (${describeError(error)})` : '';
    this.lose(`it could not be renewed for ${Math.round(deadline / 1000)} s${why}`);
    return true;
  }

  private lose(reason: string): void {
    if (this.lostReason || this.stopped) return;
    this.lostReason = reason;
    clearTimeout(this.timer);
    core.warning(`Lost the lock of ${describe(this.target)} (Lease ${this.name}): ${reason}`);
    this.declareLost(reason);
  }

  private async deleteLease(budget: Budget): Promise<void> {
    // A renewal in flight moves the resourceVersion: wait for it, as long as the budget allows.
    await Promise.race([this.renewing, spent(budget)]);
    for (let attempt = 1; ; attempt++) {
      const { uid, resourceVersion } = this.lease.metadata ?? {};
      try {
        await this.kube.delete('coordination.k8s.io/v1', 'Lease', this.name, {
          namespace: this.target.namespace,
          preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
          budget,
        });
        this.options.log(`Released the lock of ${describe(this.target)}`);
        return;
      } catch (error) {
        // A renewal that landed after we stopped waiting for it: delete the Lease as it is now, if still ours.
        if (attempt === 1 && isKubeReason(error, 'Conflict') && (await this.stillOurs(budget))) continue;
        core.warning(
          `Could not release the lock of ${describe(this.target)} (${describeError(error)}); other runs ` +
            `take it over once it has stayed unchanged for ${this.options.seconds} s`,
        );
        return;
      }
    }
  }

  private async stillOurs(budget: Budget): Promise<boolean> {
    const current = await this.kube
      .get<LeaseObject>('coordination.k8s.io/v1', 'Lease', this.name, {
        namespace: this.target.namespace,
        budget,
      })
      .catch(() => undefined);
    if (current?.spec?.holderIdentity !== this.options.holder) return false;
    this.lease = current;
    return true;
  }
}

/** A budget that ends at `end` on the `now` clock. */
function budgetUntil(end: number, now: () => number): Budget {
  return { remainingMs: () => Math.max(0, end - now()) };
}

/** Settles once the budget is spent (a cap on waiting for something that may take longer). */
function spent(budget: Budget): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, budget.remainingMs()).unref());
}

function unchanged(seen: { unchangedMs: number; durationMs: number }): string {
  return (
    `its record unchanged for ${Math.round(seen.unchangedMs / 1000)} s as this run saw it; ` +
    `taken over once unchanged for ${Math.round(seen.durationMs / 1000)} s`
  );
}

/** POST the Lease (never PUT: a PUT of a missing Lease creates it, which would take a lock released meanwhile). */
async function createLease(
  kube: KubernetesClient,
  target: LockTarget,
  name: string,
  settings: Settings,
): Promise<LeaseObject | undefined> {
  const at = microTime(settings.now());
  const lease: LeaseObject = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: target.namespace, labels: MANAGED_BY },
    spec: {
      holderIdentity: settings.holder,
      leaseDurationSeconds: settings.seconds,
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
  return createLease(kube, target, name, settings);
}

/** An update with the resourceVersion we read: if another run took it first, ours is a Conflict. */
async function takeOver(
  kube: KubernetesClient,
  current: LeaseObject,
  settings: Settings,
): Promise<LeaseObject | undefined> {
  const at = microTime(settings.now());
  const transitions = (current.spec?.leaseTransitions ?? 0) + (current.spec?.holderIdentity ? 1 : 0);
  const spec = { ...current.spec, holderIdentity: settings.holder, leaseDurationSeconds: settings.seconds };
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
  holder: string,
  seen: { unchangedMs: number; durationMs: number },
  waitedMs: number,
): ActionError {
  return new ActionError(
    `${describe(target)} is locked by another run: ${holder} holds Lease ${target.namespace}/${name} ` +
      `(${unchanged(seen)}). Waited ${Math.round(waitedMs / 1000)} s`,
    {
      hint:
        'That run is still deploying this release: rerun when it has finished, or give these workflows one ' +
        'concurrency group so that they queue. A lock left by a killed run is taken over once its record has ' +
        'stayed unchanged for its lease duration. Nothing was changed',
    },
  );
}

function describe(target: LockTarget): string {
  return `Helm release ${target.namespace}/${target.release}`;
}
