import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { realBinaries, type HelmFlavour } from '../../standins/binaries.js';
import { servedCharts, startChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError } from '../../src/lib/errors.js';
import { Helm } from '../../src/clients/helm.js';
import { persistentVolumeManifest } from '../../src/steps/persistentVolume.js';
import {
  chartSource,
  chooseAuthCredentials,
  applyHelmRelease,
  describeFreeRelease,
  mergeValues,
  observeRelease,
  planHelmRelease,
  needsDevel,
  pendingRelease,
  planRelease,
  releaseValues,
  type ObservedRelease,
  type ReleaseTarget,
} from '../../src/steps/helmRelease.js';
import { htpasswdLine, htpasswdMatches } from '../../src/lib/htpasswd.js';
import { readHelmRelease } from '../../src/clients/helmStorage.js';
import { isRefusal } from '../../src/lib/plan.js';
import { freePendingRelease } from '../../src/steps/freeRelease.js';
import { argvRecorder, kubeClientOf, toolEnv } from '../support/clients.js';
import { deployRelease } from '../support/steps.js';

const TARGET: ReleaseTarget = {
  name: 'skypilot',
  namespace: 'skypilot',
  chart: 'skypilot/skypilot-nightly',
  chartVersion: undefined,
  repoUrl: 'https://helm.skypilot.co',
  values: {},
  valuesFiles: [],
  fileValues: [],
  serviceType: 'LoadBalancer',
  storage: { storageClassName: 'sky-api-server-pv-class', volumeName: 'sky-api-server-pv', size: '10Gi' },
  auth: { username: 'skypilot', password: 'pw-Secret-1', authSecret: undefined },
};

test('releaseValues binds the claim to the volume, sets basic auth and the service type', () => {
  assert.deepEqual(releaseValues(TARGET, 'skypilot:$apr1$x$y'), {
    storage: {
      enabled: true,
      storageClassName: 'sky-api-server-pv-class',
      volumeName: 'sky-api-server-pv',
      size: '10Gi',
    },
    ingress: { authCredentials: 'skypilot:$apr1$x$y' },
    'ingress-nginx': { controller: { service: { type: 'LoadBalancer' } } },
  });
  const withSecret = {
    ...TARGET,
    serviceType: 'NodePort' as const,
    auth: { username: 'u', password: undefined, authSecret: 'my-auth' },
  };
  const values = releaseValues(withSecret, undefined);
  assert.deepEqual(values.ingress, { authSecret: 'my-auth' });
  assert.deepEqual(values['ingress-nginx'], { controller: { service: { type: 'NodePort' } } });
});

test('mergeValues merges maps key by key and lets later scalars and lists replace', () => {
  assert.deepEqual(
    mergeValues(
      { a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } },
      { a: { c: [3], g: true }, d: { now: 'map' } },
      { e: null },
    ),
    { a: { b: 1, c: [3], g: true }, d: { now: 'map' }, e: null },
  );
});

test('needsDevel: nightly charts and pre-release versions', () => {
  const cases: [string, string | undefined, boolean][] = [
    ['skypilot/skypilot-nightly', undefined, true],
    ['skypilot/skypilot-nightly', '1.0.0-dev.20250218', true],
    ['skypilot/skypilot', undefined, false],
    ['skypilot/skypilot', '0.10.0', false],
    ['skypilot/skypilot', '0.10.0-rc.1', true],
    ['skypilot/skypilot', '>=1.0.0-0', true],
    ['skypilot/skypilot', '^0.10', false],
    ['oci://registry/charts/skypilot', '1.2.3', false],
  ];
  for (const [chart, version, expected] of cases)
    assert.equal(needsDevel(chart, version), expected, `${chart} ${version}`);
});

test('chartSource: a repository named by the prefix, or nothing to add', () => {
  const none = (): boolean => false;
  assert.deepEqual(chartSource('skypilot/skypilot-nightly', none), { kind: 'repo', repoName: 'skypilot' });
  assert.deepEqual(chartSource('oci://ghcr.io/x/skypilot', none), { kind: 'oci' });
  assert.deepEqual(chartSource('./charts/skypilot', none), { kind: 'local' });
  assert.deepEqual(
    chartSource('charts/skypilot', () => true),
    { kind: 'local' },
  );
  assert.deepEqual(chartSource('skypilot-nightly', none), { kind: 'bare' });
});

