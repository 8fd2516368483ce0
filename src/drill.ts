import * as core from '@actions/core';
import type { Config } from './config/config.js';
import type { Deadline } from './lib/deadline.js';
import { httpStatus } from './clients/compute.js';
import { isKubeReason, type KubeObject, type KubernetesClient } from './clients/kubernetes.js';
import { onCancel, wasCancelled } from './lib/cancellation.js';
import { ActionError, TakenError } from './lib/errors.js';
import { isRefusal, refusalError } from './lib/plan.js';
import { utcMinute } from './lib/time.js';
import { planAdvice, planStep, stateSuffix, type Report } from './report.js';
import { CANCELLED_CLEANUP_MS, DrillTeardown, type DrillPart } from './drillTeardown.js';
import { applyRunbook } from './runbook/apply.js';
import { connectToCluster, type Cluster, type Prepared } from './runbook/cluster.js';
import { observeRunbook } from './runbook/observe.js';
import { reportPlan } from './runbook/planOutputs.js';
import { checkPermissions } from './runbook/permissions.js';
import {
  planRunbook,
  projectedDiskFacts,
  refuseIfAny,
  reportRunbookPlan,
  type Observed,
} from './runbook/plan.js';
import {
  locateProductionServer,
  readProductionState,
  type ProductionServer,
} from './runbook/productionState.js';
import {
  describeDiskPlan,
  diskResourcePath,
  labelValue,
  observeDisk,
  planDisk,
  MANAGED_BY_LABEL,
  type DiskPlan,
  type DiskTarget,
  type ObservedDisk,
} from './steps/disk.js';
import { newestReadySnapshot, observeSnapshotsOf, type SnapshotFacts } from './steps/diskSource.js';
import {
  newDrillLogin,
  observeAuthSecret,
  planAuthSecretCopy,
  type DrillLogin,
} from './steps/drillAuthSecret.js';
import {
  drillResourceLines,
  observeDrillResources,
  planDrillResources,
  type DrillResources,
} from './steps/drillResources.js';
import { chartSource, mergeValues } from './steps/helmRelease.js';
import type { ManifestResource } from './steps/releaseManifest.js';
import { isEmptyState, type StateReading } from './steps/serverState.js';
import { snapshotDisk } from './steps/snapshot.js';
import { compareWithProduction, describeVerdict } from './steps/stateComparison.js';
import { chartNameOf } from './steps/serverVersion.js';
import { recordedVersion, recordLabelsOf } from './steps/versionRecord.js';

const DRILL_LABEL = 'skyha-drill';
const HELM_RELEASE_LIMIT = 53;

/** Names of everything a drill creates: derived from the run, so they can never be production's. */
interface DrillNames {
  runId: string;
  snapshot: string;
  disk: string;
  pv: string;
  release: string;
  namespace: string;
  labels: Record<string, string>;
}

function drillNames(config: Config, env: NodeJS.ProcessEnv = process.env): DrillNames {
  const runId = labelValue(`${env.GITHUB_RUN_ID ?? Date.now()}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`);
  const gceName = (base: string): string =>
    `${base.slice(0, 62 - runId.length - 7)}-drill-${runId}`.replace(/-+$/, '');
  return {
    runId,
    snapshot: gceName(config.disk.name),
    disk: gceName(config.disk.name),
    pv: `${config.pvName.slice(0, 200)}-drill-${runId}`,
    release: drillRelease(config.release.name),
    // The run in the namespace: a later drill on the same cluster never collides with one left behind.
    namespace: `${config.release.namespace.slice(0, 63 - runId.length - 7)}-drill-${runId}`,
    labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value, [DRILL_LABEL]: runId },
  };
}

/** Helm allows 53 characters: `-drill` is appended up to that, and past it replaces the name's end. */
export function drillRelease(release: string): string {
  const suffix = '-drill';
  const kept = release.slice(0, HELM_RELEASE_LIMIT - suffix.length).replace(/-+$/, '');
  return `${kept}${suffix}`;
}

