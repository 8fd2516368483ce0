import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { parseSnapshotSchedule } from '../../src/config/backup.js';
import { Deadline } from '../../src/lib/deadline.js';
import { observeDisk, type DiskTarget } from '../../src/steps/disk.js';
import {
  applySnapshotSchedulePlan,
  describeSnapshotSchedulePlan,
  observeAttachedPolicies,
  observeOwnPolicy,
  planSnapshotSchedule,
  policyBody,
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

function target(overrides: Partial<ScheduleTarget> = {}): ScheduleTarget {
  return {
    project: P,
    region: REGION,
    name: 'state-snapshots',
    diskPath: `projects/${P}/zones/${ZONE}/disks/state`,
    schedule: parseSnapshotSchedule('daily 04:00'),
    retentionDays: 14,
    snapshotLabels: { 'managed-by': 'skyha-action', 'skyha-disk': 'state' },
    description: 'Snapshot schedule of the state disk (skyha-action)',
    ...overrides,
  };
}

/** A policy as observe reads it; `ours` makes it carry our mark. */
function policy(path: string, ours: boolean, schedule = 'daily 04:00', retention = 14): ObservedPolicy {
  return {
    resourcePath: path,
    name: path.split('/').pop()!,
    description: ours ? 'made by (skyha-action)' : 'the team’s',
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

  it('the body: the schedule, retention that keeps snapshots of a deleted disk, labelled snapshots', () => {
    assert.deepEqual(policyBody(target(), parseSnapshotSchedule('weekly sunday 22:00')!), {
      name: 'state-snapshots',
      description: 'Snapshot schedule of the state disk (skyha-action)',
      snapshotSchedulePolicy: {
        schedule: { weeklySchedule: { dayOfWeeks: [{ day: 'SUNDAY', startTime: '22:00' }] } },
        retentionPolicy: { maxRetentionDays: 14, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
        snapshotProperties: { labels: { 'managed-by': 'skyha-action', 'skyha-disk': 'state' } },
      },
    });
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
    const t = target({ name: `${name}-snapshots`, diskPath, schedule: parseSnapshotSchedule(schedule) });
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
      description: 'made by (skyha-action)',
    });
    await applySnapshotSchedulePlan(clients, f.t, plan, f.diskPath, deadline(), { pollIntervalMs: 5 });
    const [policy, ...more] = ours(`${f.diskTarget.name}-snapshots`);
    assert.equal(more.length, 0);
    assert.deepEqual(policy?.snapshotSchedulePolicy.schedule, {
      hourlySchedule: { hoursInCycle: 12, startTime: '00:00' },
    });
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
