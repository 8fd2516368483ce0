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

/**
 * Go-style durations (`15m`, `1h30m`, `90s`). A bare number is refused: `timeout: 15` was read as seconds, while
 * whoever wrote it almost surely meant minutes, and a run cut short at 15 s fails halfway through a deploy.
 */
export function parseDuration(input: string, raw: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const text = raw.trim();
  if (/^\d+$/.test(text)) {
    throw new InputError(
      input,
      `'${raw}' has no unit`,
      `Write the unit: ${text}m for ${text} minutes, ${text}s for ${text} seconds (accepted: e.g. 900s, 15m, 1h, 1h30m)`,
    );
  }
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
  // Every message shows the value with its user:password@ part as ***: a typo elsewhere must not print it.
  const shown = redactUrl(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(input, `'${shown}' is not a URL`, 'Give an absolute https:// URL');
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  // Anything but loopback over plain http would send tokens in clear text.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InputError(
      input,
      `'${shown}' is not an https:// URL`,
      'Use https (http is accepted only for localhost)',
    );
  }
  if (url.username || url.password || urlCredentials(raw) !== undefined) {
    throw new InputError(
      input,
      `'${shown}' carries credentials in the URL`,
      'Remove the user:password@ part: the action sends no credentials to a URL input. For an authenticated ' +
        'mirror or chart repository, reach it through a proxy that adds them (HTTPS_PROXY), or serve it to the runner without them',
    );
  }
  return url.toString().replace(/\/$/, '');
}

const SPECIAL_SCHEMES = new Set(['http', 'https', 'ftp', 'ws', 'wss', 'file']);

/**
 * Where a URL's user:password@ part sits in the text as written, or what could be one in a malformed value (a
 * password with an unescaped '/' breaks the URL, and is still a password): undefined when there is none.
 */
function credentialSpan(raw: string): { start: number; end: number } | undefined {
  if (!raw.includes('@')) return undefined;
  const scheme = /^\s*([a-z][a-z0-9+.-]*):([\\/]*)/i.exec(raw);
  // `user:pass@host` has no scheme at all: its user name only looks like one.
  const hasAuthority = scheme && (SPECIAL_SCHEMES.has(scheme[1]!.toLowerCase()) || scheme[2]);
  const start = hasAuthority ? scheme[0].length : raw.length - raw.trimStart().length;
  const rest = raw.slice(start);
  const authorityEnd = rest.search(/[\\/?#]/);
  const at = (authorityEnd < 0 ? rest : rest.slice(0, authorityEnd)).lastIndexOf('@');
  if (at >= 0) return { start, end: start + at };
  if (parsesWithoutCredentials(raw)) return undefined;
  return { start, end: start + rest.lastIndexOf('@') };
}

/** A well-formed http(s) URL without credentials, whose '@' is only in its path or query. */
function parsesWithoutCredentials(raw: string): boolean {
  try {
    const url = new URL(raw);
    return /^https?:$/.test(url.protocol) && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** The user:password part of a URL input as written (see credentialSpan); undefined when it has none. */
export function urlCredentials(raw: string): string | undefined {
  const span = credentialSpan(raw);
  return span && raw.slice(span.start, span.end);
}

/** The value as messages may show it: the user:password@ part becomes ***@. */
export function redactUrl(raw: string): string {
  const span = credentialSpan(raw);
  return span ? `${raw.slice(0, span.start)}***${raw.slice(span.end)}` : raw;
}
