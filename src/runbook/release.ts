import { createHash } from 'node:crypto';
import type { Config } from '../config/config.js';
import { isMap } from '../lib/json.js';
import { isRefusal, type Refusal } from '../lib/plan.js';
import type { ClaimPlan, ClaimRef } from '../steps/claim.js';
import { credentialValues, type CredentialSecretPlan } from '../steps/cloudCredentials.js';
import {
  mergeValues,
  planHelmRelease,
  renderRelease,
  type HelmReleasePlan,
  type ReleaseObservation,
  type ReleaseTarget,
} from '../steps/helmRelease.js';
import type { ClaimFit, PersistentVolumePlan } from '../steps/persistentVolume.js';
import { checkReleaseObjects, releaseObjects, type ReleaseObjects } from '../steps/releaseManifest.js';
import type { Cluster } from './cluster.js';

// The Helm release in the runbook: what it must be, and the names of what it makes, learned from the release
// (its stored manifest) or from the chart (rendered with the planned values), never built from the chart's rules.

/** The names the later steps use, and whether the chart would make the release at all. */
export interface ReleaseNames {
  /** The claim the API server mounts, bound to the state volume. */
  claim: ClaimRef;
  /** The chart takes storage.existingClaim: the action makes the claim and tells the chart its name. */
  ownsClaim: boolean;
  /** What the release makes, or would make with the planned values; undefined when the chart refused them. */
  objects: ReleaseObjects | undefined;
  /** The chart's own refusal of the planned values (a `fail` in its templates, e.g. its resource check). */
  chartRefusal: Refusal | undefined;
  /** ingress-nginx.fullnameOverride, when the subchart's own names would not fit the API server's limits. */
  subchartFullname: string | undefined;
  /** The IP of the static address (static-ip) the controller Service asks for, once it is known. */
  loadBalancerIP?: string | undefined;
}

/** What the release plan is planned from: the observations it depends on. */
export interface ReleaseInputs {
  release: ReleaseObservation;
  secrets?: CredentialSecretPlan[];
}

/** The release the deploy makes: the runbook's helm command with the credentials' values and our claim. */
export function releaseTarget(
  config: Config,
  claimFit: ClaimFit,
  names: Partial<ReleaseNames>,
): ReleaseTarget {
  return {
    ...config.release,
    values: mergeValues(credentialValues(config.credentialSecrets), config.release.values),
    storage: { ...claimFit, volumeName: config.pvName },
    auth: config.auth,
    ...(names.ownsClaim && names.claim ? { existingClaim: names.claim.name } : {}),
    ...(names.subchartFullname ? { subchartFullname: names.subchartFullname } : {}),
    ...(names.loadBalancerIP ? { loadBalancerIP: names.loadBalancerIP } : {}),
  };
}

/** Pure: the release's plan, refused when what the chart would make cannot serve the state. */
export function planRelease(
  config: Config,
  release: ReleaseObservation,
  volume: PersistentVolumePlan,
  claim: ClaimPlan | undefined,
  names: Partial<ReleaseNames>,
): HelmReleasePlan {
  const fit = isRefusal(volume) ? { storageClassName: config.storageClassName, size: '' } : volume.claimFit;
  const plan = planHelmRelease(releaseTarget(config, fit, names), release, {
    ...(claim?.action === 'repair' ? { repair: claim.reason } : {}),
    planOnly: config.mode === 'plan',
  });
  if (isRefusal(plan) || !names.claim) return plan;
  if (names.chartRefusal) return names.chartRefusal;
  const problem =
    names.objects &&
    checkReleaseObjects(names.objects, {
      claim: names.claim.name,
      authSecret: config.auth.authSecret,
      release: config.release.name,
    });
  return problem ?? plan;
}

/**
 * Learns the names: from the stored manifest when the release will not change, else by rendering the chart with
 * the values the deploy would give it. When the subchart's names would exceed the API server's limits, the
 * subchart is given a short full name of its own (unless the values already name it) and rendered again.
 */
