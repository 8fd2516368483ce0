import { InputError } from '../lib/errors.js';
import { matches, oneOf, parseEndpoint, required, type Inputs } from './fields.js';

/**
 * Which of the GKE control plane's endpoints the kubeconfig names, as `gcloud container clusters get-credentials`
 * picks it: the cluster's `endpoint` (ip), its private endpoint (internal-ip, --internal-ip) or its DNS-based
 * endpoint (dns, --dns-endpoint).
 */
export type ClusterEndpoint = 'ip' | 'internal-ip' | 'dns';
export const CLUSTER_ENDPOINTS: readonly ClusterEndpoint[] = ['ip', 'internal-ip', 'dns'];

/** Where the state lives and where the server runs: the project, the disk's zone, the cluster. */
export interface LocationConfig {
  project: string;
  zone: string;
  region: string;
  /** Empty for a zonal disk; two zones of `region` for a regional one. */
  replicaZones: string[];
  computeEndpoint: string | undefined;
  cluster: string | undefined;
  clusterLocation: string;
  /** Only with `cluster`. */
  clusterEndpoint: ClusterEndpoint;
}

const ZONE = /^([a-z]+-[a-z]+[0-9]+)-([a-z])$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const PROJECT = /^([a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

export function parseLocation(inputs: Inputs, env: NodeJS.ProcessEnv): LocationConfig {
  const project = parseProject(inputs.opt('project'), env);
  const zone = required('zone', inputs.get('zone'));
  const zoneMatch = ZONE.exec(zone);
  if (!zoneMatch) {
    throw new InputError(
      'zone',
      `'${zone}' is not a zone name`,
      'Use a zone such as us-east5-b, the zone of the GKE cluster',
    );
  }
  const region = zoneMatch[1]!;
  const cluster = inputs.opt('cluster');
  if (cluster !== undefined) {
    matches(
      'cluster',
      cluster,
      /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/,
      'a GKE cluster name (1-40 lowercase letters, digits, hyphens)',
    );
  }
  return {
    project,
    zone,
    region,
    replicaZones: parseReplicaZones(inputs.opt('replica-zones'), zone, region),
    computeEndpoint: parseEndpoint('compute-endpoint', inputs.opt('compute-endpoint')),
    cluster,
    clusterLocation: parseClusterLocation(inputs.opt('cluster-location') ?? zone, zone, region),
    clusterEndpoint: parseClusterEndpoint(inputs.opt('cluster-endpoint'), cluster),
  };
}

/** Without `cluster` the kubeconfig is an earlier step's, whose endpoint that step chose: the input would do nothing. */
function parseClusterEndpoint(raw: string | undefined, cluster: string | undefined): ClusterEndpoint {
  if (raw === undefined) return 'ip';
  const endpoint = oneOf('cluster-endpoint', raw, CLUSTER_ENDPOINTS);
  if (cluster === undefined && endpoint !== 'ip') {
    throw new InputError(
      'cluster-endpoint',
      `is '${raw}' but 'cluster' is empty, so the action writes no kubeconfig`,
      'Set cluster (and cluster-location) so the action gets the credentials through that endpoint, or remove ' +
        'cluster-endpoint: the KUBECONFIG of an earlier step (e.g. google-github-actions/get-gke-credentials with ' +
        'use_dns_based_endpoint or use_internal_ip) already names its endpoint',
    );
  }
  return endpoint;
}

function parseProject(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const project = given ?? env.GOOGLE_CLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT ?? env.GCLOUD_PROJECT ?? '';
  if (!project) {
    throw new InputError(
      'project',
      'no Google Cloud project given',
      'Set the input, or run google-github-actions/auth before this step so it exports GOOGLE_CLOUD_PROJECT',
    );
  }
  return matches(
    'project',
    project,
    PROJECT,
    'a project ID such as my-project-123 (6-30 lowercase letters, digits, hyphens)',
  );
}

function parseReplicaZones(raw: string | undefined, zone: string, region: string): string[] {
  if (raw === undefined) return [];
  const zones = raw.split(/[\s,]+/).filter(Boolean);
  const hint = `Give two zones of ${region}, one of them ${zone}, e.g. ${zone},${region}-${zone.endsWith('-a') ? 'b' : 'a'}`;
  if (zones.length !== 2 || zones[0] === zones[1]) {
    throw new InputError('replica-zones', `'${raw}' must name exactly two different zones`, hint);
  }
  for (const z of zones) {
    const m = ZONE.exec(z);
    if (!m) throw new InputError('replica-zones', `'${z}' is not a zone name`, hint);
    if (m[1] !== region)
      throw new InputError('replica-zones', `'${z}' is not in the zone's region ${region}`, hint);
  }
  if (!zones.includes(zone))
    throw new InputError('replica-zones', `'${raw}' does not include the zone ${zone}`, hint);
  return zones;
}

/** A disk in one zone attaches only to nodes of its region: the cluster must be there. */
function parseClusterLocation(location: string, zone: string, region: string): string {
  if (!ZONE.test(location) && !REGION.test(location)) {
    throw new InputError(
      'cluster-location',
      `'${location}' is neither a zone nor a region`,
      'Use e.g. us-east5-b or us-east5',
    );
  }
  const clusterRegion = ZONE.exec(location)?.[1] ?? location;
  if (clusterRegion !== region) {
    throw new InputError(
      'cluster-location',
      `'${location}' is not in the zone's region ${region}`,
      `A disk in ${zone} attaches only to nodes there: use ${zone}, ${region} or another zone of ${region}`,
    );
  }
  return location;
}
