// The environment file `npm run standins` writes and `npm run local` reads: what a run against the local stand-ins
// needs (world.env() and world.inputs()), in the dotenv format @github/local-action loads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../standins/runner.js';
import type { LocalWorld } from '../standins/world.js';

/** Where `npm run standins` writes the stand-ins' environment, and where `npm run local` looks for it. */
export const STANDINS_ENV_FILE = path.join(repoRoot, '.tmp', 'standins.env');

/** The comment line that names the process serving the stand-ins: a file it left behind is not read. */
const PID_LINE = /^# pid (\d+)$/m;

/**
 * What a runner and the earlier workflow steps would give a run against `world`: its credentials and kubeconfig,
 * a private temp and tool cache under `dir`, a job summary file, and the inputs of a deploy there.
 */
export function standinsEnvironment(world: LocalWorld, dir: string): Record<string, string> {
  const folder = (name: string): string => {
    const full = path.join(dir, name);
    fs.mkdirSync(full, { recursive: true, mode: 0o700 });
    return full;
  };
  const summary = path.join(folder('.'), 'job-summary.md');
  fs.writeFileSync(summary, '');
  return {
    ...world.env(),
    // The inputs may name a values file of the stand-ins' network (a free port): it lies in this workspace.
    GITHUB_WORKSPACE: world.workspace(folder('workspace')),
    RUNNER_TEMP: folder('temp'),
    RUNNER_TOOL_CACHE: folder('tool-cache'),
    GITHUB_STEP_SUMMARY: summary,
    // helm's cache and repository settings stay with the stand-ins instead of the user's home.
    HELM_CACHE_HOME: folder('helm/cache'),
    HELM_CONFIG_HOME: folder('helm/config'),
    HELM_DATA_HOME: folder('helm/data'),
    ...inputVariables(world.inputs()),
  };
}

/** Inputs as the runner passes them: INPUT_<NAME>, upper-cased, spaces as underscores (dashes stay). */
export function inputVariables(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]),
  );
}

/** A dotenv file: single-quoted values, which dotenv and node read literally. */
export function formatEnvFile(vars: Record<string, string>, comments: string[] = []): string {
  const lines = comments.map((line) => `# ${line}`.trimEnd());
  for (const [name, value] of Object.entries(vars)) {
    if (/['\r\n]/.test(value))
      throw new Error(`${name} holds a quote or a line break, which a single-quoted dotenv value cannot`);
    lines.push(`${name}='${value}'`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the stand-ins' environment, readable by this user only, with the pid of the process serving them. */
export function writeStandinsEnvFile(file: string, vars: Record<string, string>, pid = process.pid): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const comments = [
    'Written by `npm run standins`: the local stand-ins, as long as the process below runs.',
    '`npm run local -- <env file>` reads it first, then <env file>, whose variables win.',
    `pid ${pid}`,
  ];
  fs.writeFileSync(file, formatEnvFile(vars, comments), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** Whether `file` is there and the process that wrote it still serves its stand-ins. */
export function standinsRunning(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const pid = PID_LINE.exec(fs.readFileSync(file, 'utf8'))?.[1];
  return pid !== undefined && isRunning(Number(pid));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
