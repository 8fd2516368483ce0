import { ActionError } from './errors.js';

/** The overall `timeout` input, shared by every wait and retry so no step can outlive it. */
export class Deadline {
  private readonly end: number;

  constructor(
    readonly totalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.end = now() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.end - this.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** Throws when the deadline has passed, naming what was being waited for. */
  check(what: string): void {
    if (this.expired()) {
      throw new ActionError(`Timed out after ${Math.round(this.totalMs / 1000)}s while ${what}`, {
        hint: "Raise the 'timeout' input if the step is slow but healthy",
      });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