test('the deployed htpasswd line is kept when it matches the password, replaced when it does not', () => {
  const deployed = htpasswdLine('skypilot', 'pw-Secret-1');
  assert.equal(chooseAuthCredentials(TARGET, { ingress: { authCredentials: deployed } }), deployed);
  const fresh = chooseAuthCredentials(TARGET, {
    ingress: { authCredentials: htpasswdLine('skypilot', 'old-pw') },
  });
  assert.ok(fresh && fresh !== deployed && htpasswdMatches(fresh, 'skypilot', 'pw-Secret-1'));
  assert.ok(htpasswdMatches(chooseAuthCredentials(TARGET, undefined)!, 'skypilot', 'pw-Secret-1'));
  assert.equal(
    chooseAuthCredentials({ ...TARGET, auth: { username: 'u', password: undefined, authSecret: 's' } }, {}),
    undefined,
  );
});

function observed(overrides: Partial<ObservedRelease> = {}): ObservedRelease {
  return {
    status: 'deployed',
    revision: 3,
    chartVersion: '1.0.0-dev.1',
    values: { a: 1 },
    history: [],
    ...overrides,
  };
}

test('planRelease: install, upgrade on a new chart or values, keep when equal', () => {
  assert.equal(planRelease(undefined, { chartVersion: undefined, values: {} }).action, 'install');
  assert.equal(planRelease(observed(), { chartVersion: '1.0.0-dev.1', values: { a: 1 } }).action, 'keep');
  assert.equal(
    planRelease(observed({ values: { b: { c: 1, d: 2 } } }), {
      chartVersion: '1.0.0-dev.1',
      values: { b: { d: 2, c: 1 } },
    }).action,
    'keep',
  );
  assert.equal(planRelease(observed(), { chartVersion: '1.0.0-dev.2', values: { a: 1 } }).action, 'upgrade');
  assert.equal(planRelease(observed(), { chartVersion: '1.0.0-dev.1', values: { a: 2 } }).action, 'upgrade');
  assert.equal(
    planRelease(observed({ status: 'failed' }), { chartVersion: '1.0.0-dev.1', values: { a: 1 } }).action,
    'upgrade',
  );
});

test('a release stuck pending is freed: roll back to the last deployed revision, or uninstall without one', () => {
  assert.equal(pendingRelease('skypilot', 'skypilot', observed()), undefined);
  const install = pendingRelease(
    'skypilot',
    'skypilot',
    observed({ status: 'pending-install', revision: 1 }),
  );
  assert.deepEqual(
    { ...install, reason: undefined },
    { action: 'uninstall', pendingRevision: 1, status: 'pending-install', reason: undefined },
  );
  assert.match(install?.reason ?? '', /revision 1 of skypilot\/skypilot is pending-install/);
  const history = [
    { revision: 1, status: 'superseded' },
    { revision: 2, status: 'deployed' },
    { revision: 3, status: 'pending-upgrade' },
  ];
  const upgrade = pendingRelease(
    'skypilot',
    'skypilot',
    observed({ status: 'pending-upgrade', revision: 3, history }),
  );
  assert.deepEqual(
    { action: upgrade?.action, revision: upgrade && 'revision' in upgrade ? upgrade.revision : 0 },
    {
      action: 'rollback',
      revision: 2,
    },
  );
  const rollback = pendingRelease(
    'skypilot',
    'ns',
    observed({ status: 'pending-rollback', history: history.slice(0, 1) }),
  );
  assert.equal(rollback && 'revision' in rollback ? rollback.revision : 0, 1);
  // An upgrade stuck on top of failed revisions only has nothing to go back to.
  const noGood = pendingRelease(
    'skypilot',
    'ns',
    observed({ status: 'pending-upgrade', revision: 2, history: [{ revision: 1, status: 'failed' }] }),
  );
  assert.equal(noGood?.action, 'uninstall');
});

