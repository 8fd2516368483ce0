import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgetSecretInputs, maskSecret } from '../../src/config/secrets.js';

function captured(fn: () => void): string {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true)) as typeof write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('secrets', () => {
  it('masks a multi-line secret whole, line by line and in its JSON-escaped form', () => {
    const key = '{"private_key":"-----BEGIN KEY-----\\nabcdefgh12345\\n"}\nsecond-line-of-it';
    const masks = captured(() => maskSecret(key))
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    assert.ok(masks.includes('second-line-of-it'));
    assert.ok(masks.some((m) => m.includes('"private_key"')));
    assert.ok(
      masks.includes(JSON.stringify(key).slice(1, -1)),
      'the escaped form, as it would appear inside JSON',
    );
  });

  it('removes the secret inputs from the environment children inherit, and nothing else', () => {
    const env: NodeJS.ProcessEnv = {
      'INPUT_WEB-PASSWORD': 'pw',
      'INPUT_GCP-CREDENTIALS': '{}',
      'INPUT_AWS-SECRET-ACCESS-KEY': 'k',
      INPUT_ZONE: 'us-east5-b',
      PATH: '/bin',
    };
    forgetSecretInputs(env);
    assert.deepEqual(env, { INPUT_ZONE: 'us-east5-b', PATH: '/bin' });
  });
});
