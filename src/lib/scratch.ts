import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onCancel } from './cancellation.js';

// Folders the action writes while it runs (a pulled chart; never a secret: values reach helm on stdin). Each is
// removed as soon as its step is done, whatever is left when the run ends, and everything at once when the run
// is cancelled: nothing is left behind in RUNNER_TEMP.

const live = new Map<string, () => void>();

/** A new private (0700) folder under RUNNER_TEMP, removed by `removeScratch`, at the end of the run, or on cancel. */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), `skyha-${prefix}-`));
  live.set(
    dir,
    onCancel(`removing ${dir}`, () => removeScratch(dir)),
  );
  return dir;
}

export function removeScratch(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  live.get(dir)?.();
  live.delete(dir);
}

/** Removes every folder still there; safe to call more than once. */
export function removeAllScratch(): void {
  for (const dir of [...live.keys()]) removeScratch(dir);
}