/** What a drill starts from: the production disk (only read and snapshotted) and the drill's own names. */
interface DrillContext {
  config: Config;
  deadline: Deadline;
  report: Report;
  prepared: Prepared;
  names: DrillNames;
  production: ObservedDisk;
  drillTarget: DiskTarget;
  snapshotPath: string;
  /** `disk-source-snapshot: latest`: the drill restores the newest existing snapshot instead of taking one. */
  existing: SnapshotFacts | undefined;
  /** What this run created (or began to), so the cleanup never touches what another run made. */
  made: Set<DrillPart>;
  /** With auth-secret: the copy of production's Secret the drill makes, and the drill's own login in it. */
  authCopy: { manifest: KubeObject; login: DrillLogin } | undefined;
  /** What the drill release makes, once rendered: its cluster-scoped objects are cleaned up by name. */
  releaseResources: ManifestResource[];
  /** Production's server, found beside the drill (see runbook/productionState.ts). */
  productionServer?: Promise<ProductionServer>;
  /** Production's state, read right before and right after the snapshot (`after` absent with `latest`). */
  productionReads?: { before: StateReading; after?: Promise<StateReading> };
}

/**
 * A disaster-recovery drill that never touches production: snapshot the state disk (only read and snapshotted),
 * restore the snapshot to a drill disk, deploy a drill release on it, check health, and report.
 */
export async function runDrill(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
): Promise<void> {
  const { production, plan } = await observeProduction(config, deadline, report, prepared);
  planStep(report, 'disk', config.disk.name, `${describeDiskPlan(plan)} (only read and snapshotted)`);
  planAdvice(report, plan);
  const existing = config.disk.fromLatestSnapshot
    ? await newestSnapshotOf(prepared, production, deadline)
    : undefined;
  // Reach the cluster before creating anything, so a bad cluster input leaves no drill disk behind.
  const cluster = await connectToCluster(config, report.tools!, deadline);
  const ctx = drillContext(config, deadline, report, prepared, production, existing);
  // Looked for beside the names: its state is read right before the snapshot.
  ctx.productionServer = locateProductionServer(cluster.kube, config, prepared.compute, deadline);
  // Refused before anything exists: there is nothing of this run's to clean up.
  const [, authCopy] = await Promise.all([
    refuseTakenNames(ctx, cluster.kube),
    planAuthCopy(ctx, cluster.kube),
  ]);
  ctx.authCopy = authCopy;
  await withCleanup(ctx, cluster, () => restoreDrill(ctx, cluster));
}

/**
 * With `drill-cleanup`, what the drill made is removed whatever happens: after it ends (a failure, a timeout) with
 * a budget of its own, and when the run is cancelled, within the seconds the runner leaves (the cancellation
 * waits for it).
 */
async function withCleanup(ctx: DrillContext, cluster: Cluster, drill: () => Promise<void>): Promise<void> {
  if (!ctx.config.drillCleanup) return drill();
  const { names, made, snapshotPath, prepared, report } = ctx;
  const teardown = new DrillTeardown(
    {
      runId: names.runId,
      runLabel: DRILL_LABEL,
      labels: names.labels,
      release: names.release,
      namespace: names.namespace,
      pv: names.pv,
      diskPath: diskResourcePath(ctx.drillTarget),
      // A snapshot the drill did not take (production's newest) is never deleted.
      snapshotPath: ctx.existing ? undefined : snapshotPath,
      made,
      releaseResources: () => ctx.releaseResources,
      compute: prepared.compute,
      report,
    },
    cluster,
  );
  const forget = onCancel(
    'removing what the drill made',
    () => teardown.run('cancelled'),
    CANCELLED_CLEANUP_MS + 500,
  );
  try {
    await drill();
  } finally {
    // Cancelled, the cancellation runs (and waits for) the same teardown; it must stay registered for that.
    if (wasCancelled()) await teardown.run('cancelled');
    else {
      forget();
      await teardown.run('full');
    }
  }
}

