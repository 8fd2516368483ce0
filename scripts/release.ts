// The release workflow's decisions (.github/workflows/release.yml): which version a run releases, its notes from
// CHANGELOG.md, and whether the major tag moves to it. Usage:
//   node --import tsx scripts/release.ts --event <name> --ref <ref name> [--input <version>] --notes <file>
// prints version=, tag=, major= and move-major= lines for $GITHUB_OUTPUT.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as semver from 'semver';

const STABLE = /^\d+\.\d+\.\d+$/;

export interface ReleaseEvent {
  /** github.event_name */
  name: string;
  /** github.ref_name: the pushed tag, or the branch a manual run was started on */
  refName: string;
  /** The workflow_dispatch input `version` */
  input?: string;
}

/** X.Y.Z from a pushed tag vX.Y.Z or from the manual run's input (with or without the v). */
export function releaseVersion(event: ReleaseEvent): string {
  if (event.name === 'push') {
    const version = event.refName.replace(/^v/, '');
    if (!event.refName.startsWith('v') || !STABLE.test(version)) {
      throw new Error(`The tag ${event.refName} is not a release tag vX.Y.Z`);
    }
    return version;
  }
  if (event.name === 'workflow_dispatch') {
    const version = (event.input ?? '').trim().replace(/^v/, '');
    if (!STABLE.test(version)) throw new Error(`The version input "${event.input ?? ''}" is not X.Y.Z`);
    return version;
  }
  throw new Error(`A release starts from a pushed vX.Y.Z tag or by hand, not from ${event.name}`);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The body of `## [X.Y.Z] - YYYY-MM-DD` in a Keep a Changelog file, without its heading and link definitions.
 * An undated or empty section is not released yet, so it fails.
 */
export function changelogSection(changelog: string, version: string): string {
  const lines = changelog.split(/\r?\n/);
  const heading = new RegExp(`^## \\[?${escape(version)}\\]?(?:\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) {
    throw new Error(`CHANGELOG.md has no section "## [${version}] - YYYY-MM-DD": move Unreleased into one`);
  }
  if (!/ - \d{4}-\d{2}-\d{2}\s*$/.test(lines[start]!)) {
    throw new Error(
      `CHANGELOG.md's section for ${version} has no release date: "## [${version}] - YYYY-MM-DD"`,
    );
  }
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^## /.test(line));
  const body = (end < 0 ? rest : rest.slice(0, end))
    .filter((line) => !/^\[[^\]]+\]:\s*\S+/.test(line))
    .join('\n')
    .trim();
  if (!body) throw new Error(`CHANGELOG.md's section for ${version} is empty: say what changed`);
  return body;
}

/** vX moves to X.Y.Z unless a newer vX.*.* exists: a fix released for an older minor leaves vX where it is. */
export function shouldMoveMajor(version: string, tags: string[]): boolean {
  const major = semver.major(version);
  return !tags
    .map((tag) => tag.replace(/^v/, ''))
    .some((other) => STABLE.test(other) && semver.major(other) === major && semver.gt(other, version));
}

export const majorTag = (version: string): string => `v${semver.major(version)}`;

function main(): void {
  const { values } = parseArgs({
    options: {
      event: { type: 'string' },
      ref: { type: 'string' },
      input: { type: 'string' },
      notes: { type: 'string' },
    },
  });
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const version = releaseVersion({
    name: values.event ?? '',
    refName: values.ref ?? '',
    input: values.input,
  });
  const tag = `v${version}`;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  if (pkg.version !== version) {
    throw new Error(
      `package.json says ${pkg.version}, not ${version}: npm version --no-git-tag-version ${version}`,
    );
  }
  const notes = changelogSection(fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8'), version);
  const tags = execFileSync('git', ['tag', '--list', 'v*'], { cwd: root, encoding: 'utf8' }).split('\n');
  if (values.event === 'workflow_dispatch' && tags.includes(tag)) {
    throw new Error(`The tag ${tag} exists already: a released version is never released again`);
  }
  if (values.notes) fs.writeFileSync(values.notes, `${notes}\n`);
  const move = shouldMoveMajor(version, tags);
  console.log(`version=${version}\ntag=${tag}\nmajor=${majorTag(version)}\nmove-major=${move}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main();
  } catch (error) {
    console.error(`::error::${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
