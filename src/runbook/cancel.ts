import * as core from '@actions/core';
import { stopAllCommands } from '../clients/command.js';
import { KubeTimeoutError } from '../clients/kubernetes.js';
import { currentStep, markCancelled, runCleanups } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { OutOfTimeError } from '../lib/errors.js';
import { removeAllScratch } from '../lib/scratch.js';

// A cancelled run (the runner sends SIGINT, then SIGTERM, then SIGKILL about ten seconds later) removes every file
// it wrote, stops what it started, releases the lock, and still writes its summary. The files go first, at once:
// a SIGKILL may come during any of the rest (a lock release that hangs), and nothing can clean up after it.

/** How long one cleanup may take once cancelled (releasing the lock is one API call). */
const CLEANUP_MS = 2500;

export interface Cancellation {
  /** Whether a signal arrived. */
  readonly cancelled: boolean;
  /** Settles once a signal arrived and everything due is undone, with the run's message; never before. */
  readonly done: Promise<string>;
  dispose(): void;
}

/** Handles SIGTERM and SIGINT for the run: `deadline` stops new work at once, then everything due is undone. */
export function cancelOnSignals(deadline: () => Deadline | undefined): Cancellation {
  let cancelled = false;
  let settle: (message: string) => void = () => undefined;
  const done = new Promise<string>((resolve) => (settle = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    if (cancelled) return; // the runner's second signal: the cleanup is already under way
    cancelled = true;
    markCancelled();
    const step = currentStep();
    core.info(`Received ${signal} during step ${step}: stopping`);
    deadline()?.cancel();
    removeAllScratch();
    void (async () => {
      await stopAllCommands();
      for (const failure of await runCleanups(CLEANUP_MS)) core.warning(`After ${signal}: ${failure}`);
      settle(`cancelled (${signal}) during step ${step}; a rerun converges`);
    })();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    get cancelled() {
      return cancelled;
    },
    done,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

/** Whether a failure is the run (or one call) running out of time. */
export function isOutOfTime(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (e instanceof OutOfTimeError || e instanceof KubeTimeoutError) return true;
  }
  return false;
}