test('a release left uninstalling by an interrupted helm uninstall is uninstalled to the end, never rolled back', () => {
  const history = [
    { revision: 1, status: 'superseded' },
    { revision: 2, status: 'uninstalling' },
  ];
  const free = pendingRelease('skypilot', 'ns', observed({ status: 'uninstalling', revision: 2, history }));
  assert.deepEqual(
    { ...free, reason: undefined },
    { action: 'uninstall', pendingRevision: 2, status: 'uninstalling', reason: undefined },
  );
  assert.match(
    free?.reason ?? '',
    /revision 2 of ns\/skypilot is uninstalling, .* in the middle of a helm uninstall/,
  );
  assert.match(describeFreeRelease(free!), /^finish its uninstall \(/);
});

/** Real helm through a wrapper that appends its argv to one file, and the in-process Kubernetes client. */
function recordedClients(flavourBins: { kubectl: string; helm: string }, kubeconfig: string, dir: string) {
  const log = path.join(dir, 'argv.log');
  const wrap = (real: string, name: string): string => argvRecorder(real, name, dir, log);
  const env = toolEnv(dir);
  return {
    kube: kubeClientOf(kubeconfig),
    helm: new Helm(wrap(flavourBins.helm, 'helm'), { kubeconfig, env }),
    argv: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''),
  };
}

/**
 * Everything the action prints while `fn` runs (core.info and friends write to stdout), as the runner shows it:
 * `::add-mask::` lines are the runner's masking commands, never displayed.
 */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ result: T; log: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    chunks.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    const result = await fn();
    const log = chunks
      .join('')
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    return { result, log };
  } finally {
    process.stdout.write = write;
  }
}

