import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { parseSnapshotSchedule } from '../../src/config/backup.js';
import { Deadline } from '../../src/lib/deadline.js';
import { observeDisk, type DiskTarget } from '../../src/steps/disk.js';
import {
  applySnapshotSchedulePlan,
  backupsLine,
  describeSnapshotSchedulePlan,
  managedPolicyName,
  observeAttachedPolicies,
  observeOwnPolicy,
  planSnapshotSchedule,
  policyBody,
  schedulePolicyName,
  type ObservedPolicy,
  type ObservedSchedules,
  type ScheduleTarget,
} from '../../src/steps/snapshotSchedule.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

// The snapshot schedule step: the pure plan by table, then observe + apply with the real clients against the
// Compute stand-in, with the faults a real API gives (503, an answer lost after the write was done).

const P = 'schedule-project';
const REGION = 'us-east5';
const ZONE = 'us-east5-b';
const OURS = `projects/${P}/regions/${REGION}/resourcePolicies/state-snapshots`;
const FOREIGN = `projects/${P}/regions/${REGION}/resourcePolicies/team-backups`;

const DISK = `projects/${P}/zones/${ZONE}/disks/state`;
/** A disk of the same name in another zone of the region (staging beside production). */
const A_DISK = `projects/${P}/zones/us-east5-a/disks/state`;
const describing = (diskPath: string) => `Snapshot schedule of the state disk ${diskPath} (skyha-action)`;

function target(overrides: Partial<ScheduleTarget> = {}): ScheduleTarget {
  const diskPath = overrides.diskPath ?? DISK;
  return {
    project: P,
    region: REGION,
    name: 'state-snapshots',
    diskPath,
    schedule: parseSnapshotSchedule('daily 04:00'),
    retentionDays: 14,
    snapshotLabels: { 'managed-by': 'skyha-action', 'skyha-disk': 'state' },
    description: describing(diskPath),
    ...overrides,
  };
}

/** A policy as observe reads it; `ours` makes it carry our mark, naming the disk it was made for. */
function policy(
  path: string,
  ours: boolean,
  schedule = 'daily 04:00',
  retention = 14,
  madeFor = DISK,
): ObservedPolicy {
  return {
    resourcePath: path,
    name: path.split('/').pop()!,
    description: ours ? describing(madeFor) : 'the team’s',
    status: 'READY',
    snapshotSchedule: {
      schedule: parseSnapshotSchedule(schedule),
      retentionDays: retention,
      onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS',
      labels: ours ? { 'managed-by': 'skyha-action', 'skyha-disk': 'state' } : {},
    },
  };
}

