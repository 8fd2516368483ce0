import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import { age, utcMinute } from '../../src/lib/time.js';
import { planDisk, restoredFrom, type DiskTarget } from '../../src/steps/disk.js';
import {
  newestReadySnapshot,
  observeDiskSources,
  observeSnapshotsOf,
  type SnapshotFacts,
} from '../../src/steps/diskSource.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';
import { refused } from '../support/steps.js';

// Restoring an absent disk: which snapshot `latest` picks (pure), create-disk: never, and the paged list.

const PROJECT = 'restore-project';
const ZONE = 'us-east5-b';
const DISK = `projects/${PROJECT}/zones/${ZONE}/disks/sky-api-server-state`;
const OTHER = `projects/${PROJECT}/zones/${ZONE}/disks/sky-api-server-state-old`;

function target(overrides: Partial<DiskTarget> = {}): DiskTarget {
  return {
    project: PROJECT,
    name: 'sky-api-server-state',
    zone: ZONE,
    region: 'us-east5',
    replicaZones: [],
    sizeGb: 10,
    type: 'pd-balanced',
    labels: { 'managed-by': 'skyha-action' },
    description: 'state',
    ...overrides,
  };
}

const snap = (name: string, createdAt: string, more: Partial<SnapshotFacts> = {}): SnapshotFacts => ({
  name,
  resourcePath: `projects/${PROJECT}/global/snapshots/${name}`,
  sourceDisk: DISK,
  status: 'READY',
  createdAt,
  diskSizeGb: 10,
  ...more,
});

describe('newestReadySnapshot', () => {
  const all = [
    snap('old', '2026-11-28T20:00:00.000-08:00'),
    // Later in UTC than 'mid' though its local time reads earlier: times are compared, not strings.
    snap('newest', '2026-11-29T20:00:00.000-08:00'),
    snap('mid', '2026-11-30T01:00:00.000+00:00'),
    snap('uploading', '2026-11-30T06:00:00.000+00:00', { status: 'UPLOADING' }),
    snap('failed', '2026-11-30T07:00:00.000+00:00', { status: 'FAILED' }),
    snap('other-disk', '2026-11-30T08:00:00.000+00:00', { sourceDisk: OTHER }),
  ];
  it('picks the newest READY snapshot of exactly this disk', () => {
    assert.equal(newestReadySnapshot(all, DISK)?.name, 'newest');
  });
  it('never a snapshot of another disk, even a newer one whose name starts the same', () => {
    assert.equal(newestReadySnapshot(all, OTHER)?.name, 'other-disk');
    assert.equal(newestReadySnapshot(all.slice(3), DISK), undefined);
  });
  it('none at all', () => assert.equal(newestReadySnapshot([], DISK), undefined));
});

