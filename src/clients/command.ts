import * as core from '@actions/core';
import { getExecOutput } from '@actions/exec';
import { ActionError } from '../lib/errors.js';

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
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Every helm, kubectl and gcloud call goes through here: argv logged, secrets redacted, stderr kept. */
export async function runCommand(
  tool: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const redact = redactor(options.secrets ?? []);
  const printable = redact([displayName(tool), ...args.map(quoteArg)].join(' '));
  core.info(`$ ${printable}`);
  const env = options.env ? mergeEnv(options.env) : undefined;
  let result: CommandResult;
  try {
    result = await getExecOutput(tool, [...args], {
      silent: !options.echoOutput,
      ignoreReturnCode: true,
      ...(options.stdin === undefined ? {} : { input: Buffer.from(options.stdin) }),
      ...(env ? { env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  } catch (error) {
    throw new ActionError(`Could not run ${displayName(tool)}`, {
      cause: error,
      hint: 'Check that the tool was installed and is on PATH',
    });
  }
  const redacted = {
    exitCode: result.exitCode,
    stdout: redact(result.stdout),
    stderr: redact(result.stderr),
  };
  if (redacted.exitCode !== 0 && !options.allowFailure) {
    throw new CommandError(printable, redacted);
  }
  return redacted;
}

/** A tool exited non-zero: the message keeps its stderr so the user sees why. */
export class CommandError extends ActionError {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    super(`\`${command}\` exited with code ${result.exitCode}${detail ? `:\n${detail}` : ''}`);
    this.name = 'CommandError';
  }
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
