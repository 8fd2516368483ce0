import { InputError } from '../lib/errors.js';

/** What a `*-version` input asks for, once `default` has become our pinned version. */
export type VersionRequest =
  | { kind: 'exact'; version: string; pinned: boolean }
  | { kind: 'latest' }
  | { kind: 'major'; major: number }
  | { kind: 'minor'; major: number; minor: number };

/** A release line a resolved version must stay on: a major, or a major.minor. */
export interface VersionLine {
  major: number;
  minor?: number;
}

const STABLE = /^(\d+)\.(\d+)\.(\d+)$/;
const EXACT = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

/** The grammar of helm-version, kubectl-version and gcloud-version (gcloud's `none` is handled by the caller). */
export function parseVersionRequest(input: string, raw: string, pinned: string): VersionRequest {
  const text = raw.trim();
  if (text === '' || text === 'default') return { kind: 'exact', version: pinned, pinned: true };
  if (text === 'latest') return { kind: 'latest' };
  const exact = EXACT.exec(text);
  if (exact) return { kind: 'exact', version: exact[1]!, pinned: false };
  const line = /^v?(\d+)(?:\.(\d+))?$/.exec(text);
  if (line) {
    const major = Number(line[1]);
    return line[2] === undefined
      ? { kind: 'major', major }
      : { kind: 'minor', major, minor: Number(line[2]) };
  }
  throw new InputError(
    input,
    `'${raw}' is not a version`,
    'Use default, latest, a major such as 4, a major.minor such as 1.35, or an exact version such as 1.35.2',
  );
}

/** Only plain X.Y.Z counts as a release when resolving: pre-releases are never picked implicitly. */
export function isStableVersion(version: string): boolean {
  return STABLE.test(version);
}

export function parseStable(version: string): [number, number, number] | undefined {
  const m = STABLE.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function onLine(version: string, line: VersionLine): boolean {
  const parts = parseStable(version);
  if (!parts) return false;
  return parts[0] === line.major && (line.minor === undefined || parts[1] === line.minor);
}

export function majorOf(version: string): number {
  return Number(version.split('.')[0]);
}

export function describeLine(line: VersionLine): string {
  return line.minor === undefined ? `${line.major}.x` : `${line.major}.${line.minor}.x`;
}

export function describeRequest(request: VersionRequest): string {
  switch (request.kind) {
    case 'exact':
      return request.pinned ? `${request.version} (pinned default)` : request.version;
    case 'latest':
      return 'latest';
    case 'major':
      return `${request.major}.x`;
    case 'minor':
      return `${request.major}.${request.minor}.x`;
  }
}

/** Strips a leading `v` and anything after the version (`v3.17.3+ge4da497` -> `3.17.3`). */
export function cleanVersion(text: string): string | undefined {
  const m = /v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)/.exec(text.trim());
  return m?.[1];
}
