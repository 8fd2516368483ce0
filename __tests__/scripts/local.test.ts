import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEnv } from 'node:util';
import {
  formatEnvFile,
  inputVariables,
  standinsEnvironment,
  standinsRunning,
  writeStandinsEnvFile,
} from '../../scripts/localEnv.js';
import { repoRoot } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertStateIntact, DISK } from '../support/e2e.js';

// `npm run local`: the action from src/ under @github/local-action (fetched by npm exec on first use), against the
// stand-ins as `npm run standins` describes them, with either entry file.

interface Run {
  code: number | null;
  out: string;
}

/** `npm run local -- <args>`, as a person runs it; TMPDIR private, to see what it leaves there. */
function npmRunLocal(args: string[], tmp: string): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', 'local', '--', ...args], {
    cwd: repoRoot,
    env: { ...process.env, TMPDIR: tmp, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // Not an assertion on time: a hung debugger ends the test instead of the suite.
  const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    }),
  );
}

/** local-action's table row of one output: │ 3 │ 'restored' │ 'false' │ */
const outputRow = (name: string, value: RegExp): RegExp =>
  new RegExp(`│\\s*\\d+\\s*│\\s*'${name}'\\s*│\\s*'${value.source}'\\s*│`);

describe('npm run local: the action under @github/local-action, against the stand-ins', () => {
  let world: LocalWorld;
  let dir: string;
  let standins: string;
  let tmp: string;
  const badZone = (): string => {
    const file = path.join(dir, 'bad-zone.env');
    fs.writeFileSync(
      file,
      `${fs.readFileSync(path.join(repoRoot, 'examples', 'local.env'), 'utf8')}\nINPUT_ZONE=us-east5\n`,
    );
    return file;
  };
  before(async () => {
    world = await startLocalWorld();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-local-test-'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-local-tmp-'));
    standins = path.join(dir, 'standins.env');
    // What `npm run standins` writes, served by this process.
    writeStandinsEnvFile(standins, standinsEnvironment(world, path.join(dir, 'runner')));
  });
  after(async () => {
    await world.close();
    for (const d of [dir, tmp]) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const entry of ['src/main.ts', 'src/index.ts']) {
    it(`${entry}, with examples/local.env: exit 0, the outputs and the server URL shown, the state deployed`, async () => {
      const run = await npmRunLocal(['examples/local.env', '--entry', entry, '--standins', standins], tmp);
      assert.equal(run.code, 0, run.out.slice(-6000));
      assert.match(run.out, /Action Outputs/);
      assert.match(run.out, outputRow('disk', new RegExp(DISK.replace(/\//g, '\\/'))));
      assert.match(run.out, outputRow('server-url', /http:\/\/127\.[\d.]+(?::\d+)?/));
      assert.match(run.out, /^::notice::SkyPilot API server ready at http:\/\/127\./m);
      assert.match(run.out, /^Job summary \(.*\):\n\n## SkyPilot API server$/m);
      assert.match(run.out, new RegExp(`^The run succeeded: ${entry}$`, 'm'));
      assert.ok(!run.out.includes(WORLD.password), 'the password reached the log');
      assertStateIntact(world);
      // examples/local.env asks for daily snapshots: its inputs reached the run, over the stand-ins' file. The
      // schedule is the zonal disk's own, <disk>-<zone>-snapshots.
      const attached = world.compute.disk(DISK)?.resourcePolicies ?? [];
      assert.deepEqual(
        attached.map((url) => url.replace(/^.*\/resourcePolicies\//, '')),
        [`sky-api-server-state-${WORLD.zone}-snapshots`],
      );
    });

    it(`${entry}, with a bad input: exit 1, the error and the summary shown, then local-action's outputs`, async () => {
      const run = await npmRunLocal([badZone(), '--entry', entry, '--standins', standins], tmp);
      assert.equal(run.code, 1, run.out.slice(-6000));
      assert.match(run.out, /^::error::skyha-action failed: Input 'zone': 'us-east5' is not a zone name/m);
      // The run returned to local-action instead of ending the process under it.
      assert.match(run.out, /Action Outputs[\s\S]*No outputs were set!/);
      assert.match(run.out, /Fix the input named above and rerun/);
      assert.match(run.out, new RegExp(`^The run failed \\(exit 1\\): ${entry}$`, 'm'));
    });
  }

  it('leaves no env file behind: the combined one it hands local-action holds the password', () => {
    assert.deepEqual(
      fs.readdirSync(tmp).filter((name) => name.startsWith('skyha-local-')),
      [],
    );
  });

  it('refuses a stand-ins file whose process is gone, and a missing env file, before starting anything', async () => {
    const stale = path.join(dir, 'stale.env');
    fs.writeFileSync(stale, fs.readFileSync(standins, 'utf8').replace(/^# pid \d+$/m, '# pid 999999999'));
    assert.equal(standinsRunning(stale), false);
    assert.equal(standinsRunning(standins), true);
    const gone = await npmRunLocal(['examples/local.env', '--standins', stale], tmp);
    assert.equal(gone.code, 2, gone.out);
    assert.match(gone.out, /stale\.env: no stand-ins running that wrote it/);
    assert.doesNotMatch(gone.out, /Configuration|Running Action/);
    const missing = await npmRunLocal(['nowhere.env'], tmp);
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /Env file .*nowhere\.env does not exist\. Copy examples\/local\.env/);
  });
});

describe('the stand-ins env file', () => {
  it('reads back as written, inputs named as the runner names them', () => {
    const vars = { KUBECONFIG: '/tmp/x y/kubeconfig', ...inputVariables({ 'web-password': 'p@ss word!#' }) };
    assert.deepEqual(Object.keys(vars), ['KUBECONFIG', 'INPUT_WEB-PASSWORD']);
    assert.deepEqual(parseEnv(formatEnvFile(vars, ['a comment'])), vars);
  });

  it('refuses a value dotenv would not read back literally', () => {
    assert.throws(() => formatEnvFile({ A: "it's" }), /A holds a quote or a line break/);
    assert.throws(() => formatEnvFile({ B: 'one\ntwo' }), /B holds a quote or a line break/);
  });

  it('is readable by its owner only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-standins-env-'));
    try {
      const file = path.join(dir, 'standins.env');
      writeStandinsEnvFile(file, { A: 'b' });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`^# pid ${process.pid}$`, 'm'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
