import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refuse } from '../../src/lib/plan.js';
import type { PlanOutput } from '../../src/report.js';
import { planChanges, planOutput } from '../../src/runbook/planOutputs.js';
import type { RunbookPlan } from '../../src/runbook/plan.js';
import type { AddressPlan } from '../../src/steps/address.js';
import type { ClaimPlan } from '../../src/steps/claim.js';
import type { CredentialSecretPlan } from '../../src/steps/cloudCredentials.js';
import type { DiskPlan } from '../../src/steps/disk.js';
import type { HelmReleasePlan } from '../../src/steps/helmRelease.js';
import type { PersistentVolumePlan } from '../../src/steps/persistentVolume.js';
import type { ServerVersionPlan } from '../../src/steps/serverVersion.js';
import type { SnapshotSchedulePlan } from '../../src/steps/snapshotSchedule.js';

// The outputs `plan` and `changes`, by table: each step's plan in the output's fixed words, the refusal that
// becomes the run's error, and whether a deploy of the plan changes anything.

const advice = { warnings: [], notes: [] };
const DISK = 'projects/p/zones/us-east5-b/disks/sky-api-server-state';
const fit = { storageClassName: 'sky-api-server-pv-class', size: '10Gi' };
const retain = { reason: 'reclaim policy Delete -> Retain', type: 'merge', patch: {} };

const disk = {
  keep: { action: 'use', disk: { resourcePath: DISK }, ...advice } as unknown as DiskPlan,
  create: { action: 'create', request: { disk: { name: 'd' } }, ...advice } as unknown as DiskPlan,
  restore: {
    action: 'create',
    request: { disk: { name: 'd', sourceSnapshot: 'projects/p/global/snapshots/s1' } },
    ...advice,
  } as unknown as DiskPlan,
  refuse: refuse('disk sky-api-server-state does not exist', 'restore it') as DiskPlan,
};
const volume = {
  keep: { action: 'keep', changes: [], claimFit: fit, ...advice } as unknown as PersistentVolumePlan,
  create: { action: 'create', manifest: {}, claimFit: fit, ...advice } as unknown as PersistentVolumePlan,
  retain: {
    action: 'update',
    changes: [retain],
    retain,
    claimFit: fit,
    ...advice,
  } as unknown as PersistentVolumePlan,
  refuse: refuse('volume points at another disk', 'never repointed') as PersistentVolumePlan,
  refuseAfterRetain: {
    ...refuse('volume bound to another claim', 'free it'),
    retain,
  } as unknown as PersistentVolumePlan,
};
const release = (action: 'keep' | 'install' | 'upgrade', free?: object): HelmReleasePlan =>
  ({ action, reason: 'r', ...advice, ...(free ? { free } : {}) }) as unknown as HelmReleasePlan;
const schedule = (action: string): SnapshotSchedulePlan =>
  ({ action, policyPath: 'x', ...advice }) as unknown as SnapshotSchedulePlan;
const secret = (action: CredentialSecretPlan['action']): CredentialSecretPlan =>
  ({ action, secret: { name: 'gcp-credentials' } }) as unknown as CredentialSecretPlan;
const version = (action: 'same' | 'new' | 'upgrade' | 'downgrade' | 'chart'): ServerVersionPlan =>
  ({ action, line: 'l', ...advice }) as unknown as ServerVersionPlan;
const address = (action: 'use' | 'reserve'): AddressPlan =>
  ({ action, ip: '34.1.2.3', ...advice }) as unknown as AddressPlan;

/** A converged deployment: every step keeps what is there. */
const converged: RunbookPlan = {
  disk: disk.keep,
  schedule: schedule('none'),
  secrets: [],
  volume: volume.keep,
  claim: { action: 'bound', reason: 'bound' },
  release: release('keep'),
  version: version('same'),
};
const KEEP: PlanOutput = {
  disk: 'keep',
  backups: 'none',
  credentials: 'none',
  volume: 'keep',
  claim: 'keep',
  address: 'none',
  release: 'keep',
  version: 'keep',
  refused: null,
};

