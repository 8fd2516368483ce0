import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

/** The stand-in is checked over plain HTTP here, the way the real API answers, independent of the client library. */
describe('Compute API stand-in', () => {
  let standIn: ComputeStandIn;
  const P = 'proj-standin';
  const zonal = `/compute/v1/projects/${P}/zones/us-east5-b`;
  // GCE writes selfLinks on www.googleapis.com whichever endpoint was called.
  const GCE = 'https://www.googleapis.com';

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 3, readyPolls: 1 });
  });
  after(() => standIn.close());

  async function call(
    method: string,
    urlPath: string,
    body?: unknown,
    token: string | null = standIn.accessToken,
  ) {
    const response = await fetch(`${standIn.url}${urlPath}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  const diskBody = (name: string) => ({
    name,
    sizeGb: '10',
    type: `projects/${P}/zones/us-east5-b/diskTypes/pd-balanced`,
    labels: { a: 'b' },
  });

  it('refuses a call without a bearer token with 401 in Google format', async () => {
    const { status, json } = await call('GET', `${zonal}/disks/x`, undefined, null);
    assert.equal(status, 401);
    const error = json.error as { code: number; errors: { reason: string }[]; status: string };
    assert.equal(error.code, 401);
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.equal(error.errors[0]!.reason, 'required');
  });

  it('answers an absent disk with 404 notFound naming the resource', async () => {
    const { status, json } = await call('GET', `${zonal}/disks/absent`);
    assert.equal(status, 404);
    assert.deepEqual(json, {
      error: {
        code: 404,
        message: `The resource 'projects/${P}/zones/us-east5-b/disks/absent' was not found`,
        errors: [
          {
            message: `The resource 'projects/${P}/zones/us-east5-b/disks/absent' was not found`,
            domain: 'global',
            reason: 'notFound',
          },
        ],
        status: 'NOT_FOUND',
      },
    });
  });

  it('inserts a disk through an operation that takes several polls, then the disk turns READY', async () => {
    const insert = await call(
      'POST',
      `${zonal}/disks?requestId=11111111-2222-4333-8444-555555555555`,
      diskBody('d1'),
    );
    assert.equal(insert.status, 200);
    const op = insert.json;
    assert.equal(op.kind, 'compute#operation');
    assert.equal(op.status, 'PENDING');
    assert.equal(op.operationType, 'insert');
    assert.equal(op.targetLink, `${GCE}${zonal}/disks/d1`);
    assert.equal(op.selfLink, `${GCE}${zonal}/operations/${String(op.name)}`);
    assert.equal(typeof op.id, 'string');

    const disk = (await call('GET', `${zonal}/disks/d1`)).json;
    assert.equal(disk.status, 'CREATING');
    assert.equal(disk.sizeGb, '10');
    assert.equal(disk.type, `${GCE}/compute/v1/projects/${P}/zones/us-east5-b/diskTypes/pd-balanced`);
    assert.equal(disk.zone, `${GCE}${zonal}`);
    assert.equal(disk.kind, 'compute#disk');
    assert.match(String(disk.creationTimestamp), /^\d{4}-\d\d-\d\dT/);
    assert.ok(disk.labelFingerprint);

    const statuses: unknown[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call('POST', `${zonal}/operations/${String(op.name)}/wait`)).json.status);
    assert.deepEqual(statuses, ['RUNNING', 'RUNNING', 'DONE']);
    assert.equal((await call('GET', `${zonal}/disks/d1`)).json.status, 'CREATING');
    assert.equal((await call('GET', `${zonal}/disks/d1`)).json.status, 'READY');
  });

  it('answers a repeated requestId with the first operation and makes no second disk', async () => {
    const url = `${zonal}/disks?requestId=aaaaaaaa-2222-4333-8444-555555555555`;
    const first = await call('POST', url, diskBody('d2'));
    const again = await call('POST', url, diskBody('d2'));
    assert.equal(again.status, 200);
    assert.equal(again.json.name, first.json.name);
    assert.equal(standIn.disks().filter((d) => d.name === 'd2').length, 1);
    const other = await call(
      'POST',
      `${zonal}/disks?requestId=bbbbbbbb-2222-4333-8444-555555555555`,
      diskBody('d2'),
    );
    assert.equal(other.status, 409);
    assert.equal((other.json.error as { errors: { reason: string }[] }).errors[0]!.reason, 'alreadyExists');
  });

  it('refuses a bare disk type name, as the real API does', async () => {
    const { status, json } = await call('POST', `${zonal}/disks`, {
      name: 'd3',
      sizeGb: '10',
      type: 'pd-balanced',
    });
    assert.equal(status, 400);
    assert.match((json.error as { message: string }).message, /URL is malformed/);
  });

  it('creates a regional disk with replica zone URLs, from a snapshot', async () => {
    standIn.putSnapshot({ project: P, name: 'snap-r', diskSizeGb: 10 });
    const regional = `/compute/v1/projects/${P}/regions/us-east5`;
    const { json: op } = await call('POST', `${regional}/disks`, {
      name: 'r1',
      type: `projects/${P}/regions/us-east5/diskTypes/pd-balanced`,
      replicaZones: [`projects/${P}/zones/us-east5-a`, `projects/${P}/zones/us-east5-b`],
      sourceSnapshot: `projects/${P}/global/snapshots/snap-r`,
    });
    assert.equal(op.region, `${GCE}${regional}`);
    const disk = (await call('GET', `${regional}/disks/r1`)).json;
    assert.equal(disk.sizeGb, '10', 'size taken from the snapshot');
    assert.deepEqual(disk.replicaZones, [
      `${GCE}/compute/v1/projects/${P}/zones/us-east5-a`,
      `${GCE}/compute/v1/projects/${P}/zones/us-east5-b`,
    ]);
    assert.equal(disk.sourceSnapshot, `${GCE}/compute/v1/projects/${P}/global/snapshots/snap-r`);
    assert.equal(
      (await call('GET', `/compute/v1/projects/${P}/regions/us-east5/operations/${String(op.name)}`)).json
        .status,
      'RUNNING',
    );
  });

  it('injects 429 and 503 for the next N matching requests only', async () => {
    standIn.putDisk({ project: P, zone: 'us-east5-b', name: 'f1', sizeGb: 10 });
    standIn.inject({ kind: 'error', status: 503, method: 'GET', path: '/disks/f1', times: 2 });
    standIn.inject({ kind: 'error', status: 429, method: 'GET', path: /\/disks\/other$/ });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('GET', `${zonal}/disks/f1`)).status);
    assert.deepEqual(statuses, [503, 503, 200]);
    const limited = await call('GET', `${zonal}/disks/other`);
    assert.equal(limited.status, 429);
    assert.equal(
      (limited.json.error as { errors: { reason: string }[] }).errors[0]!.reason,
      'rateLimitExceeded',
    );
  });

  it('drops the connection after performing the insert', async () => {
    standIn.inject({ kind: 'drop', method: 'POST', path: /\/disks$/ });
    await assert.rejects(
      call('POST', `${zonal}/disks?requestId=cccccccc-2222-4333-8444-555555555555`, diskBody('dropped')),
    );
    assert.equal(standIn.disks().filter((d) => d.name === 'dropped').length, 1, 'the insert happened');
  });

  it('ends an operation in an error and leaves no disk', async () => {
    standIn.inject({ kind: 'operationError', code: 'QUOTA_EXCEEDED', method: 'POST' });
    const { json: op } = await call('POST', `${zonal}/disks`, diskBody('q1'));
    let done = op;
    for (let i = 0; i < 5 && done.status !== 'DONE'; i++)
      done = (await call('GET', `${zonal}/operations/${String(op.name)}`)).json;
    assert.equal(done.status, 'DONE');
    assert.deepEqual(
      (done.error as { errors: { code: string }[] }).errors.map((e) => e.code),
      ['QUOTA_EXCEEDED'],
    );
    assert.equal(done.httpErrorStatusCode, 403);
    assert.equal(
      standIn.disks().some((d) => d.name === 'q1'),
      false,
    );
  });

  it('answers 403 naming the missing permission', async () => {
    standIn.inject({ kind: 'forbidden', permission: 'compute.disks.get', method: 'GET' });
    const { status, json } = await call('GET', `${zonal}/disks/f1`);
    assert.equal(status, 403);
    assert.equal(
      (json.error as { message: string }).message,
      `Required 'compute.disks.get' permission for 'projects/${P}/zones/us-east5-b/disks/f1'`,
    );
  });

  it('refuses to delete an attached disk', async () => {
    standIn.putDisk({ project: P, zone: 'us-east5-b', name: 'att', sizeGb: 10, users: ['gke-x'] });
    const { status, json } = await call('DELETE', `${zonal}/disks/att`);
    assert.equal(status, 400);
    assert.equal(
      (json.error as { errors: { reason: string }[] }).errors[0]!.reason,
      'resourceInUseByAnotherResource',
    );
  });

  it('exchanges a subject token for an access token the API accepts (STS)', async () => {
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'eyJ.fake.jwt',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    const response = await fetch(standIn.tokenUrl, { method: 'POST', body: form });
    const token = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(token.token_type, 'Bearer');
    assert.equal((await call('GET', `${zonal}/disks/f1`, undefined, token.access_token)).status, 200);
    const bad = await fetch(standIn.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password' }),
    });
    assert.equal(bad.status, 400);
  });

  it('writes an external_account credentials file whose token_url points at it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-standin-'));
    try {
      const file = JSON.parse(
        fs.readFileSync(standIn.writeExternalAccountCredentials(dir), 'utf8'),
      ) as Record<string, unknown>;
      assert.equal(file.type, 'external_account');
      assert.equal(file.token_url, standIn.tokenUrl);
      assert.ok(fs.existsSync((file.credential_source as { file: string }).file));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
