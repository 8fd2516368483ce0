import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpoint, redactUrl, urlCredentials } from '../../src/config/fields.js';
import { readInput } from '../../src/config/secrets.js';
import { InputError } from '../../src/lib/errors.js';

// URL inputs (tools-mirror, helm-repo-url, compute-endpoint): credentials in them never reach a message.

describe('redactUrl and urlCredentials: the user:password@ part, however the value is written', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['https://mirror.example.com/tools', 'https://mirror.example.com/tools', undefined],
    // An '@' in the path of a well-formed URL is no credential.
    ['https://mirror.example.com/pkg@1.0/x', 'https://mirror.example.com/pkg@1.0/x', undefined],
    [
      'https://alice:S3cr3t-pw@mirror.example.com/tools',
      'https://***@mirror.example.com/tools',
      'alice:S3cr3t-pw',
    ],
    ['https://tok3n-only@host/p', 'https://***@host/p', 'tok3n-only'],
    // The last '@' of the authority ends the userinfo, as URL parsers read it.
    ['https://a:p@ss@host/x@y', 'https://***@host/x@y', 'a:p@ss'],
    ['ftp://bob:Ftp-Pa55@files.example.com', 'ftp://***@files.example.com', 'bob:Ftp-Pa55'],
    ['sftp://bob:Sftp-Pa55@files.example.com/x', 'sftp://***@files.example.com/x', 'bob:Sftp-Pa55'],
    ['https:/carol:One-Slash@host', 'https:/***@host', 'carol:One-Slash'],
    ['https:\\\\dan:Back-Slash@host', 'https:\\\\***@host', 'dan:Back-Slash'],
    // No scheme: the user name only looks like one.
    ['erin:No-Scheme-pw@host/tools', '***@host/tools', 'erin:No-Scheme-pw'],
    // An unescaped '/' breaks the URL; everything up to the last '@' may be the password.
    ['https://frank:pa/ss@host/tools', 'https://***@host/tools', 'frank:pa/ss'],
    ['https://grace:pa#ss@host', 'https://***@host', 'grace:pa#ss'],
  ];
  for (const [raw, shown, credentials] of cases) {
    it(raw, () => {
      assert.equal(redactUrl(raw), shown);
      assert.equal(urlCredentials(raw), credentials);
    });
  }
});

describe('parseEndpoint: every refusal shows the URL without its credentials', () => {
  const cases: Array<[string, RegExp, string]> = [
    [
      'ftp://mirror-user:Mirr0r-Pa55@host/mirror',
      /'ftp:\/\/\*\*\*@host\/mirror' is not an https:\/\/ URL/,
      'Mirr0r-Pa55',
    ],
    ['http://u:Plain-Pa55@mirror.example.com', /is not an https:\/\/ URL/, 'Plain-Pa55'],
    [
      'https://u:Https-Pa55@mirror.example.com',
      /'https:\/\/\*\*\*@mirror\.example\.com' carries credentials/,
      'Https-Pa55',
    ],
    ['http://u:Loop-Pa55@127.0.0.1:8080', /carries credentials/, 'Loop-Pa55'],
    ['https://u:Bro/ken-Pa55@host', /'https:\/\/\*\*\*@host' is not a URL/, 'Bro/ken-Pa55'],
    ['u:Bare-Pa55@mirror.example.com', /not an https:\/\/ URL/, 'Bare-Pa55'],
    ['https://@host', /carries credentials/, '@host@'],
  ];
  for (const [raw, message, password] of cases) {
    it(raw, () => {
      assert.throws(
        () => parseEndpoint('tools-mirror', raw),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.equal(e.input, 'tools-mirror');
          assert.match(e.message, message);
          assert.ok(!`${e.message} ${e.hint}`.includes(password), 'the password reached the message');
          return true;
        },
      );
    });
  }

  it('accepts https, and http only on loopback, unchanged but for a trailing slash', () => {
    assert.equal(
      parseEndpoint('helm-repo-url', 'https://charts.example.com/sky/'),
      'https://charts.example.com/sky',
    );
    assert.equal(parseEndpoint('compute-endpoint', 'http://127.0.0.1:9090'), 'http://127.0.0.1:9090');
    assert.equal(
      parseEndpoint('tools-mirror', 'https://m.example.com/pkg@1/'),
      'https://m.example.com/pkg@1',
    );
  });
});

describe('readInput masks a URL input with credentials the moment it is read', () => {
  function masksFor(name: string, value: string): string[] {
    const variable = `INPUT_${name.toUpperCase()}`;
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.env[variable] = value;
    process.stdout.write = ((chunk: string | Uint8Array) => (
      chunks.push(String(chunk)),
      true
    )) as typeof write;
    try {
      assert.equal(readInput(name), value);
    } finally {
      process.stdout.write = write;
      Reflect.deleteProperty(process.env, variable);
    }
    return chunks
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => unescapeCommand(l.slice('::add-mask::'.length)));
  }
  // Workflow commands escape %, CR and LF; the runner reads them back.
  const unescapeCommand = (text: string): string =>
    text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

  for (const name of ['tools-mirror', 'helm-repo-url', 'compute-endpoint']) {
    it(`${name}: the value, the user:password and the password, also percent-decoded`, () => {
      const masks = masksFor(name, 'ftp://ops:Pa%24%24-w0rd@mirror.example.com/x');
      for (const secret of [
        'ftp://ops:Pa%24%24-w0rd@mirror.example.com/x',
        'ops:Pa%24%24-w0rd',
        'Pa%24%24-w0rd',
        'Pa$$-w0rd',
      ])
        assert.ok(masks.includes(secret), `${secret} is masked`);
    });
  }

  it('a URL without credentials, or another input, is not masked', () => {
    assert.deepEqual(masksFor('tools-mirror', 'https://mirror.example.com/a@b'), []);
    assert.deepEqual(masksFor('chart', 'u:p@x'), []);
  });
});
