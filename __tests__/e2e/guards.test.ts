import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readHelmRelease } from '../../src/clients/helmStorage.js';
import { KubernetesClient } from '../../src/clients/kubernetes.js';
import { at } from '../../src/lib/json.js';
import { persistentVolumeManifest } from '../../src/steps/persistentVolume.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import {
  assertNoSecret,
  assertStateIntact,
  clearLogs,
  computeWrites,
  DISK,
  kubeWrites,
  ok,
} from '../support/e2e.js';

// Guards against the wrong file, a leaked URL password, the wrong disk and racing runs: the bundle against the
// stand-ins, asserting the state afterwards and a rerun that converges.

function failed(run: ActionRun, pattern: RegExp): ActionRun {
  assert.equal(run.code, 1, `the action should have failed:\n${run.stdout.slice(-3000)}`);
  assert.match(run.errors[0] ?? '', pattern);
  return run;
}

/** Nothing anywhere changed: no Compute or Kubernetes write, not even a tool download. */
function assertNothingChanged(world: LocalWorld): void {
  assert.deepEqual(computeWrites(world), []);
  assert.deepEqual(kubeWrites(world), []);
  assert.deepEqual(world.downloads.downloads(), []);
}

function kubeClient(world: LocalWorld): KubernetesClient {
  return KubernetesClient.fromKubeconfig(
    { path: world.env().KUBECONFIG! },
    { budget: { remainingMs: () => 30_000 } },
  );
}

describe('values-files and URL inputs are checked before anything changes', () => {
  let world: LocalWorld;
  let outsideDir: string;
  const SECRET_CONTENT = 'OUTSIDE-WORKSPACE-CONTENT-9f3a';
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    // The runner's workspace is world.runnerDir; this folder is its sibling, outside it.
    outsideDir = fs.mkdtempSync(path.join(path.dirname(world.runnerDir), 'skyha-outside-'));
    fs.writeFileSync(path.join(outsideDir, 'creds.yaml'), `apiService:\n  config: ${SECRET_CONTENT}\n`);
    fs.mkdirSync(path.join(world.runnerDir, 'deploy'), { recursive: true });
    fs.writeFileSync(
      path.join(world.runnerDir, 'deploy', 'values.yaml'),
      'guards:\n  inside: from-workspace\n',
    );
    fs.symlinkSync(
      path.join(outsideDir, 'creds.yaml'),
      path.join(world.runnerDir, 'deploy', 'link-out.yaml'),
    );
    fs.symlinkSync(
      path.join(world.runnerDir, 'deploy', 'values.yaml'),
      path.join(world.runnerDir, 'link-in.yaml'),
    );
  });
  after(async () => {
    await world.close();
    fs.rmSync(outsideDir, { recursive: true, force: true });
  });

  // Paths are made when the test runs: outsideDir exists only from before() on.
  const outside: Array<[string, () => string]> = [
    ['an absolute path', () => path.join(outsideDir, 'creds.yaml')],
    ['a path through ..', () => `../${path.basename(outsideDir)}/creds.yaml`],
    ['a symlink out of the workspace', () => 'deploy/link-out.yaml'],
  ];
  for (const [name, pathOf] of outside) {
    it(`values-files: ${name} is refused, naming the input, and its content is read by no one`, async () => {
      const given = pathOf();
      clearLogs(world);
      const run = failed(
        await world.run({ 'values-files': given }),
        /Input 'values-files': '[^']+' is outside the workspace/,
      );
      assert.ok(run.errors[0]!.includes(`'${given}'`), 'the path is named as given');
      assertNoSecret(run, SECRET_CONTENT);
      assertNothingChanged(world);
    });
  }

  it('tools-mirror with credentials and a bad scheme: refused, and the password appears nowhere', async () => {
    clearLogs(world);
    const password = 'Mirr0r-Pa55-7c1e';
    const mirror = world.inputs()['tools-mirror']!.replace(/^http:\/\//, `ftp://mirror-user:${password}@`);
    const run = failed(
      await world.run({ 'tools-mirror': mirror }),
      /Input 'tools-mirror': 'ftp:\/\/\*\*\*@127\.[^']*' is not an https/,
    );
    assertNoSecret(run, password, `mirror-user:${password}`);
    assert.match(run.stdout, new RegExp(`^::add-mask::${password}$`, 'm'), 'masked the moment it was read');
    assertNothingChanged(world);
  });

  it('helm-repo-url with credentials: refused without showing them', async () => {
    clearLogs(world);
    const password = 'Rep0-Pa55-2b9d';
    const run = failed(
      await world.run({ 'helm-repo-url': `https://repo-user:${password}@charts.example.com/sky` }),
      /Input 'helm-repo-url': 'https:\/\/\*\*\*@charts\.example\.com\/sky' carries credentials/,
    );
    assertNoSecret(run, password);
    assertNothingChanged(world);
  });

  it('the rerun with files inside the workspace (one through a symlink in it) deploys, then converges', async () => {
    const first = ok(await world.run({ 'values-files': 'deploy/values.yaml\nlink-in.yaml' }));
    assertStateIntact(world);
    const kube = kubeClient(world);
    try {
      const release = await readHelmRelease(kube, 'skypilot', 'skypilot');
      assert.deepEqual(release?.config.guards, { inside: 'from-workspace' });
      assert.ok(!JSON.stringify(release?.config).includes(SECRET_CONTENT));
    } finally {
      kube.close();
    }
    assert.equal(first.outputs['helm-revision'], '1');
    clearLogs(world);
    const again = ok(await world.run({ 'values-files': 'deploy/values.yaml\nlink-in.yaml' }));
    assert.equal(again.outputs['helm-revision'], '1');
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });
});