/** With auth-secret: production's Secret, read (never changed) and planned as the drill's copy, or refused. */
async function planAuthCopy(ctx: DrillContext, kube: KubernetesClient): Promise<DrillContext['authCopy']> {
  const { config, names, deadline } = ctx;
  const name = config.auth.authSecret;
  if (!name) return undefined;
  const from = { name, namespace: config.release.namespace };
  const found = await observeAuthSecret(kube, name, from.namespace, deadline);
  const login = newDrillLogin(names.runId);
  const plan = planAuthSecretCopy(found, from, { namespace: names.namespace, labels: names.labels }, login);
  planStep(
    ctx.report,
    'credentials',
    `Secret ${names.namespace}/${name}`,
    isRefusal(plan)
      ? `refuse: ${plan.reason}`
      : `copy of ${from.namespace}/${name} (production's is only read)`,
  );
  if (isRefusal(plan)) throw refusalError(plan);
  // Masked before anything could print them: the drill's login is a secret like any other.
  core.setSecret(login.password);
  core.setSecret(login.line);
  return { manifest: plan.manifest, login };
}

/** The drill's own names, looked for before anything is created: any that is taken stops the drill. */
async function refuseTakenNames(ctx: DrillContext, kube: KubernetesClient): Promise<void> {
  const { names, prepared, report, deadline } = ctx;
  const wanted: DrillResources = {
    runId: names.runId,
    runLabel: DRILL_LABEL,
    project: prepared.target.project,
    snapshot: names.snapshot,
    disk: ctx.drillTarget,
    volume: names.pv,
    namespace: names.namespace,
  };
  const observed = await observeDrillResources(prepared.compute, kube, wanted, deadline);
  // With `latest`, the snapshot is production's own: only the drill's own names must be free.
  const relevant = ctx.existing ? { ...observed, snapshot: undefined } : observed;
  // Only what is taken is printed here; what is free is printed as it is created.
  for (const line of drillResourceLines(wanted, relevant).filter((l) => l.taken))
    planStep(report, line.step, line.resource, line.action);
  const plan = planDrillResources(wanted, relevant);
  if (isRefusal(plan)) throw refusalError(plan);
}

/** The production disk, planned as a deploy would use it (for its warnings); a drill never changes it. */
async function observeProduction(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
): Promise<{ production: ObservedDisk; plan: Exclude<DiskPlan, { action: 'refuse' | 'create' }> }> {
  const { compute, target } = prepared;
  const [tools, production] = await Promise.all([prepared.tools, observeDisk(compute, target, deadline)]);
  report.tools = tools;
  if (!production) {
    throw new ActionError(
      `There is no disk ${target.name} in ${target.replicaZones.length ? target.region : target.zone} to drill`,
      {
        hint: 'A drill restores the production state disk: run a deploy first, or check disk-name, zone and project',
      },
    );
  }
  // A drill reads disk-source-snapshot itself (latest picks what it restores): not a note about production's disk.
  const asDeployed = { ...target, fromLatestSnapshot: false, startEmpty: false };
  const plan = planDisk(asDeployed, production, { attachedElsewhereIsExpected: true });
  if (isRefusal(plan)) throw refusalError(plan);
  if (plan.action !== 'use') throw new ActionError(`Disk ${target.name} vanished while it was read`);
  return { production, plan };
}

/** What a lost disk would come back from: the newest READY snapshot of production. None: stop before any change. */
async function newestSnapshotOf(
  prepared: Prepared,
  production: ObservedDisk,
  deadline: Deadline,
): Promise<SnapshotFacts> {
  // The same snapshots a recovery with `latest` would choose from: of a disk of this name in any zone of the region.
  const disk = { project: prepared.target.project, name: production.name, region: prepared.target.region };
  const snapshots = await observeSnapshotsOf(prepared.compute, disk, deadline);
  const newest = newestReadySnapshot(snapshots, disk);
  if (!newest) {
    throw new ActionError(`Disk ${production.resourcePath} has no READY snapshot to drill on`, {
      hint: 'Nothing was changed. Give it a snapshot-schedule, or drill without disk-source-snapshot (the drill then takes a snapshot)',
    });
  }
  return newest;
}

