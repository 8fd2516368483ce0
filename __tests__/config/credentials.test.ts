import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialSecrets, type CloudCredentials } from '../../src/config/credentials.js';
import { credentialValues } from '../../src/steps/cloudCredentials.js';
import { InputError } from '../../src/lib/errors.js';
import { kubeconfig, serviceAccountKey } from '../support/fixtures.js';

const none: CloudCredentials = { gcpServiceAccountKey: undefined, aws: undefined, kubeconfig: undefined };
describe('credentialSecrets', () => {
  it('none given: no Secret, no value', () => {
    assert.deepEqual(credentialSecrets(none, 'p'), []);
    assert.deepEqual(credentialValues([]), {});
  });

  it('maps each credential to the chart Secret, key and values', () => {
    const secrets = credentialSecrets(
      {
        gcpServiceAccountKey: serviceAccountKey,
        aws: {
          accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        },
        kubeconfig,
      },
      'deploy-project',
    );
    assert.deepEqual(
      secrets.map((s) => [s.name, Object.keys(s.data)]),
      [
        ['gcp-credentials', ['gcp-cred.json']],
        ['aws-credentials', ['aws_access_key_id', 'aws_secret_access_key']],
        ['kube-credentials', ['config']],
      ],
    );
    assert.deepEqual(credentialValues(secrets), {
      gcpCredentials: { enabled: true, projectId: 'launch-project', gcpSecretName: 'gcp-credentials' },
      awsCredentials: { enabled: true, awsSecretName: 'aws-credentials' },
      kubernetesCredentials: { useKubeconfig: true, kubeconfigSecretName: 'kube-credentials' },
    });
  });

  it('falls back to the action project when the key names none', () => {
    const key = JSON.stringify({ ...JSON.parse(serviceAccountKey), project_id: undefined });
    const [secret] = credentialSecrets({ ...none, gcpServiceAccountKey: key }, 'deploy-project');
    assert.deepEqual(secret?.values, {
      gcpCredentials: { enabled: true, projectId: 'deploy-project', gcpSecretName: 'gcp-credentials' },
    });
  });

  const bad: Array<[string, Partial<CloudCredentials>, RegExp]> = [
    ['gcp-credentials', { gcpServiceAccountKey: '{not json' }, /not JSON/],
    [
      'gcp-credentials',
      { gcpServiceAccountKey: '{"type":"external_account","audience":"x"}' },
      /external_account/,
    ],
    [
      'gcp-credentials',
      { gcpServiceAccountKey: '{"type":"service_account","client_email":"a@b"}' },
      /private_key/,
    ],
    [
      'gcp-credentials',
      { gcpServiceAccountKey: '{"type":"service_account","private_key":"k"}' },
      /client_email/,
    ],
    ['aws-access-key-id', { aws: { accessKeyId: 'not-a-key', secretAccessKey: 'x' } }, /AWS access key ID/],
    ['kubeconfig-credentials', { kubeconfig: 'clusters: [1' }, /not valid YAML/],
    ['kubeconfig-credentials', { kubeconfig: 'clusters: []\nusers: [{name: u}]' }, /no clusters/],
    ['kubeconfig-credentials', { kubeconfig: 'clusters: [{name: c}]' }, /no users/],
  ];
  for (const [input, creds, pattern] of bad) {
    it(`${input}: refused with ${pattern}, content never echoed`, () => {
      assert.throws(
        () => credentialSecrets({ ...none, ...creds }, 'p'),
        (e: unknown) => {
          const text = e instanceof InputError ? `${e.message} ${e.hint}` : '';
          const content = JSON.stringify(creds);
          return (
            e instanceof InputError &&
            e.input === input &&
            pattern.test(text) &&
            !text.includes('not-a-key') &&
            !text.includes('{not json') &&
            !content.includes(text)
          );
        },
      );
    });
  }
});
