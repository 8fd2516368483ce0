import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Budget } from '../lib/deadline.js';
import { describeError } from '../lib/errors.js';
import { serverUrlFromService, type NodeObject, type ServiceObject } from '../steps/endpoint.js';
import { readRelease } from '../steps/helmRelease.js';
import { releaseObjects } from '../steps/releaseManifest.js';
import { observeServerState, type StateReading } from '../steps/serverState.js';

// Production's server, as a drill reaches it to compare states: beside the drill in the same cluster, by the
// Service production's own release made (learned from its stored manifest, never from the chart's naming rules).
// A drill on a throwaway cluster finds no production release there and says the state was not compared.

export type ProductionServer = { url: string } | { unreachable: string };

/** Where production's server answers; never throws (a drill that cannot compare still reports what came back). */
export async function locateProductionServer(
  kube: KubernetesClient,
  config: Pick<Config, 'release'>,
): Promise<ProductionServer> {
  const { name, namespace } = config.release;
  try {
    const release = await readRelease(kube, name, namespace);
    if (release?.status !== 'deployed' || !release.manifest) {
      return {
        unreachable: `production's release ${namespace}/${name} is not deployed on this cluster (a drill on another cluster cannot reach production's server)`,
      };
    }
    const service = releaseObjects(release.manifest, name).controllerService?.name;
    const found = service && (await kube.get<ServiceObject>('v1', 'Service', service, { namespace }));
    if (!found)
      return { unreachable: `production's release ${namespace}/${name} has no ingress controller Service` };
    const nodes = found.spec?.type === 'NodePort' ? (await kube.list<NodeObject>('v1', 'Node')).items : [];
    const url = serverUrlFromService(found, nodes);
    return url ? { url } : { unreachable: `production's Service ${namespace}/${service} has no address` };
  } catch (error) {
    return { unreachable: `production's server could not be found: ${describeError(error)}` };
  }
}

/** Production's fingerprint, with the run's credentials (production and the drill share them). */
export function readProductionState(
  server: ProductionServer,
  auth: Config['auth'],
  budget: Budget,
): Promise<StateReading> {
  if ('unreachable' in server)
    return Promise.resolve({ read: false, reason: server.unreachable, transient: false });
  return observeServerState(server.url, auth, budget);
}
