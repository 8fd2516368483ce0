import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseAuthConfig } from '../../src/config/auth.js';
import { parseDiskConfig, parseVolumeConfig } from '../../src/config/disk.js';
import { inputsOf, type Inputs } from '../../src/config/fields.js';
import { parseLocation } from '../../src/config/location.js';
import { parseReleaseConfig } from '../../src/config/release.js';
import { parseToolRequests } from '../../src/config/tools.js';
import { InputError } from '../../src/lib/errors.js';

// One table per sub-config: what each input becomes, and what each bad input is refused with.

const inputs = (given: Record<string, string>): Inputs => inputsOf((name) => given[name] ?? '');

/** Runs `parse` and returns its value, or `Error(input): message` for an InputError. */
function outcome<T>(parse: () => T): T | string {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InputError)
      return `Error(${error.input}): ${error.message.replace(`Input '${error.input}': `, '')}`;
    throw error;
  }
}

describe('parseLocation', () => {
  const zone = { zone: 'us-east5-b', project: 'my-project-1' };
  const cases: Array<
    [Record<string, string>, NodeJS.ProcessEnv, Partial<ReturnType<typeof parseLocation>> | RegExp]
  > = [
    [zone, {}, { region: 'us-east5', replicaZones: [], clusterLocation: 'us-east5-b', cluster: undefined }],
    [{ zone: 'us-east5-b' }, { GCLOUD_PROJECT: 'from-env-1' }, { project: 'from-env-1' }],
    [
      { ...zone, 'replica-zones': 'us-east5-c,us-east5-b' },
      {},
      { replicaZones: ['us-east5-c', 'us-east5-b'] },
    ],
    [
      { ...zone, cluster: 'prod', 'cluster-location': 'us-east5' },
      {},
      { cluster: 'prod', clusterLocation: 'us-east5' },
    ],
    [
      { ...zone, 'compute-endpoint': 'https://psc.example.com/' },
      {},
      { computeEndpoint: 'https://psc.example.com' },
    ],
    [{ zone: 'us-east5-b' }, {}, /Error\(project\): no Google Cloud project/],
    [{ ...zone, zone: 'europe' }, {}, /Error\(zone\): 'europe' is not a zone name/],
    [
      { ...zone, 'replica-zones': 'us-east5-b,us-east5-b' },
      {},
      /Error\(replica-zones\): .*exactly two different/,
    ],
    [
      { ...zone, 'cluster-location': 'us-west1' },
      {},
      /Error\(cluster-location\): 'us-west1' is not in the zone's region/,
    ],
    [{ ...zone, cluster: 'Prod' }, {}, /Error\(cluster\)/],
    [{ ...zone, cluster: 'prod' }, {}, { clusterEndpoint: 'ip' }],
    [{ ...zone, cluster: 'prod', 'cluster-endpoint': 'dns' }, {}, { clusterEndpoint: 'dns' }],
    [{ ...zone, cluster: 'prod', 'cluster-endpoint': 'internal-ip' }, {}, { clusterEndpoint: 'internal-ip' }],
    [{ ...zone, 'cluster-endpoint': 'ip' }, {}, { clusterEndpoint: 'ip', cluster: undefined }],
    [
      { ...zone, cluster: 'prod', 'cluster-endpoint': 'private' },
      {},
      /Error\(cluster-endpoint\): 'private' is not accepted/,
    ],
    // Without cluster the kubeconfig is an earlier step's: the input would change nothing, so it is refused.
    [
      { ...zone, 'cluster-endpoint': 'dns' },
      {},
      /Error\(cluster-endpoint\): is 'dns' but 'cluster' is empty/,
    ],
  ];
  for (const [given, env, want] of cases) {
    it(`${JSON.stringify(given)} ${JSON.stringify(env)}`, () => {
      const got = outcome(() => parseLocation(inputs(given), env));
      if (want instanceof RegExp) return assert.match(String(got), want);
      assert.equal(typeof got, 'object', String(got));
      for (const [key, value] of Object.entries(want))
        assert.deepEqual((got as unknown as Record<string, unknown>)[key], value, key);
    });
  }
});

