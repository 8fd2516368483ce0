// The runner's entry point: everything else lives in main.ts so tests can import it without running it.
import './lib/memory.js';
import './lib/shims.js';
import * as core from '@actions/core';
import { killAllCommandsNow } from './clients/command.js';
import { isProcessEntry } from './lib/entry.js';
import { run } from './main.js';

// @github/local-action imports this file and awaits run() itself, then prints the outputs and sets the exit
// code: started here too, the run would race its own and exit before anything is reported.
export { run };

if (isProcessEntry(import.meta.url)) {
  // run() reports every failure it awaits; what rejects later is background work (a client's lazy
  // connection, a download still in flight) that no longer matters once the step has its answer.
  process.on('unhandledRejection', (reason) =>
    core.debug(`Ignored after the step finished: ${String(reason)}`),
  );

  // Nothing the action started outlives it (each child has a process group of its own).
  process.on('exit', killAllCommandsNow);

  // Exit as soon as the step has its answer, rather than waiting for such background work.
  void run().finally(() => process.exit());
}
