import { parse as parseYaml } from 'yaml';
import { InputError } from './errors.js';
import type { CloudCredentials } from './inputs.js';
import type { KubeObject, Kubectl } from './kubectl.js';

// The runbook's first recovery step: "Create the cloud credential secrets". The API server launches its users'
// clusters with these; they die with the cluster, and a server without them looks healthy but manages nothing.

export const CREDENTIAL_LABEL = 'app.kubernetes.io/managed-by';

/** One Secret the chart reads, with the chart values that make the server use it. */
export interface CredentialSecret {
  name: string;
  /** Which input it came from, for the summary (never its content). */
  source: string;
  data: Record<string, string>;
  values: Record<string, unknown>;
}

export type SecretAction = 'create' | 'update' | 'keep';

export interface CredentialSecretPlan {
  secret: CredentialSecret;
  action: SecretAction;
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

/** The Secret as applied: base64 `data` (not stringData) so what we read back compares exactly. */
export function credentialSecretManifest(secret: CredentialSecret, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: secret.name, namespace, labels: { [CREDENTIAL_LABEL]: 'skyha-action' } },
    data: Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
}

/** Reads the Secrets that exist now (one GET each). */
export async function observeCredentialSecrets(
  kubectl: Kubectl,
  secrets: readonly CredentialSecret[],
  namespace: string,
): Promise<Map<string, KubeObject | undefined>> {
  const observed = await Promise.all(secrets.map((s) => kubectl.getJson('secret', s.name, namespace)));
  return new Map(secrets.map((s, i) => [s.name, observed[i]]));
}

/** Pure: create what is missing, update what differs, keep what already holds exactly these values. */
export function planCredentialSecrets(
  secrets: readonly CredentialSecret[],
  observed: ReadonlyMap<string, KubeObject | undefined>,
  namespace: string,
): CredentialSecretPlan[] {
  return secrets.map((secret) => {
    const current = observed.get(secret.name);
    if (!current) return { secret, action: 'create' };
    const want = credentialSecretManifest(secret, namespace).data as Record<string, string>;
    const have = (current.data ?? {}) as Record<string, string>;
    const same = Object.keys(want).every((k) => have[k] === want[k]);
    return { secret, action: same ? 'keep' : 'update' };
  });
}

/** Applies the plan: server-side apply through stdin, so no credential reaches argv or a file. */
export async function applyCredentialSecrets(
  kubectl: Kubectl,
  plans: readonly CredentialSecretPlan[],
  namespace: string,
): Promise<void> {
  for (const plan of plans.filter((p) => p.action !== 'keep')) {
    await kubectl.apply(credentialSecretManifest(plan.secret, namespace), {
      secrets: Object.values(plan.secret.data),
      // Another manager (a hand-made `kubectl create secret`) may own the keys; the workflow's secret wins.
      forceConflicts: true,
    });
  }
}

/** The chart values that turn on every credential given. */
export function credentialValues(secrets: readonly CredentialSecret[]): Record<string, unknown> {
  return Object.assign({}, ...secrets.map((s) => s.values)) as Record<string, unknown>;
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
