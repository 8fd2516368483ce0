import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readHelmRelease } from '../../src/clients/helmStorage.js';
import { isMap } from '../../src/lib/json.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { kubeClientOf } from '../support/clients.js';
import { holdHelmWrites } from '../support/e2e.js';

// Nothing can clean up after SIGKILL, so a secret must never be in a file at all: helm gets its values on standard
// input. After a run killed in the middle of the install, no file the run could have written (RUNNER_TEMP, HOME,
// the workspace) holds the password or the htpasswd line helm was installing.

/** Every regular file under `dir` (symlinks not followed), whatever its size. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(at));
    else if (entry.isFile()) found.push(at);
  }
  return found;
}

describe('SIGKILL during the install (helm 4)', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(() => world.close());

  it('leaves no file under RUNNER_TEMP, HOME or the workspace holding the password or the htpasswd line', async () => {
    const hang = holdHelmWrites(world);
    const killed = world.start();
    await hang.firstCaught();
    killed.killTree();
    assert.equal((await killed.done).code, null, 'killed, not ended');
    hang.release();

    // What helm was installing, as it recorded it before making anything: the htpasswd line among its values.
    const stored = await readHelmRelease(kubeClientOf(world.env().KUBECONFIG!), 'skypilot', 'skypilot');
    assert.equal(stored?.status, 'pending-install', 'helm was killed mid-install');
    const ingress = stored?.config.ingress;
    const line = isMap(ingress) ? ingress.authCredentials : undefined;
    assert.ok(
      typeof line === 'string' && /^skypilot:\$apr1\$/.test(line),
      'the release holds an htpasswd line',
    );

    const secrets = [line, WORLD.password, Buffer.from(WORLD.password).toString('base64')];
    // The workspace is the runner's folder: RUNNER_TEMP (temp/) and HOME (home/) are inside it.
    const roots = [world.runnerDir, path.join(world.runnerDir, 'temp'), path.join(world.runnerDir, 'home')];
    for (const root of roots) assert.ok(fs.existsSync(root), root);
    const files = filesUnder(world.runnerDir);
    assert.ok(
      files.some((f) => f.startsWith(path.join(world.runnerDir, 'temp'))),
      'the run wrote in RUNNER_TEMP',
    );
    const holding = files.filter((file) => {
      const content = fs.readFileSync(file);
      return secrets.some((secret) => content.includes(secret));
    });
    assert.deepEqual(holding, [], 'no file holds a secret');
  });
});
