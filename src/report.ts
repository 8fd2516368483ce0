import * as core from '@actions/core';
import type { Mode } from './config/config.js';
import type { Advice } from './lib/plan.js';
import { loginCommand } from './steps/endpoint.js';
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
  /** What the plans warned about: printed as `::warning::` and kept for the summary. */
  warnings: string[];
  notes: string[];
  error?: string;
}

export function newReport(mode: Mode, release: string, namespace: string, username: string): Report {
  return { mode, release, namespace, username, plan: [], warnings: [], notes: [] };
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
  if (report.serverUrl) {
    lines.push(
      `**Server:** ${report.serverUrl}${report.serverVersion ? ` (SkyPilot ${report.serverVersion})` : ''}`,
      '',
    );
    lines.push('Log in with:', '', '```sh', loginCommand(report.serverUrl, report.username), '```', '');
  }
  if (report.restored !== undefined && report.mode === 'deploy') {
    lines.push(
      report.restored
        ? '**State:** the existing disk was attached: the server kept its clusters, jobs and users.'
        : '**State:** a new, empty disk was created for the server.',
      '',
    );
  }
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