describe('planDisk for an absent disk', () => {
  const latest = (snapshots: SnapshotFacts[]) => ({ kind: 'latest' as const, snapshots });
  const newest = snap('state-1130', '2026-11-30T04:00:00Z', { diskSizeGb: 20 });

  it('latest: creates the disk from the newest READY snapshot, at least its size, with a note', () => {
    const plan = planDisk(target({ fromLatestSnapshot: true }), undefined, {
      sources: latest([snap('state-1129', '2026-11-29T04:00:00Z'), newest]),
    });
    assert.equal(plan.action, 'create');
    if (plan.action !== 'create') return;
    assert.equal(plan.request.disk.sourceSnapshot, newest.resourcePath);
    assert.equal(plan.request.disk.sizeGb, '20');
    assert.equal(plan.source?.name, 'state-1130');
    assert.deepEqual(plan.warnings, []);
    assert.match(plan.notes[0] ?? '', /restored from snapshot state-1130 .*taken 2026-11-30 04:00 UTC/);
    assert.deepEqual(restoredFrom(plan, { created: true }), {
      kind: 'snapshot',
      name: 'state-1130',
      createdAt: '2026-11-30T04:00:00Z',
    });
  });

  it('latest with none and if-absent: a new, empty disk with a warning', () => {
    const plan = planDisk(target({ fromLatestSnapshot: true }), undefined, {
      sources: latest([snap('x', '2026-11-30T04:00:00Z', { sourceDisk: OTHER })]),
    });
    assert.equal(plan.action, 'create');
    if (plan.action !== 'create') return;
    assert.equal(plan.request.disk.sourceSnapshot, undefined);
    assert.match(plan.warnings[0] ?? '', /no READY snapshot of it was found .*new, empty disk/);
    assert.deepEqual(restoredFrom(plan, { created: true }), { kind: 'none' });
  });

  it('latest with none and never: refused, naming the disk, zone and project', () => {
    const plan = planDisk(target({ fromLatestSnapshot: true, createDisk: 'never' }), undefined, {
      sources: latest([]),
    });
    assert.throws(
      () => refused(plan),
      (e: Error & { hint?: string }) =>
        /Disk sky-api-server-state does not exist in zone us-east5-b of project restore-project, and no READY snapshot/.test(
          e.message,
        ) && /create-disk: if-absent starts a new, empty server/.test(e.hint ?? ''),
    );
  });

  it('never without a snapshot source: refused; a regional disk is named by its region', () => {
    for (const [t, where] of [
      [target({ createDisk: 'never' }), 'zone us-east5-b'],
      [target({ createDisk: 'never', replicaZones: ['us-east5-a', 'us-east5-b'] }), 'region us-east5'],
    ] as const) {
      const plan = planDisk(t, undefined, {});
      assert.equal(plan.action, 'refuse');
      if (plan.action !== 'refuse') continue;
      assert.equal(plan.reason, `Disk sky-api-server-state does not exist in ${where} of project ${PROJECT}`);
      assert.match(plan.hint, /Check disk-name, zone and project.*disk-source-snapshot: latest/);
    }
  });

  it('never with a named snapshot restores it; an existing disk is used whatever create-disk says', () => {
    const named = snap('state-1130', '2026-11-30T04:00:00Z');
    const plan = planDisk(target({ createDisk: 'never', sourceSnapshot: 'state-1130' }), undefined, {
      sources: { kind: 'named', snapshot: named },
    });
    assert.equal(plan.action, 'create');
    const missing = planDisk(target({ sourceSnapshot: 'nope' }), undefined, {
      sources: { kind: 'named', snapshot: undefined },
    });
    assert.match(missing.action === 'refuse' ? missing.reason : '', /Snapshot nope .* does not exist/);
    const uploading = planDisk(target({ sourceSnapshot: 'state-1130' }), undefined, {
      sources: { kind: 'named', snapshot: { ...named, status: 'UPLOADING' } },
    });
    assert.match(uploading.action === 'refuse' ? uploading.reason : '', /is UPLOADING, not READY/);
  });

  it('restoredFrom: an existing (or meanwhile created) disk is the disk', () => {
    const plan = planDisk(target(), undefined, {});
    assert.deepEqual(restoredFrom(plan, { created: false }), { kind: 'disk' });
  });
});

describe('time in the summary', () => {
  it('UTC to the minute, and ages in the largest sensible unit', () => {
    assert.equal(utcMinute('2026-11-29T20:00:00.000-08:00'), '2026-11-30 04:00 UTC');
    assert.deepEqual([45, 600, 16 * 3600 + 59 * 60, 47 * 3600, 50 * 3600, 72 * 3600].map(age), [
      '45 s',
      '10 min',
      '16 h',
      '47 h',
      '2 d 2 h',
      '3 d',
    ]);
  });
});

describe('observeSnapshotsOf against the Compute stand-in', () => {
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  const deadline = () => new Deadline(30_000);
  before(async () => {
    standIn = await startComputeStandIn();
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
    for (let i = 0; i < 620; i++) {
      standIn.putSnapshot({
        project: PROJECT,
        name: `s-${String(i).padStart(3, '0')}`,
        diskSizeGb: 10,
        sourceDisk: i % 2 ? DISK : OTHER,
        creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000),
      });
    }
  });
  after(() => standIn.close());

  it('reads every page, retries a 503 page, and the newest READY one of this disk wins', async () => {
    standIn.requests.splice(0);
    standIn.inject({ kind: 'error', status: 503, method: 'GET', path: '/global/snapshots' });
    const found = await observeSnapshotsOf(clients, DISK, deadline());
    const lists = standIn.requests.filter((r) => r.path.endsWith('/global/snapshots'));
    assert.equal(lists[0]!.query.filter, `sourceDisk : "${DISK}"`);
    // The substring filter also lets the other disk (…-state-old) through: the plan checks the path exactly.
    assert.equal(found.length, 620);
    assert.equal(lists.length, 3, 'a 503, then two pages of at most 500');
    assert.ok(lists[2]!.query.pageToken);
    assert.equal(newestReadySnapshot(found, DISK)?.name, 's-619');
    assert.equal(newestReadySnapshot(found, OTHER)?.name, 's-618');
  });

  it('observeDiskSources asks only what the inputs need', async () => {
    standIn.requests.splice(0);
    const ask = { diskPath: DISK, latest: false, named: undefined };
    assert.equal(await observeDiskSources(clients, ask, deadline()), undefined);
    assert.equal(standIn.requests.length, 0);
    const named = await observeDiskSources(clients, { ...ask, named: 's-001' }, deadline());
    assert.deepEqual(named?.kind === 'named' && named.snapshot?.name, 's-001');
    const absent = await observeDiskSources(clients, { ...ask, named: 'nope' }, deadline());
    assert.deepEqual(absent, { kind: 'named', snapshot: undefined });
  });
});
