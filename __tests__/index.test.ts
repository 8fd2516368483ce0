import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../standins/runner.js';

// src/index.ts, the file the bundle is built from, as its two kinds of callers use it: node starts it as its
// script (the runner, with dist/index.js), or a program imports it and calls run() (@github/local-action).

const entry = path.join(repoRoot, 'src', 'index.ts');

describe('src/index.ts runs only as the process script', () => {
  const runnerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-index-'));
  after(() => fs.rmSync(runnerDir, { recursive: true, force: true }));
  const output = path.join(runnerDir, 'output');
  // A bad input: a run that starts fails at once, before any request, and says so.
  const env = {
    PATH: process.env.PATH ?? '',
    GITHUB_OUTPUT: output,
    RUNNER_TEMP: runnerDir,
    INPUT_PROJECT: 'my-project-123',
    INPUT_ZONE: 'us-east5',
    'INPUT_WEB-PASSWORD': 'correct-horse-battery',
  };
  const node = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: repoRoot, env, encoding: 'utf8' });

  it('imported, it starts no run: it exports run() for the caller, and exits as the caller decides', () => {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(entry).href)}); console.log('run is', typeof m.run);`;
    const result = node(['--input-type=module', '-e', script]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^run is function$/m);
    assert.doesNotMatch(result.stdout, /::error::/);
    assert.equal(fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '', '');
  });

  it('as the script node was started with, it runs and exits with the run: 1 for a failed one', () => {
    const result = node([entry]);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^::error::skyha-action failed: Input 'zone'/m);
  });
});
