// `npm run demo`: the whole action, end to end, on this machine. Starts the local stand-ins (Compute API,
// a Kubernetes cluster with its ingress, the download mirror, the chart repository), runs dist/index.js exactly
// as the runner does, then loses the cluster and runs again: the same disk comes back behind a new URL.
import { startLocalWorld, type LocalWorld } from '../standins/world.js';
import type { ActionRun } from '../standins/runner.js';

const flavour = process.argv.includes('--helm3') ? 'helm3' : 'helm4';

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit ${run.code} ===`);
  for (const line of run.stdout.split('\n')) {
    if (
      /^(disk|credentials|volume|helm|endpoint|snapshot|cleanup) |^::(error|warning)|^SkyPilot API server ready/.test(
        line,
      )
    ) {
      console.log(`  ${line}`);
    }
  }
  console.log('\n  outputs:');
  for (const [name, value] of Object.entries(run.outputs)) console.log(`    ${name.padEnd(15)} ${value}`);
  console.log('\n  job summary:');
  for (const line of run.summary.trim().split('\n')) console.log(`    ${line}`);
  if (run.code !== 0)
    throw new Error(`${title} failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
}

async function main(): Promise<void> {
  console.log(
    `Starting the local stand-ins (real ${flavour === 'helm4' ? 'helm 4 + kubectl 1.35' : 'helm 3 + kubectl 1.31'})...`,
  );
  const world: LocalWorld = await startLocalWorld({ flavour });
  try {
    console.log(
      `  Compute API  ${world.compute.url}\n  Kubernetes   ${world.kube.url}\n  downloads    ${world.downloads.mirror}\n  charts       ${world.charts.url}`,
    );

    const first = await world.run();
    show('1. Deploy on a new project: the disk is created', first);

    const again = await world.run();
    show('2. Rerun: converged, nothing changes', again);

    console.log(
      '\n*** The GKE cluster is lost: its API server, volumes and release are gone. The disk stays. ***',
    );
    await world.loseCluster();
    const recovered = await world.run();
    show('3. Recovery on a new cluster: the same disk, a new address', recovered);

    const sameDisk = recovered.outputs.disk === first.outputs.disk;
    const newUrl = recovered.outputs['server-url'] !== first.outputs['server-url'];
    console.log(
      `\nSame disk: ${sameDisk} (${recovered.outputs.disk}); restored: ${recovered.outputs.restored}; new URL: ${newUrl}`,
    );
    if (!sameDisk || recovered.outputs.restored !== 'true' || !newUrl)
      throw new Error('the recovery did not reattach the disk');
  } finally {
    await world.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