/** Rewrites the latest helm release record as a cancelled run leaves it: a newer revision stuck pending. */
function leavePending(kube: KubeStandIn, release: string, namespace: string, status: string): number {
  const records = kube
    .list('v1', 'Secret', namespace)
    .filter((s) => (s.metadata as { labels?: Record<string, string> } | undefined)?.labels?.owner === 'helm');
  const latest = records.sort((a, b) => revisionOf(b) - revisionOf(a))[0]!;
  const deployed = revisionOf(latest);
  const encoded = Buffer.from((latest.data as { release: string }).release, 'base64').toString();
  const record = JSON.parse(zlib.gunzipSync(Buffer.from(encoded, 'base64')).toString()) as {
    version: number;
    info: { status: string };
  };
  record.version = deployed + 1;
  record.info.status = status;
  const data = Buffer.from(zlib.gzipSync(JSON.stringify(record)).toString('base64')).toString('base64');
  kube.put({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${release}.v${deployed + 1}`,
      namespace,
      labels: { name: release, owner: 'helm', status, version: String(deployed + 1) },
    },
    data: { release: data },
  });
  return deployed;
}

function revisionOf(secret: Record<string, unknown>): number {
  return Number((secret.metadata as { labels?: Record<string, string> } | undefined)?.labels?.version ?? 0);
}

for (const flavour of ['helm4', 'helm3'] as HelmFlavour[]) {
  describe(`deployRelease with ${flavour} against the Kubernetes stand-in and a chart repository`, () => {
    const password = 'pw-Secret-1';
    let kube: KubeStandIn;
    let repo: { url: string; close(): Promise<void> };
    let dir: string;
    let clients: ReturnType<typeof recordedClients>;
    let target: ReleaseTarget;

    before(async () => {
      const bins = await realBinaries(flavour);
      kube = await startKubeStandIn();
      repo = await startChartRepo(bins.helm);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-test-'));
      clients = recordedClients(bins, kube.writeKubeconfig(dir), dir);
      const pv = persistentVolumeManifest({
        name: 'sky-api-server-pv',
        storageClassName: 'sky-api-server-pv-class',
        diskPath: 'projects/proj-123/zones/us-central1-a/disks/sky-api-server-state',
        sizeGb: 10,
        zones: ['us-central1-a'],
        claim: { namespace: 'skypilot', name: 'skypilot-state' },
      });
      await clients.kube.apply(pv);
      target = {
        ...TARGET,
        repoUrl: repo.url,
        values: { apiService: { skipResourceCheck: true } },
        auth: { username: 'skypilot', password, authSecret: undefined },
      };
    });
    after(async () => {
      await kube?.close();
      await repo?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('fresh install binds the claim to our volume and stores a verifying htpasswd line; no secret in argv or log', async () => {
      const { result, log } = await captureLog(() =>
        deployRelease(clients.helm, clients.kube, target, { deadline: new Deadline(120_000) }),
      );
      assert.equal(result.revision, 1);
      assert.equal(result.changed, true);
      assert.match(result.chartVersion, /^1\.0\.0-dev\./);
      const claim = kube.get('v1', 'PersistentVolumeClaim', 'skypilot', 'skypilot-state') as {
        spec?: {
          volumeName?: string;
          storageClassName?: string;
          resources?: { requests?: { storage?: string } };
        };
        status?: { phase?: string };
      };
      assert.equal(claim.spec?.volumeName, 'sky-api-server-pv');
      assert.equal(claim.spec?.storageClassName, 'sky-api-server-pv-class');
      assert.equal(claim.spec?.resources?.requests?.storage, '10Gi');
      assert.equal(claim.status?.phase, 'Bound');
      const secret = kube.get('v1', 'Secret', 'skypilot', 'skypilot-basic-auth') as {
        data?: Record<string, string>;
      };
      const lines = Object.values(secret.data ?? {}).map((v) => Buffer.from(v, 'base64').toString().trim());
      assert.ok(
        lines.some((line) => htpasswdMatches(line, 'skypilot', password)),
        'the stored htpasswd line verifies the password',
      );
      for (const text of [clients.argv(), log]) {
        assert.doesNotMatch(text, /pw-Secret-1/);
        assert.doesNotMatch(text, /\$apr1\$/);
      }
      // The nightly is fetched once (with --devel, from helm-repo-url, the user's repositories untouched) and the
      // very chart fetched is the one installed.
      const pulled =
        /^pull skypilot-nightly --devel --repo http:\/\/127\.0\.0\.1:\d+ --untar --untardir (\S+)/m.exec(
          clients.argv(),
        );
      assert.ok(pulled, clients.argv());
      assert.match(
        clients.argv(),
        new RegExp(
          `^upgrade --install skypilot ${pulled[1]}/skypilot-nightly --namespace skypilot --create-namespace --timeout`,
          'm',
        ),
      );
      assert.doesNotMatch(clients.argv(), /^repo add/m);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith('skyha-values-')),
        [],
        'the values file is removed',
      );
    });

    test('a rerun with the same chart and values makes no new revision and no mutating request', async () => {
      kube.clearRequests();
      const result = await deployRelease(clients.helm, clients.kube, target, {
        deadline: new Deadline(120_000),
      });
      assert.deepEqual(result, {
        revision: 1,
        changed: false,
        chartVersion: result.chartVersion,
        manifest: result.manifest,
      });
      assert.deepEqual(
        kube.mutatingRequests().map((r) => `${r.method} ${r.path}`),
        [],
      );
    });

    test('changed values make a new revision that keeps the matching htpasswd line', async () => {
      const before = (
        kube.get('v1', 'Secret', 'skypilot', 'skypilot-basic-auth') as { data?: Record<string, string> }
      ).data;
      const result = await deployRelease(
        clients.helm,
        clients.kube,
        { ...target, values: { ...target.values, apiService: { skipResourceCheck: true, extra: 'x' } } },
        { deadline: new Deadline(120_000) },
      );
      assert.equal(result.revision, 2);
      assert.equal(result.changed, true);
      const afterData = (
        kube.get('v1', 'Secret', 'skypilot', 'skypilot-basic-auth') as { data?: Record<string, string> }
      ).data;
      assert.deepEqual(afterData, before);
    });

    test('a release left pending-upgrade is rolled back to the last deployed revision, once, then upgraded', async () => {
      const lastDeployed = leavePending(kube, 'skypilot', 'skypilot', 'pending-upgrade');
      const observation = {
        ...(await observeRelease(clients.helm, clients.kube, target)),
        authSecretExists: undefined,
      };
      const plan = planHelmRelease(target, observation);
      assert.ok(!isRefusal(plan) && plan.free?.action === 'rollback');
      assert.equal(plan.free.revision, lastDeployed);
      await assert.rejects(
        applyHelmRelease(clients.helm, clients.kube, target, plan, { deadline: new Deadline(60_000) }),
        /still pending-upgrade/,
        'a plan that still has to free the release never upgrades it',
      );
      const done = await freePendingRelease(clients.helm, clients.kube, target, plan.free);
      assert.match(done ?? '', new RegExp(`rolled it back to revision ${lastDeployed}`));
      assert.match(
        clients.argv(),
        new RegExp(`rollback skypilot ${lastDeployed} --namespace skypilot --timeout`),
      );
      const after = await readHelmRelease(clients.kube, 'skypilot', 'skypilot');
      assert.deepEqual([after?.status, after?.revision], ['deployed', lastDeployed + 2]);
      // The same plan again finds the release changed: nothing is done twice.
      kube.clearRequests();
      assert.equal(await freePendingRelease(clients.helm, clients.kube, target, plan.free), undefined);
      assert.deepEqual(kube.mutatingRequests(), []);
      const result = await deployRelease(clients.helm, clients.kube, target, {
        deadline: new Deadline(120_000),
      });
      assert.equal(
        result.revision,
        lastDeployed + 3,
        'the rolled-back values are upgraded to the wanted ones',
      );
    });
  });
}

test('a rollout that never becomes available fails with diagnostics and leaves no values file behind', async (t) => {
  const bins = await realBinaries('helm4');
  const kube = await startKubeStandIn({ deploymentAvailable: false });
  const repo = await startChartRepo(bins.helm);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-fail-'));
  t.after(async () => {
    await kube.close();
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const clients = recordedClients(bins, kube.writeKubeconfig(dir), dir);
  const { log } = await captureLog(() =>
    assert.rejects(
      deployRelease(
        clients.helm,
        clients.kube,
        { ...TARGET, repoUrl: repo.url, values: { apiService: { skipResourceCheck: true } } },
        // 4 s for the rollout, then the reserve that diagnostics run in.
        { deadline: new Deadline(14_000, Date.now, 10_000) },
      ),
      (e: unknown) =>
        e instanceof ActionError &&
        /Deployment skypilot\/skypilot-api-server did not become available/.test(e.message),
    ),
  );
  assert.match(log, /--- pods/);
  assert.match(log, /--- last log lines of deploy\/skypilot-api-server/);
  assert.doesNotMatch(log, /pw-Secret-1|\$apr1\$/);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('skyha-values-')),
    [],
  );
});

describe('observeRelease with nothing deployed and an empty chart-version: the newest is pulled while the record is read', () => {
  let kube: KubeStandIn;
  let repo: Awaited<ReturnType<typeof startChartRepo>>;
  let dir: string;
  let clients: ReturnType<typeof recordedClients>;
  let target: ReleaseTarget;
  before(async () => {
    const bins = await realBinaries('helm4');
    kube = await startKubeStandIn();
    repo = await startChartRepo(bins.helm);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-choose-'));
    clients = recordedClients(bins, kube.writeKubeconfig(dir), dir);
    target = { ...TARGET, repoUrl: repo.url };
  });
  after(async () => {
    await kube?.close();
    await repo?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const downloads = (): string[] => repo.requests.map((r) => r.path).filter((p) => p.endsWith('.tgz'));
  const newest = (): string =>
    servedCharts.filter((c) => c.name === 'skypilot-nightly' && !c.crashes).at(-1)!.version;

  /** A record read that answers only once the test says so, and the chart pulls made meanwhile. */
  function heldRecord() {
    let answer: (chosen: { version: string | undefined; why?: string }) => void = () => undefined;
    const chosen = new Promise<{ version: string | undefined; why?: string }>((r) => (answer = r));
    return { choose: () => chosen, answer };
  }

  async function pulledBeforeTheRecord(): Promise<void> {
    // The pull comes from a helm process: wait for its download, with a generous bound, not a fixed time.
    for (const until = Date.now() + 60_000; !downloads().length;) {
      assert.ok(Date.now() < until, 'no chart was pulled while the record was being read');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('a record that names no version (a first deploy): the newest, pulled beside it, and only once', async () => {
    repo.requests.length = 0;
    const record = heldRecord();
    const observing = observeRelease(clients.helm, clients.kube, target, undefined, record.choose);
    await pulledBeforeTheRecord();
    record.answer({ version: undefined });
    const { release, chart } = await observing;
    assert.equal(release, undefined);
    assert.equal(chart.version, newest());
    assert.equal(downloads().length, 1, downloads().join(', '));
  });

  test('a record that names a version (a recovery): that version, whatever was pulled beside it', async () => {
    repo.requests.length = 0;
    const record = heldRecord();
    const observing = observeRelease(clients.helm, clients.kube, target, undefined, record.choose);
    await pulledBeforeTheRecord();
    record.answer({ version: '1.0.0-dev.20250218', why: 'the version that last ran on this state' });
    const { chart } = await observing;
    assert.equal(chart.version, '1.0.0-dev.20250218');
    assert.ok(
      downloads().some((p) => p.includes('1.0.0-dev.20250218')),
      downloads().join(', '),
    );
  });
});
