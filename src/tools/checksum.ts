import { ActionError, InputError } from '../lib/errors.js';

const HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Reads a publisher's checksum file: a bare hex digest (kubectl `.sha256`) or `sha256sum` lines
 * (`<hex>  <file>`, helm `.sha256sum`), in which case the line must name the file we downloaded.
 */
export function parseChecksumFile(text: string, fileName: string, url: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  for (const line of lines) {
    const [digest, name, ...rest] = line.split(/\s+/);
    if (digest === undefined || !HEX.test(digest) || rest.length > 0) continue;
    // sha256sum marks binary mode with a leading '*'; a path prefix is fine, the base name must match.
    const named = name?.replace(/^\*/, '').split('/').pop();
    if (named === undefined || named === fileName) return digest.toLowerCase();
  }
  throw new ActionError(`The checksum file ${url} has no SHA-256 for ${fileName}`, {
    hint: 'The publisher or mirror serves a malformed checksum file; check the mirror copies it unchanged',
  });
}

/** A pinned checksum as users write it: 64 hex digits, optionally prefixed `sha256:`. */
export function parsePinnedSha256(input: string, raw: string): string {
  const text = raw.trim().replace(/^sha256:/i, '');
  if (!HEX.test(text)) {
    throw new InputError(
      input,
      `'${raw}' is not a SHA-256 digest`,
      'Give the 64 hex digits that `sha256sum` prints for the archive',
    );
  }
  return text.toLowerCase();
}