function drillContext(
  config: Config,
  deadline: Deadline,
  report: Report,
  prepared: Prepared,
  production: ObservedDisk,
  existing: SnapshotFacts | undefined,
): DrillContext {
  const names = drillNames(config);
  const { target } = prepared;
  const snapshotPath =
    existing?.resourcePath ?? `projects/${target.project}/global/snapshots/${names.snapshot}`;
  const drillTarget: DiskTarget = {
    ...target,
    name: names.disk,
    sizeGb: Math.max(production.sizeGb, existing?.diskSizeGb ?? 0),
    fromLatestSnapshot: false,
    createDisk: 'if-absent',
    type: production.type,
    sourceSnapshot: snapshotPath,
    labels: names.labels,
    description: `Disaster-recovery drill ${names.runId} of ${production.resourcePath} (skyha-action)`,
  };
  const made = new Set<DrillPart>();
  return {
    ...{ config, deadline, report, prepared, names, production, drillTarget, snapshotPath, existing, made },
    authCopy: undefined,
    releaseResources: [],
  };
}

/**
 * The recovery, on a copy: the very runbook a recovery runs (disk, volume, claim, release, URL and health) with
 * the drill's own disk (from a snapshot of the state disk), volume, release and namespace. Everything is observed,
 * planned and checked (refusals, permissions) before the drill's first write, the snapshot.
 */
async function restoreDrill(ctx: DrillContext, cluster: Cluster): Promise<void> {
  const { deadline, report, prepared, names, production, config } = ctx;
  describeDrillSource(ctx);
  const drill = drillConfig(ctx);
  // Everything the drill's runbook creates must be new: a name taken meanwhile is refused, never used.
  const copy: Prepared = { ...prepared, target: ctx.drillTarget, ownOnly: true };
  const observed = projectDrill(ctx, (await observeRunbook(drill, deadline, copy, report, cluster)).observed);
  const plan = planRunbook(drill, observed);
  reportRunbookPlan(report, drill, plan, observed);
  reportPlan(report, plan);
  await refuseIfAny(drill, cluster, plan);
  const needs = { namespace: names.namespace, copiesSecret: !!ctx.authCopy, cleanup: config.drillCleanup };
  await checkPermissions(drill, cluster, { report, plan, observed, deadline }, { lock: false, drill: needs });
  ctx.releaseResources = observed.names.objects?.resources ?? [];
  await takeDrillSnapshot(ctx);
  for (const part of ['disk', 'volume', 'release'] as const) ctx.made.add(part);
  const makeNamespace = (): Promise<void> => createNamespace(ctx, cluster.kube);
  await applyRunbook(
    drill,
    deadline,
    { prepared: copy, cluster, report, observed, makeNamespace },
    plan,
  ).catch((error: unknown) => {
    if (error instanceof TakenError) forgetFrom(ctx, error.resource);
    throw error;
  });
  await verifyDrillState(ctx);
  report.restored = true;
  core.setOutput('restored', 'true');
  report.notes.push(
    `Drill ${names.runId}: the snapshot of ${production.resourcePath} came back healthy behind ${report.serverUrl}${stateSuffix(report)}.`,
  );
}

/**
 * The drill's runbook as it will find things once the drill's own steps are done: the snapshot it is about to
 * take exists (READY, of production's size), and the auth-secret it copies is there.
 */
function projectDrill(ctx: DrillContext, observed: Observed): Observed {
  const { existing, names, production, snapshotPath } = ctx;
  const snapshot: SnapshotFacts = {
    name: names.snapshot,
    resourcePath: snapshotPath,
    sourceDisk: production.resourcePath,
    status: 'READY',
    createdAt: new Date().toISOString(),
    diskSizeGb: production.sizeGb,
    // It will record the server version production's disk records (takeDrillSnapshot copies it).
    labels: recordLabelsOf(production.labels),
  };
  const sources = existing ? observed.sources : { kind: 'named' as const, snapshot };
  const release = ctx.authCopy ? { ...observed.release, authSecretExists: true } : observed.release;
  return { ...observed, sources, release };
}

