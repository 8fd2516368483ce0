import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ResourcePoliciesClient } from '@google-cloud/compute/build/src/v1/resource_policies_client.js';
import { SnapshotsClient } from '@google-cloud/compute/build/src/v1/snapshots_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { OAuth2Client } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { apiErrorDetail, endpointOptions, httpStatus } from '../../src/clients/compute.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

type Operation = protos.google.cloud.compute.v1.IOperation;

const P = 'proj-schedules';
const REGION = 'us-east5';
const ZONE = 'us-east5-b';
const GCE = 'https://www.googleapis.com/compute/v1';
const V1 = `/compute/v1/projects/${P}`;

const daily = (startTime = '04:00') => ({
  schedule: { dailySchedule: { daysInCycle: 1, startTime } },
  retentionPolicy: { maxRetentionDays: 14 },
});

/** The real @google-cloud/compute clients (REST fallback), built as src/compute.ts builds them. */
describe('Compute stand-in: snapshot schedules, snapshot lists, hangs (real client)', () => {
  let standIn: ComputeStandIn;
  let options: ClientOptions;
  let policies: ResourcePoliciesClient;
  let regionOperations: RegionOperationsClient;
  let zoneOperations: ZoneOperationsClient;
  let disks: DisksClient;
  let regionDisks: RegionDisksClient;
  let snapshots: SnapshotsClient;

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2, readyPolls: 1 });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    options = { projectId: P, fallback: true, authClient, ...endpointOptions(standIn.url) };
    policies = new ResourcePoliciesClient(options);
    regionOperations = new RegionOperationsClient(options);
    zoneOperations = new ZoneOperationsClient(options);
    disks = new DisksClient(options);
    regionDisks = new RegionDisksClient(options);
    snapshots = new SnapshotsClient(options);
  });
  after(() => standIn.close());

  async function call(method: string, urlPath: string, body?: unknown) {
    const response = await fetch(`${standIn.url}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${standIn.accessToken}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }
  const errorOf = (json: Record<string, unknown>) =>
    json.error as {
      code: number;
      message: string;
      errors: { reason: string; domain: string }[];
      status: string;
    };

  /** insert() and friends resolve to [lro, ...]; the Operation is the LRO's latestResponse. */
  const operationOf = (result: readonly unknown[]) =>
    (result[0] as { latestResponse: Operation }).latestResponse;

  async function waitRegion(op: Operation): Promise<Operation> {
    let current = op;
    for (let i = 0; i < 10 && current.status !== 'DONE'; i++)
      [current] = await regionOperations.wait({ project: P, region: REGION, operation: op.name! });
    return current;
  }
  async function waitZone(op: Operation): Promise<Operation> {
    let current = op;
    for (let i = 0; i < 10 && current.status !== 'DONE'; i++)
      [current] = await zoneOperations.wait({ project: P, zone: ZONE, operation: op.name! });
    return current;
  }
  /** The HTTP status, Google's reason and message of a call that must fail. */
  /** Held requests, or a failure if `call` settles first (it must not be answered while held). */
  function held(count: number, ...calls: Promise<unknown>[]) {
    const answered = calls.map((c) =>
      c.then(
        () => Promise.reject(new Error('answered while it should be held')),
        () => Promise.reject(new Error('failed while it should be held')),
      ),
    );
    return Promise.race([standIn.whenHeld(count), ...answered]);
  }

  async function rejection(promise: Promise<unknown>) {
    try {
      await promise;
    } catch (error) {
      const { reason, message } = apiErrorDetail(error);
      return { status: httpStatus(error), reason, message };
    }
    throw new Error('expected the call to fail');
  }

  describe('resourcePolicies (regional)', () => {
    it('inserts a snapshot schedule through a region operation that RegionOperationsClient.wait finishes', async () => {
      const requestId = '0f1e2d3c-4b5a-4968-8776-655443322110';
      const op = operationOf(
        await policies.insert({
          project: P,
          region: REGION,
          requestId,
          resourcePolicyResource: { name: 'state-daily', snapshotSchedulePolicy: daily() },
        }),
      );
      assert.equal(op.operationType, 'insert');
      assert.equal(op.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal(op.targetLink, `${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/state-daily`);
      const sent = standIn.requests.find((r) => r.query.requestId === requestId);
      assert.equal(sent?.path, `${V1}/regions/${REGION}/resourcePolicies`);
      assert.equal(sent?.query.requestId, requestId);

      assert.equal((await waitRegion(op)).status, 'DONE');
      const [policy] = await policies.get({ project: P, region: REGION, resourcePolicy: 'state-daily' });
      assert.equal(policy.status, 'READY');
      assert.equal(policy.kind, 'compute#resourcePolicy');
      assert.equal(policy.selfLink, op.targetLink);
      const { schedule, retentionPolicy } = policy.snapshotSchedulePolicy ?? {};
      assert.equal(schedule?.dailySchedule?.daysInCycle, 1);
      assert.equal(schedule?.dailySchedule?.startTime, '04:00');
      assert.equal(schedule?.hourlySchedule ?? undefined, undefined);
      assert.equal(retentionPolicy?.maxRetentionDays, 14);
      // onSourceDiskDelete defaults to KEEP_AUTO_SNAPSHOTS, as gcloud documents.
      assert.equal(retentionPolicy?.onSourceDiskDelete, 'KEEP_AUTO_SNAPSHOTS');
    });

    it('answers a repeated requestId with the first operation; another requestId gets 409 alreadyExists', async () => {
      const insert = (requestId: string) =>
        policies.insert({
          project: P,
          region: REGION,
          requestId,
          resourcePolicyResource: { name: 'state-twice', snapshotSchedulePolicy: daily() },
        });
      const first = operationOf(await insert('11111111-aaaa-4bbb-8ccc-000000000001'));
      const again = operationOf(await insert('11111111-aaaa-4bbb-8ccc-000000000001'));
      assert.equal(again.name, first.name);
      assert.equal(standIn.resourcePolicies().filter((p) => p.name === 'state-twice').length, 1);
      const refused = await rejection(insert('11111111-aaaa-4bbb-8ccc-000000000002'));
      assert.equal(refused.status, 409);
      assert.equal(refused.reason, 'alreadyExists');
      assert.equal(
        refused.message,
        `The resource 'projects/${P}/regions/${REGION}/resourcePolicies/state-twice' already exists`,
      );
    });

    const invalidSchedules: [string, Record<string, unknown>, RegExp][] = [
      [
        'no frequency',
        { schedule: {} },
        /'resource\.snapshotSchedulePolicy\.schedule'.*Exactly one of hourlySchedule, dailySchedule or weeklySchedule/,
      ],
      [
        'two frequencies',
        {
          schedule: {
            hourlySchedule: { hoursInCycle: 4, startTime: '00:00' },
            dailySchedule: { daysInCycle: 1, startTime: '04:00' },
          },
        },
        /Exactly one of/,
      ],
      [
        'hoursInCycle 24',
        { schedule: { hourlySchedule: { hoursInCycle: 24, startTime: '00:00' } } },
        /hoursInCycle': '24'/,
      ],
      [
        'hoursInCycle 0',
        { schedule: { hourlySchedule: { hoursInCycle: 0, startTime: '00:00' } } },
        /hoursInCycle': '0'/,
      ],
      ['a start time off the hour', daily('04:30'), /dailySchedule\.startTime': '04:30'.*on the hour/],
      ['a start time without two digits', daily('4:00'), /startTime': '4:00'/],
      [
        'daysInCycle 2',
        { schedule: { dailySchedule: { daysInCycle: 2, startTime: '04:00' } } },
        /daysInCycle': '2'/,
      ],
      [
        'an abbreviated day',
        { schedule: { weeklySchedule: { dayOfWeeks: [{ day: 'MON', startTime: '04:00' }] } } },
        /dayOfWeeks\[0\]\.day': 'MON'/,
      ],
      ['no days', { schedule: { weeklySchedule: { dayOfWeeks: [] } } }, /dayOfWeeks'/],
      [
        'maxRetentionDays 0',
        { ...daily(), retentionPolicy: { maxRetentionDays: 0 } },
        /maxRetentionDays': '0'.*greater than or equal to 1/,
      ],
      [
        'an unknown onSourceDiskDelete',
        { ...daily(), retentionPolicy: { maxRetentionDays: 7, onSourceDiskDelete: 'DELETE' } },
        /onSourceDiskDelete': 'DELETE'/,
      ],
      [
        'a bad snapshot label',
        { ...daily(), snapshotProperties: { labels: { Bad: 'x' } } },
        /snapshotProperties\.labels': label key 'Bad'/,
      ],
      [
        'two storage locations',
        { ...daily(), snapshotProperties: { storageLocations: ['us', 'eu'] } },
        /storageLocations'/,
      ],
    ];
    for (const [what, snapshotSchedulePolicy, message] of invalidSchedules) {
      it(`refuses ${what} with 400 invalid`, async () => {
        const { status, json } = await call('POST', `${V1}/regions/${REGION}/resourcePolicies`, {
          name: 'bad-schedule',
          snapshotSchedulePolicy,
        });
        assert.equal(status, 400);
        const error = errorOf(json);
        assert.equal(error.status, 'INVALID_ARGUMENT');
        assert.deepEqual(
          error.errors.map((e) => [e.reason, e.domain]),
          [['invalid', 'global']],
        );
        assert.match(error.message, message);
        assert.equal(
          standIn.resourcePolicies().some((p) => p.name === 'bad-schedule'),
          false,
        );
      });
    }

    it('accepts each frequency at its limits', async () => {
      const accepted: Record<string, unknown>[] = [
        { schedule: { hourlySchedule: { hoursInCycle: 23, startTime: '23:00' } } },
        { schedule: { hourlySchedule: { hoursInCycle: 1, startTime: '00:00' } } },
        {
          schedule: {
            weeklySchedule: {
              dayOfWeeks: [
                { day: 'MONDAY', startTime: '01:00' },
                { day: 'SUNDAY', startTime: '13:00' },
              ],
            },
          },
          retentionPolicy: { maxRetentionDays: 1, onSourceDiskDelete: 'APPLY_RETENTION_POLICY' },
          snapshotProperties: { labels: { 'skyha-action': 'state' }, storageLocations: ['us'] },
        },
      ];
      for (const [i, snapshotSchedulePolicy] of accepted.entries()) {
        const { status, json } = await call('POST', `${V1}/regions/${REGION}/resourcePolicies`, {
          name: `ok-${i}`,
          snapshotSchedulePolicy,
        });
        assert.equal(status, 200, JSON.stringify(json));
      }
    });

    it('lists the policies of a region with a filter', async () => {
      standIn.putResourcePolicy({ project: P, region: 'europe-west4', name: 'elsewhere' });
      const [found] = await policies.list({ project: P, region: REGION, filter: 'name = "state-daily"' });
      assert.deepEqual(
        found.map((p) => p.name),
        ['state-daily'],
      );
      const [all] = await policies.list({ project: P, region: REGION });
      assert.ok(all.length > 1);
      assert.equal(
        all.some((p) => p.name === 'elsewhere'),
        false,
        'another region is not listed',
      );
    });
  });

  describe('disks.addResourcePolicies / removeResourcePolicies', () => {
    it('attaches and detaches a schedule on a zonal disk; the disk lists the full policy URL', async () => {
      const policy = standIn.putResourcePolicy({ project: P, region: REGION, name: 'zonal-daily' });
      standIn.putDisk({ project: P, zone: ZONE, name: 'state-z', sizeGb: 10 });
      const op = operationOf(
        await disks.addResourcePolicies({
          project: P,
          zone: ZONE,
          disk: 'state-z',
          disksAddResourcePoliciesRequestResource: {
            // A partial URL, as the API accepts them.
            resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/zonal-daily`],
          },
        }),
      );
      assert.equal(op.operationType, 'addResourcePolicies');
      assert.equal(op.zone, `${GCE}/projects/${P}/zones/${ZONE}`);
      assert.equal((await waitZone(op)).status, 'DONE');
      const [disk] = await disks.get({ project: P, zone: ZONE, disk: 'state-z' });
      assert.deepEqual(disk.resourcePolicies, [
        `${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/zonal-daily`,
      ]);
      assert.equal(policy.selfLink, disk.resourcePolicies![0]);

      const removed = operationOf(
        await disks.removeResourcePolicies({
          project: P,
          zone: ZONE,
          disk: 'state-z',
          disksRemoveResourcePoliciesRequestResource: { resourcePolicies: [policy.selfLink] },
        }),
      );
      assert.equal((await waitZone(removed)).status, 'DONE');
      assert.equal(standIn.disk(`projects/${P}/zones/${ZONE}/disks/state-z`)?.resourcePolicies, undefined);
    });

    it('attaches a schedule to a regional disk through RegionDisksClient and a region operation', async () => {
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'regional-daily' });
      standIn.putDisk({
        project: P,
        region: REGION,
        replicaZones: ['us-east5-a', 'us-east5-b'],
        name: 'state-r',
        sizeGb: 10,
      });
      const op = operationOf(
        await regionDisks.addResourcePolicies({
          project: P,
          region: REGION,
          disk: 'state-r',
          regionDisksAddResourcePoliciesRequestResource: {
            resourcePolicies: [`${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/regional-daily`],
          },
        }),
      );
      assert.equal(op.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal((await waitRegion(op)).status, 'DONE');
      const [disk] = await regionDisks.get({ project: P, region: REGION, disk: 'state-r' });
      assert.deepEqual(disk.resourcePolicies, [
        `${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/regional-daily`,
      ]);
    });

    it('refuses a second snapshot schedule, and the one already attached, leaving the disk as it was', async () => {
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'first' });
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'second' });
      standIn.putDisk({ project: P, zone: ZONE, name: 'one-only', sizeGb: 10, resourcePolicies: ['first'] });
      const add = (name: string) =>
        call('POST', `${V1}/zones/${ZONE}/disks/one-only/addResourcePolicies`, {
          resourcePolicies: [`${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/${name}`],
        });
      const second = await add('second');
      assert.equal(second.status, 400);
      assert.equal(errorOf(second.json).errors[0]!.reason, 'invalidResourceUsage');
      assert.match(errorOf(second.json).message, /only one snapshot schedule/);
      const again = await add('first');
      assert.equal(again.status, 400);
      assert.match(errorOf(again.json).message, /already attached/);
      assert.deepEqual(standIn.disk(`projects/${P}/zones/${ZONE}/disks/one-only`)?.resourcePolicies, [
        `${GCE}/projects/${P}/regions/${REGION}/resourcePolicies/first`,
      ]);
      const viaClient = await rejection(
        disks.addResourcePolicies({
          project: P,
          zone: ZONE,
          disk: 'one-only',
          disksAddResourcePoliciesRequestResource: {
            resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/second`],
          },
        }),
      );
      assert.equal(viaClient.status, 400);
      assert.equal(viaClient.reason, 'invalidResourceUsage');
    });

    it('refuses a policy of another region (400) and one that does not exist (404)', async () => {
      standIn.putResourcePolicy({ project: P, region: 'europe-west4', name: 'far-away' });
      standIn.putDisk({ project: P, zone: ZONE, name: 'picky', sizeGb: 10 });
      const url = `${V1}/zones/${ZONE}/disks/picky/addResourcePolicies`;
      const far = await call('POST', url, {
        resourcePolicies: [`projects/${P}/regions/europe-west4/resourcePolicies/far-away`],
      });
      assert.equal(far.status, 400);
      assert.match(errorOf(far.json).message, /same region as the disk/);
      const absent = await call('POST', url, {
        resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/absent`],
      });
      assert.equal(absent.status, 404);
      assert.equal(
        errorOf(absent.json).message,
        `The resource 'projects/${P}/regions/${REGION}/resourcePolicies/absent' was not found`,
      );
      const bare = await call('POST', url, { resourcePolicies: ['absent'] });
      assert.equal(bare.status, 400);
      assert.match(errorOf(bare.json).message, /The URL is malformed/);
    });

    it('refuses to delete a policy a disk uses (resourceInUseByAnotherResource), then deletes it once detached', async () => {
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'in-use' });
      standIn.putDisk({ project: P, zone: ZONE, name: 'user', sizeGb: 10, resourcePolicies: ['in-use'] });
      const refused = await rejection(
        policies.delete({ project: P, region: REGION, resourcePolicy: 'in-use' }),
      );
      assert.equal(refused.status, 400);
      assert.equal(refused.reason, 'resourceInUseByAnotherResource');
      assert.equal(
        refused.message,
        `The resource_policy resource 'projects/${P}/regions/${REGION}/resourcePolicies/in-use' is already being used by 'projects/${P}/zones/${ZONE}/disks/user'`,
      );
      await waitZone(
        operationOf(
          await disks.removeResourcePolicies({
            project: P,
            zone: ZONE,
            disk: 'user',
            disksRemoveResourcePoliciesRequestResource: {
              resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/in-use`],
            },
          }),
        ),
      );
      await waitRegion(
        operationOf(await policies.delete({ project: P, region: REGION, resourcePolicy: 'in-use' })),
      );
      const gone = await rejection(policies.get({ project: P, region: REGION, resourcePolicy: 'in-use' }));
      assert.equal(gone.status, 404);
    });
  });

  describe('restoring a lost disk from its newest snapshot', () => {
    const lostDisk = `projects/${P}/zones/${ZONE}/disks/lost-state`;

    it('keeps snapshots of a disk that is gone, with its full URL and one sourceDiskId', () => {
      const winter = standIn.putSnapshot({
        project: P,
        name: 'lost-1',
        diskSizeGb: 10,
        sourceDisk: lostDisk,
        creationTimestamp: new Date('2024-01-15T12:00:00.000Z'),
      });
      const summer = standIn.putSnapshot({
        project: P,
        name: 'lost-2',
        diskSizeGb: 10,
        sourceDisk: `${GCE}/${lostDisk}`,
        creationTimestamp: new Date('2024-07-15T12:00:00.000Z'),
      });
      assert.equal(winter.sourceDisk, `${GCE}/${lostDisk}`);
      assert.equal(summer.sourceDisk, winter.sourceDisk);
      assert.equal(summer.sourceDiskId, winter.sourceDiskId);
      // GCE writes Pacific time with its offset, which changes with daylight saving time.
      assert.equal(winter.creationTimestamp, '2024-01-15T04:00:00.000-08:00');
      assert.equal(summer.creationTimestamp, '2024-07-15T05:00:00.000-07:00');
      assert.equal(standIn.disk(lostDisk), undefined);
    });

    it('creates the disk from the newest snapshot (orderBy creationTimestamp desc) and records its source', async () => {
      standIn.putSnapshot({
        project: P,
        name: 'lost-0-string-time',
        diskSizeGb: 10,
        sourceDisk: lostDisk,
        creationTimestamp: '2023-12-31T23:00:00.000-08:00',
      });
      const [newestFirst] = await snapshots.list({
        project: P,
        filter: `sourceDisk = "${GCE}/${lostDisk}"`,
        orderBy: 'creationTimestamp desc',
      });
      assert.deepEqual(
        newestFirst.map((s) => s.name),
        ['lost-2', 'lost-1', 'lost-0-string-time'],
      );
      const newest = newestFirst[0]!;
      const op = operationOf(
        await disks.insert({
          project: P,
          zone: ZONE,
          diskResource: {
            name: 'lost-state',
            sourceSnapshot: newest.selfLink!,
            type: `projects/${P}/zones/${ZONE}/diskTypes/pd-balanced`,
          },
        }),
      );
      await waitZone(op);
      const [restored] = await disks.get({ project: P, zone: ZONE, disk: 'lost-state' });
      assert.equal(restored.sourceSnapshot, `${GCE}/projects/${P}/global/snapshots/lost-2`);
      assert.equal(restored.sourceSnapshotId, String(newest.id));
      assert.equal(restored.sizeGb, '10');
    });

    it('refuses an orderBy GCE does not support', async () => {
      const { status, json } = await call('GET', `${V1}/global/snapshots?orderBy=diskSizeGb`);
      assert.equal(status, 400);
      assert.match(errorOf(json).message, /^Invalid value for field 'orderBy': 'diskSizeGb'/);
    });
  });

  describe('snapshots.list: filter and paging', () => {
    const diskA = `${GCE}/projects/${P}/zones/${ZONE}/disks/list-a`;
    const diskB = `${GCE}/projects/${P}/zones/${ZONE}/disks/list-b`;
    before(() => {
      for (let i = 1; i <= 5; i++) {
        standIn.putSnapshot({
          project: P,
          name: `la-${i}`,
          diskSizeGb: 10,
          sourceDisk: diskA,
          status: i === 5 ? 'UPLOADING' : 'READY',
          labels: i % 2 ? { skyha: 'state' } : {},
          creationTimestamp: new Date(Date.UTC(2024, i, 1)),
        });
      }
      standIn.putSnapshot({
        project: P,
        name: 'lb-1',
        diskSizeGb: 10,
        sourceDisk: diskB,
        labels: { skyha: 'state' },
      });
    });

    const filters: [string, string[]][] = [
      [`sourceDisk = "${diskA}"`, ['la-1', 'la-2', 'la-3', 'la-4', 'la-5']],
      [`sourceDisk eq .*/disks/list-a`, ['la-1', 'la-2', 'la-3', 'la-4', 'la-5']],
      [`sourceDisk eq "${diskB}"`, ['lb-1']],
      [`(sourceDisk ne .*/disks/list-a) (sourceDisk eq .*/disks/list-.*)`, ['lb-1']],
      [`labels.skyha = "state" AND sourceDisk : "/disks/list-"`, ['la-1', 'la-3', 'la-5', 'lb-1']],
      [`(sourceDisk = "${diskA}") AND (status = READY)`, ['la-1', 'la-2', 'la-3', 'la-4']],
      [`sourceDisk = "${diskA}" AND status = READY AND labels.skyha = "state"`, ['la-1', 'la-3']],
      [`(sourceDisk eq .*list-a) (status eq READY)`, ['la-1', 'la-2', 'la-3', 'la-4']],
      [`sourceDisk = "${diskB}" OR sourceDisk = "${diskA}" AND status = UPLOADING`, ['la-5']],
      // Compared as times, not strings: 2024-04-30T17:00:00-07:00 is 2024-05-01T00:00:00Z.
      [`sourceDisk = "${diskA}" AND creationTimestamp >= "2024-04-30T17:00:00-07:00"`, ['la-4', 'la-5']],
    ];
    for (const [filter, expected] of filters) {
      it(`filters ${filter}`, async () => {
        const [found] = await snapshots.list({ project: P, filter });
        assert.deepEqual(
          found.map((s) => s.name),
          expected,
        );
      });
    }

    const refused = [
      'sourceDisk ~ foo',
      '(status = READY',
      'status = READY AND',
      'sourcedisk = "x"',
      `sourceDisk eq .*list-a AND status = READY`,
      'status',
    ];
    for (const filter of refused) {
      it(`refuses the filter ${filter} with 400`, async () => {
        const { status, json } = await call(
          'GET',
          `${V1}/global/snapshots?filter=${encodeURIComponent(filter)}`,
        );
        assert.equal(status, 400);
        assert.deepEqual(errorOf(json), {
          code: 400,
          message: `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
          errors: [
            {
              message: `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
              domain: 'global',
              reason: 'invalid',
            },
          ],
          status: 'INVALID_ARGUMENT',
        });
      });
    }

    it('pages with maxResults and nextPageToken across 3 pages', async () => {
      const filter = `sourceDisk = "${diskA}"`;
      const pages: string[][] = [];
      let request: protos.google.cloud.compute.v1.IListSnapshotsRequest | null = {
        project: P,
        filter,
        maxResults: 2,
      };
      while (request && pages.length < 5) {
        const [items, next]: [
          protos.google.cloud.compute.v1.ISnapshot[],
          protos.google.cloud.compute.v1.IListSnapshotsRequest | null,
          unknown,
        ] = await snapshots.list(request, { autoPaginate: false });
        pages.push(items.map((s) => s.name!));
        request = next;
      }
      assert.deepEqual(pages, [['la-1', 'la-2'], ['la-3', 'la-4'], ['la-5']]);
      const sent = standIn.requests.filter(
        (r) => r.path === `${V1}/global/snapshots` && r.query.maxResults === '2',
      );
      assert.deepEqual(
        sent.map((r) => [r.query.filter, r.query.pageToken !== undefined]),
        [
          [filter, false],
          [filter, true],
          [filter, true],
        ],
      );
    });

    it('listAsync iterates every page', async () => {
      const before = standIn.requests.length;
      const names: string[] = [];
      // autoPaginate: false only silences gax's AutopaginateTrueWarning; listAsync pages on regardless.
      const all = snapshots.listAsync(
        { project: P, filter: 'labels.skyha = "state"', maxResults: 1 },
        { autoPaginate: false },
      );
      for await (const s of all) if (names.push(s.name!) > 10) break;
      assert.deepEqual(names, ['la-1', 'la-3', 'la-5', 'lb-1']);
      assert.equal(
        standIn.requests.slice(before).filter((r) => r.path === `${V1}/global/snapshots`).length,
        4,
      );
    });

    it('answers 500 at most per page (the default), refuses more, and refuses a token of another filter', async () => {
      for (let i = 0; i < 501; i++)
        standIn.putSnapshot({ project: 'proj-many', name: `m-${i}`, diskSizeGb: 10 });
      const first = await call('GET', '/compute/v1/projects/proj-many/global/snapshots');
      assert.equal((first.json.items as unknown[]).length, 500);
      assert.equal(first.json.kind, 'compute#snapshotList');
      assert.equal(first.json.selfLink, `${GCE}/projects/proj-many/global/snapshots`);
      const token = String(first.json.nextPageToken);
      const last = await call('GET', `/compute/v1/projects/proj-many/global/snapshots?pageToken=${token}`);
      assert.equal((last.json.items as unknown[]).length, 1);
      assert.equal(last.json.nextPageToken, undefined);
      const tooMany = await call('GET', '/compute/v1/projects/proj-many/global/snapshots?maxResults=501');
      assert.equal(tooMany.status, 400);
      assert.equal(
        errorOf(tooMany.json).message,
        "Invalid value for field 'maxResults': '501'. Must be less than or equal to 500",
      );
      const otherFilter = await call(
        'GET',
        `/compute/v1/projects/proj-many/global/snapshots?pageToken=${token}&filter=status%20%3D%20READY`,
      );
      assert.equal(otherFilter.status, 400);
      assert.match(errorOf(otherFilter.json).message, /^Invalid value for field 'pageToken'/);
      const none = await call(
        'GET',
        `/compute/v1/projects/proj-many/global/snapshots?filter=name%20%3D%20nothing`,
      );
      assert.deepEqual(Object.keys(none.json).sort(), ['id', 'kind', 'selfLink'], 'no items, no token');
    });
  });

  describe('faults on the new writes', () => {
    it('drop: a resourcePolicies.insert is performed though its answer is lost; the retry gets the first operation', async () => {
      standIn.inject({ kind: 'drop', method: 'POST', path: /\/resourcePolicies$/ });
      const requestId = '22222222-aaaa-4bbb-8ccc-000000000001';
      const insert = () =>
        policies.insert({
          project: P,
          region: REGION,
          requestId,
          resourcePolicyResource: { name: 'dropped', snapshotSchedulePolicy: daily() },
        });
      await assert.rejects(insert(), /socket hang up|ECONNRESET|other side closed/i);
      assert.equal(
        standIn.resourcePolicies().filter((p) => p.name === 'dropped').length,
        1,
        'it was created',
      );
      const op = operationOf(await insert());
      assert.equal((await waitRegion(op)).status, 'DONE');
      assert.equal(standIn.resourcePolicies().filter((p) => p.name === 'dropped').length, 1);
    });

    it('drop: an addResourcePolicies is performed though its answer is lost; the retry with its requestId succeeds', async () => {
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'drop-attach' });
      standIn.putDisk({ project: P, zone: ZONE, name: 'drop-disk', sizeGb: 10 });
      standIn.inject({ kind: 'drop', method: 'POST', path: '/addResourcePolicies' });
      const add = (requestId?: string) =>
        disks.addResourcePolicies({
          project: P,
          zone: ZONE,
          disk: 'drop-disk',
          ...(requestId ? { requestId } : {}),
          disksAddResourcePoliciesRequestResource: {
            resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/drop-attach`],
          },
        });
      await assert.rejects(add('33333333-aaaa-4bbb-8ccc-000000000001'));
      assert.equal(standIn.disk(`projects/${P}/zones/${ZONE}/disks/drop-disk`)?.resourcePolicies?.length, 1);
      const op = operationOf(await add('33333333-aaaa-4bbb-8ccc-000000000001'));
      assert.equal((await waitZone(op)).status, 'DONE');
      const withoutId = await rejection(add());
      assert.equal(withoutId.status, 400, 'a retry without the requestId finds it attached');
    });

    it('503 on resourcePolicies.insert and addResourcePolicies: a Google error body, nothing changed', async () => {
      standIn.putDisk({ project: P, zone: ZONE, name: 'busy-disk', sizeGb: 10 });
      standIn.putResourcePolicy({ project: P, region: REGION, name: 'busy-policy' });
      standIn.inject({ kind: 'error', status: 503, method: 'POST', path: /\/resourcePolicies$/ });
      standIn.inject({ kind: 'error', status: 503, method: 'POST', path: '/addResourcePolicies' });
      const insert = await call('POST', `${V1}/regions/${REGION}/resourcePolicies`, {
        name: 'unavailable',
        snapshotSchedulePolicy: daily(),
      });
      assert.equal(insert.status, 503);
      assert.equal(errorOf(insert.json).status, 'UNAVAILABLE');
      assert.equal(errorOf(insert.json).errors[0]!.reason, 'backendError');
      assert.equal(
        standIn.resourcePolicies().some((p) => p.name === 'unavailable'),
        false,
      );
      const attach = await rejection(
        disks.addResourcePolicies({
          project: P,
          zone: ZONE,
          disk: 'busy-disk',
          disksAddResourcePoliciesRequestResource: {
            resourcePolicies: [`projects/${P}/regions/${REGION}/resourcePolicies/busy-policy`],
          },
        }),
      );
      assert.equal(attach.status, 503);
      assert.equal(standIn.disk(`projects/${P}/zones/${ZONE}/disks/busy-disk`)?.resourcePolicies, undefined);
    });
  });

  // A safety net, not a measurement: a broken hang or release fails the suite instead of blocking it.
  describe('hang', { timeout: 60_000 }, () => {
    it("holds a call until released; gax's own timeout option does not end a REST call", async () => {
      standIn.putDisk({ project: P, zone: ZONE, name: 'held', sizeGb: 10 });
      standIn.inject({ kind: 'hang', method: 'GET', path: '/disks/held' });
      // 1 ms: were the option honoured under REST, this call would reject instead of resolving below.
      const pending = disks.get({ project: P, zone: ZONE, disk: 'held' }, { timeout: 1, maxRetries: 0 });
      const holding = await held(1, pending);
      assert.equal(holding[0]!.path, `${V1}/zones/${ZONE}/disks/held`);
      assert.equal(standIn.release(), 1);
      const [disk] = await pending;
      assert.equal(disk.name, 'held');
      assert.deepEqual(standIn.held(), []);
    });

    it("rejects on the client's transport timeout, whether or not the request got there", async () => {
      // The timeout that does bound a REST call: gaxios's, on the auth client every request goes through. It
      // runs from before the request is sent, so on a busy machine it may fire before the stand-in holds it:
      // an own stand-in, so a hang fault left armed or a request arriving late cannot reach the next tests.
      const own = await startComputeStandIn();
      const authClient = new OAuth2Client({ transporterOptions: { timeout: 300 } });
      authClient.setCredentials({ access_token: own.accessToken, expiry_date: Date.now() + 3_600_000 });
      const bounded = new ResourcePoliciesClient({ ...options, authClient, ...endpointOptions(own.url) });
      own.inject({ kind: 'hang', method: 'POST', path: /\/resourcePolicies$/ });
      try {
        const insert = bounded.insert({
          project: P,
          region: REGION,
          resourcePolicyResource: { name: 'bounded', snapshotSchedulePolicy: daily() },
        });
        await assert.rejects(insert, /aborted/i);
      } finally {
        await bounded.close();
        await own.close();
      }
      assert.deepEqual(own.resourcePolicies(), [], 'a held request is never performed by close()');
    });

    it('a client that gave up on a held request: a release then performs it late', async () => {
      // The transport's abort (the one its timeout raises), fired once the request is held: no clock. gax hands
      // every request a signal of its own, so ours joins it where the request is sent.
      const abort = new AbortController();
      const fetchImplementation: typeof fetch = (url, init) =>
        fetch(url, {
          ...init,
          signal: AbortSignal.any([abort.signal, ...(init?.signal ? [init.signal] : [])]),
        });
      const authClient = new OAuth2Client({ transporterOptions: { fetchImplementation } });
      authClient.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
      const bounded = new ResourcePoliciesClient({ ...options, authClient });
      standIn.inject({ kind: 'hang', method: 'POST', path: /\/resourcePolicies$/ });
      try {
        const insert = bounded.insert({
          project: P,
          region: REGION,
          requestId: '44444444-aaaa-4bbb-8ccc-000000000001',
          resourcePolicyResource: { name: 'late', snapshotSchedulePolicy: daily() },
        });
        await held(1, insert);
        abort.abort();
        await assert.rejects(insert, /aborted/i);
        assert.equal(standIn.held().length, 1);
        const late = () => standIn.resourcePolicies().some((p) => p.name === 'late');
        assert.equal(late(), false, 'not performed while held');
        assert.equal(standIn.release(), 1);
        assert.equal(late(), true, 'performed when released');
      } finally {
        standIn.release();
        await bounded.close();
      }
    });

    it('holds only matching requests, as many times as asked', async () => {
      standIn.putDisk({ project: P, zone: ZONE, name: 'held-twice', sizeGb: 10 });
      standIn.inject({ kind: 'hang', method: 'GET', path: '/disks/held-twice', times: 2 });
      const first = call('GET', `${V1}/zones/${ZONE}/disks/held-twice`);
      const second = call('GET', `${V1}/zones/${ZONE}/disks/held-twice`);
      await held(2, first, second);
      assert.equal(
        (await call('GET', `${V1}/zones/${ZONE}/disks/held-twice`)).status,
        200,
        'the third is answered',
      );
      const other = await call('POST', `${V1}/zones/${ZONE}/disks/held-twice/createSnapshot`, {
        name: 'held-snap',
      });
      assert.equal(other.status, 200, 'another method on the same path is answered');
      assert.equal(standIn.release(), 2);
      assert.deepEqual([(await first).status, (await second).status], [200, 200]);
    });

    it('close() ends held requests without performing them', async () => {
      const own = await startComputeStandIn();
      own.inject({ kind: 'hang', method: 'POST' });
      const insert = fetch(`${own.url}/compute/v1/projects/p/regions/${REGION}/resourcePolicies`, {
        method: 'POST',
        headers: { authorization: `Bearer ${own.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'never', snapshotSchedulePolicy: daily() }),
      });
      try {
        const answered = insert.then(() => Promise.reject(new Error('answered while it should be held')));
        await Promise.race([own.whenHeld(), answered]);
      } finally {
        await own.close();
      }
      await assert.rejects(insert);
      assert.deepEqual(own.resourcePolicies(), []);
    });
  });
});
