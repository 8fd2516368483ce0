// GCE label values hold lowercase letters, digits, '_' and '-', at most 63 characters: a chart name or version is
// written there reversibly, so a later run reads back exactly what was written.

/** GCE's limit on a label value. */
export const LABEL_VALUE_MAX = 63;

/** Lowercase segments joined by single '.' or '+': every usual chart version and name (1.0.0-dev.20261115+b.1). */
const PLAIN = /^[0-9a-z-]+([.+][0-9a-z-]+)*$/;
const PLAIN_ENCODED = /^[0-9a-z-]+(_{1,2}[0-9a-z-]+)*$/;
/** Anything else (upper case, '_', two separators in a row) is base32 after this mark, which plain text never makes. */
const OTHER = '___';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * The label value that stands for `text`: '.' becomes '_' and '+' becomes '__' (semver has no '_'), so
 * 1.0.0-dev.20261115 reads 1_0_0-dev_20261115; other text is base32 behind `___`. Undefined when the result
 * would exceed 63 characters.
 */
export function encodeLabelValue(text: string): string | undefined {
  if (!text) return undefined;
  const encoded = PLAIN.test(text) ? text.replace(/\+/g, '__').replace(/\./g, '_') : OTHER + base32(text);
  return encoded.length <= LABEL_VALUE_MAX ? encoded : undefined;
}

/** The text encodeLabelValue wrote; undefined for a value it cannot have written. */
export function decodeLabelValue(value: string): string | undefined {
  if (value.startsWith(OTHER)) return unbase32(value.slice(OTHER.length));
  if (!PLAIN_ENCODED.test(value)) return undefined;
  return value.replace(/__/g, '+').replace(/_/g, '.');
}

function base32(text: string): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): string | undefined {
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) return undefined;
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const decoded = Buffer.from(bytes).toString('utf8');
  return decoded && encodeLabelValue(decoded) === OTHER + text ? decoded : undefined;
}
