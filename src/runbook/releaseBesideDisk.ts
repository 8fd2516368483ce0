import * as core from '@actions/core';
import type { Config } from '../config/config.js';
import type { Deadline } from '../lib/deadline.js';
import { describeError } from '../lib/errors.js';
import { isRefusal } from '../lib/plan.js';
import {
  applyHelmRelease,
  readRelease,
  startUpgradeInstall,
  type ReleaseFacts,
  type ReleaseTarget,
  type StartedUpgrade,
} from '../steps/helmRelease.js';
import type { ClaimFit, PersistentVolumeFacts, PersistentVolumePlan } from '../steps/persistentVolume.js';
import type { ApplyContext } from './context.js';
import type { RunbookPlan } from './plan.js';
import { planRelease, releaseTarget } from './release.js';

// A new disk (a first deploy, or a restore from a snapshot, which GCE may take minutes to make) is created side by
// side with helm's install rather than before it, so a recovery waits for the longer of the two, not their sum.
// Safe: the server's claim can bind no volume but ours (its storage class has no provisioner, our volume is
// pre-bound to it), so the server's pod waits for the volume; what helm waits for, its hook Jobs, needs neither.

/** The volume as applied, with the plan it was applied by. */
export type VolumeAndClaim = PersistentVolumeFacts & { volumePlan: PersistentVolumePlan };

export interface EarlyRelease {
  started: StartedUpgrade;
  /** The claim's class and size the upgrade was given: the planned disk's. */
  fit: ClaimFit;
  target: ReleaseTarget;
}

/**
 * Starts the planned install or upgrade now when the disk is to be created; otherwise (and in a drill, which
 * makes what it uses one after the other) nothing, and the release waits for its turn.
 */
export function startReleaseBesideDisk(
  config: Config,
  ctx: ApplyContext,
  plan: RunbookPlan,
  deadline: Deadline,
): EarlyRelease | undefined {
  const { release, volume } = plan;
  if (ctx.prepared.ownOnly || plan.disk.action !== 'create') return undefined;
  if (isRefusal(volume) || volume.action !== 'create') return undefined;
  if (isRefusal(release) || release.action === 'keep' || release.free) return undefined;
  ctx.lock?.check('the helm step');
  const target = releaseTarget(config, volume.claimFit, ctx.observed.names);
  const started = startUpgradeInstall(ctx.cluster.helm, target, release, deadline);
  core.info(
    `helm upgrade --install of ${target.namespace}/${target.name} started beside the disk (its log below)`,
  );
  return { started, fit: volume.claimFit, target };
}

/** The early upgrade seen through; then, if the disk came out other than planned, the release made to match it. */
export async function finishReleaseBesideDisk(
  config: Config,
  ctx: ApplyContext,
  plan: RunbookPlan,
  early: EarlyRelease,
  pv: VolumeAndClaim,
  deadline: Deadline,
): Promise<ReleaseFacts> {
  const { helm, kube } = ctx.cluster;
  const facts = await applyHelmRelease(helm, kube, early.target, plan.release, {
    deadline,
    started: early.started,
  });
  if (pv.claimFit.size === early.fit.size && pv.claimFit.storageClassName === early.fit.storageClassName)
    return facts;
  // Another run made the disk between this run's read and its insert, at another size: the claim follows it.
  const { namespace, name } = config.release;
  const now = { ...ctx.observed.release, release: await readRelease(kube, name, namespace) };
  const again = planRelease(config, now, pv.volumePlan, plan.claim, ctx.observed.names);
  const target = releaseTarget(config, pv.claimFit, ctx.observed.names);
  return applyHelmRelease(helm, kube, target, again, { deadline });
}

/** A step before the release failed: the upgrade already running is still seen to its end, and its log shown. */
export async function seeReleaseThrough(config: Config, early: EarlyRelease): Promise<void> {
  const { namespace, name } = config.release;
  await core.group(`Helm release ${namespace}/${name}`, async () => {
    early.started.log.release();
    await early.started.upgrade.catch((error: unknown) =>
      core.warning(
        `helm upgrade --install of ${name}, started beside the disk, failed too: ${describeError(error)}`,
      ),
    );
  });
}
