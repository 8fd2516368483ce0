import * as core from '@actions/core';
import type { Mode } from './config/config.js';
import type { Advice, Refusal } from './lib/plan.js';
import { age, secondsSince, utcMinute } from './lib/time.js';
import { restoredFromOutput, type RestoredFrom } from './steps/diskSource.js';
import { loginCommand } from './steps/endpoint.js';
import { describeState, type StateReading } from './steps/serverState.js';
import type { InstalledTools } from './tools/index.js';

/** What a run found and did, filled in step by step so even a failed run summarises how far it got. */
export interface Report {
  mode: Mode;
  release: string;
  namespace: string;
  username: string;
  /** One line per resource: what was there, and what this run does about it. */
  plan: Array<{ step: string; resource: string; action: string }>;
  tools?: InstalledTools;
  restored?: boolean;
  serverUrl?: string;
  serverVersion?: string;
  helmRevision?: number;
  /** When run() started (ms): the recovery time is counted from here. */
  startedAt: number;
  /** Where the state came from: the existing disk, a snapshot, or nothing (a new, empty disk). */
  restoredFrom?: RestoredFrom;
  /** How old the restored snapshot's state was when the disk was made from it (the RPO). */
  stateAgeSeconds?: number;
  /** From the start of the run until the server answered healthy (the RTO). */
  recoverySeconds?: number;
  /** The snapshot schedule on the disk, as the summary states it. */
  backups?: string;
  /** The static address the server is reached at (static-ip), and whether this run reserved it. */
  address?: { resourcePath: string; ip: string; reserved: boolean };
  /** The server's state, read through its API beside the last health check (see steps/serverState.ts). */
  serverState?: StateReading;
  /** A drill's verdict on that state against production's, as one sentence. */
  stateVerdict?: string;
  /** With auth-secret: the htpasswd Secret (namespace/name) that holds the logins; the password is never known. */
  authSecret?: string;
  /** The `plan` output as last written (a later refusal is added to it), and the `changes` output. */
  planOutput?: PlanOutput;
  changes?: boolean;
  /** This run changed something before its last plan (a release freed, a volume put back to Retain). */
  changedAlready?: boolean;
  /** What the plans warned about: printed as `::warning::` and kept for the summary. */
  warnings: string[];
  notes: string[];
  error?: string;
}

/**
 * The `plan` output: each runbook step's action in fixed words, and the refusal that stopped the run (null when
 * none). The keys never change, so a workflow can read `fromJSON(steps.x.outputs.plan).release`.
 */
export interface PlanOutput {
  /** keep | create | restore (created from a snapshot) | refuse */
  disk: string;
  /** none | keep | create | update | attach | foreign (another schedule on the disk, left alone) */
  backups: string;
  /** none | keep | create | update (the strongest over the credential Secrets) */
  credentials: string;
  /** keep | create | update | refuse */
  volume: string;
  /** keep | bind | repair | create | adopt | refuse */
  claim: string;
  /** none (no static-ip) | keep | reserve | refuse */
  address: string;
  /** keep | install | upgrade | refuse */
  release: string;
  /**
   * keep (the chart version that runs, or last ran on the state) | new (none is known: what installs is recorded) |
   * upgrade | downgrade (allow-downgrade) | chart (another chart) | refuse
   */
  version: string;
  refused: { step: string; reason: string; hint: string } | null;
}

export function newReport(
  mode: Mode,
  release: string,
  namespace: string,
  username: string,
  startedAt = Date.now(),
): Report {
  return { mode, release, namespace, username, startedAt, plan: [], warnings: [], notes: [] };
}

/**
 * The report of a run that stopped before it had one (a bad input): the error, which names the input and says
 * how to fix it, and that nothing was changed.
 */
export function failedReport(error: string): Report {
  const report = newReport('deploy', '', '', '');
  report.error = error;
  report.notes.push(
    'Nothing was changed: the inputs are checked before anything is touched. Fix the input named above and rerun.',
  );
  return report;
}

/** Where the state came from, as the `restored-from` output and for the summary; a snapshot's age is taken now. */
export function reportRestoredFrom(report: Report, from: RestoredFrom, now = Date.now()): void {
  report.restoredFrom = from;
  if (from.kind === 'snapshot' && from.createdAt) {
    const seconds = secondsSince(from.createdAt, now);
    if (seconds !== undefined) report.stateAgeSeconds = seconds;
  }
  core.setOutput('restored-from', restoredFromOutput(from));
}

