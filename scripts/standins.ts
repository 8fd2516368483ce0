// `npm run standins [-- --helm3] [--env-file <file>]`: the local stand-ins (Compute API, a Kubernetes cluster with
// its ingress, the download mirror, the chart repository), kept running until Ctrl-C, for `npm run local` or a
// debugger. Their environment (credentials, kubeconfig, inputs) is printed and written to an env file
// (default .tmp/standins.env), which is removed again when they stop.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { startLocalWorld } from '../standins/world.js';
import { STANDINS_ENV_FILE, formatEnvFile, standinsEnvironment, writeStandinsEnvFile } from './localEnv.js';

interface Options {
  flavour: 'helm3' | 'helm4';
  envFile: string;
}

function parseArgs(args: string[]): Options {
  const options: Options = { flavour: 'helm4', envFile: STANDINS_ENV_FILE };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--helm3') options.flavour = 'helm3';
    else if (arg === '--env-file' && args[i + 1]) options.envFile = path.resolve(args[++i]!);
    else
      throw new Error(`Unknown argument '${arg}'. Usage: npm run standins [-- --helm3] [--env-file <file>]`);
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  console.log(`Starting the local stand-ins (${options.flavour})...`);
  const world = await startLocalWorld({ flavour: options.flavour });
  const vars = standinsEnvironment(world, path.join(world.runnerDir, 'local-action'));
  writeStandinsEnvFile(options.envFile, vars);
  const local = path.relative(process.cwd(), options.envFile);
  console.log(`
  Compute API  ${world.compute.url}
  Kubernetes   ${world.kube.url}
  downloads    ${world.downloads.mirror}
  charts       ${world.charts.url}

The environment of a run against them (written to ${local}):

${formatEnvFile(vars)}
In another terminal:  npm run local -- examples/local.env
(${local} is read first, then the file you give; add --entry src/index.ts to run the runner's entry file)
Ctrl-C stops the stand-ins.`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the stand-ins`);
    fs.rmSync(options.envFile, { force: true });
    void world.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
