import * as core from '@actions/core';
import { parseConfig, type Config } from './config/config.js';
import { forgetSecretInputs, readInput } from './config/secrets.js';
import { runDrill } from './drill.js';
import { Deadline } from './lib/deadline.js';
import { describeError } from './lib/errors.js';
import { removeAllScratch } from './lib/scratch.js';
import { newReport, writeSummary, type Report } from './report.js';
import { applyRunbook } from './runbook/apply.js';
import { prepare } from './runbook/cluster.js';
import { observeRunbook } from './runbook/observe.js';
import { planRunbook, refuseIfAny, reportRunbookPlan } from './runbook/plan.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  // The recovery time users are told is counted from here.
  const startedAt = Date.now();
  let report: Report | undefined;
  try {
    const config = parseConfig(readInput);
    forgetSecretInputs();
    report = newReport(
      config.mode,
      config.release.name,
      config.release.namespace,
      config.auth.username,
      startedAt,
    );
    const deadline = new Deadline(config.timeoutMs);
    if (config.mode === 'drill') await runDrill(config, deadline, report, prepare(config, deadline));
    else await deploy(config, deadline, report);
  } catch (error) {
    const message = describeError(error);
    if (report) report.error = message;
    core.setFailed(`skyha-action failed: ${message}`);
  } finally {
    removeAllScratch();
    if (report)
      await writeSummary(report).catch((e: unknown) => core.warning(`No job summary: ${describeError(e)}`));
  }
}

/** Observe everything, plan everything, print the plan (the same lines in plan mode), then apply it. */
async function deploy(config: Config, deadline: Deadline, report: Report): Promise<void> {
  const prepared = prepare(config, deadline);
  const { observed, cluster } = await observeRunbook(config, deadline, prepared, report);
  try {
    const plan = planRunbook(config, observed);
    reportRunbookPlan(report, config, plan, observed);
    await refuseIfAny(config, cluster, plan);
    if (config.mode === 'plan') {
      report.notes.push('Plan mode: nothing was changed.');
      return;
    }
    await applyRunbook(config, deadline, { prepared, cluster, report, observed }, plan);
  } finally {
    cluster.kube.close();
  }
  core.info(
    `SkyPilot API server ready at ${report.serverUrl}${report.restored || report.restoredFrom?.kind === 'snapshot' ? ' with its previous state' : ''}`,
  );
}