/** The plan as outputs a workflow can gate on: `plan` (JSON) and `changes`, written again when the run re-plans. */
export function reportPlanOutputs(report: Report, plan: PlanOutput, changes: boolean): void {
  report.planOutput = plan;
  report.changes = changes || report.changedAlready === true;
  core.setOutput('plan', JSON.stringify(plan));
  core.setOutput('changes', String(report.changes));
}

/**
 * A refusal beside the steps' plans (a missing permission): the `plan` output names it too, and `changes` is
 * what a refused run changes (`retain`: a volume on the state disk put back to Retain first).
 */
export function reportPlanRefusal(report: Report, step: string, refusal: Refusal, retain: boolean): void {
  if (!report.planOutput) return;
  const refused = { step, reason: refusal.reason, hint: refusal.hint };
  reportPlanOutputs(report, { ...report.planOutput, refused }, retain);
}

/** Where users reach the server: `server-url`, and `login-command` with a placeholder for the password. */
export function reportServerUrl(report: Report, url: string): void {
  report.serverUrl = url;
  core.setOutput('server-url', url);
  core.setOutput('login-command', loginCommand(url, loginUser(report)));
}

/** An htpasswd Secret may hold many logins: its user is a placeholder too. */
function loginUser(report: Report): string | undefined {
  return report.authSecret ? undefined : report.username;
}

/** The server answered healthy: the recovery time, as the `recovery-seconds` output. */
export function reportRecovered(report: Report, now = Date.now()): void {
  report.recoverySeconds = Math.max(0, Math.round((now - report.startedAt) / 1000));
  core.setOutput('recovery-seconds', String(report.recoverySeconds));
}

/** What the server showed of its state: the `state-users` and `state-clusters` outputs (empty when not read). */
export function reportServerState(report: Report, reading: StateReading): void {
  report.serverState = reading;
  if (!reading.read) {
    core.info(`State on the server: not read: ${reading.reason}`);
    return;
  }
  core.info(`State on the server: ${describeState(reading.state)}`);
  core.setOutput('state-users', String(reading.state.users.length));
  core.setOutput('state-clusters', String(reading.state.clusters.length));
}

/** ": 3 users (alice, bob, carol), 2 clusters (sky-dev, train-1)" when the state was read, else nothing. */
export function stateSuffix(report: Report): string {
  return report.serverState?.read ? `: ${describeState(report.serverState.state)}` : '';
}

/** Records one step of the plan and prints it as it is decided. */
export function planStep(report: Report, step: string, resource: string, action: string): void {
  report.plan.push({ step, resource, action });
  core.info(`${step.padEnd(12)} ${resource}: ${action}`);
}

/** A plan's warnings and notes reach the log (as annotations) and the summary, in every mode. */
export function planAdvice(report: Report, advice: Partial<Advice>): void {
  for (const warning of advice.warnings ?? []) {
    core.warning(warning);
    report.warnings.push(warning);
  }
  for (const note of advice.notes ?? []) {
    core.notice(note);
    report.notes.push(note);
  }
}

/** The job summary as Markdown: a pure function of the report, so tests read exactly what users see. */
function summaryMarkdown(report: Report): string {
  const lines: string[] = [];
  const title = {
    deploy: 'SkyPilot API server',
    plan: 'SkyPilot API server: plan (nothing was changed)',
    drill: 'SkyPilot API server: disaster-recovery drill',
  }[report.mode];
  lines.push(`## ${title}`, '');
  if (report.error) lines.push(`> [!CAUTION]`, `> Failed: ${oneLine(report.error)}`, '');
  if (report.warnings.length) {
    lines.push('> [!WARNING]', ...report.warnings.map((w) => `> - ${oneLine(w)}`), '');
  }
  const planned = plannedChangesLine(report);
  if (planned) lines.push(planned, '');
  if (report.serverUrl) {
    lines.push(
      `**Server:** ${report.serverUrl}${report.serverVersion ? ` (SkyPilot ${report.serverVersion})` : ''}`,
      '',
    );
    const login = loginCommand(report.serverUrl, loginUser(report));
    lines.push('Log in with:', '', '```sh', login, '```', '', passwordLine(report), '');
  }
  if (report.address) lines.push(addressLine(report.address), '');
  const state = stateLine(report);
  if (state) lines.push(state, '');
  const onServer = serverStateLine(report);
  if (onServer) lines.push(onServer, '');
  if (report.stateVerdict) lines.push(`**Drill:** ${report.stateVerdict}`, '');
  if (report.recoverySeconds !== undefined) lines.push(recoveryLine(report), '');
  if (report.backups) lines.push(`**Backups:** ${report.backups}`, '');
  if (report.plan.length) {
    lines.push('| step | resource | action |', '| --- | --- | --- |');
    for (const p of report.plan) lines.push(`| ${cell(p.step)} | ${cell(p.resource)} | ${cell(p.action)} |`);
    lines.push('');
  }
  if (report.helmRevision !== undefined)
    lines.push(`Helm release \`${report.namespace}/${report.release}\`: revision ${report.helmRevision}`, '');
  if (report.tools) {
    const tools = [report.tools.helm, report.tools.kubectl, report.tools.gcloud].filter(
      (t) => t !== undefined,
    );
    lines.push(`Tools: ${tools.map((t) => `${t.name} ${t.version} (${t.source})`).join(', ')}`, '');
  }
  for (const note of report.notes) lines.push(`- ${oneLine(note)}`);
  return lines.join('\n').trimEnd() + '\n';
}

