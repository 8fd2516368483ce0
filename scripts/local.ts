// `npm run local -- <env file> [--entry src/main.ts|src/index.ts] [--standins <file>|--no-standins]`: runs the
// action from its TypeScript sources under @github/local-action, GitHub's local debugger, which loads the env file,
// stands in for @actions/core and prints the outputs; it exits non-zero when the run fails.
// While `npm run standins` runs, its environment (.tmp/standins.env) is read first and the env file on top of it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEnv } from 'node:util';
import { repoRoot } from '../standins/runner.js';
import { STANDINS_ENV_FILE, standinsRunning } from './localEnv.js';

/**
 * Run through `npm exec` rather than installed as a devDependency: it would add 335 packages (three more copies
 * of TypeScript) to the lock file, where the project has 261, for a tool only a person debugging uses.
 */
const LOCAL_ACTION = '@github/local-action@7.0.1';

const USAGE =
  'Usage: npm run local -- <env file> [--entry src/main.ts|src/index.ts] [--standins <file>|--no-standins]';

interface Options {
  envFile: string;
  entry: string;
  standins: string | undefined;
}

function parseArgs(args: string[]): Options {
  const options: Options = { envFile: '', entry: 'src/main.ts', standins: STANDINS_ENV_FILE };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--entry' && args[i + 1]) options.entry = args[++i]!;
    else if (arg === '--standins' && args[i + 1]) options.standins = path.resolve(args[++i]!);
    else if (arg === '--no-standins') options.standins = undefined;
    else if (!arg.startsWith('--') && !options.envFile) options.envFile = path.resolve(arg);
    else throw new Error(`Unknown argument '${arg}'. ${USAGE}`);
  }
  if (!options.envFile) throw new Error(`No env file given. ${USAGE} (see examples/local.env)`);
  if (!fs.existsSync(options.envFile))
    throw new Error(`Env file ${options.envFile} does not exist. Copy examples/local.env and edit it.`);
  if (!fs.existsSync(path.join(repoRoot, options.entry)))
    throw new Error(
      `Entry file ${options.entry} does not exist in ${repoRoot}: use src/main.ts or src/index.ts`,
    );
  return options;
}

/**
 * The env file local-action loads: the stand-ins' (if they run), then the given one, whose lines win as dotenv
 * reads a repeated name. One file, not the stand-ins' in the process environment: the shell local-action starts
 * its runner through drops variables such as INPUT_WEB-PASSWORD, whose names have dashes.
 */
function combinedEnvFile(standins: string | undefined, envFile: string, dir: string): string {
  const parts = [standins ? fs.readFileSync(standins, 'utf8') : '', fs.readFileSync(envFile, 'utf8')];
  const file = path.join(dir, 'local.env');
  fs.writeFileSync(file, parts.join('\n'), { mode: 0o600 });
  return file;
}

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // local-action stands in for @actions/core at node_modules/@actions/core as npm lists it; node loads modules by
  // their real path, so where node_modules is a symlink (a git worktree sharing one) the stand-in would never be
  // loaded, and the outputs never shown.
  if (fs.lstatSync(path.join(repoRoot, 'node_modules')).isSymbolicLink())
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --preserve-symlinks`.trim();
  return env;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const standins = options.standins && standinsRunning(options.standins) ? options.standins : undefined;
  if (standins) console.log(`Stand-ins: ${path.relative(process.cwd(), standins)} (then the env file)`);
  else if (options.standins === STANDINS_ENV_FILE)
    console.log('No stand-ins running (npm run standins): the env file alone says where to deploy.');
  else if (options.standins) throw new Error(`${options.standins}: no stand-ins running that wrote it`);
  // Private, and removed afterwards: the env file may hold a password.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-local-'));
  try {
    const envFile = combinedEnvFile(standins, options.envFile, dir);
    return await runLocalAction(options.entry, envFile);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs local-action, then prints what the run added to its job summary, and its verdict. */
async function runLocalAction(entry: string, envFile: string): Promise<number> {
  const summary = parseEnv(fs.readFileSync(envFile, 'utf8')).GITHUB_STEP_SUMMARY;
  const before = summary && fs.existsSync(summary) ? fs.statSync(summary).size : 0;
  const args = ['exec', '--yes', LOCAL_ACTION, '--', 'run', repoRoot, entry, envFile];
  const child = spawn('npm', args, { cwd: repoRoot, env: environment(), stdio: 'inherit' });
  // Ctrl-C goes to the run (it cancels as on a runner); this process waits for it, then removes the env file.
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolve(status ?? 128 + (signal ? os.constants.signals[signal] : 0)),
    );
  }).finally(() => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  });
  if (summary && fs.existsSync(summary) && fs.statSync(summary).size > before) {
    console.log(`\nJob summary (${summary}):\n`);
    console.log(fs.readFileSync(summary).subarray(before).toString('utf8').trim());
  }
  console.log(`\n${code === 0 ? 'The run succeeded' : `The run failed (exit ${code})`}: ${entry}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
