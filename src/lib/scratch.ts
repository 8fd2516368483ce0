import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Folders the action writes while it runs (a pulled chart, a values file). Each is removed as soon as its step is
// done, and whatever is left is removed when the run ends, however it ends: nothing is left behind in RUNNER_TEMP.

const live = new Set<string>();

/** A new private (0700) folder under RUNNER_TEMP, removed by `removeScratch` or at the end of the run. */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), `skyha-${prefix}-`));
  live.add(dir);
  return dir;
}

export function removeScratch(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** Removes every folder still there; safe to call more than once (the end of the run, a cancellation). */
export function removeAllScratch(): void {
  for (const dir of [...live]) removeScratch(dir);
}
