import { sleep, type Deadline } from './deadline.js';
import { ActionError } from './errors.js';
import type { KubeObject, Kubectl } from './kubectl.js';

interface Claim extends KubeObject {
  spec?: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string };
}

/**
 * The last word on the state: the chart's claim must be Bound to OUR volume. A claim bound anywhere else means
 * the server is writing to a disk that is not the state disk, and the run must fail loudly.
 */
export async function verifyClaimBinding(
  kubectl: Kubectl,
  claim: { namespace: string; name: string },
  volumeName: string,
  deadline: Deadline,
  pollMs = 2000,
): Promise<void> {
  for (;;) {
    const observed = await kubectl.getJson<Claim>('persistentvolumeclaim', claim.name, claim.namespace);
    const bound = observed?.spec?.volumeName;
    if (bound && bound !== volumeName) {
      throw new ActionError(
        `Claim ${claim.namespace}/${claim.name} is bound to volume ${bound}, not to ${volumeName}: the server is not using the state disk`,
        {
          hint:
            `Do not let users log in. Check \`kubectl get pvc ${claim.name} -n ${claim.namespace}\`; the state disk is untouched. ` +
            'Uninstall the release (the claim goes with it), then rerun',
        },
      );
    }
    if (bound === volumeName && observed?.status?.phase === 'Bound') return;
    if (deadline.remainingMs() <= pollMs) {
      throw new ActionError(
        `Claim ${claim.namespace}/${claim.name} did not bind volume ${volumeName} (phase ${observed?.status?.phase ?? 'absent'})`,
        {
          hint: `Check \`kubectl describe pvc ${claim.name} -n ${claim.namespace}\` and \`kubectl describe pv ${volumeName}\``,
        },
      );
    }
    await sleep(pollMs);
  }
}
