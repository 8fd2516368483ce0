// `npm run demo`: the whole action, end to end, on this machine. Starts the local stand-ins (Compute API,
// a Kubernetes cluster with its ingress, the download mirror, the chart repository), runs dist/index.js exactly
// as the runner does, then loses the cluster and runs again: the same disk comes back at the same URL (static-ip;
// behind a new URL where the machine has no load balancer addresses). Then the disk itself is lost, and it comes
// back from its newest scheduled snapshot.
// The server's users and clusters are written on the first disk, and each run reads them back through the
// server's own API.
import type { ServerState } from '../standins/compute/index.js';
import { startLocalWorld, type LocalWorld } from '../standins/world.js';
import type { ActionRun } from '../standins/runner.js';

const flavour = process.argv.includes('--helm3') ? 'helm3' : 'helm4';

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit ${run.code} ===`);
  for (const line of run.stdout.split('\n')) {
    if (
      /^(disk|backups|credentials|volume|address|helm|endpoint|snapshot|cleanup) |^::(error|warning)|^State on the server|^::notice::SkyPilot API server ready/.test(
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

    // What a production workflow passes: daily snapshots, a recovery that never starts an empty server, and a
    // reserved address, where this machine gives load balancers addresses (not with only 127.0.0.1).
    const stable = world.network.mode !== 'single-address';
    const production = {
      'snapshot-schedule': 'daily 04:00',
      'disk-source-snapshot': 'latest',
      ...(stable ? { 'static-ip': 'skypilot-api' } : {}),
    };
    const first = await world.run(production);
    show(
      `1. Deploy on a new project: the disk is created, with a daily snapshot schedule${stable ? ', and its address reserved' : ''}`,
      first,
    );

    // What users did on the new server: the state its disk holds from now on.
    world.compute.setDiskState(first.outputs.disk!, usersAndClusters);
    console.log(
      `\n*** Users log in and launch clusters: the disk now holds ${describe(usersAndClusters)}. ***`,
    );
    const again = await world.run(production);
    show('2. Rerun: converged, nothing changes; the server shows its users and clusters', again);
    sameState('the rerun', again);

    console.log(
      '\n*** The GKE cluster is lost: its API server, volumes and release are gone. The disk stays. ***',
    );
    await world.loseCluster();
    const recovered = await world.run({ ...production, 'create-disk': 'never' });
    show(
      `3. Recovery on a new cluster: the same disk, ${stable ? 'the same address' : 'a new address'}`,
      recovered,
    );
    checkRecovery(first, recovered, stable);
    sameState('the recovery on a new cluster', recovered);

    await loseTheDisk(world, first.outputs.disk!);
    const restored = await world.run({ ...production, 'create-disk': 'never' });
    show('4. Recovery after the disk is lost: restored from its newest snapshot', restored);
    console.log(
      `\nRestored: ${restored.outputs.restored}, from ${restored.outputs['restored-from']}; recovery took ${restored.outputs['recovery-seconds']} s`,
    );
    if (restored.outputs['restored-from'] !== 'snapshot:sky-api-server-state-scheduled-2')
      throw new Error('the disk did not come back from its newest snapshot');
    // The snapshot's state existed before the run: a restore, as much as the reattached disk was.
    if (restored.outputs.restored !== 'true')
      throw new Error('the restore from a snapshot is not restored=true');
    sameState('the restore from a snapshot', restored);
  } finally {
    await world.close();
  }
}

/** The same disk, reattached; at the same URL with a static address (users keep their login), else a new one. */
function checkRecovery(first: ActionRun, recovered: ActionRun, stable: boolean): void {
  const sameDisk = recovered.outputs.disk === first.outputs.disk;
  const sameUrl = recovered.outputs['server-url'] === first.outputs['server-url'];
  const url = stable
    ? `same URL: ${sameUrl} (${first.outputs['server-url']} before, ${recovered.outputs['server-url']} after)`
    : `new URL: ${!sameUrl}`;
  console.log(
    `\nSame disk: ${sameDisk} (${recovered.outputs.disk}); restored: ${recovered.outputs.restored}; ${url}`,
  );
  if (!sameDisk || recovered.outputs.restored !== 'true')
    throw new Error('the recovery did not reattach the disk');
  if (sameUrl !== stable) throw new Error(`the recovery's URL is ${stable ? 'new' : 'the same'}`);
}

/** The state the first disk is given: what its users made, read back after each loss. */
const usersAndClusters: ServerState = {
  users: [
    { id: 'a1b2c3d4', name: 'alice', role: 'admin', created_at: 1767225600 },
    { id: 'e5f6a7b8', name: 'bob', role: 'user', created_at: 1767312000 },
    { id: 'c9d0e1f2', name: 'carol', role: 'user', created_at: 1767484800 },
  ],
  clusters: ['sky-dev', 'train-1'],
};

function describe(state: ServerState): string {
  return `${state.users.length} users (${state.users.map((u) => u.name).join(', ')}) and ${state.clusters.length} clusters (${state.clusters.join(', ')})`;
}

/** The server answers with the users and clusters written on the first disk, read through its own API. */
function sameState(what: string, run: ActionRun): void {
  const [users, clusters] = [run.outputs['state-users'], run.outputs['state-clusters']];
  console.log(`\nState after ${what}: ${users} users, ${clusters} clusters (state-users, state-clusters)`);
  const expected = [String(usersAndClusters.users.length), String(usersAndClusters.clusters.length)];
  if (users !== expected[0] || clusters !== expected[1])
    throw new Error(`${what} did not bring back ${describe(usersAndClusters)}`);
}

/**
 * GCE's scheduler would have taken these snapshots; the stand-in records the last two as GCE would, then the disk
 * is deleted by mistake and the cluster goes with it.
 */
async function loseTheDisk(world: LocalWorld, disk: string): Promise<void> {
  // The schedule the action attached to the disk: its snapshots carry its labels (the version recorded with the state).
  const attached = world.compute.disk(disk)?.resourcePolicies?.[0];
  const schedule = world.compute.resourcePolicies().find((p) => p.selfLink === attached);
  if (!schedule) throw new Error(`disk ${disk} has no snapshot schedule attached`);
  const labels = schedule.snapshotSchedulePolicy?.snapshotProperties?.labels;
  // The schedule's last two runs: the most recent 04:00 UTC, and the day before.
  const today = new Date();
  today.setUTCHours(4, 0, 0, 0);
  const last = today.getTime() <= Date.now() ? today.getTime() : today.getTime() - 86_400_000;
  const taken = (daysBefore: number) => new Date(last - daysBefore * 86_400_000);
  for (const [name, daysBefore] of [
    ['sky-api-server-state-scheduled-1', 1],
    ['sky-api-server-state-scheduled-2', 0],
  ] as const) {
    world.compute.putSnapshot({
      name,
      diskSizeGb: 10,
      sourceDisk: disk,
      sourceSnapshotSchedulePolicy: schedule.selfLink,
      ...(labels ? { labels } : {}),
      creationTimestamp: taken(daysBefore),
      // A snapshot holds what the disk held when it was taken.
      state: world.compute.diskState(disk),
    });
  }
  console.log(
    '\n*** The state disk is deleted by mistake, and the cluster with it. Its scheduled snapshots remain. ***',
  );
  world.compute.removeDisk(disk);
  await world.loseCluster();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
