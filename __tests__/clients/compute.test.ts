import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import {
  apiErrorDetail,
  createComputeClients,
  endpointOptions,
  httpStatus,
  isTransientComputeError,
  type ComputeClients,
} from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import type { DiskFacts, DiskTarget } from '../../src/steps/disk.js';
import { deleteDrillResource } from '../../src/steps/drillCleanup.js';
import { ActionError } from '../../src/lib/errors.js';
import { snapshotDisk } from '../../src/steps/snapshot.js';
import { ensureDisk } from '../support/steps.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

const PROJECT = 'skyha-test-project';
const ZONE = 'us-east5-b';

describe('endpointOptions', () => {
  const cases: [string | undefined, Record<string, unknown>][] = [
    [undefined, {}],
    [
      'https://compute.googleapis.com',
      { apiEndpoint: 'compute.googleapis.com', port: 443, protocol: 'https' },
    ],
    ['http://127.0.0.1:8123', { apiEndpoint: '127.0.0.1', port: 8123, protocol: 'http' }],
    [
      'https://compute-psc.p.googleapis.com:8443/',
      { apiEndpoint: 'compute-psc.p.googleapis.com', port: 8443, protocol: 'https' },
    ],
  ];
  for (const [endpoint, expected] of cases) {
    it(String(endpoint), () => assert.deepEqual(endpointOptions(endpoint), expected));
  }
});

