import * as core from '@actions/core';
import { readHelmRelease, type StoredRelease } from '../clients/helmStorage.js';
import type { Config } from '../config/config.js';
import { rollbackReserveMs } from '../config/upgrade.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError, describeError } from '../lib/errors.js';
import { isRefusal } from '../lib/plan.js';
import { planStep } from '../report.js';
import { isRollbackOverLookup, redeployRevision } from '../steps/helmRelease.js';
import type { DiskFacts } from '../steps/disk.js';
import type { ServerVersionPlan } from '../steps/serverVersion.js';
import { recordServerVersion, takePreUpgradeSnapshot } from '../steps/serverVersionApply.js';
import { scheduledSnapshotLabels } from '../steps/snapshotSchedule.js';
import { describeChartVersion } from '../steps/versionRecord.js';
import type { ApplyContext } from './context.js';
import type { RunbookPlan } from './plan.js';

// Upgrades that can be undone: a snapshot of the state before the server's version changes, a rollback of an
// upgrade that does not become healthy (within a part of the timeout kept for it), and the version recorded with
// the state once the server answered healthy.

type VersionPlan = Exclude<ServerVersionPlan, { action: 'refuse' }>;

function versionPlan(plan: RunbookPlan): VersionPlan | undefined {
  return isRefusal(plan.version) ? undefined : plan.version;
}

/**
 * The planned snapshot of the disk, READY before anything in the cluster changes; `pre-upgrade-snapshot` names it
 * (empty when none is planned). Returns its name.
 */
export async function snapshotBeforeUpgrade(
  ctx: ApplyContext,
  plan: RunbookPlan,
  deadline: Deadline,
): Promise<string | undefined> {
  const snapshot = versionPlan(plan)?.snapshot;
  core.setOutput('pre-upgrade-snapshot', snapshot?.name ?? '');
  if (!snapshot) return undefined;
  enterStep('snapshot');
  ctx.lock?.check('the snapshot before the upgrade');
  await core.group(`Snapshot ${snapshot.name} of the disk before the upgrade`, () =>
    takePreUpgradeSnapshot(ctx.prepared.compute, snapshot, deadline),
  );
  ctx.report.notes.push(
    `Snapshot ${snapshot.name} of ${snapshot.disk} keeps the state as it was before ${versionPlan(plan)!.line}.`,
  );
  return snapshot.name;
}

/** What the upgrade may use: the run's deadline, less the rollback's reserve when a failure would be rolled back. */
export function upgradeDeadline(config: Config, plan: RunbookPlan, deadline: Deadline): Deadline {
  return versionPlan(plan)?.rollback ? deadline.earlier(rollbackReserveMs(config.timeoutMs)) : deadline;
}

/** Waits for the rolled-back release (its rollout, its address and health), within what is left of the run. */
export type RolledBackCheck = (manifest: string, deadline: Deadline) => Promise<void>;

/**
 * An upgrade that failed (did not become healthy in its time, or helm failed): with rollback-on-failure, the
 * release goes back to the revision that was deployed before, is waited for until healthy, and the run fails
 * naming the version that failed, the revision it returned to and the snapshot taken before. Anything else (no
 * rollback planned, a cancelled run, an upgrade that made no revision) is rethrown as it is.
 */
export async function rollBackFailedUpgrade(
  config: Config,
  deadline: Deadline,
  ctx: ApplyContext,
  plan: RunbookPlan,
  failure: { error: unknown; snapshot: string | undefined },
  check: RolledBackCheck,
): Promise<never> {
  const version = versionPlan(plan);
  const rollback = version?.rollback;
  const { error } = failure;
  if (!version || !rollback || deadline.remainingMs() <= 0) throw error;
  const { name, namespace } = config.release;
  const before = ctx.observed.release.release?.revision ?? 0;
  const now = await readHelmRelease(ctx.cluster.kube, name, namespace).catch(() => undefined);
  if (!now || now.revision <= before) throw error;
  enterStep('rollback');
  ctx.lock?.check('the rollback of the release');
  const back = rollback.version ? ` (${describeChartVersion(rollback.version)})` : '';
  const failed = describeChartVersion(version.to);
  const undo = async (): Promise<void> => {
    const after = await core.group(
      `Roll back ${namespace}/${name} to revision ${rollback.revision}${back}`,
      async () => {
        core.warning(`${failed} did not become healthy: ${describeError(error)}`);
        return returnToRevision(config, ctx, rollback, deadline);
      },
    );
    if (after) {
      ctx.report.helmRevision = after.revision;
      core.setOutput('helm-revision', String(after.revision));
    }
    await check(after?.manifest ?? '', deadline);
  };
  await undo().catch((rollbackError: unknown) => {
    throw new ActionError(
      `The upgrade of ${namespace}/${name} to ${failed} did not become healthy (${message(error)}), and its rollback to revision ${rollback.revision} failed too: ${message(rollbackError)}`,
      {
        cause: rollbackError,
        hint: `${snapshotHint(plan, failure.snapshot)}. Check \`helm history ${name} -n ${namespace}\``,
      },
    );
  });
  planStep(
    ctx.report,
    'rollback',
    `${namespace}/${name}`,
    `rolled back to revision ${rollback.revision}${back}`,
  );
  throw rolledBack(config, version, rollback.revision + back, error, plan, failure.snapshot);
}

