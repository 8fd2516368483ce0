import * as core from '@actions/core';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import { isRefusal } from '../lib/plan.js';
import { reportPlanOutputs, reportServerUrl, type PlanOutput, type Report } from '../report.js';
import { observeServerUrl } from '../steps/endpoint.js';
import { plannedRetain } from '../steps/persistentVolume.js';
import { firstRefusal, planChangesAnything, type Observed, type RunbookPlan } from './plan.js';

// The plan as a workflow reads it (outputs `plan` and `changes`): a plan job gates an approved deploy job on it.

/** Pure: each step's action in the words the `plan` output documents, and the refusal that stops the run. */
export function planOutput(plan: RunbookPlan): PlanOutput {
  const refused = firstRefusal(plan);
  return {
    disk: diskAction(plan.disk),
    backups: plan.schedule.action,
    credentials: credentialsAction(plan.secrets.map((p) => p.action)),
    volume: plan.volume.action,
    claim: plan.claim.action === 'bound' ? 'keep' : plan.claim.action,
    address: !plan.address ? 'none' : plan.address.action === 'use' ? 'keep' : plan.address.action,
    release: plan.release.action,
    version: plan.version.action === 'same' ? 'keep' : plan.version.action,
    refused: refused
      ? { step: refused.step, reason: refused.refusal.reason, hint: refused.refusal.hint }
      : null,
  };
}

/**
 * Pure: whether applying the plan changes anything. A refused run changes nothing, except a volume on the state
 * disk put back to Retain before the refusal (in plan mode: what a deploy would do).
 */
export function planChanges(plan: RunbookPlan): boolean {
  if (firstRefusal(plan)) return plannedRetain(plan.volume) !== undefined;
  return planChangesAnything(plan);
}

/** Writes the outputs `plan` and `changes` for the plan about to be applied (or, in plan mode, not). */
export function reportPlan(report: Report, plan: RunbookPlan): void {
  reportPlanOutputs(report, planOutput(plan), planChanges(plan));
}

function diskAction(disk: RunbookPlan['disk']): string {
  if (disk.action === 'use') return 'keep';
  if (isRefusal(disk)) return 'refuse';
  return disk.request.disk.sourceSnapshot ? 'restore' : 'create';
}

function credentialsAction(actions: string[]): string {
  if (!actions.length) return 'none';
  return ['create', 'update'].find((a) => actions.includes(a)) ?? 'keep';
}

/**
 * Plan mode changes nothing, so the outputs that describe the deployment after a run describe it as it is: the
 * disk, the release's revision, the static address, and the URL and login command of a release that serves.
 */
export async function reportAsItIs(
  config: Config,
  kube: KubernetesClient,
  seen: { observed: Observed; plan: RunbookPlan },
  report: Report,
): Promise<void> {
  const { observed, plan } = seen;
  if (plan.disk.action === 'use') core.setOutput('disk', plan.disk.disk.resourcePath);
  if (plan.address?.action === 'use') core.setOutput('static-ip-address', plan.address.ip);
  const release = observed.release.release;
  const service = observed.names.objects?.controllerService;
  if (!release) return;
  report.helmRevision = release.revision;
  core.setOutput('helm-revision', String(release.revision));
  const url =
    service && (await observeServerUrl(kube, { namespace: config.release.namespace, service: service.name }));
  if (url) reportServerUrl(report, url);
}