/**
 * What came back, against production's reads around the snapshot: equal to either, verified; a restore that lost
 * or invented something fails the drill, naming it. With `latest` the snapshot is older than the read: a
 * difference is what a recovery from it would lose or bring back, told as a warning.
 */
async function verifyDrillState(ctx: DrillContext): Promise<void> {
  const { report, existing } = ctx;
  const notRead = { read: false, reason: 'it was not read', transient: false } as const;
  const reads = ctx.productionReads;
  const production = { before: reads?.before ?? notRead, after: await reads?.after };
  const verdict = compareWithProduction(report.serverState ?? notRead, production);
  let sentence = describeVerdict(verdict);
  if (verdict.kind === 'differs' && !existing) {
    report.stateVerdict = sentence;
    throw new ActionError(sentence.replace(/\.$/, ''), {
      hint: `Production was only read. Snapshot ${ctx.snapshotPath} did not bring its state back: look for writes it missed, and drill again`,
    });
  }
  if (verdict.kind === 'differs' && existing)
    sentence = `Snapshot ${existing.name} (taken ${utcMinute(existing.createdAt)}) differs from production now: ${verdict.detail}; a recovery from it would come back so.`;
  const empty = report.serverState?.read === true && isEmptyState(report.serverState.state);
  if (empty && verdict.kind === 'not-compared')
    sentence += ' The drill server shows no state at all: the snapshot may be of an empty disk.';
  report.stateVerdict = sentence;
  const warn =
    verdict.kind === 'inconclusive' ||
    verdict.kind === 'differs' ||
    (empty && verdict.kind === 'not-compared');
  planAdvice(report, warn ? { warnings: [sentence] } : { notes: [sentence] });
}

/** The snapshot the drill restores: a new one of production, or (with `latest`) the newest one it already has. */
function describeDrillSource(ctx: DrillContext): void {
  const { report, names, production, existing } = ctx;
  if (existing) {
    const line = `use ${existing.resourcePath}, the newest READY snapshot of ${production.resourcePath} (taken ${utcMinute(existing.createdAt)})`;
    planStep(report, 'snapshot', existing.name, line);
    return;
  }
  planStep(
    report,
    'snapshot',
    names.snapshot,
    `snapshot of ${production.resourcePath} (production is only read)`,
  );
}

/** The drill's first write: a snapshot of production (none with `latest`, which restores an existing one). */
async function takeDrillSnapshot(ctx: DrillContext): Promise<void> {
  const { prepared, names, production, existing, deadline } = ctx;
  // With `latest` the snapshot is older: production is read once, to say what a recovery from it would differ by.
  if (existing) {
    ctx.productionReads = { before: await readProduction(ctx) };
    return;
  }
  const facts = projectedDiskFacts(prepared.target, useOf(production));
  // Right before the snapshot, and right after it: production may change in between, and that is no bad restore.
  const before = await readProduction(ctx);
  ctx.made.add('snapshot');
  // With the server version production's disk records: the drill installs it, as a restore from it would.
  const labels = { ...names.labels, ...recordLabelsOf(production.labels) };
  await snapshotDisk(prepared.compute, facts, names.snapshot, labels, deadline).catch((error: unknown) => {
    // Our retries share one requestId: a 409 is a snapshot someone else made after our look.
    if (httpStatus(error) !== 409) throw error;
    ctx.made.delete('snapshot');
    throw new TakenError(`Snapshot ${ctx.snapshotPath}`, RERUN);
  });
  ctx.productionReads = { before, after: readProduction(ctx) };
}

/** Production's state, through its own server; what stops it is the reason the drill gives for not comparing. */
async function readProduction(ctx: DrillContext): Promise<StateReading> {
  const server = await (ctx.productionServer ?? Promise.resolve({ unreachable: 'it was not looked for' }));
  return readProductionState(server, ctx.config.auth, ctx.deadline);
}