describe('parseDiskConfig and parseVolumeConfig', () => {
  const cases: Array<[Record<string, string>, boolean, unknown]> = [
    [
      {},
      false,
      {
        name: 'sky-api-server-state',
        sizeGb: 10,
        type: 'pd-balanced',
        sourceSnapshot: undefined,
        fromLatestSnapshot: false,
        startEmpty: false,
        createDisk: 'if-absent',
      },
    ],
    [
      { 'disk-size': '1T', 'disk-type': 'pd-ssd' },
      false,
      {
        name: 'sky-api-server-state',
        sizeGb: 1024,
        type: 'pd-ssd',
        sourceSnapshot: undefined,
        fromLatestSnapshot: false,
        startEmpty: false,
        createDisk: 'if-absent',
      },
    ],
    [
      { 'disk-source-snapshot': 'projects/p-1/global/snapshots/s' },
      false,
      {
        name: 'sky-api-server-state',
        sizeGb: 10,
        type: 'pd-balanced',
        sourceSnapshot: 'projects/p-1/global/snapshots/s',
        fromLatestSnapshot: false,
        startEmpty: false,
        createDisk: 'if-absent',
      },
    ],
    [
      { 'disk-type': 'hyperdisk-balanced-high-availability' },
      true,
      {
        name: 'sky-api-server-state',
        sizeGb: 10,
        type: 'hyperdisk-balanced-high-availability',
        sourceSnapshot: undefined,
        fromLatestSnapshot: false,
        startEmpty: false,
        createDisk: 'if-absent',
      },
    ],
    [
      { 'disk-type': 'hyperdisk-balanced-high-availability' },
      false,
      "Error(disk-type): 'hyperdisk-balanced-high-availability' is not a zonal persistent disk type",
    ],
    [
      { 'disk-type': 'pd-extreme' },
      true,
      "Error(disk-type): 'pd-extreme' is not a regional persistent disk type",
    ],
    [{ 'disk-name': 'State' }, false, "Error(disk-name): 'State' is not valid"],
    [{ 'disk-size': '9' }, false, "Error(disk-size): '9' is outside 10 GB to 64 TB"],
    [
      { 'disk-source-snapshot': 'zones/z/disks/d' },
      false,
      "Error(disk-source-snapshot): 'zones/z/disks/d' is not a snapshot",
    ],
  ];
  for (const [given, regional, want] of cases) {
    it(`${JSON.stringify(given)}${regional ? ' (regional)' : ''}`, () =>
      assert.deepEqual(
        outcome(() => parseDiskConfig(inputs(given), regional)),
        want,
      ));
  }
  it('volume names default to the runbook and are DNS names', () => {
    assert.deepEqual(parseVolumeConfig(inputs({})), {
      pvName: 'sky-api-server-pv',
      storageClassName: 'sky-api-server-pv-class',
    });
    assert.match(String(outcome(() => parseVolumeConfig(inputs({ 'pv-name': 'PV_1' })))), /Error\(pv-name\)/);
  });
});

describe('parseReleaseConfig', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-release-'));
  const file = path.join(dir, 'v.yaml');
  fs.writeFileSync(file, 'base: &b\n  image: x\napiService:\n  <<: *b\n  flag: yes\n');
  const cases: Array<[Record<string, string>, Record<string, unknown> | string]> = [
    [
      {},
      {
        name: 'skypilot',
        namespace: 'skypilot',
        chart: 'skypilot/skypilot-nightly',
        chartVersion: undefined,
        repoUrl: 'https://helm.skypilot.co',
        serviceType: 'LoadBalancer',
      },
    ],
    [
      { 'release-name': 'sky', namespace: 'team', 'chart-version': '>=1.0.0-0', 'service-type': 'NodePort' },
      { name: 'sky', namespace: 'team', chartVersion: '>=1.0.0-0', serviceType: 'NodePort' },
    ],
    // YAML 1.1 as helm reads it: the merge key merges, `yes` is true.
    [
      { 'values-files': file },
      { valuesFiles: [file], fileValues: [{ base: { image: 'x' }, apiService: { image: 'x', flag: true } }] },
    ],
    [{ values: 'a:\n  b: on\n' }, { values: { a: { b: true } } }],
    [{ 'release-name': 'r'.repeat(54) }, `Error(release-name): '${'r'.repeat(54)}' is 54 characters`],
    [{ namespace: 'Team' }, "Error(namespace): 'Team' is not valid"],
    [{ chart: 'repo/chart extra' }, "Error(chart): 'repo/chart extra' contains white space"],
    [
      { 'helm-repo-url': 'http://charts.example.com' },
      "Error(helm-repo-url): 'http://charts.example.com' is not an https:// URL",
    ],
    [{ values: 'storage: {size: 1Gi}' }, 'Error(values): sets storage, which the action owns'],
    [{ 'service-type': 'ClusterIP' }, "Error(service-type): 'ClusterIP' is not accepted"],
  ];
  for (const [given, want] of cases) {
    it(JSON.stringify(given), () => {
      const got = outcome(() => parseReleaseConfig(inputs(given), { GITHUB_WORKSPACE: dir }));
      if (typeof want === 'string') return assert.equal(got, want);
      for (const [key, value] of Object.entries(want))
        assert.deepEqual((got as unknown as Record<string, unknown>)[key], value, key);
    });
  }
});

