import { spawn, type ChildProcess } from 'node:child_process';
import * as core from '@actions/core';
import { currentStep } from '../lib/cancellation.js';
import type { Budget } from '../lib/deadline.js';
import { ActionError, OutOfTimeError } from '../lib/errors.js';

export interface CommandOptions {
  /** Sent on standard input: how secrets reach a tool, never through argv. */
  stdin?: string;
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string>;
  cwd?: string;
  /** Return a non-zero exit instead of throwing, for commands whose failure is an answer (e.g. NotFound). */
  allowFailure?: boolean;
  /** Print the tool's standard output to the log as it runs (long commands such as helm upgrade). */
  echoOutput?: boolean;
  /** Strings that must never reach the log or an error message, even if a tool echoes them. */
  secrets?: readonly string[];
  /** Where the command's line goes (default: the log now); a command started ahead of its step holds it back. */
  log?: (line: string) => void;
  /** The time the command has: it is stopped (its whole process group) when this runs out. */
  budget?: Budget;
  /** Tells a non-zero exit that means the tool's own timeout ended it (kubectl's --request-timeout, helm's --timeout). */
  isRequestTimeout?: (result: CommandResult) => boolean;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** SIGTERM first, so helm can mark its release failed; SIGKILL this long after. */
export const KILL_GRACE_MS = 3000;

/** A tool that exited may leave a grandchild holding its output open; its answer is complete this long after. */
const CLOSE_AFTER_EXIT_MS = 2000;

/** Every child still running: cancellation stops them all, and so does the process's exit. */
const running = new Set<ChildProcess>();
/** Why no new command may start (the run is cancelled, or its lock was lost); undefined while they may. */
let stopping: string | undefined;

/** Every helm, kubectl and gcloud call goes through here: argv logged, secrets redacted, stderr kept, time bounded. */
export async function runCommand(
  tool: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const redact = redactor(options.secrets ?? []);
  const printable = redact([displayName(tool), ...args.map(quoteArg)].join(' '));
  (options.log ?? core.info)(`$ ${printable}`);
  if (stopping) throw new ActionError(`\`${printable}\` was not started: ${stopping}`);
  const budgetMs = options.budget?.remainingMs() ?? Infinity;
  if (budgetMs <= 0) {
    throw new OutOfTimeError(
      `\`${printable}\` was not started during step ${currentStep()}: the run's timeout is used up`,
      currentStep(),
    );
  }
  const outcome = await spawnBounded(tool, args, options, budgetMs);
  const redacted = {
    exitCode: outcome.exitCode,
    stdout: redact(outcome.stdout),
    stderr: redact(outcome.stderr),
  };
  if (outcome.timedOut) throw new CommandTimeoutError(printable, redacted, budgetMs, 'budget');
  if (redacted.exitCode !== 0 && options.isRequestTimeout?.(redacted) && !options.allowFailure) {
    throw new CommandTimeoutError(printable, redacted, budgetMs, 'request');
  }
  if (redacted.exitCode !== 0 && !options.allowFailure) throw new CommandError(printable, redacted);
  return redacted;
}

/** A tool exited non-zero: the message keeps its stderr so the user sees why. */
export class CommandError extends ActionError {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(`\`${command}\` exited with code ${result.exitCode}${lastLines(result)}`);
    this.name = 'CommandError';
  }
}

/** A tool stopped for lack of time: by us when the budget ran out, or by its own request timeout. */
export class CommandTimeoutError extends OutOfTimeError {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
    budgetMs: number,
    readonly by: 'budget' | 'request',
  ) {
    const step = currentStep();
    super(
      by === 'budget'
        ? `\`${command}\` ran out of time during step ${step}: stopped after ${seconds(budgetMs)}, when the run's timeout was used up${lastLines(result, 5)}`
        : `\`${command}\` timed out during step ${step}${lastLines(result, 5)}`,
      step,
    );
    this.name = 'CommandTimeoutError';
  }
}

/**
 * Cancellation, or a lost lock: no new command starts; each running one gets SIGTERM to its process group, then
 * SIGKILL after `graceMs`. Resolves once they have all exited.
 */
export async function stopAllCommands(
  graceMs = KILL_GRACE_MS,
  why = 'the run is being cancelled',
): Promise<void> {
  stopping ??= why;
  await Promise.all([...running].map((child) => stopChild(child, graceMs)));
}

/** The process is exiting: nothing it started may outlive it. */
export function killAllCommandsNow(): void {
  for (const child of running) signalGroup(child, 'SIGKILL');
}

interface Outcome extends CommandResult {
  timedOut: boolean;
}

function spawnBounded(
  tool: string,
  args: readonly string[],
  options: CommandOptions,
  budgetMs: number,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...args], {
      // Its own process group, so stopping it reaches what it started (helm's plugins, gcloud's python).
      detached: process.platform !== 'win32',
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ? mergeEnv(options.env) : process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      windowsHide: true,
    });
    running.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const echo = options.echoOutput ? lineEcho(redactor(options.secrets ?? [])) : undefined;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      echo?.(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = Number.isFinite(budgetMs)
      ? setTimeout(() => {
          timedOut = true;
          void stopChild(child, KILL_GRACE_MS);
        }, budgetMs)
      : undefined;
    let settled = false;
    const settle = (exitCode: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(child);
      echo?.(undefined);
      const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
      resolve({ exitCode, stdout: text(stdout), stderr: text(stderr), timedOut });
    };
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      settled = true;
      reject(
        new ActionError(`Could not run ${displayName(tool)}`, {
          cause: error,
          hint: 'Check that the tool was installed and is on PATH',
        }),
      );
    });
    child.on('exit', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
      setTimeout(() => settle(exitCode), CLOSE_AFTER_EXIT_MS).unref();
      child.on('close', () => settle(exitCode));
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a tool that exits without reading its input
      child.stdin.end(options.stdin);
    }
  });
}

/** SIGTERM to the child's group, SIGKILL after `graceMs` unless it has exited by then. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      // What it started dies with it: a plugin left behind would keep writing to the cluster.
      signalGroup(child, 'SIGKILL');
      resolve();
    });
    signalGroup(child, 'SIGTERM');
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/** Echoes whole lines only, so a secret split across two chunks is still redacted. */
function lineEcho(redact: (text: string) => string): (chunk: Buffer | undefined) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk ? chunk.toString('utf8') : '\n';
    const end = pending.lastIndexOf('\n');
    if (end < 0) return;
    const lines = pending.slice(0, end);
    pending = pending.slice(end + 1);
    if (lines) process.stdout.write(`${redact(lines)}\n`);
  };
}

function lastLines(result: CommandResult, count = 15): string {
  const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-count).join('\n');
  return detail ? `:\n${detail}` : '';
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function redactor(secrets: readonly string[]): (text: string) => string {
  const real = secrets.filter((s) => s.length >= 3);
  return (text) => real.reduce((acc, secret) => acc.split(secret).join('***'), text);
}

function displayName(tool: string): string {
  return tool.split(/[\\/]/).pop() ?? tool;
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function mergeEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...env, ...extra };
}
