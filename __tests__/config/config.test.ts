import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/lib/errors.js';
import { parseConfig } from '../../src/config/config.js';
import { parseDiskSize } from '../../src/config/disk.js';
import { parseBoolean, parseDuration } from '../../src/config/fields.js';

const base: Record<string, string> = {
  project: 'my-project-123',
  zone: 'us-east5-b',
  'web-password': 's3cret-pass',
};
const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';
const parse = (inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(reader({ ...base, ...inputs }), env);

describe('parseConfig defaults', () => {
  it('fills the runbook defaults', () => {
    const c = parse({});
    assert.equal(c.disk.name, 'sky-api-server-state');
    assert.equal(c.disk.sizeGb, 10);
    assert.equal(c.disk.type, 'pd-balanced');
    assert.equal(c.pvName, 'sky-api-server-pv');
    assert.equal(c.storageClassName, 'sky-api-server-pv-class');
    assert.equal(c.release.name, 'skypilot');
    assert.equal(c.release.namespace, 'skypilot');
    assert.equal(c.release.chart, 'skypilot/skypilot-nightly');
    assert.equal(c.release.repoUrl, 'https://helm.skypilot.co');
    assert.equal(c.region, 'us-east5');
    assert.deepEqual(c.replicaZones, []);
    assert.equal(c.clusterLocation, 'us-east5-b');
    assert.equal(c.timeoutMs, 15 * 60_000);
    assert.equal(c.mode, 'deploy');
    assert.equal(c.healthCheck, true);
    assert.equal(c.release.serviceType, 'LoadBalancer');
    assert.deepEqual(c.upgrades, {
      allowDowngrade: false,
      snapshotBeforeUpgrade: true,
      rollbackOnFailure: true,
    });
    assert.equal(c.release.chartVersion, undefined);
  });

  it('reads the upgrade inputs, and latest as a chart-version', () => {
    const c = parse({
      'allow-downgrade': 'true',
      'snapshot-before-upgrade': 'False',
      'rollback-on-failure': 'FALSE',
      'chart-version': 'latest',
    });
    assert.deepEqual(c.upgrades, {
      allowDowngrade: true,
      snapshotBeforeUpgrade: false,
      rollbackOnFailure: false,
    });
    assert.equal(c.release.chartVersion, 'latest');
  });

  it('takes the project an auth step exported, in order', () => {
    const noProject = { project: '' };
    assert.equal(
      parse(noProject, { GOOGLE_CLOUD_PROJECT: 'from-google-env', GCLOUD_PROJECT: 'other-one' }).project,
      'from-google-env',
    );
    assert.equal(
      parse(noProject, { CLOUDSDK_CORE_PROJECT: 'from-cloudsdk', GCLOUD_PROJECT: 'other-one' }).project,
      'from-cloudsdk',
    );
    assert.equal(parse(noProject, { GCLOUD_PROJECT: 'from-gcloud-env' }).project, 'from-gcloud-env');
    assert.equal(
      parse({ project: 'explicit-one' }, { GOOGLE_CLOUD_PROJECT: 'from-google-env' }).project,
      'explicit-one',
    );
  });

  it('accepts a regional disk across two zones of the region', () => {
    const c = parse({ 'replica-zones': 'us-east5-b, us-east5-c' });
    assert.deepEqual(c.replicaZones, ['us-east5-b', 'us-east5-c']);
  });

  it('accepts auth-secret instead of a password', () => {
    const c = parse({ 'web-password': '', 'auth-secret': 'my-htpasswd' });
    assert.equal(c.auth.authSecret, 'my-htpasswd');
    assert.equal(c.auth.password, undefined);
  });

  it('parses values YAML and values files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-values-'));
    const file = path.join(dir, 'extra.yaml');
    fs.writeFileSync(file, 'apiService:\n  skipResourceCheck: true\n');
    const c = parse(
      { values: 'apiService:\n  image: x/y:1\n', 'values-files': `${file}\n` },
      { GITHUB_WORKSPACE: dir },
    );
    assert.deepEqual(c.release.values, { apiService: { image: 'x/y:1' } });
    assert.deepEqual(c.release.valuesFiles, [file]);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('disk-size', () => {
  const same = ['10', '10G', '10GB', '10Gi', '10GiB', '10g', '10 GB'];
  for (const raw of same) it(`'${raw}' is a 10 GiB disk`, () => assert.equal(parseDiskSize(raw), 10));
  it('T means 1024 GB', () => assert.equal(parseDiskSize('2T'), 2048));
  it('64 TB is the largest', () => assert.equal(parseDiskSize('64T'), 65536));
  for (const raw of [
    '0',
    '-10G',
    '9G',
    '10.5G',
    '1.5T',
    'ten',
    '10M',
    '10Mi',
    'G',
    '65T',
    '99999999999999999999',
  ]) {
    it(`'${raw}' is refused naming disk-size`, () => {
      assert.throws(
        () => parseDiskSize(raw),
        (e: unknown) => e instanceof InputError && e.input === 'disk-size' && e.message.includes(raw),
      );
    });
  }
});

describe('booleans and durations', () => {
  for (const [raw, want] of [
    ['true', true],
    ['True', true],
    ['FALSE', false],
    ['false', false],
  ] as const) {
    it(`'${raw}' -> ${want}`, () => assert.equal(parseBoolean('health-check', raw), want));
  }
  for (const raw of ['ture', 'yes', '1', '', 'on']) {
    it(`'${raw}' is not a boolean`, () =>
      assert.throws(() => parseBoolean('health-check', raw), /health-check/));
  }
  for (const [raw, ms] of [
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1500ms', 1500],
    ['1h', 3_600_000],
  ] as const) {
    it(`'${raw}' -> ${ms}ms`, () => assert.equal(parseDuration('timeout', raw), ms));
  }
  for (const raw of ['0', '0m', '-5m', '15 minutes', 'm', '1.5h', '15m!']) {
    it(`'${raw}' is not a duration`, () =>
      assert.throws(() => parseDuration('timeout', raw), /Input 'timeout'/));
  }
  // A bare number was seconds once: whoever wrote `timeout: 15` meant minutes, so it is refused with both fixes.
  for (const raw of ['15', ' 900 ', '0']) {
    it(`'${raw}' (no unit) is refused naming the input and the forms`, () =>
      assert.throws(
        () => parseDuration('timeout', raw),
        (e: unknown) =>
          e instanceof InputError &&
          e.input === 'timeout' &&
          /has no unit/.test(e.message) &&
          new RegExp(`${raw.trim()}m for ${raw.trim()} minutes, ${raw.trim()}s for`).test(e.hint ?? '') &&
          /15m/.test(e.hint ?? ''),
      ));
  }
});

describe('bad inputs name the input and say what is accepted', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['zone', { zone: '' }, /is required/],
    ['zone', { zone: 'us-east5' }, /not a zone/],
    ['zone', { zone: 'US-EAST5-B' }, /not a zone/],
    ['project', { project: 'Bad_Project' }, /not valid/],
    ['project', { project: '' }, /no Google Cloud project/],
    ['disk-name', { 'disk-name': 'Sky_State' }, /GCE name/],
    ['disk-name', { 'disk-name': '1disk' }, /GCE name/],
    ['disk-name', { 'disk-name': 'disk-' }, /GCE name/],
    ['disk-name', { 'disk-name': 'd'.repeat(64) }, /63/],
    ['disk-name', { 'disk-name': '--force' }, /starts with '-'/],
    ['disk-size', { 'disk-size': '5G' }, /outside/],
    ['disk-type', { 'disk-type': 'pd-fast' }, /pd-balanced/],
    ['disk-type', { 'replica-zones': 'us-east5-b,us-east5-c', 'disk-type': 'pd-extreme' }, /regional/],
    ['replica-zones', { 'replica-zones': 'us-east5-b' }, /exactly two/],
    ['replica-zones', { 'replica-zones': 'us-east5-b,us-west1-a' }, /region us-east5/],
    ['replica-zones', { 'replica-zones': 'us-east5-a,us-east5-c' }, /does not include/],
    ['disk-source-snapshot', { 'disk-source-snapshot': 'projects/x/zones/y' }, /not a snapshot/],
    ['compute-endpoint', { 'compute-endpoint': 'http://compute.example.com' }, /https/],
    ['compute-endpoint', { 'compute-endpoint': 'not a url' }, /not a URL/],
    ['compute-endpoint', { 'compute-endpoint': 'https://u:p@compute.example.com' }, /credentials/],
    ['cluster', { cluster: 'My_Cluster' }, /GKE cluster name/],
    ['cluster-location', { 'cluster-location': 'nowhere' }, /neither a zone nor a region/],
    ['release-name', { 'release-name': 'Sky' }, /not valid/],
    ['release-name', { 'release-name': 'a'.repeat(54) }, /53/],
    ['release-name', { 'release-name': '-n' }, /starts with '-'/],
    ['namespace', { namespace: 'kube_system' }, /DNS-1123/],
    ['pv-name', { 'pv-name': 'PV' }, /DNS-1123/],
    ['storage-class-name', { 'storage-class-name': 'a b' }, /DNS-1123/],
    ['chart', { chart: '--post-renderer=/bin/sh' }, /starts with '-'/],
    ['chart', { chart: 'skypilot/x\n--set=a' }, /line break/],
    ['chart-version', { 'chart-version': '1.0;rm' }, /chart version/],
    ['helm-repo-url', { 'helm-repo-url': 'ftp://charts' }, /https/],
    ['web-username', { 'web-username': 'a:b' }, /no colon/],
    ['web-password', { 'web-password': '' }, /required unless auth-secret/],
    ['web-password', { 'web-password': 'two\nlines' }, /line break/],
    ['auth-secret', { 'auth-secret': 'x' }, /cannot be combined/],
    ['values', { values: 'a: [1' }, /not valid YAML/],
    ['values', { values: '- a\n- b' }, /not a YAML mapping/],
    ['values', { values: 'storage:\n  storageClassName: ""' }, /sets storage/],
    ['values', { values: 'storage: null' }, /sets storage/],
    ['values', { values: 'storage:\n  accessMode: ReadWriteMany' }, /sets storage/],
    ['values', { values: 'x: &s {volumeName: other}\n<<: {storage: *s}' }, /sets storage/],
    ['cluster-location', { 'cluster-location': 'europe-west1' }, /not in the zone's region us-east5/],
    ['cluster-location', { 'cluster-location': 'us-west1-a' }, /not in the zone's region/],
    ['values-files', { 'values-files': '/nonexistent/values.yaml' }, /cannot read/],
    ['service-type', { 'service-type': 'ClusterIP' }, /LoadBalancer, NodePort/],
    ['timeout', { timeout: 'soon' }, /not a duration/],
    ['health-check', { 'health-check': 'ture' }, /not a boolean/],
    ['allow-downgrade', { 'allow-downgrade': 'yes' }, /not a boolean/],
    ['snapshot-before-upgrade', { 'snapshot-before-upgrade': 'flase' }, /not a boolean/],
    ['rollback-on-failure', { 'rollback-on-failure': '0' }, /not a boolean/],
    ['helm-version', { 'helm-version': 'three' }, /not a version/],
    ['kubectl-version', { 'kubectl-version': '-1.35' }, /starts with '-'/],
    ['gcloud-version', { 'gcloud-version': 'none', cluster: 'prod' }, /cluster/],
    ['tools-mirror', { 'tools-mirror': 'mirror.local' }, /not a URL/],
    ['mode', { mode: 'apply' }, /deploy, plan, drill/],
    ['aws-secret-access-key', { 'aws-access-key-id': 'AKIAEXAMPLE' }, /comes together/],
    ['aws-access-key-id', { 'aws-secret-access-key': 'secretvalue' }, /comes together/],
  ];
  for (const [input, inputs, pattern] of cases) {
    it(`${input}: ${JSON.stringify(inputs)}`, () => {
      assert.throws(
        () => parse(inputs),
        (e: unknown) =>
          e instanceof InputError && e.input === input && pattern.test(`${e.message} ${e.hint}`) && !!e.hint,
      );
    });
  }

  it('never shows the password in an error', () => {
    try {
      parse({ 'web-password': 'hunter2-line\nsecond' });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof InputError);
      assert.doesNotMatch(`${e.message} ${e.hint}`, /hunter2/);
    }
  });

  it('a values file that hides storage behind a YAML merge key is refused, as helm would read it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-values-'));
    const file = path.join(dir, 'merge.yaml');
    fs.writeFileSync(file, 'base: &b\n  storage: {volumeName: other-pv}\n<<: *b\n');
    const env = { GITHUB_WORKSPACE: dir };
    assert.throws(() => parse({ 'values-files': file }, env), /Input 'values-files': sets storage/);
    fs.writeFileSync(file, '- not\n- a mapping\n');
    assert.throws(() => parse({ 'values-files': file }, env), /not a YAML mapping/);
    fs.rmSync(dir, { recursive: true });
  });

  it('a cluster in the region or another zone of it is accepted', () => {
    assert.equal(parse({ 'cluster-location': 'us-east5' }).clusterLocation, 'us-east5');
    assert.equal(parse({ 'cluster-location': 'us-east5-c' }).clusterLocation, 'us-east5-c');
  });

  it('plan mode does not need a password', () => {
    assert.equal(parse({ 'web-password': '', mode: 'plan' }).mode, 'plan');
  });
});
