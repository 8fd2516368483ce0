import { parse as parseYaml } from 'yaml';
import { InputError } from '../lib/errors.js';
import type { InputReader } from './fields.js';

// The credentials the API server launches its users' clusters with (the runbook's "Create the cloud credential
// secrets"): read once, masked, and checked here, before anything changes.

export interface CloudCredentials {
  gcpServiceAccountKey: string | undefined;
  aws: { accessKeyId: string; secretAccessKey: string } | undefined;
  kubeconfig: string | undefined;
}

/** One Secret the chart reads, with the chart values that make the server use it. */
export interface CredentialSecret {
  name: string;
  /** Which input it came from, for the summary (never its content). */
  source: string;
  data: Record<string, string>;
  values: Record<string, unknown>;
}

/** Reads the credential inputs once (each read of a secret input registers its masks again) and checks them. */
export function parseCredentialSecrets(read: InputReader, project: string): CredentialSecret[] {
  return credentialSecrets(readCloudCredentials(read), project);
}

function readCloudCredentials(read: InputReader): CloudCredentials {
  const text = (name: string): string | undefined => {
    const value = read(name);
    return value.trim() ? value : undefined;
  };
  const gcp = text('gcp-credentials');
  const awsId = text('aws-access-key-id')?.trim();
  const awsSecret = text('aws-secret-access-key')?.trim();
  if ((awsId === undefined) !== (awsSecret === undefined)) {
    throw new InputError(
      awsId === undefined ? 'aws-access-key-id' : 'aws-secret-access-key',
      'is missing: the AWS key pair comes together',
      'Give both aws-access-key-id and aws-secret-access-key, or neither',
    );
  }
  return {
    gcpServiceAccountKey: gcp,
    aws: awsId && awsSecret ? { accessKeyId: awsId, secretAccessKey: awsSecret } : undefined,
    kubeconfig: text('kubeconfig-credentials'),
  };
}

/**
 * Checks each given credential and maps it to its Secret and chart values. Runs while inputs are parsed, so a bad
 * key fails the step before anything changes; messages name the input and never echo its content.
 */
export function credentialSecrets(credentials: CloudCredentials, project: string): CredentialSecret[] {
  const secrets: CredentialSecret[] = [];
  if (credentials.gcpServiceAccountKey !== undefined) {
    const key = parseServiceAccountKey(credentials.gcpServiceAccountKey);
    secrets.push({
      name: 'gcp-credentials',
      source: 'gcp-credentials',
      data: { 'gcp-cred.json': credentials.gcpServiceAccountKey },
      values: {
        gcpCredentials: {
          enabled: true,
          projectId: key.projectId ?? project,
          gcpSecretName: 'gcp-credentials',
        },
      },
    });
  }
  if (credentials.aws !== undefined) {
    if (!/^[A-Z0-9]{16,128}$/.test(credentials.aws.accessKeyId)) {
      throw new InputError(
        'aws-access-key-id',
        'is not an AWS access key ID',
        'It is 16-128 uppercase letters and digits, e.g. AKIA...',
      );
    }
    secrets.push({
      name: 'aws-credentials',
      source: 'aws-access-key-id, aws-secret-access-key',
      data: {
        aws_access_key_id: credentials.aws.accessKeyId,
        aws_secret_access_key: credentials.aws.secretAccessKey,
      },
      values: { awsCredentials: { enabled: true, awsSecretName: 'aws-credentials' } },
    });
  }
  if (credentials.kubeconfig !== undefined) {
    checkKubeconfig(credentials.kubeconfig);
    secrets.push({
      name: 'kube-credentials',
      source: 'kubeconfig-credentials',
      // `config` is the key SkyPilot's docs create it with (kubectl create secret --from-file=config=...).
      data: { config: credentials.kubeconfig },
      values: { kubernetesCredentials: { useKubeconfig: true, kubeconfigSecretName: 'kube-credentials' } },
    });
  }
  return secrets;
}

function parseServiceAccountKey(text: string): { projectId: string | undefined } {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw new InputError(
      'gcp-credentials',
      'is not JSON',
      'Pass the service-account JSON key file content, e.g. from a repository secret',
    );
  }
  const record = (key && typeof key === 'object' ? key : {}) as Record<string, unknown>;
  if (record.type !== 'service_account') {
    throw new InputError(
      'gcp-credentials',
      `is a JSON document of type '${typeof record.type === 'string' ? record.type : 'unknown'}', not a service-account key`,
      'Create a key with `gcloud iam service-accounts keys create`; workload identity configs cannot launch clusters',
    );
  }
  for (const field of ['client_email', 'private_key']) {
    if (typeof record[field] !== 'string' || !record[field]) {
      throw new InputError('gcp-credentials', `has no ${field}`, 'Pass the whole service-account JSON key');
    }
  }
  return { projectId: typeof record.project_id === 'string' ? record.project_id : undefined };
}

function checkKubeconfig(text: string): void {
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch {
    throw new InputError(
      'kubeconfig-credentials',
      'is not valid YAML',
      'Pass the content of a kubeconfig file',
    );
  }
  const record = (config && typeof config === 'object' ? config : {}) as Record<string, unknown>;
  for (const field of ['clusters', 'users']) {
    const list = record[field];
    if (!Array.isArray(list) || list.length === 0) {
      throw new InputError(
        'kubeconfig-credentials',
        `has no ${field}`,
        'Pass a kubeconfig with at least one cluster and one user',
      );
    }
  }
}
