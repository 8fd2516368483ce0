import { randomBytes } from 'node:crypto';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import type { Budget } from '../lib/deadline.js';
import { htpasswdLine } from '../lib/htpasswd.js';
import { refuse, type Refusal } from '../lib/plan.js';

// A drill with `auth-secret` serves its copy of production's htpasswd Secret: the Secret is read from
// production's namespace (never changed there) and created in the drill's own namespace, labelled as the drill's,
// so it goes with that namespace. The copy also holds one throwaway login of the drill's own, with which the drill
// checks the server's health through the very same basic auth.

/** The drill's own login: its password exists only in this process, masked, and in the copy as a hash. */
export interface DrillLogin {
  username: string;
  password: string;
  /** `user:$apr1$...`: a secret too (it can be cracked offline). */
  line: string;
}

export type AuthSecretCopyPlan = { action: 'copy'; manifest: KubeObject } | Refusal;

export function newDrillLogin(runId: string): DrillLogin {
  const username = `skyha-drill-${runId}`;
  const password = randomBytes(24).toString('base64url');
  return { username, password, line: htpasswdLine(username, password) };
}

/** Production's Secret, read only; undefined when it does not exist. */
export function observeAuthSecret(
  kube: KubernetesClient,
  name: string,
  namespace: string,
  budget: Budget,
): Promise<KubeObject | undefined> {
  return kube.get('v1', 'Secret', name, { namespace, budget });
}

/** Pure: the copy the drill creates in its namespace, or why it cannot (before the drill changes anything). */
export function planAuthSecretCopy(
  found: KubeObject | undefined,
  from: { name: string; namespace: string },
  to: { namespace: string; labels: Record<string, string> },
  login: DrillLogin,
): AuthSecretCopyPlan {
  const where = `${from.namespace}/${from.name}`;
  if (!found) {
    return refuse(
      `auth-secret ${where} does not exist in production's namespace, so the drill has nothing to copy`,
      `A drill copies the Secret production's ingress uses from namespace ${from.namespace} into its own. Create it ` +
        `there (htpasswd lines under key \`auth\`: kubectl create secret generic ${from.name} -n ${from.namespace} ` +
        '--from-file=auth=<htpasswd file>), or drill with web-password instead of auth-secret. Nothing was changed',
    );
  }
  const data = (found.data ?? {}) as Record<string, string>;
  if (typeof data.auth !== 'string') {
    return refuse(
      `auth-secret ${where} has no key \`auth\`: the ingress would let nobody in`,
      `Put the htpasswd lines under key \`auth\` in ${where} (as the ingress reads them), then rerun the drill. Nothing was changed`,
    );
  }
  const lines = Buffer.from(data.auth, 'base64').toString('utf8').trimEnd();
  const auth = Buffer.from(`${lines}\n${login.line}\n`).toString('base64');
  const manifest: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: typeof found.type === 'string' ? found.type : 'Opaque',
    metadata: {
      name: from.name,
      namespace: to.namespace,
      labels: to.labels,
      annotations: { 'skyha-action.io/copied-from': where },
    },
    data: { ...data, auth },
  };
  return { action: 'copy', manifest };
}
