import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { AddressesClient } from '@google-cloud/compute/build/src/v1/addresses_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';
import {
  call,
  clientOptions,
  operationOf,
  rejection,
  waitDone,
  type Operation,
} from '../support/computeStandIn.js';
import { needsLoadBalancerAddresses } from '../support/network.js';

// Regional addresses in the Compute stand-in through the real client (AddressesClient, REST fallback), and over
// plain HTTP where the exact error body matters.

type Address = protos.google.cloud.compute.v1.IAddress;

const P = 'proj-addresses';
const REGION = 'us-east5';
const GCE = 'https://www.googleapis.com/compute/v1';
const V1 = `/compute/v1/projects/${P}/regions/${REGION}`;
/** A loopback address other than 127.0.0.x, as the Kubernetes stand-in's load balancers use. */
const LOOPBACK = /^127\.([1-9]\d{0,2})\.\d{1,3}\.\d{1,3}$/;

describe('Compute stand-in: regional addresses (real client)', () => {
  let standIn: ComputeStandIn;
  let addresses: AddressesClient;
  let operations: RegionOperationsClient;

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const options = clientOptions(standIn, P);
    addresses = new AddressesClient(options);
    operations = new RegionOperationsClient(options);
  });
  after(() => standIn.close());

  const wait = (op: Operation) =>
    waitDone((operation) => operations.wait({ project: P, region: REGION, operation }), op);
  const get = async (name: string): Promise<Address> =>
    (await addresses.get({ project: P, region: REGION, address: name }))[0];
  const insert = async (addressResource: Address, requestId?: string) =>
    operationOf(
      await addresses.insert({
        project: P,
        region: REGION,
        addressResource,
        ...(requestId ? { requestId } : {}),
      }),
    );

  describe('insert and get', () => {
    it('reserves an external address through a region operation: RESERVING, then RESERVED, with GCE fields', async () => {
      const op = await insert({
        name: 'static-ip',
        description: 'the API server',
        labels: { 'managed-by': 'skyha-action' },
      });
      assert.equal(op.operationType, 'insert');
      assert.equal(op.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal(op.targetLink, `${GCE}/projects/${P}/regions/${REGION}/addresses/static-ip`);
      assert.equal((await get('static-ip')).status, 'RESERVING');
      assert.equal((await wait(op)).status, 'DONE');

      const address = await get('static-ip');
      assert.equal(address.status, 'RESERVED');
      assert.equal(address.kind, 'compute#address');
      assert.equal(address.name, 'static-ip');
      assert.equal(address.description, 'the API server');
      assert.equal(address.addressType, 'EXTERNAL');
      assert.equal(address.networkTier, 'PREMIUM');
      assert.equal(address.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal(address.selfLink, op.targetLink);
      assert.equal(String(address.id), op.targetId);
      assert.deepEqual(address.labels, { 'managed-by': 'skyha-action' });
      assert.ok(address.labelFingerprint);
      assert.match(String(address.creationTimestamp), /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual(address.users ?? [], []);
      assert.match(address.address!, LOOPBACK);
      assert.deepEqual(
        standIn.address(op.targetLink!),
        standIn.address(`projects/${P}/regions/${REGION}/addresses/static-ip`),
      );
    });

    it('hands out an IP this machine can listen on', { skip: needsLoadBalancerAddresses }, async () => {
      const ip = (await get('static-ip')).address!;
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, ip, resolve);
      });
      assert.equal((server.address() as net.AddressInfo).address, ip);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('answers a repeated requestId with the first operation; another requestId gets 409 alreadyExists', async () => {
      const requestId = '5a5a5a5a-1111-4222-8333-444444444444';
      const first = await insert({ name: 'retried', networkTier: 'STANDARD' }, requestId);
      const again = await insert({ name: 'retried', networkTier: 'STANDARD' }, requestId);
      assert.equal(again.name, first.name);
      assert.equal(standIn.addresses().filter((a) => a.name === 'retried').length, 1);
      assert.equal(
        standIn.address(`projects/${P}/regions/${REGION}/addresses/retried`)?.networkTier,
        'STANDARD',
      );
      const refused = await rejection(insert({ name: 'retried' }, '5a5a5a5a-1111-4222-8333-555555555555'));
      assert.deepEqual(refused, {
        status: 409,
        reason: 'alreadyExists',
        message: `The resource 'projects/${P}/regions/${REGION}/addresses/retried' already exists`,
      });
    });

    it('gives every address its own IP and reserves a requested one only if no address holds it', async () => {
      const ips = new Set(standIn.addresses().map((a) => a.address));
      assert.equal(ips.size, standIn.addresses().length);
      const held = standIn.addresses()[0]!.address;
      const taken = await call(standIn, 'POST', `${V1}/addresses`, { name: 'same-ip', address: held });
      assert.equal(taken.status, 400);
      assert.match((taken.json.error as { message: string }).message, /'resource\.address'.*in use by/);
      const chosen = await insert({ name: 'chosen-ip', address: '127.42.0.7' });
      await wait(chosen);
      assert.equal((await get('chosen-ip')).address, '127.42.0.7');
      assert.throws(
        () => standIn.putAddress({ project: P, name: 'seed-same', address: '127.42.0.7' }),
        /127\.42\.0\.7/,
      );
    });

    const invalidInserts: [string, Record<string, unknown>, RegExp][] = [
      ['a name with capitals', { name: 'Static' }, /'resource\.name': 'Static'/],
      [
        'an internal address',
        { name: 'internal', addressType: 'INTERNAL' },
        /'resource\.addressType': 'INTERNAL'/,
      ],
      ['an unknown network tier', { name: 'tier', networkTier: 'GOLD' }, /'resource\.networkTier': 'GOLD'/],
      ['a bad label key', { name: 'label', labels: { Bad: 'x' } }, /label key 'Bad'/],
      [
        'an IP that is not loopback',
        { name: 'public', address: '34.1.2.3' },
        /'resource\.address': '34\.1\.2\.3'/,
      ],
      ['127.0.0.x', { name: 'low', address: '127.0.0.9' }, /'resource\.address': '127\.0\.0\.9'/],
    ];
    for (const [what, body, message] of invalidInserts) {
      it(`refuses ${what} with 400 invalid and reserves nothing`, async () => {
        const { status, json } = await call(standIn, 'POST', `${V1}/addresses`, body);
        assert.equal(status, 400);
        const error = json.error as { message: string; errors: { reason: string }[] };
        assert.equal(error.errors[0]!.reason, 'invalid');
        assert.match(error.message, message);
        assert.equal(
          standIn.addresses().some((a) => a.name === body.name),
          false,
        );
      });
    }

    it('answers an absent address with 404 notFound in GCE format', async () => {
      const { status, json } = await call(standIn, 'GET', `${V1}/addresses/absent`);
      assert.equal(status, 404);
      const message = `The resource 'projects/${P}/regions/${REGION}/addresses/absent' was not found`;
      assert.deepEqual(json, {
        error: {
          code: 404,
          message,
          errors: [{ message, domain: 'global', reason: 'notFound' }],
          status: 'NOT_FOUND',
        },
      });
    });
  });

  describe('list', () => {
    before(() => {
      for (const [i, env] of ['prod', 'staging', 'prod', 'dev', 'prod'].entries())
        standIn.putAddress({ project: P, region: 'europe-west4', name: `eu-${i}`, labels: { env } });
      standIn.putAddress({ project: P, region: 'asia-east1', name: 'elsewhere', labels: { env: 'prod' } });
    });

    it('lists one region with a filter, as compute#addressList', async () => {
      const [prod] = await addresses.list({
        project: P,
        region: 'europe-west4',
        filter: 'labels.env = "prod"',
      });
      assert.deepEqual(
        prod.map((a) => a.name),
        ['eu-0', 'eu-2', 'eu-4'],
      );
      const raw = await call(standIn, 'GET', `/compute/v1/projects/${P}/regions/europe-west4/addresses`);
      assert.equal(raw.json.kind, 'compute#addressList');
      assert.equal(raw.json.selfLink, `${GCE}/projects/${P}/regions/europe-west4/addresses`);
      assert.equal((raw.json.items as unknown[]).length, 5, 'asia-east1 is not listed');
    });

    it('pages with maxResults and nextPageToken', async () => {
      const pages: string[][] = [];
      let request: protos.google.cloud.compute.v1.IListAddressesRequest | null = {
        project: P,
        region: 'europe-west4',
        maxResults: 2,
      };
      while (request && pages.length < 5) {
        const [items, next]: [
          Address[],
          protos.google.cloud.compute.v1.IListAddressesRequest | null,
          unknown,
        ] = await addresses.list(request, { autoPaginate: false });
        pages.push(items.map((a) => a.name!));
        request = next;
      }
      assert.deepEqual(pages, [['eu-0', 'eu-1'], ['eu-2', 'eu-3'], ['eu-4']]);
    });

    it('refuses a filter on a field an Address does not have', async () => {
      const { status } = await call(
        standIn,
        'GET',
        `/compute/v1/projects/${P}/regions/europe-west4/addresses?filter=${encodeURIComponent('sizeGb = 10')}`,
      );
      assert.equal(status, 400);
    });
  });

  describe('setLabels', () => {
    it('replaces the labels through a region operation when the fingerprint is current', async () => {
      const before = await get('static-ip');
      const op = operationOf(
        await addresses.setLabels({
          project: P,
          region: REGION,
          resource: 'static-ip',
          regionSetLabelsRequestResource: {
            labels: { 'managed-by': 'skyha-action', release: 'skypilot' },
            labelFingerprint: before.labelFingerprint!,
          },
        }),
      );
      assert.equal(op.operationType, 'setLabels');
      assert.equal(op.region, `${GCE}/projects/${P}/regions/${REGION}`);
      assert.equal((await wait(op)).status, 'DONE');
      const after = await get('static-ip');
      assert.deepEqual(after.labels, { 'managed-by': 'skyha-action', release: 'skypilot' });
      assert.notEqual(after.labelFingerprint, before.labelFingerprint);
    });

    it('answers a stale fingerprint with 412 conditionNotMet, GCE body, labels unchanged', async () => {
      const before = await get('static-ip');
      const { status, json } = await call(standIn, 'POST', `${V1}/addresses/static-ip/setLabels`, {
        labels: { other: 'x' },
        labelFingerprint: 'c3RhbGUtZnA=',
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
      const missing = await call(standIn, 'POST', `${V1}/addresses/static-ip/setLabels`, {
        labels: { other: 'x' },
      });
      assert.equal(missing.status, 412, 'a labelled address needs the fingerprint');
      assert.deepEqual((await get('static-ip')).labels, before.labels);
    });

    it('is refused through the client with 412, as the action sees it', async () => {
      const refused = await rejection(
        addresses.setLabels({
          project: P,
          region: REGION,
          resource: 'static-ip',
          regionSetLabelsRequestResource: { labels: {}, labelFingerprint: 'c3RhbGUtZnA=' },
        }),
      );
      assert.equal(refused.status, 412);
      assert.equal(refused.reason, 'conditionNotMet');
    });
  });

  describe('the forwarding-rule link', () => {
    const rule = (name: string) => `${GCE}/projects/${P}/regions/${REGION}/forwardingRules/${name}`;

    it('IN_USE with the rule as its user, refused to another rule, RESERVED again when freed', async () => {
      const seeded = standIn.putAddress({ project: P, name: 'lb-ip' });
      assert.equal(seeded.status, 'RESERVED');
      assert.match(seeded.address, LOOPBACK);
      assert.equal(standIn.useAddress(seeded.address, 'a1b2c3'), true);
      const used = await get('lb-ip');
      assert.equal(used.status, 'IN_USE');
      assert.deepEqual(used.users, [rule('a1b2c3')]);
      assert.equal(standIn.useAddress(seeded.address, 'other-rule'), false, 'held by another rule');
      assert.deepEqual((await get('lb-ip')).users, [rule('a1b2c3')]);
      assert.equal(standIn.useAddress(seeded.address, 'a1b2c3'), true, 'the same rule again');

      assert.equal(standIn.freeAddress('a1b2c3'), true);
      const freed = await get('lb-ip');
      assert.equal(freed.status, 'RESERVED');
      assert.deepEqual(freed.users ?? [], []);
      assert.equal(standIn.freeAddress('a1b2c3'), false, 'nothing left to free');
      assert.equal(standIn.useAddress(seeded.address, 'other-rule'), true, 'free for another rule now');
      standIn.freeAddress('other-rule');
    });

    it('refuses an IP that is no reserved address of the stand-in, and one still RESERVING', async () => {
      assert.equal(standIn.useAddress('127.200.1.1', 'ephemeral'), false);
      const op = await insert({ name: 'reserving' });
      const ip = standIn.address(`projects/${P}/regions/${REGION}/addresses/reserving`)!.address;
      assert.equal(standIn.useAddress(ip, 'early'), false);
      await wait(op);
      assert.equal(standIn.useAddress(ip, 'early'), true);
      standIn.freeAddress('early');
    });

    it('a rule uses one IP: moving it to another address frees the first', () => {
      const first = standIn.putAddress({ project: P, name: 'move-a' });
      const second = standIn.putAddress({ project: P, name: 'move-b' });
      assert.equal(standIn.useAddress(first.address, 'moving'), true);
      assert.equal(standIn.useAddress(second.address, 'moving'), true);
      assert.equal(standIn.address(first.selfLink)!.status, 'RESERVED');
      assert.equal(standIn.address(second.selfLink)!.status, 'IN_USE');
      standIn.freeAddress('moving');
    });

    it('an insert naming the ephemeral IP a rule holds promotes it: IN_USE by that rule once DONE, as GCE does', async () => {
      const ip = '127.201.3.4';
      standIn.holdEphemeralAddress(ip, 'ephemeral-rule');
      const op = await insert({ name: 'promoted', address: ip });
      assert.equal((await get('promoted')).status, 'RESERVING');
      await wait(op);
      const promoted = await get('promoted');
      assert.equal(promoted.address, ip);
      assert.equal(promoted.status, 'IN_USE');
      assert.deepEqual(promoted.users, [rule('ephemeral-rule')]);
      assert.equal(standIn.useAddress(ip, 'ephemeral-rule'), true, 'the rule keeps it');
      assert.equal(standIn.useAddress(ip, 'another-rule'), false);
      // The rule deleted (its Service gone, or its cluster): the address stays, RESERVED.
      assert.equal(standIn.freeAddress('ephemeral-rule'), true);
      assert.equal((await get('promoted')).status, 'RESERVED');
    });

    it('an ephemeral IP whose rule is gone is promoted to nobody: a plain RESERVED address', async () => {
      const ip = '127.201.3.5';
      standIn.holdEphemeralAddress(ip, 'short-lived');
      assert.equal(standIn.freeAddress('short-lived'), false, 'it held no address resource');
      await wait(await insert({ name: 'unheld', address: ip }));
      const unheld = await get('unheld');
      assert.equal(unheld.status, 'RESERVED');
      assert.deepEqual(unheld.users ?? [], []);
    });

    it('seeds an address in use by a rule left behind', () => {
      const seeded = standIn.putAddress({ project: P, name: 'left-behind', users: ['dead-cluster-rule'] });
      assert.equal(seeded.status, 'IN_USE');
      assert.deepEqual(seeded.users, [rule('dead-cluster-rule')]);
      assert.equal(standIn.useAddress(seeded.address, 'new-cluster-rule'), false);
    });
  });

  describe('delete', () => {
    it('refuses to release an address in use, naming the forwarding rule', async () => {
      const { status, json } = await call(standIn, 'DELETE', `${V1}/addresses/left-behind`);
      assert.equal(status, 400);
      const error = json.error as { message: string; errors: { reason: string }[] };
      assert.equal(error.errors[0]!.reason, 'resourceInUseByAnotherResource');
      assert.equal(
        error.message,
        `The address resource 'projects/${P}/regions/${REGION}/addresses/left-behind' is already being used by 'projects/${P}/regions/${REGION}/forwardingRules/dead-cluster-rule'`,
      );
    });

    it('releases a reserved address through a region operation', async () => {
      const op = operationOf(await addresses.delete({ project: P, region: REGION, address: 'chosen-ip' }));
      assert.equal(op.operationType, 'delete');
      assert.equal((await wait(op)).status, 'DONE');
      assert.equal((await rejection(get('chosen-ip'))).status, 404);
    });
  });
});
