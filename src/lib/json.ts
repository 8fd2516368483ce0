import { ActionError } from './errors.js';

/** Reads a nested field of parsed JSON (a Kubernetes object) without trusting its shape. */
export function at(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );
}

/** A tool's JSON output; when it is not JSON, the error names the command and what to check. */
export function parseJson<T>(text: string, what: string, hint: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ActionError(`\`${what}\` did not print JSON`, { cause: error, hint });
  }
}

/** A plain mapping (not null, not an array): how chart values and YAML documents are checked. */
export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