describe('reading failures', () => {
  const gaxios6 = (status: number, body: object) =>
    Object.assign(new Error(JSON.stringify(body)), { status, code: status, response: { status } });
  const googleError7 = (httpStatusCode: number, message: string) =>
    Object.assign(new Error(message), { code: 7, httpStatusCode });
  const body403 = {
    error: {
      code: 403,
      message: "Required 'compute.disks.get' permission for 'projects/p/zones/z/disks/d'",
      errors: [{ reason: 'forbidden' }],
    },
  };

  it('reads the HTTP status from 6.x and 7.x errors', () => {
    assert.equal(httpStatus(gaxios6(404, {})), 404);
    assert.equal(httpStatus(googleError7(409, 'exists')), 409);
    assert.equal(httpStatus(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
  });

  it("reads Google's error body out of the message", () => {
    assert.deepEqual(apiErrorDetail(gaxios6(403, body403)), {
      status: 403,
      reason: 'forbidden',
      message: "Required 'compute.disks.get' permission for 'projects/p/zones/z/disks/d'",
    });
  });

  const transient: [string, unknown, boolean][] = [
    ['429', gaxios6(429, {}), true],
    ['503', gaxios6(503, {}), true],
    ['500 (7.x)', googleError7(500, 'x'), true],
    ['403', gaxios6(403, body403), false],
    ['404', gaxios6(404, {}), false],
    ['409', googleError7(409, 'x'), false],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    ['socket hang up text', new Error('request failed, reason: socket hang up'), true],
    ['a bug', new TypeError('x is undefined'), false],
  ];
  for (const [name, error, expected] of transient) {
    it(`${name} is ${expected ? '' : 'not '}transient`, () =>
      assert.equal(isTransientComputeError(error), expected));
  }
});

describe('snapshotDisk and deleteDrillResource (drill support)', () => {
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  const opts = { pollIntervalMs: 10 };
  const deadline = (): Deadline => new Deadline(60_000);
  const drill = { 'skyha-drill': 'run-42' };

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2, readyPolls: 2 });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
  });
  after(() => standIn.close());
  beforeEach(() => standIn.requests.splice(0));

  const zonalDisk = (name: string): DiskFacts => {
    standIn.putDisk({ project: PROJECT, zone: ZONE, name, sizeGb: 10 });
    return {
      resourcePath: `projects/${PROJECT}/zones/${ZONE}/disks/${name}`,
      name,
      sizeGb: 10,
      zones: [ZONE],
      regional: false,
      created: false,
      type: 'pd-balanced',
    };
  };

  it('snapshots a zonal disk and waits until the snapshot is READY', async () => {
    const disk = zonalDisk('state-a');
    const result = await snapshotDisk(clients, disk, 'drill-snap-a', drill, deadline(), opts);
    assert.equal(result.resourcePath, `projects/${PROJECT}/global/snapshots/drill-snap-a`);
    assert.equal(
      result.selfLink,
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/snapshots/drill-snap-a`,
    );
    const post = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/createSnapshot'))!;
    assert.equal(post.path, `/compute/v1/projects/${PROJECT}/zones/${ZONE}/disks/state-a/createSnapshot`);
    assert.ok(post.query.requestId);
    assert.deepEqual((post.body as { labels: unknown }).labels, drill);
    const snapshot = standIn.snapshots().find((s) => s.name === 'drill-snap-a')!;
    assert.equal(snapshot.status, 'READY');
    assert.equal(snapshot.diskSizeGb, '10');
  });

  it('snapshots a regional disk through regionDisks', async () => {
    standIn.putDisk({
      project: PROJECT,
      region: 'us-east5',
      replicaZones: ['us-east5-a', 'us-east5-b'],
      name: 'state-r',
      sizeGb: 20,
    });
    const disk: DiskFacts = {
      resourcePath: `projects/${PROJECT}/regions/us-east5/disks/state-r`,
      name: 'state-r',
      sizeGb: 20,
      zones: ['us-east5-a', 'us-east5-b'],
      regional: true,
      created: false,
      type: 'pd-balanced',
    };
    await snapshotDisk(clients, disk, 'drill-snap-r', drill, deadline(), opts);
    assert.ok(
      standIn.requests.some(
        (r) => r.path === `/compute/v1/projects/${PROJECT}/regions/us-east5/disks/state-r/createSnapshot`,
      ),
    );
  });

  it('a drill restores a disk from its snapshot, then deletes both by their labels', async () => {
    const disk = zonalDisk('state-b');
    const snap = await snapshotDisk(clients, disk, 'drill-snap-b', drill, deadline(), opts);
    const restoreTarget: DiskTarget = {
      project: PROJECT,
      name: 'drill-restore-b',
      zone: ZONE,
      region: 'us-east5',
      replicaZones: [],
      sizeGb: 10,
      type: 'pd-balanced',
      sourceSnapshot: snap.resourcePath,
      labels: drill,
      description: 'drill',
    };
    const restored = await ensureDisk(clients, restoreTarget, deadline(), opts);
    assert.equal(restored.created, true);
    await deleteDrillResource(clients, 'disk', restored.resourcePath, drill, deadline(), opts);
    await deleteDrillResource(clients, 'snapshot', snap.resourcePath, drill, deadline(), opts);
    assert.equal(
      standIn.disks().some((d) => d.name === 'drill-restore-b'),
      false,
    );
    assert.equal(
      standIn.snapshots().some((s) => s.name === 'drill-snap-b'),
      false,
    );
    assert.equal(
      standIn.disks().some((d) => d.name === 'state-b'),
      true,
      'the state disk is untouched',
    );
  });

  it('refuses to delete what the drill did not label, without writing', async () => {
    const disk = zonalDisk('state-c');
    await assert.rejects(
      deleteDrillResource(clients, 'disk', disk.resourcePath, drill, deadline(), opts),
      (e: ActionError) => {
        assert.match(e.message, /Refusing to delete .*state-c.*skyha-drill=run-42 expected, found none/);
        return true;
      },
    );
    standIn.putSnapshot({
      project: PROJECT,
      name: 'other-run',
      diskSizeGb: 10,
      labels: { 'skyha-drill': 'run-7' },
    });
    await assert.rejects(
      deleteDrillResource(
        clients,
        'snapshot',
        `projects/${PROJECT}/global/snapshots/other-run`,
        drill,
        deadline(),
        opts,
      ),
      /found run-7/,
    );
    await assert.rejects(
      deleteDrillResource(clients, 'disk', disk.resourcePath, {}, deadline(), opts),
      /no drill labels/,
    );
    assert.deepEqual(
      standIn.requests.filter((r) => r.method !== 'GET'),
      [],
    );
  });

  it('refuses to delete a labelled disk that is attached', async () => {
    standIn.putDisk({
      project: PROJECT,
      zone: ZONE,
      name: 'drill-attached',
      sizeGb: 10,
      labels: drill,
      users: ['gke-n-1'],
    });
    await assert.rejects(
      deleteDrillResource(
        clients,
        'disk',
        `projects/${PROJECT}/zones/${ZONE}/disks/drill-attached`,
        drill,
        deadline(),
        opts,
      ),
      /attached to .*instances\/gke-n-1/,
    );
  });

  it('deleting something already gone is not an error', async () => {
    await deleteDrillResource(
      clients,
      'snapshot',
      `projects/${PROJECT}/global/snapshots/never-was`,
      drill,
      deadline(),
      opts,
    );
  });
});
