import { ActionError } from './errors.js';

// Every step's plan is data: what to do, or a refusal. The orchestration prints every plan the same way
// (deploy and plan mode alike) and turns a refusal into the one error of the run.

/** A step that must not go ahead: why, and what the user can do about it. Every step's plan has this variant. */
export interface Refusal {
  action: 'refuse';
  reason: string;
  hint: string;
}

/** What a plan tells the user beside what it does: warnings (`::warning::`) and notes (`::notice::`). */
export interface Advice {
  warnings: string[];
  notes: string[];
}

export function refuse(reason: string, hint: string): Refusal {
  return { action: 'refuse', reason, hint };
}

export function isRefusal<P extends { action: string }>(plan: P): plan is Extract<P, Refusal> {
  return plan.action === 'refuse';
}

/** The one error a refusal becomes. */
export function refusalError(refusal: Refusal): ActionError {
  return new ActionError(refusal.reason, { hint: refusal.hint });
}
