/**
 * `npm run bench -- --only trace [--world fast|today]`: one converged rerun and one fresh deploy of the action,
 * every request it made (ms from the spawn, which proxy, who made it, what) and its critical path. Nothing is
 * written: this is for finding where the time goes while changing the action.
 */
import { Bench, type Measured } from './action.js';
import { BASELINE_RTT } from './baseline.js';
import { pathRows } from './criticalPath.js';
import { startBenchWorld, type WorldName } from './worlds.js';

function print(title: string, run: Measured): void {
  console.log(
    `\n## ${title}: ${run.wallMs} ms, first request ${run.firstProxyRequestMs} ms after the spawn, peak RSS ${run.vmHwmMb} MB\n`,
  );
  const rows = [...(run.requests ?? [])].sort((a, b) => a.startMs - b.startMs);
  for (const r of rows)
    console.log(
      `${String(Math.round(r.startMs)).padStart(6)} ${String(Math.round(r.endMs)).padStart(6)}  ${r.proxy.padEnd(7)} ${r.client.padEnd(7)} ${r.label}${r.label === 'discovery' ? ` ${r.path}` : ''}`,
    );
  for (const m of run.marks) console.log(`${String(m.atMs).padStart(6)}         mark            ${m.label}`);
  console.log('\ncritical path (from, to, ms, waiting on):');
  for (const row of pathRows(run.path)) console.log(row);
}

export async function trace(world: WorldName): Promise<void> {
  const bench = new Bench();
  const w = await startBenchWorld(world, BASELINE_RTT);
  try {
    const names = { 'disk-name': 'trace-state', 'release-name': 'skypilot' };
    await bench.measure(w, 'warm-up deploy', { overrides: names });
    const options = { overrides: names, freshHome: true, keepRequests: true };
    print(`${world}: converged rerun`, await bench.measure(w, 'converged rerun', options));
    await w.loseCluster();
    const fresh = { ...options, overrides: { ...names, 'disk-name': 'trace-fresh' } };
    print(`${world}: fresh deploy`, await bench.measure(w, 'fresh deploy', fresh));
  } finally {
    await w.close();
    bench.close();
  }
}
