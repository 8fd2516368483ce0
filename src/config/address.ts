import { isIP } from 'node:net';
import { InputError } from '../lib/errors.js';
import { isMap } from '../lib/json.js';
import { gceName, safeArg, type Inputs } from './fields.js';
import type { ServiceType } from './release.js';
import type { ChartValues } from './values.js';

// `static-ip`: the address users log in to survives the cluster. A regional external address of the cluster's
// region, by name; checked here against the other inputs, before anything is read or changed.

/** What the address depends on among the other inputs. */
export interface AddressContext {
  project: string;
  region: string;
  serviceType: ServiceType;
  /** The `values` input and the `values-files`, parsed. */
  values: ChartValues[];
}

const INPUT = 'static-ip';
/** An address's path, with or without the API's URL in front: projects/P/regions/R/addresses/N, regions/R/..., global/... */
const ADDRESS_PATH =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?(?:projects\/([^/]+)\/)?(?:regions\/([^/]+)|(global))\/addresses\/([^/]+)$/;
/** The chart values that would give the Service another address than static-ip's (ingress-gce reads the annotation first). */
const OTHER_ADDRESS_ANNOTATION = 'networking.gke.io/load-balancer-ip-addresses';

/** The name of the address `static-ip` names, or undefined for an ephemeral address (the default). */
export function parseStaticIp(inputs: Inputs, context: AddressContext): string | undefined {
  const raw = inputs.opt('static-ip');
  if (raw === undefined) return undefined;
  safeArg(INPUT, raw);
  const name = addressName(raw, context);
  if (context.serviceType === 'NodePort') {
    throw new InputError(
      INPUT,
      `'${raw}' is given with service-type NodePort, which has no load balancer to hold the address`,
      'Remove service-type (a LoadBalancer is the default) to serve at the static address, or remove static-ip',
    );
  }
  refuseOtherAddressValues(context.values);
  return name;
}

/** A name, or a regional address's path in the cluster's project and region; anything else says how to fix it. */
function addressName(raw: string, { project, region }: AddressContext): string {
  if (isIP(raw)) {
    throw new InputError(
      INPUT,
      `'${raw}' is an IP; static-ip takes the name of the address`,
      `Find its name with \`gcloud compute addresses list --filter="address=${raw}" --project ${project}\`, or give a new name and the action reserves it`,
    );
  }
  const path = ADDRESS_PATH.exec(raw);
  if (!path) return gceName(INPUT, raw);
  const [, inProject, inRegion, global, name = ''] = path;
  if (global) {
    throw new InputError(
      INPUT,
      `'${raw}' is a global address, which a LoadBalancer Service cannot use (GKE: "neither static nor assigned to the LB")`,
      `Give the name of a regional address in ${region}, or a new name and the action reserves one there`,
    );
  }
  if (inRegion !== region) {
    throw new InputError(
      INPUT,
      `'${raw}' is in region ${inRegion}, but the cluster's load balancer is in ${region}`,
      `A load balancer can use only an address of its own region: give the name of an address in ${region} (or a new name, and the action reserves one there), or deploy to ${inRegion}`,
    );
  }
  if (inProject !== undefined && inProject !== project) {
    throw new InputError(
      INPUT,
      `'${raw}' is in project ${inProject}, not in ${project}`,
      `The action reads and reserves addresses in the project input (${project}): give the name of an address there`,
    );
  }
  return gceName(INPUT, name);
}

/** Values that ask for an address themselves would fight static-ip over the Service: refused, naming the value. */
function refuseOtherAddressValues(layers: ChartValues[]): void {
  for (const values of layers) {
    const nginx = values['ingress-nginx'];
    const controller = isMap(nginx) ? nginx.controller : undefined;
    const service = isMap(controller) ? controller.service : undefined;
    if (!isMap(service)) continue;
    if (service.loadBalancerIP !== undefined && service.loadBalancerIP !== '') {
      throw new InputError(
        INPUT,
        'is given together with ingress-nginx.controller.service.loadBalancerIP in the values',
        'static-ip sets that value itself: remove it from values/values-files',
      );
    }
    const annotations = service.annotations;
    if (isMap(annotations) && annotations[OTHER_ADDRESS_ANNOTATION] !== undefined) {
      throw new InputError(
        INPUT,
        `is given together with the Service annotation ${OTHER_ADDRESS_ANNOTATION} in the values, which GKE would follow instead`,
        'Name the address in static-ip only: remove the annotation from values/values-files',
      );
    }
  }
}