/**
 * `helm rollback` to the revision. helm refuses when that revision lists an object the chart made only because a
 * `lookup` found none (SkyPilot's namespace skypilot-system, in the first revision on a cluster): the revision's
 * chart version and values are then deployed again with `helm upgrade`, which is what the rollback would make.
 */
async function returnToRevision(
  config: Config,
  ctx: ApplyContext,
  rollback: NonNullable<VersionPlan['rollback']>,
  deadline: Deadline,
): Promise<StoredRelease | undefined> {
  const { name, namespace } = config.release;
  const { helm, kube } = ctx.cluster;
  await helm.rollback(name, namespace, rollback.revision).catch(async (refused: unknown) => {
    const values = ctx.observed.release.release?.values;
    if (!isRollbackOverLookup(refused) || !rollback.version || !values) throw refused;
    core.warning(
      `helm cannot roll back to revision ${rollback.revision}: ${message(refused).split('\n').pop() ?? ''}. ` +
        'Its chart version and values are deployed again with helm upgrade instead',
    );
    const revision = { chartVersion: rollback.version.version, values };
    await redeployRevision(helm, config.release, revision, deadline);
  });
  return readHelmRelease(kube, name, namespace);
}

function rolledBack(
  config: Config,
  version: VersionPlan,
  revision: string,
  error: unknown,
  plan: RunbookPlan,
  snapshot: string | undefined,
): ActionError {
  const { name, namespace } = config.release;
  const failed = describeChartVersion(version.to);
  const kept = version.from ? `; the disk still records ${version.from.version}` : '';
  return new ActionError(
    `The upgrade of ${namespace}/${name} to ${failed} did not become healthy (${message(error)}): ` +
      `rolled back to revision ${revision}, which answers healthy. ${snapshotHint(plan, snapshot)}`,
    {
      cause: error,
      hint: `The diagnostics above show why ${version.to.version} failed${kept}. Fix the cause and rerun, or pin chart-version to the version that runs`,
    },
  );
}

function snapshotHint(plan: RunbookPlan, snapshot: string | undefined): string {
  if (snapshot) return `The state as it was before the upgrade is in snapshot ${snapshot}`;
  const restored = plan.disk.action === 'create' ? plan.disk.source?.name : undefined;
  if (restored)
    return `The state as it was before the upgrade is in snapshot ${restored}, which it was restored from`;
  return 'No snapshot was taken before the upgrade (snapshot-before-upgrade: false, or no version change)';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Once the server answered healthy: the version it runs, recorded on the disk and on the snapshots the schedule
 * takes. A converged rerun writes nothing (the labels already say it).
 */
export async function recordVersion(
  ctx: ApplyContext,
  plan: RunbookPlan,
  disk: DiskFacts,
  deadline: Deadline,
): Promise<void> {
  const version = versionPlan(plan);
  if (!version) return;
  enterStep('record');
  const schedule = scheduledSnapshotLabels(plan.schedule, ctx.observed.schedule);
  const wrote = await recordServerVersion(ctx.prepared.compute, disk, version.record, schedule, deadline);
  if (!wrote.disk && !wrote.schedule) return;
  const where = [
    wrote.disk ? `disk ${disk.resourcePath}` : '',
    wrote.schedule ? 'its scheduled snapshots' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const line = `Recorded ${describeChartVersion(version.to)} on ${where}: a recovery without chart-version installs it.`;
  core.info(line);
  ctx.report.notes.push(line);
}
