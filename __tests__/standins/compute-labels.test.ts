import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';
import {
  call,
  clientOptions,
  operationOf,
  rejection,
  waitDone,
  type Operation,
} from '../support/computeStandIn.js';

// Labels on disks (setLabels and its fingerprint) and on the snapshots taken of them, through the real clients.

const P = 'proj-labels';
const REGION = 'us-east5';
const ZONE = 'us-east5-b';
const GCE = 'https://www.googleapis.com/compute/v1';
const ZONAL = `/compute/v1/projects/${P}/zones/${ZONE}`;
const STALE = 'c3RhbGUtZnA=';

describe('Compute stand-in: disk labels and snapshot labels (real client)', () => {
  let standIn: ComputeStandIn;
  let disks: DisksClient;
  let regionDisks: RegionDisksClient;
  let zoneOperations: ZoneOperationsClient;
  let regionOperations: RegionOperationsClient;

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const options = clientOptions(standIn, P);
    disks = new DisksClient(options);
    regionDisks = new RegionDisksClient(options);
    zoneOperations = new ZoneOperationsClient(options);
    regionOperations = new RegionOperationsClient(options);
  });
  after(() => standIn.close());

  const waitZone = (op: Operation) =>
    waitDone((operation) => zoneOperations.wait({ project: P, zone: ZONE, operation }), op);
  const waitRegion = (op: Operation) =>
    waitDone((operation) => regionOperations.wait({ project: P, region: REGION, operation }), op);
  const getDisk = async (name: string) => (await disks.get({ project: P, zone: ZONE, disk: name }))[0];
  const setLabels = async (
    name: string,
    labels: Record<string, string>,
    labelFingerprint?: string,
    requestId?: string,
  ) =>
    operationOf(
      await disks.setLabels({
        project: P,
        zone: ZONE,
        resource: name,
        zoneSetLabelsRequestResource: { labels, ...(labelFingerprint ? { labelFingerprint } : {}) },
        ...(requestId ? { requestId } : {}),
      }),
    );

  describe('disks.setLabels', () => {
    it('records labels through a zone operation; the fingerprint changes with them', async () => {
      standIn.putDisk({
        project: P,
        zone: ZONE,
        name: 'state',
        sizeGb: 10,
        labels: { 'managed-by': 'skyha-action' },
      });
      const before = await getDisk('state');
      const labels = { 'managed-by': 'skyha-action', 'skypilot-chart-version': '1_0_0-dev_20261115' };
      const op = await setLabels('state', labels, before.labelFingerprint!);
      assert.equal(op.operationType, 'setLabels');
      assert.equal(op.zone, `${GCE}/projects/${P}/zones/${ZONE}`);
      assert.equal(op.targetLink, `${GCE}/projects/${P}/zones/${ZONE}/disks/state`);
      assert.equal((await waitZone(op)).status, 'DONE');
      const after = await getDisk('state');
      assert.deepEqual(after.labels, labels);
      assert.notEqual(after.labelFingerprint, before.labelFingerprint);
    });

    it('answers a stale fingerprint with 412 conditionNotMet in GCE format and changes nothing', async () => {
      const before = await getDisk('state');
      const { status, json } = await call(standIn, 'POST', `${ZONAL}/disks/state/setLabels`, {
        labels: { other: 'x' },
        labelFingerprint: STALE,
      });
      assert.equal(status, 412);
      const message = 'Labels fingerprint either invalid or resource labels have changed';
      assert.deepEqual(json, {
        error: {
          code: 412,
          message,
          errors: [
            {
              message,
              domain: 'global',
              reason: 'conditionNotMet',
              location: 'If-Match',
              locationType: 'header',
            },
          ],
        },
      });
      const after = await getDisk('state');
      assert.deepEqual(after.labels, before.labels);
      assert.equal(after.labelFingerprint, before.labelFingerprint);
      assert.equal(
        standIn.operations().filter((o) => o.operationType === 'setLabels').length,
        1,
        'no operation started',
      );
    });

    it('refuses a missing fingerprint on a labelled disk (412), accepts it on a disk without labels', async () => {
      const refused = await rejection(setLabels('state', { a: 'b' }));
      assert.equal(refused.status, 412);
      assert.equal(refused.reason, 'conditionNotMet');
      standIn.putDisk({ project: P, zone: ZONE, name: 'bare', sizeGb: 10 });
      await waitZone(await setLabels('bare', { a: 'b' }));
      assert.deepEqual((await getDisk('bare')).labels, { a: 'b' });
    });

    it('answers a retried setLabels (same requestId) with the first operation, though its fingerprint is now stale', async () => {
      const before = await getDisk('bare');
      const requestId = '7e7e7e7e-1111-4222-8333-444444444444';
      const first = await setLabels('bare', { a: 'c' }, before.labelFingerprint!, requestId);
      const again = await setLabels('bare', { a: 'c' }, before.labelFingerprint!, requestId);
      assert.equal(again.name, first.name);
      assert.equal((await rejection(setLabels('bare', { a: 'd' }, before.labelFingerprint!))).status, 412);
    });

    it('removes every label with an empty map: GCE omits labels, the fingerprint is that of an unlabelled disk', async () => {
      const before = await getDisk('bare');
      await waitZone(await setLabels('bare', {}, before.labelFingerprint!));
      const after = await getDisk('bare');
      assert.equal(Object.keys(after.labels ?? {}).length, 0);
      assert.equal(standIn.disk(`projects/${P}/zones/${ZONE}/disks/bare`)!.labels, undefined);
      standIn.putDisk({ project: P, zone: ZONE, name: 'never-labelled', sizeGb: 10 });
      assert.equal(after.labelFingerprint, (await getDisk('never-labelled')).labelFingerprint);
    });

    const invalid: [string, Record<string, string>, RegExp][] = [
      ['a key with capitals', { Version: '1' }, /'labels': label key 'Version'/],
      ['a key starting with a digit', { '1x': 'y' }, /label key '1x'/],
      ['a value with a dot', { version: '1.0.0' }, /label value '1\.0\.0' of key 'version'/],
      ['a value of 64 characters', { v: 'a'.repeat(64) }, /label value 'a{64}'/],
      ['65 labels', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])), /at most 64/],
    ];
    for (const [what, labels, message] of invalid) {
      it(`refuses ${what} with 400 invalid`, async () => {
        const before = await getDisk('state');
        const { status, json } = await call(standIn, 'POST', `${ZONAL}/disks/state/setLabels`, {
          labels,
          labelFingerprint: before.labelFingerprint,
        });
        assert.equal(status, 400);
        const error = json.error as { message: string; errors: { reason: string }[] };
        assert.equal(error.errors[0]!.reason, 'invalid');
        assert.match(error.message, message);
        assert.deepEqual((await getDisk('state')).labels, before.labels);
      });
    }

    it('sets labels on a regional disk through RegionDisksClient and a region operation', async () => {
      standIn.putDisk({
        project: P,
        region: REGION,
        replicaZones: ['us-east5-a', ZONE],
        name: 'state-r',
        sizeGb: 10,
      });
      const [disk] = await regionDisks.get({ project: P, region: REGION, disk: 'state-r' });
      const op = operationOf(
        await regionDisks.setLabels({
          project: P,
          region: REGION,
          resource: 'state-r',
          regionSetLabelsRequestResource: {
            labels: { chart: 'skypilot' },
            labelFingerprint: disk.labelFingerprint!,
          },
        }),
      );
      assert.equal(op.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal((await waitRegion(op)).status, 'DONE');
      assert.deepEqual(standIn.disk(`projects/${P}/regions/${REGION}/disks/state-r`)!.labels, {
        chart: 'skypilot',
      });
    });

    it('answers 404 for a disk that does not exist', async () => {
      const { status } = await call(standIn, 'POST', `${ZONAL}/disks/absent/setLabels`, { labels: {} });
      assert.equal(status, 404);
    });
  });

  describe('snapshot labels', () => {
    it('createSnapshot takes the labels in its body', async () => {
      const op = operationOf(
        await disks.createSnapshot({
          project: P,
          zone: ZONE,
          disk: 'state',
          snapshotResource: { name: 'pre-upgrade', labels: { 'skypilot-chart-version': '1_0_0' } },
        }),
      );
      await waitZone(op);
      const snapshot = standIn.snapshots().find((s) => s.name === 'pre-upgrade')!;
      assert.deepEqual(snapshot.labels, { 'skypilot-chart-version': '1_0_0' });
      assert.equal(snapshot.autoCreated, undefined);
    });

    it("a scheduled snapshot carries the schedule's snapshotProperties.labels", () => {
      const policy = standIn.putResourcePolicy({
        project: P,
        region: REGION,
        name: 'state-snapshots',
        snapshotSchedulePolicy: {
          schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:00' } },
          snapshotProperties: { labels: { 'skypilot-chart-version': '1_0_0-dev_20261115' } },
        },
      });
      const disk = standIn.putDisk({
        project: P,
        zone: ZONE,
        name: 'scheduled',
        sizeGb: 10,
        resourcePolicies: ['state-snapshots'],
      });
      const snapshot = standIn.takeScheduledSnapshot(`projects/${P}/zones/${ZONE}/disks/scheduled`);
      assert.deepEqual(snapshot.labels, { 'skypilot-chart-version': '1_0_0-dev_20261115' });
      assert.equal(snapshot.autoCreated, true);
      assert.equal(snapshot.sourceSnapshotSchedulePolicy, policy.selfLink);
      assert.equal(snapshot.sourceSnapshotSchedulePolicyId, policy.id);
      assert.equal(snapshot.sourceDisk, disk.selfLink);
      assert.equal(snapshot.sourceDiskId, disk.id);
      assert.equal(snapshot.status, 'READY');
      // GCE's scheduled names: <disk>-<zone>-<UTC time>-<random>.
      assert.match(snapshot.name, /^scheduled-us-east5-b-\d{14}-[a-z0-9]{8}$/);
      assert.ok(standIn.snapshots().includes(snapshot));
    });

    it('keeps a scheduled name within 63 characters for a long disk name', () => {
      standIn.putDisk({
        project: P,
        zone: ZONE,
        name: `a${'b'.repeat(61)}c`,
        sizeGb: 10,
        resourcePolicies: ['state-snapshots'],
      });
      const snapshot = standIn.takeScheduledSnapshot(
        `${GCE}/projects/${P}/zones/${ZONE}/disks/a${'b'.repeat(61)}c`,
      );
      assert.ok(snapshot.name.length <= 63, snapshot.name);
      assert.match(snapshot.name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    });

    it('refuses to take a scheduled snapshot of a disk without a schedule', () => {
      assert.throws(
        () => standIn.takeScheduledSnapshot(`projects/${P}/zones/${ZONE}/disks/bare`),
        /no snapshot schedule/,
      );
    });
  });
});
