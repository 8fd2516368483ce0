import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { clusterCredentials } from '../../src/steps/clusterCredentials.js';
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
