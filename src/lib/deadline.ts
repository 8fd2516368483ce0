import { ActionError } from './errors.js';

/** How much time a call may take: the run's Deadline, or anything else that counts down. */
export interface Budget {
  remainingMs(): number;
}

/**
 * The overall `timeout` input, shared by every wait and retry so no step can outlive it. The work stops
 * `reserveMs` before the run's end, so what follows a failure (diagnostics, releasing the lock, the summary)
 * still fits inside `timeout`.
 */
export class Deadline implements Budget {
  private end: number;
  private runEnd: number;
  /** Set on a deadline made by `earlier`: it never outlasts this one, and ends when this one is cancelled. */
  private parent: Deadline | undefined;

  constructor(
    readonly totalMs: number,
    private readonly now: () => number = Date.now,
    readonly reserveMs = 0,
  ) {
    this.runEnd = now() + totalMs;
    this.end = this.runEnd - Math.min(reserveMs, totalMs);
  }

  /** The run's deadline for a `timeout`: its reserve is a fifth of it, at most RUN_RESERVE_MS. */
  static forRun(timeoutMs: number): Deadline {
    return new Deadline(timeoutMs, Date.now, Math.min(RUN_RESERVE_MS, Math.floor(timeoutMs / 5)));
  }

  remainingMs(): number {
    const own = Math.max(0, this.end - this.now());
    return this.parent ? Math.min(own, this.parent.remainingMs()) : own;
  }

  /**
   * The same run's deadline, ending `ms` sooner: for work that must leave time for what follows it if it fails
   * (a rollback). Cancelling the run ends it too; its grace is the run's.
   */
  earlier(ms: number): Deadline {
    const child = new Deadline(Math.max(0, this.totalMs - ms), this.now);
    child.end = Math.max(this.now(), this.end - ms);
    child.parent = this;
    return child;
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** At most `capMs` from now, for the work after a failure: it may use the reserve, never pass the run's end. */
  grace(capMs: number): Budget {
    if (this.parent) return this.parent.grace(capMs);
    const end = Math.min(this.now() + capMs, this.runEnd);
    return { remainingMs: () => Math.max(0, end - this.now()) };
  }

  /** A cancelled run: nothing new may start, not even in the reserve. */
  cancel(): void {
    this.end = this.runEnd = this.now();
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

/** What Deadline.forRun keeps back from the work at most: diagnostics (20 s), stopping a child, the lock. */
export const RUN_RESERVE_MS = 25_000;

/** A budget of `ms` from now, for calls that must end soon whatever the run's deadline (releasing the lock). */
export function budgetOf(ms: number, now: () => number = Date.now): Budget {
  const end = now() + ms;
  return { remainingMs: () => Math.max(0, end - now()) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
