import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialSecrets, type CloudCredentials } from '../../src/config/credentials.js';
import { credentialSecretManifest, planCredentialSecrets } from '../../src/steps/cloudCredentials.js';
import { kubeconfig } from '../support/fixtures.js';

const none: CloudCredentials = { gcpServiceAccountKey: undefined, aws: undefined, kubeconfig: undefined };
describe('planCredentialSecrets', () => {
  const [secret] = credentialSecrets({ ...none, kubeconfig }, 'p');
  const manifest = credentialSecretManifest(secret!, 'skypilot');

  it('creates a missing Secret', () => {
    assert.deepEqual(
      planCredentialSecrets([secret!], new Map([['kube-credentials', undefined]]), 'skypilot').map(
        (p) => p.action,
      ),
      ['create'],
    );
  });
  it('keeps a Secret that holds exactly these values', () => {
    const observed = new Map([
      ['kube-credentials', { ...manifest, metadata: { name: 'kube-credentials', uid: 'u' } }],
    ]);
    assert.deepEqual(
      planCredentialSecrets([secret!], observed, 'skypilot').map((p) => p.action),
      ['keep'],
    );
  });
  it('updates a Secret whose value changed', () => {
    const observed = new Map([
      ['kube-credentials', { ...manifest, data: { config: Buffer.from('old').toString('base64') } }],
    ]);
    assert.deepEqual(
      planCredentialSecrets([secret!], observed, 'skypilot').map((p) => p.action),
      ['update'],
    );
  });
  it('stores base64 data, labelled as ours', () => {
    assert.equal(
      Buffer.from(String((manifest.data as Record<string, string>).config), 'base64').toString(),
      kubeconfig,
    );
    assert.equal(manifest.metadata?.labels?.['app.kubernetes.io/managed-by'], 'skyha-action');
  });
});
