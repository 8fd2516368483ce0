import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import { age, utcMinute } from '../../src/lib/time.js';
import {
  describeDiskPlan,
  planDisk,
  restoredFrom,
  type DiskTarget,
  type ObservedDisk,
} from '../../src/steps/disk.js';
import {
  describeCandidates,
  isSnapshotOf,
  newestReadySnapshot,
  observeDiskSources,
  observeSnapshotsOf,
  originOf,
  snapshotFilter,
  takenIn,
  type SnapshotFacts,
} from '../../src/steps/diskSource.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';
import { refused } from '../support/steps.js';

// Restoring an absent disk: which snapshot `latest` picks (pure), create-disk: never, and the paged list.

const PROJECT = 'restore-project';
const ZONE = 'us-east5-b';
const DISK = `projects/${PROJECT}/zones/${ZONE}/disks/sky-api-server-state`;
const OTHER = `projects/${PROJECT}/zones/${ZONE}/disks/sky-api-server-state-old`;
const IDENTITY = { project: PROJECT, name: 'sky-api-server-state', region: 'us-east5' };

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

describe('newestReadySnapshot: the disk by its name in its region, whatever its zone', () => {
  const all = [
    snap('old', '2026-11-28T20:00:00.000-08:00'),
    // Later in UTC than 'mid' though its local time reads earlier: times are compared, not strings.
    snap('newest', '2026-11-29T20:00:00.000-08:00'),
    snap('mid', '2026-11-30T01:00:00.000+00:00'),
    snap('uploading', '2026-11-30T06:00:00.000+00:00', { status: 'UPLOADING' }),
    snap('failed', '2026-11-30T07:00:00.000+00:00', { status: 'FAILED' }),
    snap('other-disk', '2026-11-30T08:00:00.000+00:00', { sourceDisk: OTHER }),
  ];
  it('picks the newest READY snapshot of this disk', () => {
    assert.equal(newestReadySnapshot(all, IDENTITY)?.name, 'newest');
  });
  it('never a snapshot of another disk, even a newer one whose name starts the same', () => {
    assert.equal(
      newestReadySnapshot(all, { ...IDENTITY, name: 'sky-api-server-state-old' })?.name,
      'other-disk',
    );
    assert.equal(newestReadySnapshot(all.slice(3), IDENTITY), undefined);
  });
  it('none at all', () => assert.equal(newestReadySnapshot([], IDENTITY), undefined));

  const at = (place: string, name = 'sky-api-server-state', project = PROJECT) =>
    `projects/${project}/${place}/disks/${name}`;
  const cases: Array<[string, string, boolean]> = [
    ['the same zone', at('zones/us-east5-b'), true],
    ['another zone of the region (the zone was lost)', at('zones/us-east5-a'), true],
    ['the regional disk of that name in the region', at('regions/us-east5'), true],
    ['a zone of another region', at('zones/us-west1-b'), false],
    ['the regional disk of another region', at('regions/us-west1'), false],
    ['a zone whose name only starts like the region', at('zones/us-east50-a'), false],
    ['another disk name in the region', at('zones/us-east5-a', 'sky-api-server-state-2'), false],
    [
      'the same path in another project',
      at('zones/us-east5-b', 'sky-api-server-state', 'other-project'),
      false,
    ],
    ['no source disk', '', false],
  ];
  for (const [name, sourceDisk, matches] of cases) {
    it(`${matches ? 'counts' : 'ignores'} a snapshot of ${name}`, () => {
      const s = snap('s', '2026-11-30T04:00:00Z', { sourceDisk });
      assert.equal(isSnapshotOf(s, IDENTITY), matches);
      assert.equal(newestReadySnapshot([s], IDENTITY)?.name, matches ? 's' : undefined);
    });
  }

  it('the origin in words, and the candidates a refusal lists (at most three, newest first)', () => {
    const lost = snap('lost', '2026-11-30T04:00:00Z', { sourceDisk: at('zones/us-east5-a') });
    assert.equal(takenIn(lost), 'zone us-east5-a');
    assert.equal(originOf(lost), 'disk sky-api-server-state in zone us-east5-a');
    assert.equal(
      originOf(snap('r', '', { sourceDisk: at('regions/us-east5') })),
      'disk sky-api-server-state in region us-east5',
    );
    assert.equal(
      describeCandidates(all, IDENTITY),
      'snapshots seen: failed (FAILED, zone us-east5-b), uploading (UPLOADING, zone us-east5-b), newest (READY, zone us-east5-b) and 2 more',
    );
    assert.equal(describeCandidates([], IDENTITY), '');
  });
});