export async function nameRelease(
  config: Config,
  cluster: Cluster,
  observed: {
    release: ReleaseObservation;
    volume: PersistentVolumePlan;
    loadBalancerIP?: string | undefined;
  },
): Promise<ReleaseNames> {
  const { chart, release } = observed.release;
  const claim = { namespace: config.release.namespace, name: ownClaimName(config) };
  const sticky = deployedSubchartName(config, release?.values);
  // The address the Service asks for: without it, a converged release would look changed and be rendered again.
  const { loadBalancerIP } = observed;
  const start = { claim, ownsClaim: chart.existingClaim, subchartFullname: sticky, loadBalancerIP };
  const provisional = planRelease(config, observed.release, observed.volume, undefined, start);
  if (isRefusal(provisional)) return { ...start, objects: undefined, chartRefusal: undefined };
  if (provisional.action === 'keep' && release?.manifest) return named(config, start, release.manifest);
  let rendered = await render(cluster, config, observed, start);
  if (!sticky && !userNamesSubchart(config) && rendered.objects?.tooLong.some((t) => t.subchart)) {
    rendered = await render(cluster, config, observed, { ...start, subchartFullname: subchartName(config) });
  }
  return rendered;
}

async function render(
  cluster: Cluster,
  config: Config,
  observed: { release: ReleaseObservation; volume: PersistentVolumePlan },
  names: Omit<ReleaseNames, 'objects' | 'chartRefusal'>,
): Promise<ReleaseNames> {
  const plan = planRelease(config, observed.release, observed.volume, undefined, names);
  if (isRefusal(plan)) return { ...names, objects: undefined, chartRefusal: undefined };
  const fit = isRefusal(observed.volume)
    ? { storageClassName: config.storageClassName, size: '1Gi' }
    : observed.volume.claimFit;
  const result = await renderRelease(cluster.helm, releaseTarget(config, fit, names), plan);
  if ('action' in result) return { ...names, objects: undefined, chartRefusal: result };
  return named(config, names, result.manifest);
}

/** The claim is the one the chart renders and the server mounts, unless the action owns it (existingClaim). */
function named(
  config: Config,
  names: Omit<ReleaseNames, 'objects' | 'chartRefusal'>,
  manifest: string,
): ReleaseNames {
  const objects = releaseObjects(manifest, config.release.name);
  const rendered = objects.names.PersistentVolumeClaim?.[0] ?? objects.apiServer?.claim;
  const claim = names.ownsClaim || !rendered ? names.claim : { ...names.claim, name: rendered };
  return { ...names, claim, objects, chartRefusal: undefined };
}

/** The claim the action makes and tells the chart (storage.existingClaim); the chart's own default name. */
function ownClaimName(config: Config): string {
  return `${config.release.name}-state`;
}

export function ownClaim(config: Config): ClaimRef {
  return { namespace: config.release.namespace, name: ownClaimName(config) };
}

/** A short subchart name, distinct per release and namespace: `<release, cut>-<hash>`, 40 characters at most. */
function subchartName(config: Config): string {
  const { name, namespace } = config.release;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 6);
  return `${name.slice(0, 33).replace(/-+$/, '')}-${hash}`;
}

/** A subchart name the action gave an earlier revision is kept, so a converged rerun changes nothing. */
function deployedSubchartName(
  config: Config,
  deployed: Record<string, unknown> | undefined,
): string | undefined {
  const nginx = deployed?.['ingress-nginx'];
  const name = isMap(nginx) ? nginx.fullnameOverride : undefined;
  return name === subchartName(config) && !userNamesSubchart(config) ? name : undefined;
}

function userNamesSubchart(config: Config): boolean {
  const all = [config.release.values, ...config.release.fileValues];
  return all.some((v) => isMap(v['ingress-nginx']) && 'fullnameOverride' in v['ingress-nginx']);
}