describe('disk-created, restored and pv-created say what this run did, in every race', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  const outputsOf = (run: ActionRun) => ({
    'disk-created': run.outputs['disk-created'],
    restored: run.outputs.restored,
    'pv-created': run.outputs['pv-created'],
  });

  it("this run's insert, its answer lost: still disk-created=true, restored=false", async () => {
    world.compute.inject({ kind: 'drop', method: 'POST', path: /\/disks$/ });
    const run = ok(await world.run({ 'health-check': 'false' }));
    assert.deepEqual(outputsOf(run), { 'disk-created': 'true', restored: 'false', 'pv-created': 'true' });
    const inserts = world.compute.requests.filter((r) => r.method === 'POST' && /\/disks$/.test(r.path));
    assert.equal(inserts.length, 2, 'the insert was retried');
    assertStateIntact(world);
    clearLogs(world);
    const again = ok(await world.run({ 'health-check': 'false' }));
    assert.deepEqual(outputsOf(again), { 'disk-created': 'false', restored: 'true', 'pv-created': 'false' });
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });

  it('another run creates the disk and the volume between our reads and our writes: neither is ours', async () => {
    // A lost cluster and a lost disk: both runs start from nothing.
    await world.loseCluster();
    assert.ok(world.compute.removeDisk(DISK));
    const diskHeld = world.compute.whenHeld(1);
    world.compute.inject({ kind: 'hang', method: 'POST', path: /\/disks$/ });
    const volumeHold = world.kube.inject({ kind: 'hang', method: 'POST', path: '/api/v1/persistentvolumes' });
    const running = world.run({ 'health-check': 'false' });

    await diskHeld;
    const theirDisk = world.compute.putDisk({
      project: WORLD.project,
      zone: WORLD.zone,
      name: 'sky-api-server-state',
      sizeGb: 10,
      labels: { 'managed-by': 'skyha-action', 'skyha-release': 'skypilot' },
    });
    world.compute.release();
    await volumeHold.firstCaught();
    world.kube.put(
      persistentVolumeManifest({
        name: 'sky-api-server-pv',
        storageClassName: 'sky-api-server-pv-class',
        diskPath: DISK,
        sizeGb: 10,
        zones: [WORLD.zone],
        claim: { namespace: 'skypilot', name: 'skypilot-state' },
      }) as Record<string, unknown>,
    );
    volumeHold.release();

    const run = ok(await running);
    assert.deepEqual(outputsOf(run), { 'disk-created': 'false', restored: 'false', 'pv-created': 'false' });
    assert.match(run.summary, /was created by another run between this run's read and its insert/);
    assert.equal(world.compute.disk(DISK)?.id, theirDisk.id, "the other run's disk is the one in use");
    assertStateIntact(world);

    clearLogs(world);
    const again = ok(await world.run({ 'health-check': 'false' }));
    assert.deepEqual(outputsOf(again), { 'disk-created': 'false', restored: 'true', 'pv-created': 'false' });
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });
});

