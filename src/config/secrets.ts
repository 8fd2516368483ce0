import * as core from '@actions/core';
import { urlCredentials } from './fields.js';

/** Inputs whose values must never reach a log, an output or a process argument. */
const SECRET_INPUTS = [
  'web-password',
  'gcp-credentials',
  'aws-access-key-id',
  'aws-secret-access-key',
  'kubeconfig-credentials',
] as const;

/** URL inputs: refused when they carry credentials, and masked the moment they are read in case they do. */
const URL_INPUTS = ['tools-mirror', 'helm-repo-url', 'compute-endpoint'] as const;

/**
 * Masks a secret the moment it is read. The runner masks line by line, so a multi-line value (a JSON key, a
 * kubeconfig) is registered whole and per line, and a JSON string's escaped form too.
 */
export function maskSecret(value: string): void {
  if (!value.trim()) return;
  core.setSecret(value);
  for (const line of value.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= 8) core.setSecret(trimmed);
  }
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) core.setSecret(escaped);
}

/** Reads inputs as the runner passes them, masking every secret input before anything else sees it. */
export function readInput(name: string): string {
  const value = core.getInput(name, { trimWhitespace: false });
  if ((SECRET_INPUTS as readonly string[]).includes(name)) maskSecret(value);
  if ((URL_INPUTS as readonly string[]).includes(name)) maskUrlCredentials(value);
  return value;
}

/** A URL with user:password@ in it: the whole value, the user:password and the password, as written and decoded. */
export function maskUrlCredentials(value: string): void {
  const credentials = urlCredentials(value);
  if (!credentials) return;
  maskSecret(value);
  const trimmed = value.trim();
  if (trimmed !== value) core.setSecret(trimmed);
  const password = credentials.slice(credentials.indexOf(':') + 1);
  for (const secret of new Set([credentials, password, decoded(credentials), decoded(password)])) {
    if (secret) core.setSecret(secret);
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Once parsed, the secret inputs leave the environment: helm, kubectl, gcloud and their plugins inherit it, and
 * none of them needs a password or a key from there.
 */
export function forgetSecretInputs(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SECRET_INPUTS) Reflect.deleteProperty(env, `INPUT_${name.toUpperCase()}`);
}
