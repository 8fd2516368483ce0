import * as core from '@actions/core';
import type { Budget } from './deadline.js';

/** How often a long wait says it is still waiting: a person watching the log should never wonder. */
export const PROGRESS_EVERY_MS = 15_000;

/**
 * Awaits `work`, printing a line every 15 s while it runs: what is waited for, for how long so far, and what is
 * left of the run's time.
 */
export async function withProgress<T>(
  what: string,
  budget: Budget,
  work: Promise<T>,
  everyMs = PROGRESS_EVERY_MS,
): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    const waited = seconds(Date.now() - started);
    core.info(
      `Still waiting for ${what}: ${waited} so far, ${seconds(budget.remainingMs())} of the run left`,
    );
  }, everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 120 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
