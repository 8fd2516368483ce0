import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ResourcePoliciesClient } from '@google-cloud/compute/build/src/v1/resource_policies_client.js';
import { OAuth2Client } from 'google-auth-library';
import { apiErrorDetail, endpointOptions, httpStatus } from '../../src/clients/compute.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

// resourcePolicies.patch in the Compute stand-in, through the real 6.15 client (REST fallback).

type Operation = protos.google.cloud.compute.v1.IOperation;

const P = 'proj-patch';
const REGION = 'us-east5';

describe('Compute stand-in: resourcePolicies.patch (real client)', () => {
  let standIn: ComputeStandIn;
  let policies: ResourcePoliciesClient;
  let operations: RegionOperationsClient;

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    const options = { projectId: P, fallback: true, authClient, ...endpointOptions(standIn.url) };
    policies = new ResourcePoliciesClient(options);
    operations = new RegionOperationsClient(options);
  });
  after(() => standIn.close());

  const patch = async (name: string, resourcePolicyResource: object, requestId?: string) => {
    const [lro] = await policies.patch({
      project: P,
      region: REGION,
      resourcePolicy: name,
      resourcePolicyResource,
      ...(requestId ? { requestId } : {}),
    });
    let op = (lro as unknown as { latestResponse: Operation }).latestResponse;
    for (let i = 0; i < 5 && op.status !== 'DONE'; i++)
      [op] = await operations.wait({ project: P, region: REGION, operation: op.name! });
    return op;
  };
  const stored = (name: string) => standIn.resourcePolicies().find((p) => p.name === name)!;
  async function failure(promise: Promise<unknown>) {
    try {
      await promise;
    } catch (error) {
      return { ...apiErrorDetail(error), status: httpStatus(error) };
    }
    throw new Error('expected the call to fail');
  }

  it('replaces the schedule whole (daily to hourly), keeps what it is not given, through a region operation', async () => {
    standIn.putResourcePolicy({ project: P, name: 'p1' });
    const op = await patch('p1', {
      name: 'p1',
      snapshotSchedulePolicy: { schedule: { hourlySchedule: { hoursInCycle: 6, startTime: '00:00' } } },
    });
    assert.equal(op.status, 'DONE');
    assert.equal(op.operationType, 'patch');
    assert.match(op.targetLink ?? '', /\/regions\/us-east5\/resourcePolicies\/p1$/);
    const [patched] = await policies.get({ project: P, region: REGION, resourcePolicy: 'p1' });
    const hourly = patched.snapshotSchedulePolicy?.schedule?.hourlySchedule;
    assert.deepEqual([hourly?.hoursInCycle, hourly?.startTime], [6, '00:00']);
    assert.equal(
      patched.snapshotSchedulePolicy?.schedule?.dailySchedule ?? undefined,
      undefined,
      'no daily left beside it',
    );
    assert.equal(
      patched.snapshotSchedulePolicy?.retentionPolicy?.maxRetentionDays,
      14,
      'retention untouched',
    );
    const request = standIn.requests.find((r) => r.method === 'PATCH')!;
    assert.equal(request.path, `/compute/v1/projects/${P}/regions/${REGION}/resourcePolicies/p1`);
  });

  it('retention and labels alone; the description when given', async () => {
    standIn.putResourcePolicy({ project: P, name: 'p2' });
    await patch('p2', {
      description: 'new words',
      snapshotSchedulePolicy: {
        retentionPolicy: { maxRetentionDays: 3, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
        snapshotProperties: { labels: { team: 'sky' } },
      },
    });
    const policy = stored('p2');
    assert.equal(policy.description, 'new words');
    assert.deepEqual(policy.snapshotSchedulePolicy.retentionPolicy, {
      maxRetentionDays: 3,
      onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS',
    });
    assert.deepEqual(policy.snapshotSchedulePolicy.snapshotProperties, { labels: { team: 'sky' } });
    assert.deepEqual(policy.snapshotSchedulePolicy.schedule, {
      dailySchedule: { daysInCycle: 1, startTime: '04:00' },
    });
  });

  it('refuses what insert refuses, a rename, and an absent policy, changing nothing', async () => {
    standIn.putResourcePolicy({ project: P, name: 'p3' });
    const offHour = await failure(
      patch('p3', {
        snapshotSchedulePolicy: { schedule: { dailySchedule: { daysInCycle: 1, startTime: '04:30' } } },
      }),
    );
    assert.equal(offHour.status, 400);
    assert.match(offHour.message, /startTime.*on the hour/);
    const rename = await failure(patch('p3', { name: 'other' }));
    assert.equal(rename.status, 400);
    assert.match(rename.message, /cannot be renamed/);
    const absent = await failure(patch('nope', { description: 'x' }));
    assert.equal(absent.status, 404);
    assert.deepEqual(stored('p3').snapshotSchedulePolicy.schedule, {
      dailySchedule: { daysInCycle: 1, startTime: '04:00' },
    });
  });

  it('a lost answer: the patch was made; the retry with its requestId gets the first operation', async () => {
    standIn.putResourcePolicy({ project: P, name: 'p4' });
    const requestId = '6f1e2d3c-4b5a-4968-8776-655443322110';
    const body = {
      snapshotSchedulePolicy: { schedule: { dailySchedule: { daysInCycle: 1, startTime: '09:00' } } },
    };
    standIn.inject({ kind: 'drop', method: 'PATCH', path: '/resourcePolicies/p4' });
    await assert.rejects(patch('p4', body, requestId));
    assert.equal(stored('p4').snapshotSchedulePolicy.schedule.dailySchedule?.startTime, '09:00');
    const again = await patch('p4', body, requestId);
    assert.equal(again.status, 'DONE');
    assert.equal(
      standIn.operations().filter((o) => o.operationType === 'patch' && o.targetLink.endsWith('/p4')).length,
      1,
    );
  });
});
