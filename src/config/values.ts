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

/** The `values-files` input: one path per line (or comma), each read and checked once. */
export function parseValuesFiles(raw: string): { files: string[]; values: ChartValues[] } {
  const files = raw
    .split(/[\n,]/)
    .map((f) => f.trim())
    .filter(Boolean);
  return { files, values: files.map(readValuesFile) };
}

function readValuesFile(file: string): ChartValues {
  safeArg('values-files', file);
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), 'utf8');
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