/** Plan mode's answer to "what would a deploy do": the steps that change, as the `plan` output words them. */
function plannedChangesLine(report: Report): string | undefined {
  const plan = report.planOutput;
  if (report.mode !== 'plan' || !plan || plan.refused) return undefined;
  const steps = Object.entries(plan).filter(([, a]) => typeof a === 'string' && a !== 'keep' && a !== 'none');
  if (!report.changes) return '**A deploy would change:** nothing (converged).';
  const what = steps.map(([step, action]) => `${step} ${String(action)}`).join(', ');
  return `**A deploy would change:** ${what || 'see the steps below'}.`;
}

/** Where the password of the login command lives: it is never shown, not even masked. */
function passwordLine(report: Report): string {
  const encode = 'percent-encoded: any character but letters, digits and `-._~` as `%XX`';
  if (report.authSecret)
    return (
      `Replace \`<user>\` and \`<password>\` with a login whose line is in the htpasswd Secret ` +
      `\`${report.authSecret}\` (\`auth-secret\`, which holds only its hash), ${encode}.`
    );
  return `Replace \`<password>\` with the password given as \`web-password\` (the secret the workflow passes to it), ${encode}.`;
}

/** Users keep their login across clusters only at a static address: say which one. */
function addressLine(address: NonNullable<Report['address']>): string {
  const how = address.reserved ? 'reserved by this run' : 'kept';
  return `**Address:** static \`${address.resourcePath}\` (${address.ip}), ${how}: a new cluster serves at the same URL.`;
}

function stateLine(report: Report): string | undefined {
  const from = report.restoredFrom;
  if (from?.kind === 'snapshot') {
    const when = from.createdAt ? `: state as of ${utcMinute(from.createdAt)}` : '';
    const old = report.stateAgeSeconds === undefined ? '' : `, ${age(report.stateAgeSeconds)} old`;
    return `**State:** restored from snapshot \`${from.name}\`${when}${old}.`;
  }
  if (report.mode !== 'deploy') return undefined;
  if (from?.kind === 'none' || (from === undefined && report.restored === false))
    return '**State:** a new, empty disk was created for the server.';
  if (from?.kind === 'disk' || report.restored)
    return '**State:** the existing disk was attached: the server kept its clusters, jobs and users.';
  return undefined;
}

function serverStateLine(report: Report): string | undefined {
  const reading = report.serverState;
  if (!reading) return undefined;
  return reading.read
    ? `**On the server:** ${describeState(reading.state)}, read through its API once it answered healthy.`
    : `**On the server:** the state was not read: ${reading.reason}.`;
}

/** The two numbers users ask for after a recovery: how long it took (RTO) and how old the state is (RPO). */
function recoveryLine(report: Report): string {
  const rto = `${report.recoverySeconds} s from the start of the run until the server answered healthy (RTO)`;
  const from = report.restoredFrom;
  if (from?.kind === 'snapshot' && report.stateAgeSeconds !== undefined)
    return `**Recovery:** ${rto}; the state is ${age(report.stateAgeSeconds)} old (RPO).`;
  if (from?.kind === 'disk')
    return `**Recovery:** ${rto}; the state is the disk's own, nothing lost (RPO 0).`;
  return `**Recovery:** ${rto}.`;
}

export async function writeSummary(report: Report): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(summaryMarkdown(report)).write();
}

function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
