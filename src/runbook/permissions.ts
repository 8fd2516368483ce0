import * as core from '@actions/core';
import type { KindInfo } from '../clients/kinds.js';
import type { Config } from '../config/config.js';
import { enterStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { isRefusal, refusalError } from '../lib/plan.js';
import { planStep, reportPlanRefusal, type Report } from '../report.js';
import {
  describePermissionsPlan,
  groupOf,
  observeKinds,
  planPermissions,
  reviewPermissions,
  uniquePermissions,
  type Permission,
} from '../steps/permissions.js';
import { plannedRetain } from '../steps/persistentVolume.js';
import { releaseObjects, type ManifestResource } from '../steps/releaseManifest.js';
import type { Cluster } from './cluster.js';
import { planChangesAnything, type Observed, type RunbookPlan } from './plan.js';

// What applying a plan asks of the cluster, verb by verb: the action's own writes (lock, namespace, credential
// Secrets, volume, claim) and helm's (its release records, and every object of the rendered chart). Only what
// this plan changes is asked: a converged rerun changes nothing and asks nothing.

/** What a drill does beside its runbook: it makes its namespace, may copy a Secret, and may clean up. */
export interface DrillNeeds {
  namespace: string;
  copiesSecret: boolean;
  cleanup: boolean;
}

/** The helm verbs on one kind: helm 4 writes by server-side apply (patch, which creates too), helm 3 POSTs and patches. */
function helmVerbs(r: ManifestResource, helmMajor: number, patches: boolean): string[] {
  const verbs = ['get', 'create'];
  if (helmMajor >= 4 || patches) verbs.push('patch');
  if (r.hook && r.hookDeleted) verbs.push('delete');
  if (r.hook && r.kind === 'Job') verbs.push('list', 'watch');
  return verbs;
}

/** Pure: every permission the plan's changes need. `kinds` places each kind of the manifests (see observeKinds). */
export function runbookPermissions(
  config: Config,
  plan: RunbookPlan,
  observed: Observed,
  options: { helmMajor: number; lock: boolean; kinds: Map<string, KindInfo>; drill?: DrillNeeds },
): Permission[] {
  const ns = config.release.namespace;
  const out: Permission[] = [];
  const add = (
    verbs: string[],
    group: string,
    resource: string,
    namespace: string | undefined,
    why: string,
  ) => out.push(...verbs.map((verb) => ({ verb, group, resource, namespace, why })));
  const release = isRefusal(plan.release) ? undefined : plan.release;
  const installs = release?.action === 'install';
  if (options.lock)
    add(['get', 'create', 'update', 'delete'], 'coordination.k8s.io', 'leases', ns, 'the release lock');
  const ownClaim = plan.claim.action === 'create' || plan.claim.action === 'adopt';
  const secrets = plan.secrets.filter((p) => p.action !== 'keep');
  if (installs) add(['create'], '', 'namespaces', undefined, `the namespace ${ns}`);
  if (ownClaim || secrets.length || (options.lock && installs))
    add(['patch'], '', 'namespaces', undefined, `the namespace ${ns}`);
  for (const p of secrets)
    add(
      p.action === 'create' ? ['create', 'patch'] : ['patch'],
      '',
      'secrets',
      ns,
      `the Secret ${p.secret.name}`,
    );
  const volume = plan.volume;
  if (volume.action === 'create')
    add(['create'], '', 'persistentvolumes', undefined, `the volume ${config.pvName}`);
  if (volume.action === 'update' && volume.changes.length)
    add(['patch'], '', 'persistentvolumes', undefined, `the volume ${config.pvName}`);
  const claimWhy = `the claim ${observed.names.claim.name}`;
  if (plan.claim.action === 'create') add(['create', 'patch'], '', 'persistentvolumeclaims', ns, claimWhy);
  if (plan.claim.action === 'adopt') add(['patch'], '', 'persistentvolumeclaims', ns, claimWhy);
  if (release && (release.action !== 'keep' || release.free))
    out.push(...helmPermissions(config, observed, options));
  if (options.drill) out.push(...drillPermissions(config, observed, options.drill, options.kinds));
  return uniquePermissions(out);
}

/** helm's: its release records, every object of the chart as rendered (hooks too), and freeing a stuck release. */
function helmPermissions(
  config: Config,
  observed: Observed,
  options: { helmMajor: number; kinds: Map<string, KindInfo> },
): Permission[] {
  const ns = config.release.namespace;
  const out: Permission[] = [];
  const records = `helm's release records of ${config.release.name}`;
  for (const verb of ['get', 'list', 'create', 'update'])
    out.push(permission(verb, '', 'secrets', ns, records));
  const deployed = observed.release.release;
  const patches = deployed !== undefined;
  for (const r of observed.names.objects?.resources ?? []) {
    for (const verb of helmVerbs(r, options.helmMajor, patches)) out.push(...on(r, verb, ns, options.kinds));
  }
  // A release left pending is freed first: a rollback patches, an uninstall deletes what the stuck revision made.
  for (const r of deployed?.manifest
    ? releaseObjects(deployed.manifest, config.release.name).resources
    : []) {
    for (const verb of ['get', 'delete']) out.push(...on(r, verb, ns, options.kinds));
  }
  if (deployed) out.push(permission('delete', '', 'secrets', ns, records));
  // The rollout, the claim's binding and the address are watched from the action's own process after helm.
  for (const verb of ['list', 'watch']) {
    out.push(permission(verb, 'apps', 'deployments', ns, 'watching the rollout'));
    out.push(permission(verb, '', 'persistentvolumeclaims', ns, "watching the claim's binding"));
  }
  out.push(permission('get', '', 'services', ns, "the server's address"));
  if (config.release.serviceType === 'NodePort')
    out.push(permission('list', '', 'nodes', undefined, "the server's address (NodePort)"));
  return out;
}

/** The drill's own: its namespace, the Secret it copies, and what its cleanup deletes (helm uninstall too). */
function drillPermissions(
  config: Config,
  observed: Observed,
  drill: DrillNeeds,
  kinds: Map<string, KindInfo>,
): Permission[] {
  const out = [permission('create', '', 'namespaces', undefined, `the drill namespace ${drill.namespace}`)];
  if (drill.copiesSecret)
    out.push(
      permission(
        'create',
        '',
        'secrets',
        drill.namespace,
        `the copy of auth-secret ${config.auth.authSecret}`,
      ),
    );
  if (!drill.cleanup) return out;
  const cleanup = 'the drill cleanup';
  for (const verb of ['get', 'delete']) {
    out.push(permission(verb, '', 'namespaces', undefined, cleanup));
    out.push(permission(verb, '', 'persistentvolumes', undefined, cleanup));
    for (const r of observed.names.objects?.resources ?? []) out.push(...on(r, verb, drill.namespace, kinds));
  }
  out.push(permission('delete', '', 'secrets', drill.namespace, `${cleanup} (helm's release records)`));
  return out;
}

function permission(
  verb: string,
  group: string,
  resource: string,
  namespace: string | undefined,
  why: string,
): Permission {
  return { verb, group, resource, namespace, why };
}

/** A verb on one object of a manifest, where helm puts it; nothing for a kind the cluster does not serve. */
function on(r: ManifestResource, verb: string, ns: string, kinds: Map<string, KindInfo>): Permission[] {
  const info = kinds.get(`${r.apiVersion}/${r.kind}`);
  if (!info) return [];
  const namespace = info.namespaced ? (r.namespace ?? ns) : undefined;
  return [
    permission(verb, groupOf(r.apiVersion), info.resource, namespace, `the chart's ${r.kind} ${r.name}`),
  ];
}

/** The manifests whose kinds the permissions name: what the chart would make, and what a stuck release made. */
function manifests(config: Config, observed: Observed): ManifestResource[] {
  const deployed = observed.release.release?.manifest;
  const stuck = deployed ? releaseObjects(deployed, config.release.name).resources : [];
  return [...(observed.names.objects?.resources ?? []), ...stuck];
}

/**
 * The preflight: before any change, and in plan mode, asks the cluster for every permission the plan needs and
 * refuses the run, naming each missing permission and the role that grants it. Nothing is asked when the plan
 * changes nothing (a converged rerun).
 */
export async function checkPermissions(
  config: Config,
  cluster: Cluster,
  context: { report: Report; plan: RunbookPlan; observed: Observed; deadline: Deadline },
  options: { lock: boolean; drill?: DrillNeeds },
): Promise<void> {
  const { report, plan, observed, deadline } = context;
  if (!options.drill && !planChangesAnything(plan)) return;
  enterStep('permissions');
  const started = Date.now();
  const kinds = await observeKinds(cluster.kube, manifests(config, observed), deadline);
  const helmMajor = Number(/^v?(\d+)/.exec(report.tools?.helm.version ?? '')?.[1] ?? 4);
  const needed = runbookPermissions(config, plan, observed, { ...options, helmMajor, kinds });
  const permissions = planPermissions(await reviewPermissions(cluster.kube, needed, deadline));
  core.info(`Asked the cluster about ${needed.length} permissions in ${Date.now() - started} ms`);
  planStep(
    report,
    'permissions',
    config.cluster ?? cluster.kube.server,
    describePermissionsPlan(permissions),
  );
  if (isRefusal(permissions)) {
    reportPlanRefusal(report, 'permissions', permissions, plannedRetain(plan.volume) !== undefined);
    throw refusalError(permissions);
  }
}
