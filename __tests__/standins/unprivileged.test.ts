import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { at } from '../../src/lib/json.js';
import { realBinaries } from '../../standins/binaries.js';
import { repoRoot } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import type { DeployOnce } from '../support/deployOnce.js';
import { ok } from '../support/e2e.js';

// `npm run demo` and `npm test` work as a normal user (issue 15). As root (CI), the demo's stand-ins run as
// uid 65534 through setpriv; as a normal user, they simply run as that user.

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const setpriv = spawnSync('setpriv', ['--version']).status === 0;
const skip = asRoot && !setpriv ? 'runs as root but has no setpriv (util-linux) to drop to uid 65534' : false;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command as the unprivileged user, with a HOME and TMPDIR of its own, from the checkout. */
function unprivileged(home: string, command: string, args: string[]): Promise<Ran> {
  const [file, argv] = asRoot
    ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', command, ...args]]
    : [command, args];
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: path.join(home, 'tmp') };
  // The mode is probed from what the machine allows, not forced by this file's single-address test.
  delete env.SKYHA_STANDIN_SINGLE_ADDRESS;
  const child = spawn(file, argv, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const tsx = (script: string): [string, string[]] => [process.execPath, ['--import', 'tsx', script]];

describe('the demo stand-ins as a normal user', { skip }, () => {
  let home: string;
  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-nobody-'));
    fs.mkdirSync(path.join(home, 'tmp'));
    if (!asRoot) return;
    for (const dir of [home, path.join(home, 'tmp')]) fs.chownSync(dir, NOBODY, NOBODY);
  });
  after(() => fs.rmSync(home, { recursive: true, force: true }));

  test('the checkout, node_modules and the real binaries cache are readable (and the binaries runnable)', async () => {
    const bins = await realBinaries('helm4');
    const files = [
      path.join(repoRoot, 'package.json'),
      path.join(repoRoot, 'dist', 'index.js'),
      fs.realpathSync(path.join(repoRoot, 'node_modules', 'tsx', 'package.json')),
      bins.layerZip,
    ];
    const check =
      'for f; do [ -r "$f" ] || echo "unreadable: $f"; done; for x in "$H" "$K"; do [ -x "$x" ] || echo "not runnable: $x"; done';
    const ran = await unprivileged(home, 'sh', [
      '-c',
      `H='${bins.helm}' K='${bins.kubectl}'; ${check}`,
      'sh',
      ...files,
    ]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, '', 'everything the stand-ins need is world-readable');
  });

  test('a deploy is healthy: the URL is an output, 401 without credentials, healthy with them', async () => {
    const ran = await unprivileged(home, ...tsx('__tests__/support/deployOnce.ts'));
    assert.equal(ran.code, 0, `${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
    const lines = ran.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^Stand-in network: (high-port|privileged-port) /, 'the mode is said first');
    const result = JSON.parse(lines.at(-1)!) as DeployOnce;
    assert.equal(result.code, 0, result.errors.join('\n'));
    assert.match(result.url, new RegExp(result.urlPattern));
    assert.equal(result.anonymous, 401);
    assert.equal(result.authorized.status, 200);
    assert.equal(at(result.authorized.body, 'status'), 'healthy');
    assert.ok(result.version, 'the action read the version through the authorized health check');
    assert.doesNotMatch(ran.stderr, /EACCES|cannot listen/, 'every listener could bind');
  });

  test('npm run demo ends green: deploy, converge, recover on a new cluster at the same URL and from a snapshot', async () => {
    const ran = await unprivileged(home, ...tsx('scripts/demo.ts'));
    assert.equal(ran.code, 0, `${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
    assert.match(
      ran.stdout,
      /Same disk: true .*restored: true; same URL: true \((http:\/\/\S+) before, \1 after\)/,
    );
    assert.match(ran.stdout, /Restored: true, from snapshot:sky-api-server-state-scheduled-2;/);
    assert.doesNotMatch(ran.stderr, /EACCES|cannot listen/);
  });
});

/** The health endpoint's status at a server URL, without or with the web password. */
async function healthStatus(url: string, authorized: boolean): Promise<number> {
  const credentials = Buffer.from(`skypilot:${WORLD.password}`).toString('base64');
  const headers: Record<string, string> = authorized ? { Authorization: `Basic ${credentials}` } : {};
  return (await fetch(`${url}/api/health`, { headers })).status;
}

const controller = (world: LocalWorld) =>
  world.kube.get('v1', 'Service', 'skypilot', 'skypilot-ingress-nginx-controller');

describe('single-address mode (macOS, or SKYHA_STANDIN_SINGLE_ADDRESS=1): the NodePort path on 127.0.0.1', () => {
  let world: LocalWorld;
  before(async () => {
    // Read by the probe once per process: no other world in this file probes (the other one is forced).
    process.env.SKYHA_STANDIN_SINGLE_ADDRESS = '1';
    world = await startLocalWorld();
  });
  after(async () => {
    delete process.env.SKYHA_STANDIN_SINGLE_ADDRESS;
    await world.close();
  });

  test('deploys behind a NodePort on 127.0.0.1, healthy; a new cluster gives a new URL for the same disk', async () => {
    assert.equal(world.network.mode, 'single-address');
    const first = ok(await world.run());
    const url = first.outputs['server-url'] ?? '';
    assert.match(url, /^http:\/\/127\.0\.0\.1:(3[0-2]\d{3})$/);
    assert.equal(url, `http://127.0.0.1:${world.network.port}`);
    assert.equal(at(controller(world), 'spec', 'type'), 'NodePort');
    assert.equal(await healthStatus(url, false), 401);
    assert.equal(await healthStatus(url, true), 200);

    await world.loseCluster();
    const recovered = ok(await world.run());
    assert.equal(recovered.outputs.restored, 'true');
    assert.equal(recovered.outputs.disk, first.outputs.disk);
    assert.notEqual(recovered.outputs['server-url'], url);
    assert.equal(await healthStatus(recovered.outputs['server-url']!, true), 200);
  });
});

describe('high-port mode, forced: the load balancer on 127.X.Y.Z and the controller Service on a high port', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ network: 'high-port' });
  });
  after(() => world.close());

  test('the URL carries the port the values file gave the Service, and answers there', async () => {
    const run = ok(await world.run());
    const url = run.outputs['server-url'] ?? '';
    const port = world.network.port!;
    assert.ok(port > 1023);
    const ip = at(controller(world), 'status', 'loadBalancer', 'ingress', '0', 'ip');
    assert.equal(url, `http://${String(ip)}:${port}`);
    assert.match(url, world.network.serverUrlPattern());
    assert.equal(at(controller(world), 'spec', 'type'), 'LoadBalancer');
    assert.equal(await healthStatus(url, true), 200);
  });
});
