import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isProcessEntry } from '../../src/lib/entry.js';

describe('isProcessEntry: the module is the script node was started with', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-entry-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, 'dist', 'index.js');
  fs.mkdirSync(path.dirname(bundle));
  fs.writeFileSync(bundle, '');
  fs.writeFileSync(path.join(dir, 'dist', 'other.js'), '');
  // A runner may reach the action through a symlinked folder: node reports the module by its real path.
  fs.symlinkSync(path.join(dir, 'dist'), path.join(dir, 'linked'));
  const url = pathToFileURL(bundle).href;

  const cases: Array<[string, string | undefined, boolean]> = [
    ['node dist/index.js', bundle, true],
    ['through a symlinked folder', path.join(dir, 'linked', 'index.js'), true],
    ['without its extension (node dist/index)', path.join(dir, 'dist', 'index'), true],
    ['another script imported it (local-action)', path.join(dir, 'dist', 'other.js'), false],
    ['a script that does not exist', path.join(dir, 'dist', 'gone.js'), false],
    ['no script at all (node -e)', undefined, false],
  ];
  for (const [name, script, expected] of cases) {
    it(`${name} -> ${String(expected)}`, () => assert.equal(isProcessEntry(url, script), expected));
  }
});