describe('planSnapshotSchedule', () => {
  const none: ObservedSchedules = { policy: undefined, attached: [], others: [] };
  const cases: {
    name: string;
    target?: Partial<ScheduleTarget>;
    observed: ObservedSchedules;
    action: string;
    attach?: boolean;
    warning?: RegExp;
    note?: RegExp;
  }[] = [
    { name: 'fresh disk: create and attach', observed: none, action: 'create', attach: true },
    {
      name: 'converged: keep',
      observed: { policy: policy(OURS, true), attached: [OURS], others: [] },
      action: 'keep',
    },
    {
      name: 'ours exists (the disk was lost and restored): attach only',
      observed: { policy: policy(OURS, true), attached: [], others: [] },
      action: 'attach',
      attach: true,
    },
    {
      name: 'changed schedule: update in place, already attached',
      target: { schedule: parseSnapshotSchedule('every 6h') },
      observed: { policy: policy(OURS, true), attached: [OURS], others: [] },
      action: 'update',
      attach: false,
    },
    {
      name: 'changed retention: update',
      target: { retentionDays: 30 },
      observed: { policy: policy(OURS, true), attached: [OURS], others: [] },
      action: 'update',
      attach: false,
    },
    {
      name: 'changed and detached: update and attach',
      observed: { policy: policy(OURS, true, 'weekly monday 04:00'), attached: [], others: [] },
      action: 'update',
      attach: true,
    },
    {
      name: 'another snapshot schedule on the disk: kept, with a warning naming it',
      observed: { policy: undefined, attached: [FOREIGN], others: [policy(FOREIGN, false)] },
      action: 'foreign',
      warning:
        /already has the snapshot schedule .*team-backups, which skyha-action did not make: it is kept.*remove-resource-policies state --zone us-east5-b/,
    },
    {
      name: 'another schedule even when ours exists elsewhere: nothing is touched',
      observed: {
        policy: policy(OURS, true, 'hourly'),
        attached: [FOREIGN],
        others: [policy(FOREIGN, false)],
      },
      action: 'foreign',
      warning: /team-backups, which skyha-action did not make/,
    },
    {
      name: 'a policy of another kind on the disk does not count',
      observed: {
        policy: undefined,
        attached: [FOREIGN],
        others: [{ ...policy(FOREIGN, false), snapshotSchedule: undefined }],
      },
      action: 'create',
      attach: true,
    },
    {
      name: 'our name, another maker, attached: kept as foreign',
      observed: { policy: policy(OURS, false), attached: [OURS], others: [] },
      action: 'foreign',
      warning: /state-snapshots, which skyha-action did not make/,
    },
    {
      name: 'our name, another maker, not attached: left alone',
      observed: { policy: policy(OURS, false), attached: [], others: [] },
      action: 'foreign',
      warning: /exists that skyha-action did not make: it is left alone/,
    },
    {
      name: 'an earlier <disk>-snapshots on the disk, made for it: still in use, kept',
      target: { name: 'state-us-east5-b-snapshots' },
      observed: { policy: undefined, attached: [OURS], others: [policy(OURS, true)] },
      action: 'keep',
    },
    {
      name: 'an earlier <disk>-snapshots on the disk, made for it, changed: patched in place, nothing attached',
      target: { name: 'state-us-east5-b-snapshots', retentionDays: 30 },
      observed: { policy: undefined, attached: [OURS], others: [policy(OURS, true)] },
      action: 'update',
      attach: false,
    },
    {
      name: 'an earlier <disk>-snapshots on the disk, made for a disk of its name in another zone: never patched',
      target: { name: 'state-us-east5-b-snapshots', retentionDays: 30 },
      observed: { policy: undefined, attached: [OURS], others: [policy(OURS, true, 'hourly', 7, A_DISK)] },
      action: 'foreign',
      warning:
        /has the snapshot schedule .*\/state-snapshots, which skyha-action made for projects\/schedule-project\/zones\/us-east5-a\/disks\/state: it is kept and not patched.*remove-resource-policies state --zone us-east5-b --resource-policies state-snapshots/,
    },
    {
      name: 'our name, made for another disk, not attached: left alone, neither patched nor attached',
      observed: { policy: policy(OURS, true, 'hourly', 7, A_DISK), attached: [], others: [] },
      action: 'foreign',
      warning:
        /state-snapshots is the snapshot schedule skyha-action made for .*us-east5-a\/disks\/state: it is left alone/,
    },
    {
      name: 'our name, made for another disk, attached: kept, not patched',
      target: { retentionDays: 30 },
      observed: { policy: policy(OURS, true, 'hourly', 7, A_DISK), attached: [OURS], others: [] },
      action: 'foreign',
      warning: /made for .*us-east5-a\/disks\/state: it is kept and not patched/,
    },
    {
      name: "our mark, but naming no disk: not provably this disk's, left alone",
      observed: {
        policy: { ...policy(OURS, true), description: 'old (skyha-action)' },
        attached: [],
        others: [],
      },
      action: 'foreign',
      warning: /made for no disk it names: it is left alone/,
    },
    {
      name: 'none: nothing, and a note when ours stays attached',
      target: { schedule: undefined },
      observed: { policy: undefined, attached: [OURS], others: [] },
      action: 'none',
      note: /stays on the disk/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = target(c.target);
      const plan = planSnapshotSchedule(t, c.observed);
      assert.equal(plan.action, c.action);
      if ('attach' in plan) assert.equal(plan.attach, c.attach);
      if (c.warning) assert.match(plan.warnings.join('\n'), c.warning);
      else assert.deepEqual(plan.warnings, []);
      if (c.note) assert.match(plan.notes.join('\n'), c.note);
      assert.ok(describeSnapshotSchedulePlan(plan, t));
    });
  }

  it('the plan of a kept earlier policy names it; one made for another disk says whose it is', () => {
    const t = target({ name: 'state-us-east5-b-snapshots', retentionDays: 30 });
    const kept = planSnapshotSchedule(t, {
      policy: undefined,
      attached: [OURS],
      others: [policy(OURS, true)],
    });
    assert.equal(managedPolicyName(kept), 'state-snapshots');
    assert.equal(kept.action === 'update' && kept.body.name, 'state-snapshots');
    const other = planSnapshotSchedule(t, {
      policy: undefined,
      attached: [OURS],
      others: [policy(OURS, true, 'daily 04:00', 14, A_DISK)],
    });
    assert.equal(managedPolicyName(other), undefined);
    assert.equal(
      describeSnapshotSchedulePlan(other, t),
      `leave state-snapshots as it is (skyha-action's schedule of ${A_DISK}); attach nothing`,
    );
    assert.match(
      backupsLine(other, t) ?? '',
      /keeps the snapshot schedule `.*state-snapshots` of .*us-east5-a/,
    );
  });

  it('the body: the schedule, retention that keeps snapshots of a deleted disk, labelled snapshots', () => {
    assert.deepEqual(policyBody(target(), parseSnapshotSchedule('weekly sunday 22:00')!), {
      name: 'state-snapshots',
      description: describing(DISK),
      snapshotSchedulePolicy: {
        schedule: { weeklySchedule: { dayOfWeeks: [{ day: 'SUNDAY', startTime: '22:00' }] } },
        retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
        snapshotProperties: { labels: { 'managed-by': 'skyha-action', 'skyha-disk': 'state' } },
      },
    });
  });
});

