import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../lib/errors.js';
import { isMap } from '../lib/json.js';
import { safeArg } from './fields.js';

/** Chart values, from the `values` input or one of the `values-files`. */
export type ChartValues = Record<string, unknown>;

/**
 * The one parse of chart values: helm reads values as YAML 1.1 (merge keys, yes/no booleans), so the action
 * checks, and later compares, what helm will see.
 */
export function parseValuesYaml(text: string): unknown {
  return parseYaml(text, { version: '1.1', merge: true });
}

/** The `values` input: a YAML mapping, applied after the action's own values. */
export function parseValuesInput(raw: string): ChartValues {
  if (!raw.trim()) return {};
  let parsed: unknown;
  try {
    parsed = parseValuesYaml(raw);
  } catch (error) {
    throw new InputError(
      'values',
      `is not valid YAML (${(error as Error).message.split('\n')[0]})`,
      'Give a YAML mapping of chart values',
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMap(parsed)) {
    throw new InputError(
      'values',
      'is not a YAML mapping',
      'Give chart values such as `apiService:\\n  skipResourceCheck: true`',
    );
  }
  guardStateValues('values', parsed);
  return parsed;
}

/** The `values-files` input: one path per line (or comma), each inside the workspace, read and checked once. */
export function parseValuesFiles(
  raw: string,
  env: NodeJS.ProcessEnv = process.env,
): { files: string[]; values: ChartValues[] } {
  const given = raw
    .split(/[\n,]/)
    .map((f) => f.trim())
    .filter(Boolean);
  const workspace = workspaceOf(env);
  // Read once, here: helm is given what was read and checked (on its stdin), whatever a file or symlink says later.
  const files = given.map((file) => resolveInWorkspace(file, workspace));
  return { files, values: files.map((file, i) => readValuesFile(given[i]!, file)) };
}

/** Where values files may come from: the job's checkout, resolved as the file system sees it. */
interface Workspace {
  dir: string;
  described: string;
}

function workspaceOf(env: NodeJS.ProcessEnv): Workspace {
  const given = env.GITHUB_WORKSPACE;
  const dir = realpathOr(path.resolve(given || process.cwd()));
  // Off a runner there is no GITHUB_WORKSPACE: the working directory stands in for it.
  return {
    dir,
    described: given ? `the workspace ${dir}` : `the working directory ${dir} (GITHUB_WORKSPACE is not set)`,
  };
}

function realpathOr(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir;
  }
}

/** The file's real path (symlinks followed), refused unless it lies inside the workspace. */
function resolveInWorkspace(file: string, workspace: Workspace): string {
  safeArg('values-files', file);
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(workspace.dir, file));
  } catch {
    throw new InputError(
      'values-files',
      `cannot read '${file}'`,
      'Give paths relative to the workspace, one per line',
    );
  }
  const relative = path.relative(workspace.dir, real);
  if (path.isAbsolute(relative) || relative.split(path.sep)[0] === '..') {
    const through = real === path.resolve(workspace.dir, file) ? '' : ` (it resolves to ${real})`;
    throw new InputError(
      'values-files',
      `'${file}' is outside ${workspace.described}${through}`,
      "Values files are read from the job's checkout: give paths inside GITHUB_WORKSPACE (symlinks are followed and must stay inside it)",
    );
  }
  return real;
}

function readValuesFile(file: string, real: string): ChartValues {
  let text: string;
  try {
    text = fs.readFileSync(real, 'utf8');
  } catch {
    throw new InputError(
      'values-files',
      `cannot read '${file}'`,
      'Give paths relative to the workspace, one per line',
    );
  }
  let parsed: unknown;
  try {
    parsed = parseValuesYaml(text);
  } catch {
    throw new InputError('values-files', `'${file}' is not valid YAML`, 'Fix the file');
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMap(parsed)) {
    throw new InputError(
      'values-files',
      `'${file}' is not a YAML mapping`,
      'A values file holds chart values as a mapping',
    );
  }
  guardStateValues('values-files', parsed);
  return parsed;
}

/** The storage values bind the chart's claim to our volume; letting a user override them loses the state. */
function guardStateValues(input: string, values: ChartValues): void {
  // All of `storage` is ours: any key under it (even an access mode) can stop the claim binding the state volume.
  if ('storage' in values) {
    throw new InputError(
      input,
      'sets storage, which the action owns',
      'The action binds the chart to the persistent disk itself; use disk-size, pv-name and storage-class-name instead',
    );
  }
}
