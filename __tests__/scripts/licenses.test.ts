import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  licenseAccepted,
  licenseProblems,
  nccLicenseEntries,
  productionPackages,
  type Lock,
} from '../../scripts/licenses.js';
import { repoRoot } from '../../standins/runner.js';

describe('licenseAccepted', () => {
  const cases: [string, boolean][] = [
    ['MIT', true],
    ['BlueOak-1.0.0', true],
    ['GPL-3.0-only', false],
    ['MPL-2.0', false],
    ['(MIT OR GPL-3.0-only)', true],
    ['GPL-3.0-only OR LGPL-2.1-only', false],
    ['MIT AND Apache-2.0', true],
    ['MIT AND GPL-2.0-only', false],
    ['(MIT OR Apache-2.0) AND BSD-3-Clause', true],
    ['(MIT OR Apache-2.0) AND SSPL-1.0', false],
    ['Apache-2.0 WITH LLVM-exception', false],
    ['SEE LICENSE IN LICENSE.md', false],
    ['UNLICENSED', false],
    ['MIT OR', false],
    ['(MIT', false],
    ['', false],
  ];
  for (const [expression, expected] of cases) {
    it(`${expression || '(empty)'} → ${expected}`, () => assert.equal(licenseAccepted(expression), expected));
  }
});

// A lock file as npm writes it: a is nested-b's parent, c hoisted, d only for development.
function lock(overrides: Record<string, Lock['packages'][string]> = {}): Lock {
  return {
    packages: {
      '': {
        dependencies: { a: '^1', c: '^1' },
        devDependencies: { d: '^1' },
        optionalDependencies: { x: '^1' },
      },
      'node_modules/a': { version: '1.0.0', license: 'MIT', dependencies: { b: '^2', c: '^1' } },
      'node_modules/a/node_modules/b': { version: '2.0.0', license: 'ISC' },
      'node_modules/b': { version: '1.0.0', license: 'GPL-3.0-only', dev: true },
      'node_modules/c': {
        version: '1.0.0',
        license: 'Apache-2.0',
        peerDependenciesMeta: { e: { optional: true } },
      },
      'node_modules/d': { version: '1.0.0', license: 'GPL-3.0-only', dev: true, dependencies: { e: '^1' } },
      'node_modules/e': { version: '1.0.0', license: 'MIT', dev: true },
      'node_modules/x': { version: '24.0.0', license: 'MIT', optional: true },
      ...overrides,
    } as Lock['packages'],
  };
}

describe('productionPackages', () => {
  it("follows the root's dependencies the way Node resolves them, and an installed optional peer", () => {
    const { packages, problems } = productionPackages(lock());
    assert.deepEqual(
      packages.map((p) => `${p.name}@${p.version} ${p.license}`),
      ['a@1.0.0 MIT', 'b@2.0.0 ISC', 'c@1.0.0 Apache-2.0', 'e@1.0.0 MIT'],
    );
    assert.deepEqual(problems, []);
  });

  it('says when a required dependency is not in the lock file, but not an absent optional one', () => {
    const missing = lock({
      'node_modules/c': { version: '1.0.0', license: 'MIT', dependencies: { gone: '^1' } },
    });
    assert.deepEqual(productionPackages(missing).problems, [
      'package-lock.json has no gone, needed by node_modules/c',
    ]);
    const optional = lock({
      'node_modules/c': { version: '1.0.0', license: 'MIT', optionalDependencies: { gone: '1' } },
    });
    assert.deepEqual(productionPackages(optional).problems, []);
  });
});

describe('nccLicenseEntries', () => {
  it('reads name and license of each entry, never a line of a license text', () => {
    const text = 'a\nMIT\nCopyright a\n\nc\nApache-2.0\nApache License\n\nc\nis also a word here\n  a\n';
    assert.deepEqual(nccLicenseEntries(text, new Set(['a', 'c'])), [
      { name: 'a', license: 'MIT' },
      { name: 'c', license: 'Apache-2.0' },
      { name: 'c', license: 'is also a word here' },
    ]);
  });
});

describe('licenseProblems', () => {
  const ncc = 'a\nMIT\ntext\n\nc\nApache-2.0\ntext\n';

  it('passes when every production package and every bundled entry is accepted', () => {
    assert.deepEqual(licenseProblems(lock(), ncc), []);
  });

  it('names a production package under a license we do not accept; a development one does not count', () => {
    const gpl = lock({ 'node_modules/a/node_modules/b': { version: '2.0.0', license: 'GPL-3.0-only' } });
    assert.deepEqual(licenseProblems(gpl, ncc), ['b@2.0.0 is under GPL-3.0-only']);
  });

  it('names a production package that declares no license', () => {
    const none = lock({ 'node_modules/c': { version: '1.0.0' } });
    assert.deepEqual(licenseProblems(none, ncc), ['c@1.0.0 declares no license in package-lock.json']);
  });

  it('names a bundled entry whose license ncc found to be one we do not accept', () => {
    assert.deepEqual(licenseProblems(lock(), 'a\nAGPL-3.0-only\ntext\n'), [
      'a is bundled under "AGPL-3.0-only" (dist/licenses.txt)',
    ]);
  });

  it('names a bundled package no production dependency reaches', () => {
    assert.deepEqual(licenseProblems(lock(), `${ncc}\nd\nGPL-3.0-only\ntext\n`), [
      'dist/licenses.txt lists d, which no production dependency reaches: a devDependency?',
    ]);
  });
});

describe("the repository's bundle", () => {
  it('bundles only packages under accepted licenses', () => {
    const repoLock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Lock;
    const text = fs.readFileSync(path.join(repoRoot, 'dist', 'licenses.txt'), 'utf8');
    const names = new Set(productionPackages(repoLock).packages.map((p) => p.name));
    assert.ok(names.has('@actions/core') && names.has('@google-cloud/compute'));
    assert.ok(
      nccLicenseEntries(text, names).some((e) => e.name === 'protobufjs' && e.license === 'BSD-3-Clause'),
    );
    assert.deepEqual(licenseProblems(repoLock, text), []);
  });
});
