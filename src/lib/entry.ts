import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` is the script node was started with (`node dist/index.js` on a runner), not
 * a module some other program imported (@github/local-action imports the entry file and calls its `run()`).
 * Both sides are compared as real paths: the runner may start the action through a symlink, and node accepts
 * the script without its extension.
 */
export function isProcessEntry(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (!script) return false;
  const self = realPath(fileURLToPath(moduleUrl));
  if (!self) return false;
  return [script, script + path.extname(self)].some((file) => realPath(file) === self);
}

function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}
