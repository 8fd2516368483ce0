import assert from 'node:assert/strict';
import { test } from 'node:test';
import { htpasswdLine, htpasswdMatches, randomSalt } from '../../src/lib/htpasswd.js';

// Expected lines made by `openssl passwd -apr1 -salt SALT` (the same algorithm as `htpasswd -nb`).
const KNOWN: [string, string, string][] = [
  ['p', 'abcdefgh', '$apr1$abcdefgh$C5orPJWI8v4Qy8kOPQ1vA.'],
  ['pässwörd', 'abcdefgh', '$apr1$abcdefgh$030j6I3f1zNCF9tihqdd11'],
  ['a-long-password-longer-than-sixteen-bytes!', 's4lt./Zz', '$apr1$s4lt./Zz$ciC72TM0ADAtfqjSm6CF.0'],
];

test('htpasswdLine matches openssl/htpasswd for ASCII, UTF-8 and long passwords', () => {
  for (const [password, salt, hash] of KNOWN) {
    assert.equal(htpasswdLine('skypilot', password, salt), `skypilot:${hash}`);
  }
});

test('each line gets a fresh salt, and every line verifies against its password only', () => {
  const a = htpasswdLine('skypilot', 'secret-pw');
  const b = htpasswdLine('skypilot', 'secret-pw');
  assert.notEqual(a, b);
  assert.match(a, /^skypilot:\$apr1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}$/);
  assert.ok(htpasswdMatches(a, 'skypilot', 'secret-pw'));
  assert.ok(htpasswdMatches(b, 'skypilot', 'secret-pw'));
  assert.ok(!htpasswdMatches(a, 'skypilot', 'secret-pw2'));
  assert.ok(!htpasswdMatches(a, 'other', 'secret-pw'));
});

test('htpasswdMatches refuses lines it cannot check', () => {
  for (const line of [
    '',
    'skypilot',
    'skypilot:{SHA}abc',
    'skypilot:$2y$05$abcdefghijklmnopqrstuv',
    'skypilot:plain',
  ]) {
    assert.equal(htpasswdMatches(line, 'skypilot', 'plain'), false, line);
  }
});

test('htpasswdLine refuses a colon in the user name and a malformed salt', () => {
  assert.throws(() => htpasswdLine('a:b', 'p'));
  assert.throws(() => htpasswdLine('a', 'p', 'bad$salt'));
  assert.match(randomSalt(), /^[./0-9A-Za-z]{8}$/);
});
