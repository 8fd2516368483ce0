import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { changelogSection, majorTag, releaseVersion, shouldMoveMajor } from '../../scripts/release.js';
import { repoRoot } from '../../standins/runner.js';

const CHANGELOG = `# Changelog

All notable changes to this project are documented in this file.

## [Unreleased]

### Added

- Something not out yet.

## [1.1.0] - 2026-12-01

### Added

- Backups.

### Fixed

- A race.

## [1.0.0] - 2026-11-01

- First release.

[unreleased]: https://example.com/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0
[1.0.0]: https://example.com/releases/tag/v1.0.0
`;

describe('release version', () => {
  it('comes from a pushed vX.Y.Z tag or from the manual input, with or without its v', () => {
    assert.equal(releaseVersion({ name: 'push', refName: 'v1.2.3' }), '1.2.3');
    assert.equal(releaseVersion({ name: 'workflow_dispatch', refName: 'main', input: 'v2.0.10' }), '2.0.10');
    assert.equal(releaseVersion({ name: 'workflow_dispatch', refName: 'main', input: ' 2.0.0 ' }), '2.0.0');
  });

  const refused: [string, Parameters<typeof releaseVersion>[0]][] = [
    ['a tag without v', { name: 'push', refName: '1.2.3' }],
    ['a pre-release tag', { name: 'push', refName: 'v1.2.3-rc.1' }],
    ['a major tag', { name: 'push', refName: 'v1' }],
    ['a two-part input', { name: 'workflow_dispatch', refName: 'main', input: '1.2' }],
    ['an empty input', { name: 'workflow_dispatch', refName: 'main', input: '' }],
    ['another event', { name: 'pull_request', refName: 'v1.2.3' }],
  ];
  for (const [what, event] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => releaseVersion(event)));
  }
});

describe('release notes from CHANGELOG.md', () => {
  it('are the version section without its heading, up to the next section', () => {
    assert.equal(changelogSection(CHANGELOG, '1.1.0'), '### Added\n\n- Backups.\n\n### Fixed\n\n- A race.');
  });

  it('leave out the link definitions after the last section', () => {
    assert.equal(changelogSection(CHANGELOG, '1.0.0'), '- First release.');
  });

  it('match the version exactly: 1.0.0 is not 1.0.00 or 11.0.0', () => {
    const text = '## [11.0.0] - 2026-01-01\n\n- eleven\n\n## [1.0.0] - 2025-01-01\n\n- one\n';
    assert.equal(changelogSection(text, '1.0.0'), '- one');
    assert.throws(() => changelogSection(text, '1.0.00'), /no section/);
  });

  it('fail for a version without a section, without a date, or with nothing in it', () => {
    assert.throws(() => changelogSection(CHANGELOG, '1.2.0'), /no section "## \[1\.2\.0\]/);
    assert.throws(() => changelogSection('## [1.2.0]\n\n- x\n', '1.2.0'), /no release date/);
    assert.throws(
      () => changelogSection('## [1.2.0] - 2026-01-01\n\n## [1.1.0] - 2025-01-01\n', '1.2.0'),
      /empty/,
    );
  });
});

describe('the major tag', () => {
  it('is vX', () => assert.equal(majorTag('3.4.5'), 'v3'));

  it('moves to the newest release of its major only', () => {
    const tags = ['v1', 'v1.0.0', 'v1.1.0', 'v1.2.0', 'v2.0.0', 'v2', 'not-a-version'];
    assert.equal(shouldMoveMajor('1.3.0', tags), true);
    assert.equal(shouldMoveMajor('1.1.1', tags), false, 'a fix of 1.1 while 1.2.0 is out');
    assert.equal(
      shouldMoveMajor('2.0.1', tags),
      true,
      'a newer major does not hold back a fix of the current one',
    );
    assert.equal(shouldMoveMajor('3.0.0', []), true, 'the first release of a major');
  });
});

describe('scripts/release.ts in a repository', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  // A copy of the script in a scratch repository: its package.json, CHANGELOG.md and tags are the inputs.
  function scratchRepo(version: string, changelog: string, tags: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(path.join(repoRoot, 'scripts', 'release.ts'), path.join(dir, 'scripts', 'release.ts'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version, type: 'module' }));
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), changelog);
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    git('init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'c');
    for (const tag of tags) git('tag', tag);
    return dir;
  }
  const run = (dir: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/release.ts', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });

  it('writes the notes and prints the outputs for $GITHUB_OUTPUT', () => {
    const dir = scratchRepo('1.1.0', CHANGELOG, ['v1.0.0', 'v1']);
    const notes = path.join(dir, 'notes.md');
    const result = run(dir, '--event', 'push', '--ref', 'v1.1.0', '--input', '', '--notes', notes);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'version=1.1.0\ntag=v1.1.0\nmajor=v1\nmove-major=true\n');
    assert.equal(fs.readFileSync(notes, 'utf8'), '### Added\n\n- Backups.\n\n### Fixed\n\n- A race.\n');
  });

  it('refuses a version package.json does not have', () => {
    const dir = scratchRepo('1.0.0', CHANGELOG, []);
    const result = run(dir, '--event', 'workflow_dispatch', '--ref', 'main', '--input', '1.1.0');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /::error::package\.json says 1\.0\.0, not 1\.1\.0/);
  });

  it('refuses to release by hand a version whose tag exists', () => {
    const dir = scratchRepo('1.1.0', CHANGELOG, ['v1.1.0']);
    const result = run(dir, '--event', 'workflow_dispatch', '--ref', 'main', '--input', '1.1.0');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /::error::The tag v1\.1\.0 exists already/);
  });
});

describe("the repository's CHANGELOG.md", () => {
  it('keeps an Unreleased section, and every dated section yields notes', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'CHANGELOG.md'), 'utf8');
    assert.match(text, /^## \[Unreleased\]$/m);
    const versions = [...text.matchAll(/^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$/gm)].map((m) => m[1]!);
    for (const version of versions) assert.ok(changelogSection(text, version).length > 0, version);
  });
});
