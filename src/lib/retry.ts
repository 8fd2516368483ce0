import * as core from '@actions/core';
import { sleep, type Budget } from './deadline.js';

export interface RetryOptions {
  /** What is being done, for the one log line a retried call gets. */
  what: string;
  /** True for failures worth another try (429, 5xx, a dropped connection). */
  isTransient: (error: unknown) => boolean;
  /** The time every attempt and pause must fit in: the run's Deadline, or a call's own budget. */
  deadline: Budget;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The pause the server asked for (Retry-After): never retried sooner, and not at all past the budget. */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** Where the call's one retry line goes (default: the log). */
  log?: (line: string) => void;
  /** Told before each retry: the failed attempt may still have reached the server. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** The `n`th pause (from 1) of a capped exponential backoff: base, twice base, ... never more than cap. */
export function backoffMs(n: number, base: number, cap: number): number {
  return Math.min(cap, base * 2 ** (n - 1));
}

/**
 * Retries transient failures with capped exponential backoff and jitter, inside the budget. A call that is retried
 * logs one line (its first retry), however many it takes: a flaky API must not flood the log.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const backoff = backoffMs(attempt, base, cap) * (0.5 + Math.random() / 2);
      const delay = Math.max(backoff, options.retryAfterMs?.(error) ?? 0);
      if (attempt >= attempts || !options.isTransient(error) || options.deadline.remainingMs() <= delay) {
        throw error;
      }
      if (attempt === 1) {
        const limit = Number.isFinite(attempts) ? ` (at most ${attempts - 1} times)` : '';
        (options.log ?? core.info)(
          `${options.what} failed (${errorSummary(error)}); retrying${limit} within the run's timeout`,
        );
      }
      options.onRetry?.(error, attempt);
      await sleep(delay);
    }
  }
}

/** Retry-After as HTTP sends it: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
