import * as core from '@actions/core';
import { stopAllCommands } from '../clients/command.js';
import type { Config } from '../config/config.js';
import { currentStep, enterStep, onCancel } from '../lib/cancellation.js';
import { budgetOf, type Deadline } from '../lib/deadline.js';
import { isRefusal } from '../lib/plan.js';
import type { Report } from '../report.js';
import { freePendingRelease } from '../steps/freeRelease.js';
import type { FreeRelease } from '../steps/helmRelease.js';
import { acquireReleaseLock, lockHolder, type ReleaseLock } from '../steps/releaseLock.js';
import { applyRunbook } from './apply.js';
import { reportPlan } from './planOutputs.js';
import type { ApplyContext } from './context.js';
import { observeRunbook } from './observe.js';
import type { ReadAhead } from './readAhead.js';
import {
  planChangesAnything,
  planRunbook,
  refuseIfAny,
  reportRunbookPlan,
  secureStateVolume,
  type Observed,
  type RunbookPlan,
} from './plan.js';

/** Releasing the lock at the end of a run: inside the deadline's reserve, never past the run's end. */
const RELEASE_MS = 5000;
/** Releasing it once cancelled, when the deadline has no time left: within what the runner allows after a signal. */
const CANCELLED_RELEASE_MS = 2000;

/** Waiting for another run's lock ends while this much of the run is left, at most a minute: time for the work. */
function keepForWork(deadline: Deadline): number {
  return Math.min(60_000, deadline.totalMs / 4);
}

/**
 * Applies the plan under the release's lock, taken only when the plan changes something. When another run held
 * the lock first, what it did was not observed: everything is observed and planned again under the lock. A
 * release left pending by a stopped run is freed first (the lock says no other run is working on it), and the
 * runbook is then planned again from what that left.
 */
export async function applyWithLock(
  config: Config,
  deadline: Deadline,
  ctx: Omit<ApplyContext, 'lock'>,
  plan: RunbookPlan,
): Promise<void> {
  if (!planChangesAnything(plan)) return applyRunbook(config, deadline, ctx, plan);
  enterStep('lock');
  const lock = await acquireReleaseLock(
    ctx.cluster.kube,
    { namespace: config.release.namespace, release: config.release.name },
    { holder: lockHolder(), budget: deadline, keepMs: keepForWork(deadline) },
  );
  const forget = onCancel('releasing the lock', () => lock.release(budgetOf(CANCELLED_RELEASE_MS)));
  try {
    await Promise.race([underLock(config, deadline, ctx, plan, lock), stopWhenLost(lock, deadline)]);
  } finally {
    forget();
    await lock.release(deadline.grace(RELEASE_MS));
  }
}

async function underLock(
  config: Config,
  deadline: Deadline,
  ctx: Omit<ApplyContext, 'lock'>,
  plan: RunbookPlan,
  lock: ReleaseLock,
): Promise<void> {
  let current = { observed: ctx.observed, plan, ahead: ctx.ahead };
  if (lock.waitedFor) {
    current = await lookAgain(config, deadline, ctx, `after waiting for ${lock.waitedFor}`);
  }
  if (!isRefusal(current.plan.release) && current.plan.release.free) {
    await freeRelease(config, ctx.report, ctx.cluster, lock, current.plan.release.free);
    current = await lookAgain(config, deadline, ctx, 'after freeing the release');
  }
  const { observed, ahead } = current;
  await applyRunbook(config, deadline, { ...ctx, observed, ahead, lock }, current.plan);
}

/**
 * Settles only when the lock is lost, whatever the run is doing: nothing new may start (the deadline is spent),
 * the running helm is stopped with its process group, and the run fails saying so.
 */
async function stopWhenLost(lock: ReleaseLock, deadline: Deadline): Promise<never> {
  await lock.lost;
  const step = currentStep();
  deadline.cancel();
  await stopAllCommands(undefined, 'the lock of the release was lost');
  throw lock.lostError(`during step ${step}`);
}

async function freeRelease(
  config: Config,
  report: Report,
  cluster: ApplyContext['cluster'],
  lock: ReleaseLock,
  free: FreeRelease,
): Promise<void> {
  enterStep('helm');
  lock.check('freeing the release');
  const done = await freePendingRelease(cluster.helm, cluster.kube, config.release, free);
  if (done) report.changedAlready = true;
  if (done) {
    core.notice(done);
    report.notes.push(done);
  }
}

/** Observe and plan again, under the lock; the printed plan and the summary show the new one. */
async function lookAgain(
  config: Config,
  deadline: Deadline,
  ctx: Omit<ApplyContext, 'lock'>,
  why: string,
): Promise<{ observed: Observed; plan: RunbookPlan; ahead: ReadAhead }> {
  const { report, prepared, cluster } = ctx;
  core.info(`Observing everything again ${why}`);
  // What was read ahead before the wait is stale too: the server's address and health are read again.
  const { observed: seen, ahead } = await observeRunbook(config, deadline, prepared, report, cluster);
  const planned = planRunbook(config, seen);
  report.plan.length = 0;
  reportRunbookPlan(report, config, planned, seen);
  reportPlan(report, planned);
  // The same advice again is no news.
  report.warnings = [...new Set(report.warnings)];
  report.notes = [...new Set(report.notes)];
  const { observed, plan } = await secureStateVolume(config, cluster, seen, planned);
  await refuseIfAny(config, cluster, plan);
  return { observed, plan, ahead };
}