describe('parseAuthConfig', () => {
  const cases: Array<[Record<string, string>, 'deploy' | 'plan', unknown]> = [
    [{ 'web-password': 'pw' }, 'deploy', { username: 'skypilot', password: 'pw', authSecret: undefined }],
    [
      { 'web-username': 'ops@example.com', 'web-password': ' spaced pw ' },
      'deploy',
      { username: 'ops@example.com', password: ' spaced pw ', authSecret: undefined },
    ],
    [
      { 'auth-secret': 'team-htpasswd' },
      'deploy',
      { username: 'skypilot', password: undefined, authSecret: 'team-htpasswd' },
    ],
    [{}, 'plan', { username: 'skypilot', password: undefined, authSecret: undefined }],
    [{}, 'deploy', 'Error(web-password): is required unless auth-secret is given'],
    [
      { 'web-password': 'a', 'auth-secret': 's' },
      'deploy',
      'Error(auth-secret): cannot be combined with web-password',
    ],
    [{ 'web-username': 'a:b', 'web-password': 'pw' }, 'deploy', "Error(web-username): 'a:b' is not valid"],
  ];
  for (const [given, mode, want] of cases) {
    it(`${JSON.stringify(given)} in ${mode}`, () =>
      assert.deepEqual(
        outcome(() => parseAuthConfig(inputs(given), mode)),
        want,
      ));
  }
});

describe('parseToolRequests: each tool input becomes the request the installer uses', () => {
  const none = { helm: '', kubectl: '', gcloud: '' };
  const cases: Array<[Partial<typeof none> & { gcloudSha256?: string; mirror?: string }, boolean, unknown]> =
    [
      [
        {},
        false,
        {
          helm: { kind: 'exact', version: '3.19.0', pinned: true },
          kubectl: { kind: 'exact', version: '1.35.2', pinned: true },
          gcloud: { skip: 'no cluster needs it' },
          mirror: undefined,
        },
      ],
      [
        {},
        true,
        {
          helm: { kind: 'exact', version: '3.19.0', pinned: true },
          kubectl: { kind: 'exact', version: '1.35.2', pinned: true },
          gcloud: { request: { kind: 'exact', version: '548.0.0', pinned: true }, sha256: undefined },
          mirror: undefined,
        },
      ],
      [
        { helm: '4', kubectl: 'v1.31', gcloud: 'none' },
        false,
        {
          helm: { kind: 'major', major: 4 },
          kubectl: { kind: 'minor', major: 1, minor: 31 },
          gcloud: { skip: "gcloud-version is 'none'" },
          mirror: undefined,
        },
      ],
      [
        {
          gcloud: 'latest',
          gcloudSha256: `sha256:${'A'.repeat(64)}`,
          mirror: 'https://mirror.example.com/tools/',
        },
        false,
        {
          helm: { kind: 'exact', version: '3.19.0', pinned: true },
          kubectl: { kind: 'exact', version: '1.35.2', pinned: true },
          gcloud: { request: { kind: 'latest' }, sha256: 'a'.repeat(64) },
          mirror: 'https://mirror.example.com/tools',
        },
      ],
      [{ gcloud: 'none' }, true, "Error(gcloud-version): is 'none' but 'cluster' is set"],
      [{ helm: 'three' }, false, "Error(helm-version): 'three' is not a version"],
      [{ kubectl: '-1.35' }, false, "Error(kubectl-version): '-1.35' starts with '-'"],
      [{ gcloudSha256: 'abc' }, true, "Error(gcloud-sha256): 'abc' is not a SHA-256 digest"],
    ];
  for (const [given, needGcloud, want] of cases) {
    it(`${JSON.stringify(given)}${needGcloud ? ' with a cluster' : ''}`, () =>
      assert.deepEqual(
        outcome(() => parseToolRequests({ ...none, ...given }, needGcloud)),
        want,
      ));
  }
});
