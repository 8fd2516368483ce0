// What a run must undo if it is stopped midway (SIGTERM, SIGINT): the step it was in, and the cleanups that are
// due (files holding secrets, the release lock). Process-wide, because a signal reaches the process, not a step.

type Cleanup = () => void | Promise<void>;

const cleanups: Array<{ what: string; run: Cleanup; capMs?: number }> = [];
let step = 'starting';
let cancelled = false;

/** Records the runbook step now in progress: timeouts and cancellation name it. */
export function enterStep(name: string): void {
  step = name;
}

export function currentStep(): string {
  return step;
}

/** A signal arrived: what runs from now on must be quick, as the runner kills the step seconds later. */
export function markCancelled(): void {
  cancelled = true;
}

export function wasCancelled(): boolean {
  return cancelled;
}

/**
 * Registers what must be undone if the run is cancelled now (at most `capMs`, default runCleanups' `eachMs`); call
 * the returned function once it is done.
 */
export function onCancel(what: string, run: Cleanup, capMs?: number): () => void {
  const entry = { what, run, ...(capMs === undefined ? {} : { capMs }) };
  cleanups.push(entry);
  return () => {
    const at = cleanups.indexOf(entry);
    if (at >= 0) cleanups.splice(at, 1);
  };
}

/**
 * Runs every registered cleanup, newest first, each at most `eachMs` (or its own cap); returns what failed (never throws, as a
 * cancelled run has nobody left to tell but its log).
 */
export async function runCleanups(eachMs: number): Promise<string[]> {
  const failed: string[] = [];
  for (const entry of cleanups.splice(0).reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('took too long'), entry.capMs ?? eachMs);
    });
    const outcome = await Promise.race([
      Promise.resolve()
        .then(entry.run)
        .then(
          () => '',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        ),
      late,
    ]);
    clearTimeout(timer);
    if (outcome) failed.push(`${entry.what}: ${outcome}`);
  }
  return failed;
}
