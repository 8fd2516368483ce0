import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { loadKubeconfig } from '../../src/clients/kubeconfig.js';
import { clusterCredentials, getCredentialsArgs } from '../../src/steps/clusterCredentials.js';
import { ActionError } from '../../src/lib/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-creds-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stand-in gcloud: records its argv and environment, then writes a kubeconfig where KUBECONFIG says. */
function fakeGcloud(exitCode = 0): { binary: string; argvFile: string } {
  const dir = fs.mkdtempSync(path.join(tmp, 'gcloud-'));
  const argvFile = path.join(dir, 'argv');
  const binary = path.join(dir, 'gcloud');
  fs.writeFileSync(
    binary,
    [
      '#!/bin/sh',
      `printf '%s\\n' "$@" > '${argvFile}'`,
      `printf 'KUBECONFIG=%s\\nPLUGIN=%s\\nMODE=%s\\n' "$KUBECONFIG" "$USE_GKE_GCLOUD_AUTH_PLUGIN" "$(stat -c %a "$KUBECONFIG")" >> '${argvFile}'`,
      exitCode
        ? `echo 'ERROR: (gcloud.container.clusters.get-credentials) NOT_FOUND: cluster' >&2; exit ${exitCode}`
        : '',
      `printf 'apiVersion: v1\\nkind: Config\\nusers:\\n- name: gke\\n  user:\\n    exec:\\n      command: gke-gcloud-auth-plugin\\n' > "$KUBECONFIG"`,
    ].join('\n'),
    { mode: 0o755 },
  );
  return { binary, argvFile };
}

test('get-credentials writes a private kubeconfig under RUNNER_TEMP and exports it as KUBECONFIG', async () => {
  const runnerTemp = fs.mkdtempSync(path.join(tmp, 'runner-'));
  const githubEnv = path.join(tmp, 'github-env');
  fs.writeFileSync(githubEnv, '');
  process.env.GITHUB_ENV = githubEnv;
  const gcloud = fakeGcloud();
  const kubeconfig = await clusterCredentials(
    gcloud.binary,
    { cluster: 'sky-cluster', location: 'us-east5-b', project: 'proj-123' },
    { RUNNER_TEMP: runnerTemp },
  );
  assert.ok(kubeconfig && kubeconfig.startsWith(runnerTemp + path.sep));
  assert.equal(fs.statSync(kubeconfig).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(kubeconfig)).mode & 0o777, 0o700);
  assert.match(fs.readFileSync(kubeconfig, 'utf8'), /gke-gcloud-auth-plugin/);
  const recorded = fs.readFileSync(gcloud.argvFile, 'utf8').split('\n');
  assert.deepEqual(recorded.slice(0, 6), [
    'container',
    'clusters',
    'get-credentials',
    'sky-cluster',
    '--location=us-east5-b',
    '--project=proj-123',
  ]);
  assert.ok(recorded.includes(`KUBECONFIG=${kubeconfig}`), 'gcloud wrote into our file, not ~/.kube/config');
  assert.ok(recorded.includes('PLUGIN=True'));
  assert.ok(recorded.includes('MODE=600'), 'the file was private before gcloud wrote credentials into it');
  assert.equal(process.env.KUBECONFIG, kubeconfig);
  assert.match(fs.readFileSync(githubEnv, 'utf8'), new RegExp(`KUBECONFIG[\\s\\S]*${kubeconfig}`));
});

test('without a cluster the existing KUBECONFIG is used and gcloud is not run', async () => {
  assert.equal(
    await clusterCredentials('/nonexistent/gcloud', undefined, { KUBECONFIG: '/home/me/.kube/ci' }),
    '/home/me/.kube/ci',
  );
  assert.equal(await clusterCredentials('/nonexistent/gcloud', undefined, {}), undefined);
});

test('a gcloud failure says what to check and leaves no kubeconfig behind', async () => {
  const runnerTemp = fs.mkdtempSync(path.join(tmp, 'runner-'));
  const gcloud = fakeGcloud(1);
  await assert.rejects(
    clusterCredentials(
      gcloud.binary,
      { cluster: 'nope', location: 'us-east5', project: 'proj-123' },
      { RUNNER_TEMP: runnerTemp },
    ),
    (e: unknown) =>
      e instanceof ActionError && /nope/.test(e.message) && /container.developer/.test(e.hint ?? ''),
  );
  assert.deepEqual(fs.readdirSync(runnerTemp), []);
});

/**
 * A GKE cluster as `projects.locations.clusters.get` describes it: only the endpoints and the CA gcloud reads.
 * Absent fields are what a cluster without that endpoint answers (no privateClusterConfig, no dnsEndpointConfig).
 */
interface ClusterEndpoints {
  endpoint: string;
  privateEndpoint?: string;
  dnsEndpoint?: string;
}

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

/**
 * A stand-in gcloud whose get-credentials picks the endpoint as gcloud's _GetClusterEndpoint does, writes the
 * server as https://<endpoint> with the cluster's CA (none for the DNS endpoint, which has a publicly trusted
 * certificate) and fails with gcloud's own words; `dnsFlag: false` is a gcloud that predates --dns-endpoint.
 */
