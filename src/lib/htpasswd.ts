import { randomBytes, timingSafeEqual } from 'node:crypto';
import aprMd5 from 'apache-md5';

// The alphabet of crypt(3) salts, as htpasswd draws them.
const SALT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The `user:$apr1$salt$hash` line of `htpasswd -nb USER PASS`, which ingress-nginx checks itself. */
export function htpasswdLine(username: string, password: string, salt: string = randomSalt()): string {
  if (username.includes(':')) throw new Error('An htpasswd user name cannot contain a colon');
  if (!/^[./0-9A-Za-z]{1,8}$/.test(salt))
    throw new Error('An Apache MD5 salt is 1-8 characters of [./0-9A-Za-z]');
  return `${username}:${aprMd5(asBytes(password), `$apr1$${salt}$`)}`;
}

/**
 * True when `line` is this user's entry and its hash was made from `password`. Lines carry a random salt,
 * so a deployed line is checked against the password rather than compared as a string.
 */
export function htpasswdMatches(line: string, username: string, password: string): boolean {
  const colon = line.indexOf(':');
  if (colon < 0) return false;
  const user = line.slice(0, colon);
  const hash = line.slice(colon + 1).trim();
  if (user !== username || !/^\$(apr1|1)\$[^$]{0,8}\$/.test(hash)) return false;
  const expected = Buffer.from(hash);
  const actual = Buffer.from(aprMd5(asBytes(password), hash));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** 8 salt characters from the system's CSPRNG (apache-md5's own salt comes from Math.random). */
export function randomSalt(): string {
  return [...randomBytes(8)].map((byte) => SALT_ALPHABET[byte % 64]).join('');
}

// apache-md5 hashes each UTF-16 unit as one byte; handing it the UTF-8 bytes matches htpasswd for any password.
function asBytes(password: string): string {
  return Buffer.from(password, 'utf8').toString('latin1');
}
