import { InputError } from '../lib/errors.js';

// The small checks every sub-config is built from. Each names the input and says what is accepted.

/** Reads one input as the runner passes it (INPUT_<NAME>); injectable so tests need no environment. */
export type InputReader = (name: string) => string;

/** An input reader with the two shapes every parser wants: trimmed text, and absent-when-empty. */
export interface Inputs {
  get(name: string): string;
  opt(name: string): string | undefined;
  /** The untrimmed value (passwords, YAML, keys). */
  raw(name: string): string;
}

export function inputsOf(read: InputReader): Inputs {
  return {
    get: (name) => read(name).trim(),
    opt: (name) => read(name).trim() || undefined,
    raw: (name) => read(name),
  };
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const GCE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function oneOf<T extends string>(input: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new InputError(input, `'${raw}' is not accepted`, `Use one of: ${allowed.join(', ')}`);
}

export function required(input: string, value: string): string {
  if (!value) throw new InputError(input, 'is required', `Set '${input}' in the step's with: block`);
  return value;
}

export function matches(input: string, value: string, pattern: RegExp, accepted: string): string {
  safeArg(input, value);
  if (!pattern.test(value)) throw new InputError(input, `'${value}' is not valid`, `Use ${accepted}`);
  return value;
}

export function gceName(input: string, value: string): string {
  matches(
    input,
    value,
    GCE_NAME,
    'a GCE name: a lowercase letter, then lowercase letters, digits or hyphens, not ending in a hyphen',
  );
  if (value.length > 63)
    throw new InputError(input, `'${value}' is longer than 63 characters`, 'GCE names are 1-63 characters');
  return value;
}

export function subdomain(input: string, value: string): string {
  matches(input, value, DNS_SUBDOMAIN, 'a DNS-1123 name: lowercase letters, digits, hyphens and dots');
  if (value.length > 253) throw new InputError(input, 'is longer than 253 characters', 'Shorten it');
  return value;
}

/** A value that starts with '-' or spans lines could become a flag or a second argument of helm/kubectl/gcloud. */
export function safeArg(input: string, value: string): string {
  if (value.startsWith('-')) {
    throw new InputError(
      input,
      `'${value}' starts with '-'`,
      'Values that look like command-line flags are refused',
    );
  }
  if (/[\r\n\0]/.test(value))
    throw new InputError(input, 'contains a line break', 'Give a single-line value');
  return value;
}

/** Go-style durations (`15m`, `1h30m`, `90s`) or plain seconds. */
export function parseDuration(input: string, raw: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const text = raw.trim();
  if (/^\d+$/.test(text) && Number(text) > 0) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
  if (!parts.length || parts.map((p) => p[0]).join('') !== text || ms <= 0) {
    throw new InputError(input, `'${raw}' is not a duration`, 'Use e.g. 90s, 15m or 1h30m');
  }
  return ms;
}

/** Like the YAML 1.2 core schema, and unlike `Boolean(x)`: a typo such as `ture` is an error. */
export function parseBoolean(input: string, raw: string): boolean {
  const text = raw.trim();
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  throw new InputError(input, `'${raw}' is not a boolean`, 'Use true or false');
}

/** An https URL (plain http only for loopback: the local stand-ins), without credentials in it. */
export function parseEndpoint(input: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(input, `'${raw}' is not a URL`, 'Give an absolute https:// URL');
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  // Anything but loopback over plain http would send tokens in clear text.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InputError(
      input,
      `'${raw}' is not an https:// URL`,
      'Use https (http is accepted only for localhost)',
    );
  }
  if (url.username || url.password) {
    throw new InputError(input, 'must not carry credentials in the URL', 'Remove the user:password@ part');
  }
  return url.toString().replace(/\/$/, '');
}
