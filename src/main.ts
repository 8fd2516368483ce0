import * as core from '@actions/core';
import { cancelOnSignals, isOutOfTime } from './cancel.js';
import { parseConfig, type Config } from './config/config.js';
import { forgetSecretInputs, readInput } from './config/secrets.js';
import { runDrill } from './drill.js';
import { currentStep } from './lib/cancellation.js';
import { Deadline } from './lib/deadline.js';
import { describeError } from './lib/errors.js';
import { applyWithLock } from './lockedApply.js';
import { newReport, writeSummary, type Report } from './report.js';
import { observeRunbook, planRunbook, prepare, refuseIfAny, reportRunbookPlan } from './runbook.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  let report: Report | undefined;
  let deadline: Deadline | undefined;
  const cancellation = cancelOnSignals(() => deadline);
  try {
    const config = parseConfig(readInput);
    forgetSecretInputs();
    report = newReport(config.mode, config.release.name, config.release.namespace, config.auth.username);
    deadline = Deadline.forRun(config.timeoutMs);
    await Promise.race([work(config, deadline, report), cancellation.done]);
  } catch (error) {
    if (!cancellation.cancelled) fail(report, failureMessage(error, deadline));
  } finally {
    // A cancelled run ends here too, once what it started is stopped and its secret files are gone.
    if (cancellation.cancelled) fail(report, await cancellation.done);
    cancellation.dispose();
    if (report)
      await writeSummary(report).catch((e: unknown) => core.warning(`No job summary: ${describeError(e)}`));
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
  const { observed, cluster } = await observeRunbook(config, deadline, prepared, report);
  const plan = planRunbook(config, observed);
  reportRunbookPlan(report, config, plan);
  await refuseIfAny(config, cluster, plan);
  if (config.mode === 'plan') {
    report.notes.push('Plan mode: nothing was changed.');
    return;
  }
  // The release lock is taken only when the plan changes something (never in plan mode).
  await applyWithLock(config, deadline, { prepared, cluster, report, observed }, plan);
  core.info(
    `SkyPilot API server ready at ${report.serverUrl}${report.restored ? ' with its previous state' : ''}`,
  );
}
