import * as core from '@actions/core';
import { parseConfig, type Config } from './config/config.js';
import { forgetSecretInputs, readInput } from './config/secrets.js';
import { runDrill } from './drill.js';
import { currentStep } from './lib/cancellation.js';
import { Deadline } from './lib/deadline.js';
import { describeError } from './lib/errors.js';
import { removeAllScratch } from './lib/scratch.js';
import { failedReport, newReport, planAdvice, stateSuffix, writeSummary, type Report } from './report.js';
import { diskResourcePath } from './steps/disk.js';
import { planStateAdvice } from './steps/serverState.js';
import { restoredFromOutput } from './steps/diskSource.js';
import { cancelOnSignals, isOutOfTime } from './runbook/cancel.js';
import { prepare } from './runbook/cluster.js';
import { applyWithLock } from './runbook/lock.js';
import { observeRunbook } from './runbook/observe.js';
import { checkPermissions } from './runbook/permissions.js';
import { reportAsItIs, reportPlan } from './runbook/planOutputs.js';
import { planRunbook, refuseIfAny, reportRunbookPlan, secureStateVolume } from './runbook/plan.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  // The recovery time users are told is counted from here.
  const startedAt = Date.now();
  let report: Report | undefined;
  let deadline: Deadline | undefined;
  let failure = '';
  const cancellation = cancelOnSignals(() => deadline);
  try {
    const config = parseConfig(readInput);
    forgetSecretInputs();
    const { mode, release, auth } = config;
    report = newReport(mode, release.name, release.namespace, auth.username, startedAt);
    if (auth.authSecret) report.authSecret = `${release.namespace}/${auth.authSecret}`;
    deadline = Deadline.forRun(config.timeoutMs);
    await Promise.race([work(config, deadline, report), cancellation.done]);
  } catch (error) {
    failure = failureMessage(error, deadline);
    if (!cancellation.cancelled) fail(report, failure);
  } finally {
    // A cancelled run ends here too, once what it started is stopped and its secret files are gone.
    if (cancellation.cancelled) fail(report, await cancellation.done);
    cancellation.dispose();
    removeAllScratch();
    // A run that failed on its inputs has no report yet: it still gets a summary saying what to fix.
    await writeSummary(report ?? failedReport(failure)).catch((e: unknown) =>
      core.warning(`No job summary: ${describeError(e)}`),
    );
  }
}

function work(config: Config, deadline: Deadline, report: Report): Promise<void> {
  return config.mode === 'drill'
    ? runDrill(config, deadline, report, prepare(config, deadline))
    : deploy(config, deadline, report);
}

function fail(report: Report | undefined, message: string): void {
  if (report) report.error = message;
  core.setFailed(`skyha-action failed: ${message}`);
  // On a runner setFailed sets it; @github/local-action's stand-in for @actions/core does not, and would report
  // a failed run as a success.
  process.exitCode = 1;
}

/** The run's one error; a timeout also names the step it stopped in. */
function failureMessage(error: unknown, deadline: Deadline | undefined): string {
  const message = describeError(error);
  const outOfTime = isOutOfTime(error) || deadline?.expired() === true;
  return outOfTime && !message.includes('during step')
    ? `ran out of time during step ${currentStep()}: ${message}`
    : message;
}

/** Observe everything, plan everything, print the plan (the same lines in plan mode), then apply it. */
async function deploy(config: Config, deadline: Deadline, report: Report): Promise<void> {
  const prepared = prepare(config, deadline);
  // The clients' connections are not closed here: a cancelled run still releases its lock through them, and the
  // process exits as soon as the step has its answer (index.ts).
  const { observed: seen, cluster, ahead } = await observeRunbook(config, deadline, prepared, report);
  const planned = planRunbook(config, seen);
  core.startGroup('Plan: what is there, and what this run changes');
  reportRunbookPlan(report, config, planned, seen);
  core.endGroup();
  reportPlan(report, planned);
  if (config.mode === 'plan')
    await reportAsItIs(config, cluster.kube, { observed: seen, plan: planned }, report);
  // Whatever stops the run from here on (a refusal, the lock, a failed step), the disk outlives its claim.
  const { observed, plan } = await secureStateVolume(config, cluster, seen, planned);
  if (plan !== planned) report.changedAlready = true;
  await refuseIfAny(config, cluster, plan);
  // Plan mode asks too: what a deploy would need is what plan mode is for.
  await checkPermissions(config, cluster, { report, plan, observed, deadline }, { lock: true });
  if (config.mode === 'plan') {
    report.notes.push('Plan mode: nothing was changed.');
    return;
  }
  // The release lock is taken only when the plan changes something (never in plan mode).
  await applyWithLock(config, deadline, { prepared, cluster, report, observed, ahead }, plan);
  const restored = report.restored === true;
  const from = report.restoredFrom ? ` (restored from: ${restoredFromOutput(report.restoredFrom)})` : '';
  // A recovery told to expect existing state (create-disk: never) that finds none says so, naming the disk.
  const expected = config.disk.createDisk === 'never';
  if (report.serverState)
    planAdvice(report, planStateAdvice(report.serverState, expected, diskResourcePath(prepared.target)));
  core.notice(
    `SkyPilot API server ready at ${report.serverUrl}: restored ${String(report.restored ?? false)}${from}` +
      (restored ? `, with its previous state${stateSuffix(report)}` : ', with a new, empty state'),
  );
}
