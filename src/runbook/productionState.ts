import type { ComputeClients } from '../clients/compute.js';
import type { KubernetesClient } from '../clients/kubernetes.js';
import type { Config } from '../config/config.js';
import type { Budget, Deadline } from '../lib/deadline.js';
import { describeError } from '../lib/errors.js';
import { isMap } from '../lib/json.js';
import { addressPath, addressTarget, observeAddress } from '../steps/address.js';
import { serverUrlFromService, type NodeObject, type ServiceObject } from '../steps/endpoint.js';
import { mergeValues, readRelease } from '../steps/helmRelease.js';
import { releaseObjects } from '../steps/releaseManifest.js';
import { observeServerState, type StateReading } from '../steps/serverState.js';

// Production's server, as a drill reaches it to compare states: beside the drill in the same cluster, by the
// Service production's own release made (learned from its stored manifest, never from the chart's naming rules);
// else, for a drill on another cluster, at production's static address (`static-ip`). Without either, the drill
// says the state was not compared.

export type ProductionServer = { url: string } | { unreachable: string };

type Production = Pick<Config, 'release' | 'project' | 'region' | 'staticIp'>;

/** Where production's server answers; never throws (a drill that cannot compare still reports what came back). */
export async function locateProductionServer(
  kube: KubernetesClient,
  config: Production,
  compute: ComputeClients,
  deadline: Deadline,
): Promise<ProductionServer> {
  const beside = await besideTheDrill(kube, config);
  if ('url' in beside || config.staticIp === undefined) return beside;
  const atAddress = await atStaticAddress(compute, config, deadline);
  return 'url' in atAddress ? atAddress : { unreachable: `${beside.unreachable}; ${atAddress.unreachable}` };
}

async function besideTheDrill(kube: KubernetesClient, config: Production): Promise<ProductionServer> {
  const { name, namespace } = config.release;
  try {
    const release = await readRelease(kube, name, namespace);
    if (release?.status !== 'deployed' || !release.manifest) {
      return {
        unreachable: `production's release ${namespace}/${name} is not deployed on this cluster (a drill on another cluster reaches production only at its static-ip)`,
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
    return {
      unreachable: `production's server could not be found beside the drill: ${describeError(error)}`,
    };
  }
}

/** Production's static address, on the http port its values give the controller Service (80 by default). */
async function atStaticAddress(
  compute: ComputeClients,
  config: Production,
  deadline: Deadline,
): Promise<ProductionServer> {
  const target = addressTarget(config);
  if (!target) return { unreachable: 'production has no static-ip' };
  try {
    const address = await observeAddress(compute, target, deadline);
    if (!address?.ip)
      return { unreachable: `production's static address ${addressPath(target)} does not exist` };
    const port = httpPort(config.release);
    return { url: `http://${address.ip}${port === 80 ? '' : `:${port}`}` };
  } catch (error) {
    return { unreachable: `production's static address could not be read: ${describeError(error)}` };
  }
}

/** `ingress-nginx.controller.service.ports.http` of production's values, applied as helm applies them. */
export function httpPort(release: Pick<Config['release'], 'values' | 'fileValues'>): number {
  const values = mergeValues(...release.fileValues, release.values);
  const nginx = values['ingress-nginx'];
  const controller = isMap(nginx) ? nginx.controller : undefined;
  const service = isMap(controller) ? controller.service : undefined;
  const ports = isMap(service) ? service.ports : undefined;
  const http = isMap(ports) ? Number(ports.http) : NaN;
  return Number.isInteger(http) && http > 0 ? http : 80;
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