describe('schedulePolicyName: one policy per disk, within 63 characters', () => {
  const path = (zone: string, disk: string) => `projects/${P}/zones/${zone}/disks/${disk}`;
  const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
  it('a zonal disk: its zone in the name; a regional one: its name alone', () => {
    assert.equal(
      schedulePolicyName('sky-api-server-state', 'us-east5-b', path('us-east5-b', 'sky-api-server-state')),
      'sky-api-server-state-us-east5-b-snapshots',
    );
    assert.equal(
      schedulePolicyName('state', undefined, `projects/${P}/regions/${REGION}/disks/state`),
      'state-snapshots',
    );
  });
  it('two disks of one name in two zones never share one', () => {
    const a = schedulePolicyName('state', 'us-east5-a', path('us-east5-a', 'state'));
    const b = schedulePolicyName('state', 'us-east5-b', path('us-east5-b', 'state'));
    assert.notEqual(a, b);
  });
  it('too long: the start kept, a short hash of the disk, still distinct and a valid GCE name', () => {
    const long = `d${'x'.repeat(61)}z`;
    const names = ['northamerica-northeast1-a', 'northamerica-northeast1-b'].map((zone) =>
      schedulePolicyName(long, zone, path(zone, long)),
    );
    const alike = schedulePolicyName(`d${'x'.repeat(61)}y`, undefined, `projects/${P}/regions/r/disks/y`);
    for (const name of [...names, alike]) {
      assert.ok(name.length <= 63, name);
      assert.match(name, GCE_NAME);
      assert.match(name, /^dxxx.*-[0-9a-f]{8}-snapshots$/);
    }
    assert.equal(new Set([...names, alike]).size, 3);
  });
});

