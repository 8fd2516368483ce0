import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const bundle = path.join(repoRoot, 'dist', 'index.js');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** `::error::` lines, as the runner turns them into annotations. */
  errors: string[];
  /** Files the run left in its private RUNNER_TEMP. */
  leftInTemp: string[];
  exportedEnv: Record<string, string>;
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  node?: string;
  /** Reuse a runner workspace (tool cache, temp) between runs, as one runner would. */
  runnerDir?: string;
  timeoutMs?: number;
}

/** Runs the bundled action exactly as the runner does: INPUT_* variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY. */
export function runAction(options: RunOptions): Promise<ActionRun> {
  return startAction(options).done;
}

/** A run in progress, for tests that cancel it or kill it midway as the runner would. */
export interface RunningAction {
  readonly pid: number;
  /** RUNNER_TEMP of this run: every process it starts inherits it. */
  readonly temp: string;
  /** What it printed so far. */
  stdout(): string;
  /** Resolves once a line of its output matches (rejects if it ends first). */
  waitForOutput(pattern: RegExp): Promise<void>;
  /** What the runner sends on cancellation: SIGINT, then SIGTERM. */
  signal(signal: NodeJS.Signals): void;
  /** The runner's last resort: SIGKILL to the action and to every process it started. */
  killTree(): void;
  done: Promise<ActionRun>;
}

/** The files through which a run talks back to the runner (@actions/core's file commands). */
interface RunnerFiles {
  output: string;
  summary: string;
  env: string;
  path: string;
}

export function startAction(options: RunOptions): RunningAction {
  const runnerDir = options.runnerDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-runner-'));
  const temp = path.join(runnerDir, 'temp');
  const files = prepareRunner(runnerDir);
  const before = new Set(listFiles(temp));
  const child = spawn(options.node ?? process.execPath, [bundle], {
    env: runnerEnv(options, runnerDir, files),
    cwd: runnerDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = watchOutput(child);
  const pid = child.pid ?? -1;
  const killTree = (): void => {
    // Every descendant first: once the action dies, its children are reparented and no longer found.
    for (const p of [...descendants(pid), pid]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const timer = setTimeout(killTree, options.timeoutMs ?? 240_000);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const done = exited.then((code) => {
    clearTimeout(timer);
    const stdout = output.stdout();
    return {
      code,
      stdout,
      stderr: output.stderr(),
      outputs: parseFileCommand(fs.readFileSync(files.output, 'utf8')),
      summary: fs.readFileSync(files.summary, 'utf8'),
      errors: stdout
        .split('\n')
        .filter((l) => l.startsWith('::error'))
        .map((l) => l.replace(/^::error[^:]*::/, '')),
      leftInTemp: listFiles(temp).filter((f) => !before.has(f)),
      exportedEnv: parseFileCommand(fs.readFileSync(files.env, 'utf8')),
    };
  });
  return {
    pid,
    temp,
    stdout: output.stdout,
    waitForOutput: (pattern) => output.waitFor(pattern, exited),
    signal: (signal) => child.kill(signal),
    killTree,
    done,
  };
}

/** The runner's directories (temp, tool cache, home) and a fresh set of file-command files. */
function prepareRunner(runnerDir: string): RunnerFiles {
  const files = path.join(runnerDir, 'files');
  for (const dir of ['temp', 'files', 'tool-cache', 'home']) {
    fs.mkdirSync(path.join(runnerDir, dir), { recursive: true });
  }
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const made: RunnerFiles = {
    output: path.join(files, `output-${stamp}`),
    summary: path.join(files, `summary-${stamp}`),
    env: path.join(files, `env-${stamp}`),
    path: path.join(files, `path-${stamp}`),
  };
  for (const f of Object.values(made)) fs.writeFileSync(f, '');
  return made;
}

/** What the runner gives a JavaScript action: its variables, then the caller's, then INPUT_* for each input. */
function runnerEnv(options: RunOptions, runnerDir: string, files: RunnerFiles): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: path.join(runnerDir, 'home'),
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'example/platform',
    GITHUB_WORKSPACE: runnerDir,
    RUNNER_TEMP: path.join(runnerDir, 'temp'),
    RUNNER_TOOL_CACHE: path.join(runnerDir, 'tool-cache'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return env;
}

/** Collects a child's output, and resolves waiters once a pattern shows up in its stdout. */
function watchOutput(child: ChildProcessByStdio<null, Readable, Readable>): {
  stdout: () => string;
  stderr: () => string;
  waitFor(pattern: RegExp, exited: Promise<unknown>): Promise<void>;
} {
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of watchers.filter((w) => w.pattern.test(stdout))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (pattern, exited) =>
      pattern.test(stdout)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            watchers.push({ pattern, resolve });
            void exited.then(() => reject(new Error(`the action ended before printing ${String(pattern)}`)));
          }),
  };
}

/** Processes whose environment holds `RUNNER_TEMP=<temp>`: what a run started and left running (Linux /proc). */
export function processesOf(temp: string): number[] {
  const marker = `RUNNER_TEMP=${temp}\0`;
  return procPids().filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const p of procPids()) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      parents.set(p, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

function procPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Parses the `name<<delimiter` blocks that @actions/core writes to GITHUB_OUTPUT and GITHUB_ENV. */
export function parseFileCommand(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    result[m[1]!] = value.join('\n');
  }
  return result;
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f));
}
