import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
export async function runAction(options: RunOptions): Promise<ActionRun> {
  const runnerDir = options.runnerDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-runner-'));
  const temp = path.join(runnerDir, 'temp');
  const files = path.join(runnerDir, 'files');
  for (const dir of [temp, files, path.join(runnerDir, 'tool-cache'), path.join(runnerDir, 'home')]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const outputFile = path.join(files, `output-${stamp}`);
  const summaryFile = path.join(files, `summary-${stamp}`);
  const envFile = path.join(files, `env-${stamp}`);
  const pathFile = path.join(files, `path-${stamp}`);
  for (const f of [outputFile, summaryFile, envFile, pathFile]) fs.writeFileSync(f, '');
  const before = new Set(listFiles(temp));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: path.join(runnerDir, 'home'),
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ENV: envFile,
    GITHUB_PATH: pathFile,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'example/platform',
    GITHUB_WORKSPACE: runnerDir,
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: path.join(runnerDir, 'tool-cache'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }

  const child = spawn(options.node ?? process.execPath, [bundle], {
    env,
    cwd: runnerDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);

  return {
    code,
    stdout,
    stderr,
    outputs: parseFileCommand(fs.readFileSync(outputFile, 'utf8')),
    summary: fs.readFileSync(summaryFile, 'utf8'),
    errors: stdout
      .split('\n')
      .filter((l) => l.startsWith('::error'))
      .map((l) => l.replace(/^::error[^:]*::/, '')),
    leftInTemp: listFiles(temp).filter((f) => !before.has(f)),
    exportedEnv: parseFileCommand(fs.readFileSync(envFile, 'utf8')),
  };
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