describe('planOutput and planChanges', () => {
  const cases: Array<[string, Partial<RunbookPlan>, Partial<PlanOutput>, boolean]> = [
    ['a converged deployment', {}, {}, false],
    [
      'a first install on a new cluster',
      {
        disk: disk.create,
        schedule: schedule('create'),
        volume: volume.create,
        claim: { action: 'bind', reason: 'absent' },
        release: release('install'),
      },
      { disk: 'create', backups: 'create', volume: 'create', claim: 'bind', release: 'install' },
      true,
    ],
    [
      'a recovery onto the existing disk',
      { volume: volume.create, claim: { action: 'bind', reason: 'absent' }, release: release('install') },
      { volume: 'create', claim: 'bind', release: 'install' },
      true,
    ],
    [
      'a lost disk restored from its snapshot',
      { disk: disk.restore, volume: volume.create, release: release('install') },
      { disk: 'restore', volume: 'create', release: 'install' },
      true,
    ],
    ['new values', { release: release('upgrade') }, { release: 'upgrade' }, true],
    [
      'a new chart version',
      { release: release('upgrade'), version: version('upgrade') },
      { release: 'upgrade', version: 'upgrade' },
      true,
    ],
    [
      'a first install: no version known on the state',
      { release: release('install'), version: version('new') },
      { release: 'install', version: 'new' },
      true,
    ],
    ['a schedule kept', { schedule: schedule('keep') }, { backups: 'keep' }, false],
    [
      'another schedule on the disk, left alone',
      { schedule: schedule('foreign') },
      { backups: 'foreign' },
      false,
    ],
    ['a schedule attached', { schedule: schedule('attach') }, { backups: 'attach' }, true],
    ['credentials unchanged', { secrets: [secret('keep'), secret('keep')] }, { credentials: 'keep' }, false],
    [
      'one credential updated',
      { secrets: [secret('keep'), secret('update')] },
      { credentials: 'update' },
      true,
    ],
    [
      'created wins over updated',
      { secrets: [secret('update'), secret('create')] },
      { credentials: 'create' },
      true,
    ],
    ['the static address in use', { address: address('use') }, { address: 'keep' }, false],
    ['the static address to reserve', { address: address('reserve') }, { address: 'reserve' }, true],
    ['a volume put back to Retain', { volume: volume.retain }, { volume: 'update' }, true],
    [
      "the action's own claim",
      { claim: { action: 'create', reason: 'absent', manifest: {} } as ClaimPlan },
      { claim: 'create' },
      true,
    ],
    ['a stuck release freed first', { release: release('keep', { action: 'rollback' }) }, {}, true],
  ];
  for (const [name, overrides, want, changes] of cases) {
    it(`${name}: changes=${changes}`, () => {
      const plan = { ...converged, ...overrides };
      assert.deepEqual(planOutput(plan), { ...KEEP, ...want });
      assert.equal(planChanges(plan), changes);
    });
  }

  it("a refused downgrade is the version step's refusal", () => {
    const plan = { ...converged, release: release('upgrade'), version: refuse('older', 'allow-downgrade') };
    const out = planOutput(plan as RunbookPlan);
    assert.equal(out.version, 'refuse');
    assert.deepEqual(out.refused, { step: 'version', reason: 'older', hint: 'allow-downgrade' });
    assert.equal(planChanges(plan as RunbookPlan), false);
  });

  it('a refusal is named with its step, reason and hint, in the order the run raises it', () => {
    const plan = {
      ...converged,
      volume: volume.refuse,
      release: refuse('values set storage.size', 'remove it') as HelmReleasePlan,
      address: refuse('address held', 'free it') as AddressPlan,
    };
    const out = planOutput(plan);
    assert.deepEqual(out.refused, {
      step: 'volume',
      reason: 'volume points at another disk',
      hint: 'never repointed',
    });
    assert.equal(out.volume, 'refuse');
    assert.equal(out.release, 'refuse');
    assert.equal(out.address, 'refuse');
    assert.equal(planChanges(plan), false, 'a refused run changes nothing');
  });

  it('a refused run still changes a volume on the state disk back to Retain first', () => {
    assert.equal(planChanges({ ...converged, volume: volume.refuseAfterRetain }), true);
    const otherRefusal = { ...converged, disk: disk.refuse, volume: volume.retain };
    assert.equal(planChanges(otherRefusal), true);
    assert.equal(planOutput(otherRefusal).refused?.step, 'disk');
    assert.equal(planChanges({ ...converged, disk: disk.refuse, release: release('install') }), false);
  });

  it('the keys never change, whatever the plan', () => {
    const keys = Object.keys(KEEP);
    assert.deepEqual(Object.keys(planOutput(converged)), keys);
    assert.deepEqual(
      Object.keys(planOutput({ ...converged, disk: disk.refuse, address: address('reserve') })),
      keys,
    );
  });
});
