import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseValuesFiles } from '../../src/config/values.js';
import { InputError } from '../../src/lib/errors.js';

// values-files must resolve, symlinks followed, inside the workspace: anything else is refused before any change.

describe('parseValuesFiles: only files inside the workspace are read', () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-values-ws-')));
  const workspace = path.join(root, 'workspace');
  const outside = path.join(root, 'outside.yaml');
  fs.mkdirSync(path.join(workspace, 'deploy'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'deploy', 'values.yaml'), 'apiService:\n  replicas: 1\n');
  fs.writeFileSync(outside, 'apiService:\n  config: OUTSIDE-CONTENT\n');
  fs.symlinkSync(outside, path.join(workspace, 'link-out.yaml'));
  fs.symlinkSync(path.join(workspace, 'deploy', 'values.yaml'), path.join(workspace, 'link-in.yaml'));
  fs.symlinkSync(root, path.join(workspace, 'dir-out'));
  // A name that merely starts with '..' is still inside.
  fs.writeFileSync(path.join(workspace, '..dots.yaml'), 'a: 1\n');
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const env = { GITHUB_WORKSPACE: workspace };
  const inside = path.join(workspace, 'deploy', 'values.yaml');
  const cases: Array<[string, string[] | RegExp]> = [
    ['deploy/values.yaml', [inside]],
    ['./deploy/../deploy/values.yaml', [inside]],
    [inside, [inside]],
    // A symlink inside the workspace to a file inside it: helm is given the file it points at.
    ['link-in.yaml', [inside]],
    ['..dots.yaml', [path.join(workspace, '..dots.yaml')]],
    ['../outside.yaml', /'\.\.\/outside\.yaml' is outside the workspace .*\/workspace$/],
    [outside, /outside\.yaml' is outside the workspace/],
    ['/etc/hostname', /'\/etc\/hostname' is outside the workspace/],
    ['link-out.yaml', /'link-out\.yaml' is outside the workspace .* \(it resolves to .*\/outside\.yaml\)/],
    ['dir-out/outside.yaml', /'dir-out\/outside\.yaml' is outside .* \(it resolves to/],
    ['deploy/values.yaml\n../outside.yaml', /'\.\.\/outside\.yaml' is outside/],
    // A missing file is a missing file wherever it would be.
    ['deploy/missing.yaml', /cannot read 'deploy\/missing\.yaml'/],
    ['/nonexistent/values.yaml', /cannot read/],
    ['deploy', /cannot read 'deploy'/],
  ];
  for (const [raw, want] of cases) {
    it(JSON.stringify(raw), () => {
      if (Array.isArray(want)) return assert.deepEqual(parseValuesFiles(raw, env).files, want);
      assert.throws(
        () => parseValuesFiles(raw, env),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.equal(e.input, 'values-files');
          assert.match(e.message, want);
          assert.doesNotMatch(`${e.message} ${e.hint}`, /OUTSIDE-CONTENT/);
          return true;
        },
      );
    });
  }

  it('reads what the workspace file holds', () => {
    assert.deepEqual(parseValuesFiles('link-in.yaml', env).values, [{ apiService: { replicas: 1 } }]);
  });

  it('without GITHUB_WORKSPACE the working directory is the workspace, and the message says so', () => {
    const cwd = process.cwd();
    process.chdir(workspace);
    try {
      assert.deepEqual(parseValuesFiles('deploy/values.yaml', {}).files, [inside]);
      assert.throws(
        () => parseValuesFiles('../outside.yaml', {}),
        /outside the working directory .*workspace \(GITHUB_WORKSPACE is not set\)/,
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