const RERUN = 'Nothing of it was changed; run the drill again';

/** A name that went to someone else is not this run's to clean up, nor what comes after it (never begun). */
function forgetFrom(ctx: DrillContext, resource: string): void {
  const order: Array<[DrillPart, RegExp]> = [
    ['disk', /^Disk /],
    ['namespace', /^Namespace /],
    ['volume', /^PersistentVolume /],
    ['release', /^$/],
  ];
  const at = order.findIndex(([, pattern]) => pattern.test(resource));
  for (const [part] of order.slice(Math.max(0, at))) ctx.made.delete(part);
}

/** The drill's namespace, made by this run (so its release and everything in it are this run's too). */
async function createNamespace(ctx: DrillContext, kube: KubernetesClient): Promise<void> {
  const { names } = ctx;
  ctx.made.add('namespace');
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: names.namespace, labels: names.labels },
  };
  await kube.create(namespace).catch((error: unknown) => {
    if (!isKubeReason(error, 'AlreadyExists')) throw error;
    ctx.made.delete('namespace');
    throw new TakenError(`Namespace ${names.namespace}`, RERUN);
  });
  planStep(ctx.report, 'namespace', names.namespace, 'created');
  // The namespace is brand new and this run's: nothing can hold the Secret's name in it.
  if (ctx.authCopy) await kube.create(ctx.authCopy.manifest);
}

/**
 * With an empty chart-version, the drill installs what a recovery from its snapshot would: the version the snapshot
 * records. The snapshot it takes is not there yet when the drill observes, but records what production's disk does.
 */
function drillChartVersion(ctx: DrillContext): string | undefined {
  const { config, production, existing } = ctx;
  const asked = config.release.chartVersion;
  if (asked !== undefined || existing) return asked;
  const recorded = recordedVersion(production.labels);
  const chart = config.release.chart;
  const name = chartNameOf(chart, chartSource(chart).kind === 'local');
  return recorded && recorded.chart === name ? recorded.version : undefined;
}

/**
 * The inputs of the drill's runbook: production's, with the drill's names, no cloud credentials (the drill
 * proves the state comes back, it launches nothing), its own ingress class, and always a health check.
 */
function drillConfig(ctx: DrillContext): Config {
  const { config, names, drillTarget, authCopy } = ctx;
  // With auth-secret the drill checks health with its own login, which only its copy of the Secret holds.
  const auth = authCopy
    ? {
        username: authCopy.login.username,
        password: authCopy.login.password,
        authSecret: config.auth.authSecret,
      }
    : config.auth;
  return {
    ...config,
    auth,
    disk: { ...config.disk, name: names.disk, sizeGb: drillTarget.sizeGb, type: drillTarget.type },
    pvName: names.pv,
    release: {
      ...config.release,
      name: names.release,
      namespace: names.namespace,
      chartVersion: drillChartVersion(ctx),
      values: mergeValues(config.release.values, drillIngressValues(names)),
    },
    credentialSecrets: [],
    // Production's address stays production's: the drill's load balancer gets an ephemeral one.
    staticIp: undefined,
    healthCheck: true,
    // The drill's disk is thrown away: it gets no snapshot schedule.
    backup: { ...config.backup, schedule: undefined },
  };
}

/**
 * The drill's own IngressClass and controller class, so a drill beside production in one cluster owns none of
 * production's objects (helm refuses an IngressClass another release owns) and production's ingress never
 * serves the drill. Named after the drill's namespace, which is this run's. Its Service asks for no address, even
 * when the values pin production's.
 */
function drillIngressValues(names: DrillNames): Record<string, unknown> {
  const className = names.namespace;
  return {
    ingress: { ingressClassName: className },
    'ingress-nginx': {
      controller: {
        ingressClass: className,
        ingressClassResource: { name: className, controllerValue: `skyha-action.io/${className}` },
        service: { loadBalancerIP: '' },
      },
    },
  };
}

function useOf(disk: ObservedDisk): DiskPlan {
  return { action: 'use', disk, warnings: [], notes: [] };
}
