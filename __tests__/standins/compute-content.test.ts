import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { startComputeStandIn, type ComputeStandIn, type ServerState } from '../../standins/compute/index.js';
import { call, clientOptions, operationOf, waitDone, type Operation } from '../support/computeStandIn.js';

// The SkyPilot server's state as the content of a disk: seeded, copied by snapshots, restored with a disk.

const P = 'proj-content';
const REGION = 'us-east5';
const ZONE = 'us-east5-b';
const GCE = 'https://www.googleapis.com/compute/v1';
const DISK = `projects/${P}/zones/${ZONE}/disks/state`;

const seeded = (): ServerState => ({
  users: [
    { id: 'u1', name: 'alice', role: 'admin', created_at: 1_700_000_000 },
    { id: 'u2', name: 'bob', role: 'user', created_at: 1_700_000_100 },
    { id: 'u3', name: 'carol', role: 'user', created_at: 1_700_000_200 },
  ],
  clusters: ['train-a100', 'notebook'],
});

describe('Compute stand-in: disk content (real client)', () => {
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

  const waitZone = async (result: readonly unknown[]) =>
    waitDone((operation) => zoneOperations.wait({ project: P, zone: ZONE, operation }), operationOf(result));
  const waitRegion = async (result: readonly unknown[]) =>
    waitDone(
      (operation) => regionOperations.wait({ project: P, region: REGION, operation }),
      operationOf(result),
    );
  const snapshot = (name: string): Promise<Operation> =>
    disks
      .createSnapshot({ project: P, zone: ZONE, disk: 'state', snapshotResource: { name } })
      .then(waitZone);

  it('a seeded disk holds a copy of the state, read by path, URL or volumeHandle', () => {
    const state = seeded();
    standIn.putDisk({ project: P, zone: ZONE, name: 'state', sizeGb: 10, state });
    state.users.pop();
    assert.deepEqual(
      standIn.diskState(DISK),
      seeded(),
      'a later change to the seed object does not reach the disk',
    );
    assert.deepEqual(standIn.diskState(`${GCE}/${DISK}`), seeded());
    // The PD CSI driver's volumeHandle is the disk's path.
    assert.deepEqual(standIn.diskState(`projects/${P}/zones/${ZONE}/disks/state`), seeded());
    standIn.diskState(DISK)!.clusters.push('not-on-disk');
    assert.deepEqual(standIn.diskState(DISK)!.clusters, ['train-a100', 'notebook'], 'a read is a copy');
  });

  it('keeps the content out of the API: the disk JSON is the same as a disk without it', async () => {
    const { json } = await call(standIn, 'GET', `/compute/v1/${DISK}`);
    const text = JSON.stringify(json);
    for (const word of ['alice', 'train-a100', 'users', 'clusters'])
      assert.equal(text.includes(word), false, word);
  });

  it('a snapshot holds the content at the moment it is taken, independent of the disk afterwards', async () => {
    assert.equal((await snapshot('before-change')).status, 'DONE');
    standIn.setDiskState(DISK, { users: [seeded().users[0]!], clusters: [] });
    assert.deepEqual(standIn.snapshotState('before-change'), seeded());
    assert.deepEqual(standIn.snapshotState(`projects/${P}/global/snapshots/before-change`), seeded());
    await snapshot('after-change');
    assert.deepEqual(standIn.snapshotState(`${GCE}/projects/${P}/global/snapshots/after-change`), {
      users: [seeded().users[0]],
      clusters: [],
    });
    assert.deepEqual(standIn.snapshotState('before-change'), seeded(), 'the first snapshot is unchanged');
  });

  it('the content is taken when createSnapshot is accepted, not when its operation ends', async () => {
    const before = standIn.diskState(DISK);
    const accepted = await disks.createSnapshot({
      project: P,
      zone: ZONE,
      disk: 'state',
      snapshotResource: { name: 'in-flight' },
    });
    standIn.setDiskState(DISK, { users: [], clusters: ['written-after'] });
    assert.equal((await waitZone(accepted)).status, 'DONE');
    assert.deepEqual(standIn.snapshotState('in-flight'), before);
    standIn.setDiskState(DISK, before);
  });

  it('a disk created from a snapshot gets its content; changing the disk leaves the snapshot as it was', async () => {
    const insert = await disks.insert({
      project: P,
      zone: 'us-east5-a',
      diskResource: {
        name: 'restored',
        sourceSnapshot: `projects/${P}/global/snapshots/before-change`,
        type: `projects/${P}/zones/us-east5-a/diskTypes/pd-balanced`,
      },
    });
    const done = await waitDone(
      (operation) => zoneOperations.wait({ project: P, zone: 'us-east5-a', operation }),
      operationOf(insert),
    );
    assert.equal(done.status, 'DONE');
    const restored = `projects/${P}/zones/us-east5-a/disks/restored`;
    assert.deepEqual(standIn.diskState(restored), seeded());
    standIn.setDiskState(restored, { users: [], clusters: ['new'] });
    assert.deepEqual(standIn.snapshotState('before-change'), seeded());
  });

  it('a regional disk restored from a seeded snapshot gets the seed', async () => {
    standIn.putSnapshot({
      project: P,
      name: 'seeded-snap',
      diskSizeGb: 10,
      sourceDisk: DISK,
      state: seeded(),
    });
    await waitRegion(
      await regionDisks.insert({
        project: P,
        region: REGION,
        diskResource: {
          name: 'state-r',
          sourceSnapshot: `${GCE}/projects/${P}/global/snapshots/seeded-snap`,
          type: `projects/${P}/regions/${REGION}/diskTypes/pd-balanced`,
          replicaZones: [`projects/${P}/zones/us-east5-a`, `projects/${P}/zones/${ZONE}`],
        },
      }),
    );
    assert.deepEqual(standIn.diskState(`projects/${P}/regions/${REGION}/disks/state-r`), seeded());
  });

  it('a new empty disk holds nothing, nor does a disk recreated under the name of a deleted one', async () => {
    await waitZone(
      await disks.insert({
        project: P,
        zone: ZONE,
        diskResource: {
          name: 'empty',
          sizeGb: '10',
          type: `projects/${P}/zones/${ZONE}/diskTypes/pd-balanced`,
        },
      }),
    );
    assert.equal(standIn.diskState(`projects/${P}/zones/${ZONE}/disks/empty`), undefined);
    assert.equal(standIn.removeDisk(DISK), true);
    assert.equal(standIn.diskState(DISK), undefined);
    standIn.putDisk({ project: P, zone: ZONE, name: 'state', sizeGb: 10 });
    assert.equal(standIn.diskState(DISK), undefined);
    assert.deepEqual(standIn.snapshotState('before-change'), seeded(), 'snapshots outlive their disk');
  });

  it('a snapshot of an empty disk holds nothing; setDiskState refuses a disk that does not exist', async () => {
    await snapshot('of-empty');
    assert.equal(standIn.snapshotState('of-empty'), undefined);
    assert.equal(standIn.snapshotState('no-such-snapshot'), undefined);
    assert.throws(() => standIn.setDiskState(`projects/${P}/zones/${ZONE}/disks/absent`, seeded()), /absent/);
  });

  it('a scheduled snapshot copies the content too', () => {
    standIn.putResourcePolicy({ project: P, region: REGION, name: 'daily' });
    standIn.putDisk({
      project: P,
      zone: ZONE,
      name: 'scheduled',
      sizeGb: 10,
      resourcePolicies: ['daily'],
      state: seeded(),
    });
    const taken = standIn.takeScheduledSnapshot(`projects/${P}/zones/${ZONE}/disks/scheduled`);
    standIn.setDiskState(`projects/${P}/zones/${ZONE}/disks/scheduled`, undefined);
    assert.deepEqual(standIn.snapshotState(taken.name), seeded());
  });
});