describe('planDisk for an absent disk', () => {
  const latest = (snapshots: SnapshotFacts[]) => ({ kind: 'listed' as const, snapshots });
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

  const inZone = (zone: string) => `projects/${PROJECT}/zones/${zone}/disks/sky-api-server-state`;

  it('latest after a zone outage: the disk lost in us-east5-b comes back in us-east5-a, the plan names both', () => {
    const lost = snap('state-auto-1130', '2026-11-30T04:00:00Z', { sourceDisk: inZone('us-east5-b') });
    const plan = planDisk(target({ zone: 'us-east5-a', fromLatestSnapshot: true }), undefined, {
      sources: latest([snap('older', '2026-11-29T04:00:00Z'), lost]),
    });
    assert.equal(plan.action, 'create');
    if (plan.action !== 'create') return;
    assert.equal(plan.request.resourcePath, inZone('us-east5-a'));
    assert.equal(plan.request.disk.sourceSnapshot, lost.resourcePath);
    assert.deepEqual(plan.warnings, [], 'one source disk: nothing to warn about');
    assert.match(
      plan.notes[0] ?? '',
      /restored from snapshot state-auto-1130 .*taken 2026-11-30 04:00 UTC of disk sky-api-server-state in zone us-east5-b/,
    );
    assert.equal(
      describeDiskPlan(plan),
      `create disk ${inZone('us-east5-a')} (10 GB pd-balanced from snapshot ${lost.resourcePath}, taken 2026-11-30 04:00 UTC in zone us-east5-b)`,
    );
  });

  it('latest with READY snapshots of two disks of the name (two zones): the newest, with a warning naming both', () => {
    const b = snap('b-1130', '2026-11-30T04:00:00Z', { sourceDisk: inZone('us-east5-b') });
    const a = snap('a-1129', '2026-11-29T04:00:00Z', { sourceDisk: inZone('us-east5-a') });
    const plan = planDisk(target({ fromLatestSnapshot: true }), undefined, { sources: latest([a, b]) });
    assert.equal(plan.action === 'create' && plan.source?.name, 'b-1130');
    assert.match(
      plan.action === 'create' ? plan.warnings.join('\n') : '',
      /READY snapshots of 2 disks named sky-api-server-state in region us-east5 .*us-east5-b.*us-east5-a.*name the snapshot to restore/,
    );
  });

  it('latest, never, nothing READY: the refusal lists what it saw, with status and origin', () => {
    const plan = planDisk(target({ fromLatestSnapshot: true, createDisk: 'never' }), undefined, {
      sources: latest([
        snap('up', '2026-11-30T04:00:00Z', { status: 'UPLOADING', sourceDisk: inZone('us-east5-a') }),
      ]),
    });
    assert.match(
      plan.action === 'refuse' ? plan.reason : '',
      /no READY snapshot of it was found \(snapshots seen: up \(UPLOADING, zone us-east5-a\)\)/,
    );
  });

  it('default inputs, no disk, READY snapshots of it: refused before any change, naming the newest and both ways on', () => {
    const newest = snap('state-1130', '2026-11-30T04:00:00Z', { sourceDisk: inZone('us-east5-a') });
    const plan = planDisk(target(), undefined, {
      sources: latest([snap('s', '2026-11-01T00:00:00Z'), newest]),
    });
    assert.equal(plan.action, 'refuse');
    if (plan.action !== 'refuse') return;
    assert.equal(
      plan.reason,
      `Disk sky-api-server-state does not exist in zone us-east5-b of project ${PROJECT}, but READY snapshots of it do: the newest is state-1130, taken 2026-11-30 04:00 UTC of disk sky-api-server-state in zone us-east5-a`,
    );
    assert.match(plan.hint, /never replaces a lost disk by an empty one/);
    assert.match(plan.hint, /disk-source-snapshot: latest \(or disk-source-snapshot: state-1130\)/);
    assert.match(plan.hint, /on purpose, set disk-source-snapshot: none/);
    // create-disk: never says the same, without offering an empty server.
    const never = planDisk(target({ createDisk: 'never' }), undefined, { sources: latest([newest]) });
    assert.match(
      never.action === 'refuse' ? never.hint : '',
      /disk-source-snapshot: latest \(or disk-source-snapshot: state-1130\)$/,
    );
  });

  it('default inputs, no READY snapshot of this disk (others, or not READY): a new, empty disk as before', () => {
    const sources = latest([
      snap('other', '2026-11-30T04:00:00Z', { sourceDisk: OTHER }),
      snap('west', '2026-11-30T04:00:00Z', {
        sourceDisk: `projects/${PROJECT}/zones/us-west1-b/disks/sky-api-server-state`,
      }),
      snap('failed', '2026-11-30T04:00:00Z', { status: 'FAILED' }),
    ]);
    const plan = planDisk(target(), undefined, { sources });
    assert.equal(plan.action, 'create');
    assert.equal(plan.action === 'create' && plan.request.disk.sourceSnapshot, undefined);
    assert.deepEqual(plan.action === 'create' && [plan.warnings, plan.notes], [[], []]);
  });

  it('none: an empty disk on purpose, whatever snapshots exist, and the plan says so', () => {
    const plan = planDisk(target({ startEmpty: true }), undefined, {});
    assert.equal(plan.action, 'create');
    if (plan.action !== 'create') return;
    assert.equal(plan.request.disk.sourceSnapshot, undefined);
    assert.match(
      plan.notes[0] ?? '',
      /a new, empty disk is created on purpose \(disk-source-snapshot: none\)/,
    );
    assert.deepEqual(restoredFrom(plan, { created: true }), { kind: 'none' });
  });

  it('latest or none on an existing disk: used as it is, with a notice that it was not used', () => {
    const disk: ObservedDisk = {
      resourcePath: DISK,
      name: 'sky-api-server-state',
      selfLink: '',
      sizeGb: 10,
      type: 'pd-balanced',
      status: 'READY',
      users: [],
      labels: { 'managed-by': 'skyha-action' },
      zones: [ZONE],
      regional: false,
      sourceSnapshot: undefined,
    };
    for (const [t, word] of [
      [target({ fromLatestSnapshot: true }), 'latest'],
      [target({ startEmpty: true }), 'none'],
    ] as const) {
      const plan = planDisk(t, disk, {});
      assert.equal(plan.action, 'use');
      assert.deepEqual(plan.action === 'use' && plan.warnings, []);
      assert.match(
        plan.action === 'use' ? plan.notes.join('\n') : '',
        new RegExp(`disk-source-snapshot: ${word} was not used: disk ${DISK} exists and is used as it is`),
      );
    }
    const plain = planDisk(target(), disk, {});
    assert.deepEqual(plain.action === 'use' && plain.notes, []);
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
  const ZONE_A = `projects/${PROJECT}/zones/us-east5-a/disks/sky-api-server-state`;
  const REGIONAL = `projects/${PROJECT}/regions/us-east5/disks/sky-api-server-state`;
  before(async () => {
    standIn = await startComputeStandIn();
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
    // A third each: this disk in us-east5-b, a disk of its name in us-east5-a, and another disk.
    for (let i = 0; i < 900; i++) {
      standIn.putSnapshot({
        project: PROJECT,
        name: `s-${String(i).padStart(3, '0')}`,
        diskSizeGb: 10,
        sourceDisk: [DISK, ZONE_A, OTHER][i % 3],
        creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000),
      });
    }
    const elsewhere = (name: string, sourceDisk: string) =>
      standIn.putSnapshot({
        project: PROJECT,
        name,
        diskSizeGb: 10,
        sourceDisk,
        creationTimestamp: new Date(),
      });
    elsewhere('regional-now', REGIONAL);
    elsewhere('west-now', `projects/${PROJECT}/zones/us-west1-b/disks/sky-api-server-state`);
    elsewhere('east50-now', `projects/${PROJECT}/zones/us-east50-a/disks/sky-api-server-state`);
    elsewhere('suffix-now', `projects/${PROJECT}/zones/us-east5-b/disks/sky-api-server-state-2`);
  });
  after(() => standIn.close());

  it('filters on the server to this name in the region, reads every page, retries a 503 page', async () => {
    standIn.requests.splice(0);
    standIn.inject({ kind: 'error', status: 503, method: 'GET', path: '/global/snapshots' });
    const found = await observeSnapshotsOf(clients, IDENTITY, deadline());
    const lists = standIn.requests.filter((r) => r.path.endsWith('/global/snapshots'));
    assert.equal(lists[0]!.query.filter, snapshotFilter(IDENTITY));
    assert.equal(
      snapshotFilter(IDENTITY),
      `sourceDisk eq ".*/projects/${PROJECT}/(zones/us-east5-[a-z0-9]+|regions/us-east5)/disks/sky-api-server-state"`,
    );
    // Both zones' thirds and the regional disk's: 300 + 300 + 1. Other names and regions stay on the server.
    assert.equal(found.length, 601);
    assert.ok(found.every((f) => isSnapshotOf(f, IDENTITY)));
    assert.equal(lists.length, 3, 'a 503, then two pages of at most 500');
    assert.ok(lists[2]!.query.pageToken);
    assert.equal(newestReadySnapshot(found, IDENTITY)?.name, 'regional-now');
    assert.equal(
      newestReadySnapshot(
        found.filter((f) => f.sourceDisk !== REGIONAL),
        IDENTITY,
      )?.name,
      's-898',
    );
  });

  it('a project id with dots (domain-scoped) is matched literally', () => {
    assert.match(
      snapshotFilter({ ...IDENTITY, project: 'example.com:proj' }),
      /projects\/example\[\.\]com:proj\//,
    );
  });

  it('observeDiskSources: the named snapshot, the list, or nothing at all for none', async () => {
    standIn.requests.splice(0);
    const ask = { disk: IDENTITY, named: undefined, startEmpty: true };
    assert.equal(await observeDiskSources(clients, ask, deadline()), undefined);
    assert.equal(standIn.requests.length, 0, 'none looks for nothing');
    const listed = await observeDiskSources(clients, { ...ask, startEmpty: false }, deadline());
    assert.equal(listed?.kind === 'listed' && listed.snapshots.length, 601);
    const named = await observeDiskSources(clients, { ...ask, named: 's-001' }, deadline());
    assert.deepEqual(named?.kind === 'named' && named.snapshot?.name, 's-001');
    const absent = await observeDiskSources(clients, { ...ask, named: 'nope' }, deadline());
    assert.deepEqual(absent, { kind: 'named', snapshot: undefined });
  });

  it('a list the credentials may not make: the error says how to choose without it', async () => {
    standIn.inject({
      kind: 'forbidden',
      permission: 'compute.snapshots.list',
      method: 'GET',
      path: '/global/snapshots',
    });
    const ask = { disk: IDENTITY, named: undefined, startEmpty: false };
    await assert.rejects(
      observeDiskSources(clients, ask, deadline()),
      (e: Error & { hint?: string }) =>
        /listing the snapshots of disk sky-api-server-state in region us-east5/.test(e.message) &&
        /compute.snapshots.list/.test(e.hint ?? '') &&
        /disk-source-snapshot: none creates an empty disk on purpose/.test(e.hint ?? ''),
    );
  });
});
