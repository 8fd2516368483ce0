import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import {
  CommandError,
  CommandTimeoutError,
  KILL_GRACE_MS,
  runCommand,
  stopAllCommands,
} from '../../src/clients/command.js';
import { helmTimeout } from '../../src/clients/helm.js';
import { enterStep } from '../../src/lib/cancellation.js';
import { budgetOf } from '../../src/lib/deadline.js';
import { OutOfTimeError } from '../../src/lib/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-command-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A shell script in the test folder. */
function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Running, and not a zombie waiting for a parent that never reaps it (PID 1 in a container may not). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function pidsIn(file: string): number[] {
  return fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

/** A real pause, for polling while a test has the timers mocked. */
const realSetTimeout = globalThis.setTimeout;
const pause = (ms: number): Promise<void> => new Promise((resolve) => realSetTimeout(resolve, ms));

/** Resolves once `ready()` holds (the tool got as far as the test needs); fails if `run` settles first. */
async function whenReady(ready: () => boolean, run: Promise<unknown>): Promise<void> {
  let settled = false;
  void run.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!ready()) {
    assert.equal(settled, false, 'the command ended before it was ready');
    await pause(20);
  }
}

/** Everything the action prints while `fn` runs. */
async function captured(fn: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true)) as typeof write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('a budget that runs out stops the whole process group: the tool and what it started', async (t) => {
  const pids = path.join(dir, 'group.pids');
  // The tool starts a child of its own, as helm starts a credential plugin, then both wait.
  const tool = script('group.sh', `sleep 300 & echo "$$ $!" > '${pids}'\nwait`);
  enterStep('helm');
  // The budget's clock moves when the test says: it runs out once both processes are running, however long a busy
  // machine takes to start them.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const run = runCommand(tool, ['upgrade'], { budget: budgetOf(800) });
  await whenReady(() => fs.existsSync(pids) && pidsIn(pids).length === 2, run);
  t.mock.timers.tick(800);
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof CommandTimeoutError);
    assert.equal(error.by, 'budget');
    assert.match(
      error.message,
      /^`group\.sh upgrade` ran out of time during step helm: stopped after 0\.8 s/,
    );
    return true;
  });
  const [shell, child] = pidsIn(pids);
  assert.ok(shell && child);
  assert.equal(alive(shell), false, 'the tool is gone');
  assert.equal(alive(child), false, 'the child it started is gone too');
});

test('a tool that ignores SIGTERM is killed a few seconds later', async (t) => {
  const pids = path.join(dir, 'stubborn.pids');
  const tool = script('stubborn.sh', `trap '' TERM\necho $$ > '${pids}'\nwhile :; do sleep 1; done`);
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const run = runCommand(tool, [], { budget: budgetOf(500) });
  // Its pid is written once its trap is set: from then on SIGTERM is ignored.
  await whenReady(() => fs.existsSync(pids) && pidsIn(pids).length === 1, run);
  t.mock.timers.tick(500); // the budget runs out: SIGTERM, which it ignores
  t.mock.timers.tick(KILL_GRACE_MS); // the grace is over: SIGKILL
  await assert.rejects(run, CommandTimeoutError);
  assert.equal(alive(pidsIn(pids)[0]!), false);
});

test('a spent budget starts nothing', async () => {
  const marker = path.join(dir, 'started');
  const tool = script('marker.sh', `touch '${marker}'`);
  enterStep('endpoint');
  await assert.rejects(
    runCommand(tool, [], { budget: budgetOf(0) }),
    (e: unknown) => e instanceof OutOfTimeError && /was not started during step endpoint/.test(e.message),
  );
  assert.equal(fs.existsSync(marker), false);
});

test('stdin reaches the tool, output is captured and redacted, the environment is merged', async () => {
  const tool = script('echo.sh', 'read line; echo "out:$line:$EXTRA"; echo "err:$line" >&2');
  const result = await runCommand(tool, ['a b'], {
    stdin: 'hunter22\n',
    env: { EXTRA: 'x' },
    secrets: ['hunter22'],
  });
  assert.deepEqual(result, { exitCode: 0, stdout: 'out:***:x\n', stderr: 'err:***\n' });
});

test('a non-zero exit throws with the redacted stderr, unless failure is an answer', async () => {
  const tool = script('fail.sh', 'echo "no such release (token s3cr3t-token)" >&2; exit 3');
  await assert.rejects(
    runCommand(tool, ['get', 'x y'], { secrets: ['s3cr3t-token'] }),
    (e: unknown) =>
      e instanceof CommandError &&
      e.message === "`fail.sh get 'x y'` exited with code 3:\nno such release (token ***)",
  );
  const answer = await runCommand(tool, [], { allowFailure: true });
  assert.equal(answer.exitCode, 3);
});

test('echoed output is redacted even when a secret arrives split across two writes', async () => {
  const tool = script('split.sh', "printf 'before pass'; sleep 0.2; printf 'word after\\n'");
  const log = await captured(() => runCommand(tool, [], { echoOutput: true, secrets: ['password'] }));
  assert.match(log, /before \*\*\* after/);
  assert.doesNotMatch(log, /password/);
});

test("helm's --timeout leaves a margin so helm reports before the budget's end stops it", () => {
  const table: Array<[number | undefined, string]> = [
    [undefined, '300s'],
    [600_000, '585s'], // a margin of 15 s at most
    [100_000, '90s'], // a tenth
    [10_000, '8s'], // 2 s at least
    [1_500, '1s'],
  ];
  for (const [left, timeout] of table) {
    const budget = left === undefined ? undefined : { remainingMs: () => left };
    assert.equal(helmTimeout(budget), timeout, `with ${left} ms left`);
  }
});

test("a tool's own timeout is reported as a timeout naming the call and the step", async () => {
  const tool = script('timing-out.sh', `echo 'Error: context deadline exceeded' >&2\nexit 1`);
  enterStep('helm');
  await assert.rejects(
    runCommand(tool, ['upgrade', 'x'], {
      isRequestTimeout: (r) => /context deadline exceeded/.test(r.stderr),
    }),
    (error: unknown) => {
      assert.ok(error instanceof CommandTimeoutError, String(error));
      assert.equal(error.by, 'request');
      assert.match(error.message, /timing-out\.sh upgrade x` timed out during step helm/);
      return true;
    },
  );
  // Without the rule, the same failure is an ordinary one.
  await assert.rejects(
    runCommand(tool, ['upgrade', 'x']),
    (e: unknown) => e instanceof CommandError && !(e instanceof CommandTimeoutError),
  );
});

// Last: cancellation stops every command for the rest of the process.
test('cancellation stops every running command and starts no new one', async () => {
  const pids = path.join(dir, 'running.pids');
  const tool = script('long.sh', `echo $$ >> '${pids}'\nsleep 300`);
  const runs = Promise.allSettled([runCommand(tool, []), runCommand(tool, [])]);
  while (!fs.existsSync(pids) || pidsIn(pids).length < 2) await new Promise((r) => setTimeout(r, 20));
  await stopAllCommands(1000);
  for (const outcome of await runs) assert.equal(outcome.status, 'rejected');
  for (const pid of pidsIn(pids)) assert.equal(alive(pid), false);
  await assert.rejects(runCommand(tool, []), /was not started: the run is being cancelled/);
});
