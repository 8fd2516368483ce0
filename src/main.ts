import * as core from '@actions/core';
import {
  applyCredentialSecrets,
  credentialValues,
  observeCredentialSecrets,
  planCredentialSecrets,
} from './cloudCredentials.js';
import { verifyClaimBinding } from './claim.js';
import { at } from './json.js';
import { Deadline } from './deadline.js';
import { applyDiskPlan, describeDiskPlan, observeDisk, planDisk } from './disk.js';
import { runDrill } from './drill.js';
import { discoverServerUrl, waitForHealth } from './endpoint.js';
import { describeError } from './errors.js';
import { deployRelease, mergeValues, planReleaseDeploy, type ReleaseTarget } from './helmRelease.js';
import { parseConfig, type Config } from './inputs.js';
import {
  applyPersistentVolumePlan,
  describePersistentVolumePlan,
  observePersistentVolume,
  planPersistentVolume,
} from './persistentVolume.js';
import { newReport, planStep, writeSummary, type Report } from './report.js';
import { readInput } from './secrets.js';
import { connectToCluster, prepare, projectedDiskFacts, refuseShadowDisk, volumeTarget } from './runbook.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  let report: Report | undefined;
  try {
    const config = parseConfig(readInput);
    report = newReport(config.mode, config.release.name, config.release.namespace, config.auth.username);
    const deadline = new Deadline(config.timeoutMs);
    if (config.mode === 'drill') await runDrill(config, deadline, report, prepare(config, deadline));
    else await deploy(config, deadline, report);
  } catch (error) {
    const message = describeError(error);
    if (report) report.error = message;
    core.setFailed(`skyha-action failed: ${message}`);
  } finally {
    if (report)
      await writeSummary(report).catch((e: unknown) => core.warning(`No job summary: ${describeError(e)}`));
  }
}

async function deploy(config: Config, deadline: Deadline, report: Report): Promise<void> {
  const { compute, target, tools: installing } = prepare(config, deadline);
  const ns = config.release.namespace;

  // Observe everything first: the disk while the tools download, then the cluster.
  const [tools, observedDisk] = await Promise.all([installing, observeDisk(compute, target, deadline)]);
  report.tools = tools;
  const { kubectl, helm } = await connectToCluster(config, tools);
  // A disk still attached is only ours to use if the instances holding it are nodes of this cluster.
  const nodeNames = observedDisk?.users.length
    ? (await kubectl.list('nodes')).map((n) => n.metadata?.name ?? '').filter(Boolean)
    : [];
  const diskPlan = planDisk(target, observedDisk, { clusterNodeNames: nodeNames });
  planStep(report, 'disk', target.name, describeDiskPlan(diskPlan));
  const projected = projectedDiskFacts(target, diskPlan);
  await refuseShadowDisk(compute, target, diskPlan, deadline);

  const claimName = `${config.release.name}-state`;
  const [observedPv, observedClaim, observedSecrets] = await Promise.all([
    observePersistentVolume(kubectl, config.pvName),
    kubectl.getJson('persistentvolumeclaim', claimName, ns),
    observeCredentialSecrets(kubectl, config.credentialSecrets, ns),
  ]);
  const secretPlans = planCredentialSecrets(config.credentialSecrets, observedSecrets, ns);
  for (const p of secretPlans) planStep(report, 'credentials', `Secret ${ns}/${p.secret.name}`, p.action);
  const pvPlan = planPersistentVolume(volumeTarget(config, projected), observedPv);
  for (const line of describePersistentVolumePlan(config.pvName, pvPlan)) {
    planStep(report, 'volume', config.pvName, line.replace(`PersistentVolume ${config.pvName}: `, ''));
  }

  const releaseTarget = (claimFit: { storageClassName: string; size: string }): ReleaseTarget => ({
    ...config.release,
    values: mergeValues(credentialValues(config.credentialSecrets), config.release.values),
    storage: { ...claimFit, volumeName: config.pvName },
    auth: config.auth,
  });
  const repair = observedClaim ? {} : { repair: `its claim ${ns}/${claimName} is missing` };

  if (config.mode === 'plan') {
    const { plan } = await planReleaseDeploy(helm, releaseTarget(pvPlan.claimFit), repair);
    planStep(report, 'helm', `${ns}/${config.release.name}`, `${plan.action} (${plan.reason})`);
    planStep(
      report,
      'endpoint',
      `${config.release.name}-ingress-nginx-controller`,
      'wait for the address and health',
    );
    report.notes.push('Plan mode: nothing was changed.');
    return;
  }

  // Apply, in the runbook's order. Outputs are written as each step lands, so a failed run still says how far it got.
  const disk = await applyDiskPlan(compute, target, diskPlan, deadline, { clusterNodeNames: nodeNames });
  report.restored = observedDisk !== undefined;
  core.setOutput('disk', disk.resourcePath);
  core.setOutput('disk-created', String(disk.created));
  core.setOutput('restored', String(report.restored));

  if (secretPlans.some((p) => p.action !== 'keep')) {
    await kubectl.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await applyCredentialSecrets(kubectl, secretPlans, ns);
  }

  // Planned against the projected disk; a created disk may differ (e.g. a larger snapshot), so plan again: pure, no request.
  const pv = await applyPersistentVolumePlan(
    kubectl,
    config.pvName,
    disk.created ? planPersistentVolume(volumeTarget(config, disk), observedPv) : pvPlan,
  );
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));

  // The claim is the one thing that must exist for the state to be served; a release without it gets repaired.
  const release = await deployRelease(helm, releaseTarget(pv.claimFit), { deadline, kubectl, ...repair });
  report.helmRevision = release.revision;
  planStep(
    report,
    'helm',
    `${ns}/${config.release.name}`,
    release.changed ? `revision ${release.revision}` : 'unchanged',
  );
  core.setOutput('helm-revision', String(release.revision));

  // An unchanged release whose claim was already Bound to our volume needs no second look.
  const alreadyBound =
    !release.changed &&
    at(observedClaim, 'spec', 'volumeName') === pv.name &&
    at(observedClaim, 'status', 'phase') === 'Bound';
  if (!alreadyBound) await verifyClaimBinding(kubectl, { namespace: ns, name: claimName }, pv.name, deadline);

  const url = await discoverServerUrl(kubectl, { release: config.release.name, namespace: ns }, deadline);
  report.serverUrl = url;
  core.setOutput('server-url', url);
  if (config.healthCheck) {
    const health = await waitForHealth(url, config.auth, deadline, {
      kubectl,
      target: { release: config.release.name, namespace: ns },
    });
    if (health.version) {
      report.serverVersion = health.version;
      core.setOutput('server-version', health.version);
    }
  }
  core.info(`SkyPilot API server ready at ${url}${report.restored ? ' with its previous state' : ''}`);
}