describe('a drill uses only what it makes in this run', () => {
  let world: LocalWorld;
  const drillDiskName = 'sky-api-server-state-drill-4242-1';
  const drillDisk = `projects/${WORLD.project}/zones/${WORLD.zone}/disks/${drillDiskName}`;
  const drillSnapshot = 'sky-api-server-state-drill-4242-1';
  const drillPv = 'sky-api-server-pv-drill-4242-1';
  const drillNamespace = 'skypilot-drill-4242-1';
  const ours = { 'managed-by': 'skyha-action', 'skyha-drill': '4242-1' };
  const drill = () => world.run({ mode: 'drill', 'drill-cleanup': 'true' });

  /** The Compute API as gcloud would call it, for what the stand-in's seeds cannot make; waits for the operation. */
  async function compute(method: string, resource: string, body?: unknown): Promise<void> {
    const call = async (m: string, r: string, b?: unknown) => {
      const response = await fetch(`${world.compute.url}/compute/v1/projects/${WORLD.project}/${r}`, {
        method: m,
        headers: { authorization: `Bearer ${world.compute.accessToken}`, 'content-type': 'application/json' },
        ...(b === undefined ? {} : { body: JSON.stringify(b) }),
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as { name: string; status: string };
    };
    const operation = await call(method, resource, body);
    const scope = resource.startsWith('global/') ? 'global' : `zones/${WORLD.zone}`;
    for (let op = operation; op.status !== 'DONE';)
      op = await call('POST', `${scope}/operations/${op.name}/wait`, {});
  }

  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    ok(await world.run());
  });
  after(() => world.close());

  /** The drill stopped before its first write: no snapshot, no drill disk, volume, namespace or release. */
  function assertNoDrillStarted(squatter: 'snapshot' | 'disk' | 'volume' | 'namespace'): void {
    assert.deepEqual(computeWrites(world), [], 'no Compute write at all');
    assert.deepEqual(kubeWrites(world), [], 'no Kubernetes write at all');
    if (squatter !== 'snapshot')
      assert.deepEqual(
        world.compute.snapshots().filter((x) => x.name === drillSnapshot),
        [],
      );
    if (squatter !== 'disk') assert.equal(world.compute.disk(drillDisk), undefined);
    if (squatter !== 'volume')
      assert.equal(world.kube.get('v1', 'PersistentVolume', undefined, drillPv), undefined);
    if (squatter !== 'namespace')
      assert.equal(world.kube.get('v1', 'Namespace', undefined, drillNamespace), undefined);
    assert.deepEqual(world.kube.list('v1', 'Secret', drillNamespace), [], 'no drill release');
    // assertStateIntact counts every other volume as the dynamic-provisioning trap: the squatter is one.
    if (squatter !== 'volume') return assertStateIntact(world);
    const pv = world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv');
    assert.equal(at(pv, 'spec', 'csi', 'volumeHandle'), DISK);
    const claim = world.kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
    assert.equal(at(claim, 'status', 'phase'), 'Bound');
  }

  async function refusedTwice(squatter: 'snapshot' | 'disk' | 'volume' | 'namespace', reason: RegExp) {
    const before = squatterState(squatter);
    for (let attempt = 0; attempt < 2; attempt++) {
      clearLogs(world);
      const run = failed(
        await drill(),
        /Drill 4242-1 stopped before creating anything: its own names are taken/,
      );
      assert.match(run.errors[0]!, reason);
      assert.match(run.summary, new RegExp(`\\| ${squatter} \\| [^|]+ \\| refuse: exists before the drill`));
      assertNoDrillStarted(squatter);
      assert.deepEqual(squatterState(squatter), before, 'what it found is left exactly as it was');
    }
  }

  /** A volume of the drill volume's name on the drill disk's name: what an earlier drill's leftover looks like. */
  function volumeSquatter(): Record<string, unknown> {
    const pv = persistentVolumeManifest({
      name: drillPv,
      storageClassName: 'sky-api-server-pv-class',
      diskPath: drillDisk,
      sizeGb: 10,
      zones: [WORLD.zone],
      claim: { namespace: drillNamespace, name: 'skypilot-drill-state' },
    });
    return pv as Record<string, unknown>;
  }

  function squatterState(squatter: 'snapshot' | 'disk' | 'volume' | 'namespace'): unknown {
    if (squatter === 'snapshot') return world.compute.snapshots();
    if (squatter === 'disk') return world.compute.disk(drillDisk);
    if (squatter === 'volume') return world.kube.get('v1', 'PersistentVolume', undefined, drillPv);
    return world.kube.get('v1', 'Namespace', undefined, drillNamespace);
  }

  it("another team's disk with the drill disk's name stops the drill, and the rerun too", async () => {
    world.compute.putDisk({
      project: WORLD.project,
      zone: WORLD.zone,
      name: drillDiskName,
      sizeGb: 10,
      labels: { team: 'data' },
    });
    await refusedTwice(
      'disk',
      new RegExp(`disk ${drillDisk} exists before the drill \\(not made by a drill`),
    );
    assert.ok(world.compute.removeDisk(drillDisk));
  });

  it("a disk with this run's labels but another sourceSnapshot stops the drill", async () => {
    world.compute.putSnapshot({ name: 'someone-elses', diskSizeGb: 10 });
    await compute('POST', `zones/${WORLD.zone}/disks`, {
      name: drillDiskName,
      sizeGb: '10',
      labels: ours,
      sourceSnapshot: `projects/${WORLD.project}/global/snapshots/someone-elses`,
    });
    await refusedTwice(
      'disk',
      /this run's: made by a twin job or an earlier try, from another snapshot, someone-elses/,
    );
    assert.ok(world.compute.removeDisk(drillDisk));
    await compute('DELETE', 'global/snapshots/someone-elses');
  });

  it("a disk from this drill's snapshot name but without this run's label stops the drill", async () => {
    world.compute.putDisk({
      project: WORLD.project,
      zone: WORLD.zone,
      name: drillDiskName,
      sizeGb: 10,
      labels: { 'managed-by': 'skyha-action', 'skyha-drill': '4100-1' },
    });
    await refusedTwice('disk', /made by drill run 4100-1/);
    assert.ok(world.compute.removeDisk(drillDisk));
  });

  it("an existing snapshot of the drill snapshot's name stops the drill", async () => {
    world.compute.putSnapshot({ name: drillSnapshot, diskSizeGb: 10, labels: { 'skyha-drill': '4100-1' } });
    await refusedTwice(
      'snapshot',
      /snapshot projects\/[^ ]+\/sky-api-server-state-drill-4242-1 exists before the drill \(made by drill run 4100-1\)/,
    );
    await compute('DELETE', `global/snapshots/${drillSnapshot}`);
  });

  it("an existing volume of the drill volume's name stops the drill", async () => {
    world.kube.put(volumeSquatter());
    await refusedTwice(
      'volume',
      new RegExp(`volume ${drillPv} exists before the drill .*on the drill disk's name`),
    );
    world.kube.remove('v1', 'PersistentVolume', undefined, drillPv);
  });

  it("an existing namespace of the drill namespace's name stops the drill", async () => {
    world.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: drillNamespace, labels: ours } });
    await refusedTwice(
      'namespace',
      new RegExp(`namespace ${drillNamespace} exists before the drill \\(labelled skyha-drill=4242-1`),
    );
    world.kube.remove('v1', 'Namespace', undefined, drillNamespace);
  });

  it('a drill disk someone makes between the look and the insert: the drill stops and cleans up only its own', async () => {
    const held = world.compute.whenHeld(1);
    world.compute.inject({ kind: 'hang', method: 'POST', path: /\/disks$/ });
    clearLogs(world);
    const running = drill();
    await held;
    const theirs = world.compute.putDisk({
      project: WORLD.project,
      zone: WORLD.zone,
      name: drillDiskName,
      sizeGb: 10,
      labels: ours,
    });
    world.compute.release();
    const run = failed(await running, new RegExp(`Disk ${drillDisk} was created by someone else`));
    assert.match(run.summary, /\| cleanup \| snapshot \| deleted/);
    assert.doesNotMatch(run.summary, /\| cleanup \| (disk|volume|namespace|release) \|/);
    assert.deepEqual(world.compute.snapshots(), [], "this run's snapshot is removed");
    assert.deepEqual(world.compute.disk(drillDisk), { ...theirs, status: 'READY' }, 'theirs is left alone');
    assert.equal(world.kube.get('v1', 'Namespace', undefined, drillNamespace), undefined);
    assertStateIntact(world);
    // The rerun finds it before creating anything.
    clearLogs(world);
    failed(await drill(), /labelled skyha-drill=4242-1, this run's: made by a twin job/);
    assertNoDrillStarted('disk');
    assert.ok(world.compute.removeDisk(drillDisk));
  });

  it('with the leftovers gone, the drill creates its own, comes back healthy and removes only them', async () => {
    clearLogs(world);
    const run = ok(await drill());
    assert.equal(run.outputs.disk, drillDisk);
    assert.equal(run.outputs['disk-created'], 'true');
    assert.equal(run.outputs['pv-created'], 'true');
    assert.equal(run.outputs.restored, 'true');
    assert.match(run.summary, new RegExp(`\\| namespace \\| ${drillNamespace} \\| created \\|`));
    assert.match(run.summary, new RegExp(`\\| volume \\| ${drillPv} \\| create \\(`));
    assert.deepEqual(
      world.compute.disks().map((d) => d.name),
      ['sky-api-server-state'],
    );
    assert.deepEqual(world.compute.snapshots(), []);
    assert.equal(world.kube.get('v1', 'PersistentVolume', undefined, drillPv), undefined);
    assert.equal(
      at(world.kube.get('v1', 'Namespace', undefined, drillNamespace), 'metadata', 'name'),
      undefined,
    );
    assertStateIntact(world);
  });
});