function endpointGcloud(cluster: ClusterEndpoints, options: { dnsFlag?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'gcloud-endpoints-'));
  const binary = path.join(dir, 'gcloud');
  const fail = (text: string, code = 1): string =>
    `echo 'ERROR: (gcloud.container.clusters.get-credentials) ${text}' >&2; exit ${code}`;
  const script = `#!/bin/sh
server='https://${cluster.endpoint}'; ca='${CA}'
for arg in "$@"; do
  case "$arg" in
    --internal-ip) ${cluster.privateEndpoint ? `server='https://${cluster.privateEndpoint}'` : fail('cluster prod is not a private cluster.')} ;;
    --dns-endpoint) ${
      options.dnsFlag === false
        ? fail('unrecognized arguments: --dns-endpoint', 2)
        : cluster.dnsEndpoint
          ? `server='https://${cluster.dnsEndpoint}'; ca=''`
          : fail('cluster prod is missing DNSEndpointConfig.')
    } ;;
  esac
done
{
  printf 'apiVersion: v1\\nkind: Config\\ncurrent-context: gke\\nclusters:\\n- name: gke\\n  cluster:\\n    server: %s\\n' "$server"
  [ -n "$ca" ] && printf '    certificate-authority-data: %s\\n' "$ca"
  printf 'contexts:\\n- name: gke\\n  context: {cluster: gke, user: gke}\\nusers:\\n- name: gke\\n  user:\\n    exec:\\n      apiVersion: client.authentication.k8s.io/v1beta1\\n      command: gke-gcloud-auth-plugin\\n'
} > "$KUBECONFIG"
`;
  fs.writeFileSync(binary, script, { mode: 0o755 });
  return binary;
}

const PROD = { cluster: 'prod', location: 'us-east5', project: 'proj-123' };
const privateCluster: ClusterEndpoints = {
  endpoint: '34.118.0.9',
  privateEndpoint: '10.128.0.2',
  dnsEndpoint: 'gke-0123456789abcdef-123456789012.us-east5.gke.goog',
};

test('cluster-endpoint becomes the get-credentials flag gcloud reads it from', () => {
  assert.deepEqual(getCredentialsArgs(PROD).slice(3), ['prod', '--location=us-east5', '--project=proj-123']);
  assert.deepEqual(getCredentialsArgs({ ...PROD, endpoint: 'ip' }).slice(6), []);
  assert.deepEqual(getCredentialsArgs({ ...PROD, endpoint: 'internal-ip' }).slice(6), ['--internal-ip']);
  assert.deepEqual(getCredentialsArgs({ ...PROD, endpoint: 'dns' }).slice(6), ['--dns-endpoint']);
});

for (const [endpoint, server, ca] of [
  ['ip', 'https://34.118.0.9', true],
  ['internal-ip', 'https://10.128.0.2', true],
  ['dns', `https://${privateCluster.dnsEndpoint}`, false],
] as const) {
  test(`cluster-endpoint ${endpoint}: the action's clients read the kubeconfig gcloud wrote for it`, async () => {
    const runnerTemp = fs.mkdtempSync(path.join(tmp, 'runner-'));
    const kubeconfig = await clusterCredentials(
      endpointGcloud(privateCluster),
      { ...PROD, endpoint },
      { RUNNER_TEMP: runnerTemp },
    );
    const context = loadKubeconfig({ path: kubeconfig! });
    assert.equal(context.cluster.server, server);
    // The DNS endpoint's certificate is publicly trusted: no CA in the kubeconfig means the system roots.
    assert.equal(context.cluster.ca !== undefined, ca);
    assert.equal(context.user.exec?.command, 'gke-gcloud-auth-plugin');
  });
}

for (const [name, cluster, endpoint, dnsFlag, hint] of [
  [
    'internal-ip on a cluster without a private endpoint',
    { endpoint: '34.118.0.9' },
    'internal-ip',
    true,
    /cluster-endpoint is internal-ip .*use cluster-endpoint ip .*or dns/,
  ],
  [
    'dns on a cluster whose DNS endpoint is off',
    { endpoint: '34.118.0.9' },
    'dns',
    true,
    /cluster-endpoint is dns .*--enable-dns-access/,
  ],
  ['dns with a gcloud older than the flag', privateCluster, 'dns', false, /gcloud-version to latest/],
] as const) {
  test(`${name}: the error says which input to change`, async () => {
    const runnerTemp = fs.mkdtempSync(path.join(tmp, 'runner-'));
    await assert.rejects(
      clusterCredentials(
        endpointGcloud(cluster, { dnsFlag }),
        { ...PROD, endpoint },
        { RUNNER_TEMP: runnerTemp },
      ),
      (e: unknown) => e instanceof ActionError && hint.test(e.hint ?? '') && /prod/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(runnerTemp), [], 'no kubeconfig left behind');
  });
}
