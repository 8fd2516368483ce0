// Credentials shaped like the real ones, with no real secret in them.

export const serviceAccountKey = JSON.stringify({
  type: 'service_account',
  project_id: 'launch-project',
  private_key_id: 'abc123',
  private_key:
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-a-real-key\n-----END PRIVATE KEY-----\n',
  client_email: 'sky@launch-project.iam.gserviceaccount.com',
});
export const kubeconfig = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: other, cluster: {server: "https://10.0.0.1"}}]',
  'users: [{name: other, user: {token: other-cluster-token-value}}]',
  'contexts: [{name: other, context: {cluster: other, user: other}}]',
  'current-context: other',
].join('\n');