describe('the snapshot schedule against the Compute stand-in (real clients)', () => {
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  const deadline = () => new Deadline(60_000);
  let n = 0;
  const writes = () =>
    standIn.requests
      .filter((r) => r.method !== 'GET' && !r.path.endsWith('/wait'))
      .map((r) => `${r.method} ${r.path.replace(`/compute/v1/projects/${P}/`, '')}`);

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: P, endpoint: standIn.url, authClient: auth });
  });
  after(() => standIn.close());
  beforeEach(() => standIn.requests.splice(0));

  /** A new disk (zonal, or regional) and the schedule target for it. */
  function fresh(regional = false, schedule = 'daily 04:00') {
    const name = `disk-${++n}`;
    standIn.putDisk({
      project: P,
      name,
      sizeGb: 10,
      ...(regional ? { region: REGION, replicaZones: ['us-east5-a', ZONE] } : { zone: ZONE }),
    });
    const diskPath = `projects/${P}/${regional ? `regions/${REGION}` : `zones/${ZONE}`}/disks/${name}`;
    const diskTarget: DiskTarget = {
      project: P,
      name,
      zone: ZONE,
      region: REGION,
      replicaZones: regional ? ['us-east5-a', ZONE] : [],
      sizeGb: 10,
      type: 'pd-balanced',
      labels: {},
      description: '',
    };
    const t = target({
      name: `${name}-snapshots`,
      diskPath,
      description: describing(diskPath),
      schedule: parseSnapshotSchedule(schedule),
    });
    return {
      t,
      diskTarget,
      diskPath,
      policyPath: `projects/${P}/regions/${REGION}/resourcePolicies/${name}-snapshots`,
    };
  }

  /** The step as the runbook runs it: observe (disk and policy), plan, apply. */
  async function ensure(f: ReturnType<typeof fresh>) {
    const [disk, own] = await Promise.all([
      observeDisk(clients, f.diskTarget, deadline()),
      observeOwnPolicy(clients, f.t, deadline()),
    ]);
    const plan = planSnapshotSchedule(f.t, {
      policy: own,
      ...(await observeAttachedPolicies(clients, f.t, disk, deadline())),
    });
    await applySnapshotSchedulePlan(clients, f.t, plan, f.diskPath, deadline(), { pollIntervalMs: 5 });
    return plan;
  }

  const attached = (diskPath: string) =>
    (standIn.disk(diskPath)?.resourcePolicies ?? []).map((u) => u.replace(/^.*\/compute\/v1\//, ''));
  const ours = (name: string) => standIn.resourcePolicies().filter((p) => p.name === name);

  it('creates the policy through a region operation and attaches it; a rerun reads twice and writes nothing', async () => {
    const f = fresh();
    assert.equal((await ensure(f)).action, 'create');
    assert.deepEqual(writes(), [
      `POST regions/${REGION}/resourcePolicies`,
      `POST zones/${ZONE}/disks/${f.diskTarget.name}/addResourcePolicies`,
    ]);
    const insert = standIn.requests.find((r) => r.path.endsWith('/resourcePolicies'))!;
    assert.match(insert.query.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(
      standIn.requests.some((r) => r.path.includes(`/regions/${REGION}/operations/`)),
      'waited on the region operation',
    );
    assert.ok(
      standIn.requests.some((r) => r.path.includes(`/zones/${ZONE}/operations/`)),
      'waited on the zone operation',
    );
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
    const [policy] = ours(`${f.diskTarget.name}-snapshots`);
    assert.deepEqual(policy?.snapshotSchedulePolicy.schedule, {
      dailySchedule: { daysInCycle: 1, startTime: '04:00' },
    });

    standIn.requests.splice(0);
    assert.equal((await ensure(f)).action, 'keep');
    assert.deepEqual(writes(), []);
    assert.equal(standIn.requests.length, 2, 'one GET of the disk, one of the policy');
  });

  it('a regional disk gets it through regionDisks.addResourcePolicies', async () => {
    const f = fresh(true);
    await ensure(f);
    assert.deepEqual(writes(), [
      `POST regions/${REGION}/resourcePolicies`,
      `POST regions/${REGION}/disks/${f.diskTarget.name}/addResourcePolicies`,
    ]);
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
  });

  it('a changed schedule is patched in place: still one schedule, ours, on the disk', async () => {
    const f = fresh();
    await ensure(f);
    standIn.requests.splice(0);
    const changed = { ...f, t: { ...f.t, schedule: parseSnapshotSchedule('every 6h'), retentionDays: 7 } };
    assert.equal((await ensure(changed)).action, 'update');
    assert.deepEqual(writes(), [`PATCH regions/${REGION}/resourcePolicies/${f.diskTarget.name}-snapshots`]);
    const [policy, ...more] = ours(`${f.diskTarget.name}-snapshots`);
    assert.equal(more.length, 0);
    assert.deepEqual(policy?.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 6, startTime: '00:00' },
    });
    assert.equal(policy?.snapshotSchedulePolicy.retentionPolicy?.maxRetentionDays, 7);
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
    standIn.requests.splice(0);
    assert.equal((await ensure(changed)).action, 'keep');
    assert.deepEqual(writes(), []);
  });

  it('a foreign schedule on the disk is kept and nothing is written', async () => {
    const f = fresh();
    standIn.putResourcePolicy({ project: P, name: `${f.diskTarget.name}-team` });
    await clients.disks.addResourcePolicies({
      project: P,
      zone: ZONE,
      disk: f.diskTarget.name,
      disksAddResourcePoliciesRequestResource: {
        resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/${f.diskTarget.name}-team`],
      },
    });
    standIn.requests.splice(0);
    const plan = await ensure(f);
    assert.equal(plan.action, 'foreign');
    assert.match(
      plan.warnings[0] ?? '',
      new RegExp(`${f.diskTarget.name}-team, which skyha-action did not make`),
    );
    assert.deepEqual(writes(), []);
    assert.equal(ours(`${f.diskTarget.name}-snapshots`).length, 0);
  });

  it('503 on the insert and on the attach: retried, exactly one policy, attached once', async () => {
    const f = fresh();
    standIn.inject({ kind: 'error', status: 503, method: 'POST', path: /\/resourcePolicies$/, times: 2 });
    standIn.inject({ kind: 'error', status: 503, method: 'POST', path: /\/addResourcePolicies$/ });
    await ensure(f);
    assert.equal(writes().filter((w) => w.endsWith('/resourcePolicies')).length, 3);
    assert.equal(ours(`${f.diskTarget.name}-snapshots`).length, 1);
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
  });

  it('a lost answer to the insert and to the attach: the retry with the same requestId finds the work done', async () => {
    const f = fresh();
    standIn.inject({ kind: 'drop', method: 'POST', path: /\/resourcePolicies$/ });
    standIn.inject({ kind: 'drop', method: 'POST', path: /\/addResourcePolicies$/ });
    await ensure(f);
    const inserts = standIn.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/resourcePolicies'),
    );
    assert.equal(inserts.length, 2);
    assert.equal(inserts[0]!.query.requestId, inserts[1]!.query.requestId);
    const adds = standIn.requests.filter((r) => r.path.endsWith('/addResourcePolicies'));
    assert.equal(adds.length, 2);
    assert.equal(adds[0]!.query.requestId, adds[1]!.query.requestId);
    assert.equal(ours(`${f.diskTarget.name}-snapshots`).length, 1);
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
    assert.equal(
      standIn.operations().filter((o) => o.targetLink.endsWith(`/${f.diskTarget.name}-snapshots`)).length,
      1,
    );
  });

  it('created meanwhile (409 after our observe): ours is used, patched to the asked schedule, and attached', async () => {
    const f = fresh(false, 'every 12h');
    const [disk, own] = await Promise.all([
      observeDisk(clients, f.diskTarget, deadline()),
      observeOwnPolicy(clients, f.t, deadline()),
    ]);
    const plan = planSnapshotSchedule(f.t, {
      policy: own,
      ...(await observeAttachedPolicies(clients, f.t, disk, deadline())),
    });
    // Another run of the action made it between our observe and our insert, with the old schedule.
    standIn.putResourcePolicy({
      project: P,
      name: `${f.diskTarget.name}-snapshots`,
      description: describing(f.diskPath),
    });
    await applySnapshotSchedulePlan(clients, f.t, plan, f.diskPath, deadline(), { pollIntervalMs: 5 });
    const [policy, ...more] = ours(`${f.diskTarget.name}-snapshots`);
    assert.equal(more.length, 0);
    assert.deepEqual(policy?.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 12, startTime: '00:00' },
    });
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
  });

  it('an earlier <disk>-snapshots made for this disk stays its schedule: patched in place, no second one', async () => {
    const f = fresh();
    const legacy = `${f.diskTarget.name}-snapshots`;
    standIn.putResourcePolicy({ project: P, name: legacy, description: describing(f.diskPath) });
    await clients.disks.addResourcePolicies({
      project: P,
      zone: ZONE,
      disk: f.diskTarget.name,
      disksAddResourcePoliciesRequestResource: { resourcePolicies: [f.policyPath] },
    });
    // This version's name for the same disk: the zone in it.
    const now = { ...f, t: { ...f.t, name: `${f.diskTarget.name}-${ZONE}-snapshots`, retentionDays: 30 } };
    standIn.requests.splice(0);
    assert.equal((await ensure(now)).action, 'update');
    assert.deepEqual(writes(), [`PATCH regions/${REGION}/resourcePolicies/${legacy}`]);
    assert.deepEqual(attached(f.diskPath), [f.policyPath], 'still exactly one schedule, the earlier one');
    assert.equal(ours(legacy)[0]?.snapshotSchedulePolicy.retentionPolicy?.maxRetentionDays, 30);
    assert.equal(ours(now.t.name).length, 0, 'no policy of the new name was made');
    standIn.requests.splice(0);
    assert.equal((await ensure(now)).action, 'keep');
    assert.deepEqual(writes(), []);
  });

  it('an earlier <disk>-snapshots made for another disk is never patched, and nothing is attached', async () => {
    const f = fresh();
    const legacy = `${f.diskTarget.name}-snapshots`;
    const otherDisk = `projects/${P}/zones/us-east5-a/disks/${f.diskTarget.name}`;
    standIn.putResourcePolicy({ project: P, name: legacy, description: describing(otherDisk) });
    await clients.disks.addResourcePolicies({
      project: P,
      zone: ZONE,
      disk: f.diskTarget.name,
      disksAddResourcePoliciesRequestResource: { resourcePolicies: [f.policyPath] },
    });
    const before = JSON.stringify(ours(legacy));
    const now = { ...f, t: { ...f.t, name: `${f.diskTarget.name}-${ZONE}-snapshots`, retentionDays: 30 } };
    standIn.requests.splice(0);
    const plan = await ensure(now);
    assert.equal(plan.action, 'foreign');
    assert.deepEqual(writes(), []);
    assert.equal(JSON.stringify(ours(legacy)), before, "the other disk's schedule is unchanged");
    assert.deepEqual(attached(f.diskPath), [f.policyPath]);
  });

  it('a permanent failure of the attach is reported (the policy of another region)', async () => {
    const f = fresh();
    const t = { ...f.t, region: 'us-west1' };
    const plan = planSnapshotSchedule(t, { policy: undefined, attached: [], others: [] });
    const fixed = { ...plan, policyPath: `projects/${P}/regions/us-west1/resourcePolicies/${f.t.name}` };
    await assert.rejects(
      applySnapshotSchedulePlan(clients, t, fixed, f.diskPath, deadline(), { pollIntervalMs: 5 }),
      /attaching snapshot schedule .* failed \(HTTP 400 invalid\).*same region as the disk/,
    );
    assert.deepEqual(attached(f.diskPath), []);
  });
});
