import type { CredentialSecret } from '../config/credentials.js';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';

// The runbook's first recovery step: "Create the cloud credential secrets". The API server launches its users'
// clusters with these; they die with the cluster, and a server without them looks healthy but manages nothing.

const CREDENTIAL_LABEL = 'app.kubernetes.io/managed-by';

export type SecretAction = 'create' | 'update' | 'keep';

export interface CredentialSecretPlan {
  secret: CredentialSecret;
  action: SecretAction;
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
  kube: KubernetesClient,
  secrets: readonly CredentialSecret[],
  namespace: string,
): Promise<Map<string, KubeObject | undefined>> {
  const observed = await Promise.all(secrets.map((s) => kube.get('v1', 'Secret', s.name, { namespace })));
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

/** Applies the plan: server-side apply from the action's own process, so no credential reaches argv or a file. */
export async function applyCredentialSecrets(
  kube: KubernetesClient,
  plans: readonly CredentialSecretPlan[],
  namespace: string,
): Promise<void> {
  for (const plan of plans.filter((p) => p.action !== 'keep')) {
    // Another manager (a hand-made `kubectl create secret`) may own the keys; the workflow's secret wins.
    await kube.apply(credentialSecretManifest(plan.secret, namespace), { force: true });
  }
}

/** The chart values that turn on every credential given. */
export function credentialValues(secrets: readonly CredentialSecret[]): Record<string, unknown> {
  return Object.assign({}, ...secrets.map((s) => s.values)) as Record<string, unknown>;
}
