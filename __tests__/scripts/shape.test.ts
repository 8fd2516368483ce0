import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { importCircles, measureShape } from '../../scripts/shape.js';

const body = (lines: number): string =>
  Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-shape-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('npm run shape', () => {
  it('names a function over the limit, with its file, line and length, and lets one at the limit pass', () => {
    const dir = tree({
      'a.ts': `export function fits(): void {\n${body(80)}\n}\n\nexport const tooLong = (): void => {\n${body(81)}\n};\n`,
      'b.d.ts': `export declare function x(): void;\n`,
    });
    const shape = measureShape(dir, 80);
    assert.equal(shape.files, 1);
    assert.deepEqual(shape.long, ['a.ts:82 tooLong 81 lines']);
    fs.rmSync(dir, { recursive: true });
  });

  it('finds an import circle through a folder index, and none in imports that point one way', () => {
    const dir = tree({
      'main.ts': `import { b } from './lib/index.js';\nexport const a = b;\n`,
      'lib/index.ts': `export { b } from './b.js';\n`,
      'lib/b.ts': `import type { a } from '../main.js';\nexport const b = 1;\nexport type A = typeof a;\n`,
      'one.ts': `import { c } from './two.js';\nexport const d = c;\n`,
      'two.ts': `import * as fs from 'node:fs';\nexport const c = fs.constants;\n`,
    });
    assert.deepEqual(measureShape(dir).circles, [['lib/b.ts', 'lib/index.ts', 'main.ts']]);
    fs.rmSync(dir, { recursive: true });
  });

  it('tells circles apart from a chain and a self-import', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'outside'])],
      ['d', new Set(['d'])],
      ['e', new Set(['a'])],
    ]);
    assert.deepEqual(importCircles(edges), [['a', 'b', 'c']]);
  });

  it('finds this repository in shape', () => {
    for (const folder of ['src', 'standins', 'bench', 'scripts']) {
      const shape = measureShape(path.resolve(import.meta.dirname, '../..', folder));
      assert.deepEqual([...shape.long, ...shape.circles.flat()], [], folder);
    }
  });
});
