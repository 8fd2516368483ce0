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
import { ActionError, describeError } from './errors.js';
import { deployRelease, mergeValues, planReleaseDeploy, type ReleaseTarget } from './helmRelease.js';
import { parseConfig, type Config } from './inputs.js';
import type { Kubectl } from './kubectl.js';
import {
  applyPersistentVolumePlan,
  describePersistentVolumePlan,
  observePersistentVolume,
  planPersistentVolume,
  VolumeRefusal,
  type PersistentVolume,
  type PersistentVolumePlan,
  type PersistentVolumeTarget,
} from './persistentVolume.js';
import { newReport, planStep, writeSummary, type Report } from './report.js';
import { forgetSecretInputs, readInput } from './secrets.js';
import { connectToCluster, prepare, projectedDiskFacts, refuseShadowDisk, volumeTarget } from './runbook.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  let report: Report | undefined;
  try {
    const config = parseConfig(readInput);
    forgetSecretInputs();
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
  const authSecret = config.auth.authSecret;
  const [observedPv, observedClaim, observedSecrets, observedAuthSecret] = await Promise.all([
    observePersistentVolume(kubectl, config.pvName),
    kubectl.getJson('persistentvolumeclaim', claimName, ns),
    observeCredentialSecrets(kubectl, config.credentialSecrets, ns),
    authSecret ? kubectl.getJson('secret', authSecret, ns) : undefined,
  ]);
  refuseClaimElsewhere(observedClaim, claimName, config.pvName, ns);
  if (authSecret && !observedAuthSecret && config.mode !== 'plan') {
    throw new ActionError(`auth-secret ${ns}/${authSecret} does not exist`, {
      hint:
        'On a new cluster it died with the old one: create it (an htpasswd line under key `auth`) before this step, ' +
        'or pass web-password instead. Nothing was changed',
    });
  }
  const secretPlans = planCredentialSecrets(config.credentialSecrets, observedSecrets, ns);
  for (const p of secretPlans) planStep(report, 'credentials', `Secret ${ns}/${p.secret.name}`, p.action);
  const pvPlan = await planVolume(config, volumeTarget(config, projected), observedPv, kubectl);
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

  // The release is planned before anything changes, so a missing chart or a stuck release stops the run here.
  const decision = await planReleaseDeploy(helm, releaseTarget(pvPlan.claimFit), repair);
  if (config.mode === 'plan') {
    const { plan } = decision;
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
    disk.created ? await planVolume(config, volumeTarget(config, disk), observedPv, kubectl) : pvPlan,
  );
  core.setOutput('pv-name', pv.name);
  core.setOutput('pv-created', String(pv.created));

  // The claim is the one thing that must exist for the state to be served; a release without it gets repaired.
  const samePlan =
    pv.claimFit.size === pvPlan.claimFit.size &&
    pv.claimFit.storageClassName === pvPlan.claimFit.storageClassName;
  const release = await deployRelease(helm, releaseTarget(pv.claimFit), {
    deadline,
    kubectl,
    ...repair,
    ...(samePlan ? { decision } : {}),
  });
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

/** A claim already bound to another volume cannot move: serving from it would serve another disk's state. */
function refuseClaimElsewhere(claim: unknown, claimName: string, pvName: string, ns: string): void {
  const bound = at(claim, 'spec', 'volumeName');
  if (typeof bound !== 'string' || !bound || bound === pvName) return;
  throw new ActionError(`Claim ${ns}/${claimName} is bound to volume ${bound}, not to ${pvName}`, {
    hint:
      `A bound claim cannot move to another volume. If ${bound} is the state volume, set pv-name to it; otherwise ` +
      `uninstall the release (its claim goes with it; Retain volumes keep their disks) and rerun. Nothing was changed`,
  });
}

/** Plans the volume; a refused volume on the state disk still gets Retain (except in plan mode, which changes nothing). */
async function planVolume(
  config: Config,
  target: PersistentVolumeTarget,
  observed: PersistentVolume | undefined,
  kubectl: Kubectl,
): Promise<PersistentVolumePlan> {
  try {
    return planPersistentVolume(target, observed);
  } catch (error) {
    if (error instanceof VolumeRefusal && config.mode !== 'plan') await error.secure(kubectl, target.name);
    throw error;
  }
}
