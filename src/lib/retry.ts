import * as core from '@actions/core';
import { Deadline, sleep } from './deadline.js';

export interface RetryOptions {
  /** What is being done, for the log line of each retry. */
  what: string;
  /** True for failures worth another try (429, 5xx, a dropped connection). */
  isTransient: (error: unknown) => boolean;
  deadline: Deadline;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Retries transient failures with capped exponential backoff and jitter, inside the deadline. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const delay = Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      if (attempt >= attempts || !options.isTransient(error) || options.deadline.remainingMs() < delay) {
        throw error;
      }
      core.info(
        `${options.what} failed (${errorSummary(error)}); retry ${attempt} of ${attempts - 1} in ${Math.round(delay)}ms`,
      );
      await sleep(delay);
    }
  }
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
