import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { AddressesClient } from '@google-cloud/compute/build/src/v1/addresses_client.js';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { RegionOperationsClient } from '@google-cloud/compute/build/src/v1/region_operations_client.js';
import { ResourcePoliciesClient } from '@google-cloud/compute/build/src/v1/resource_policies_client.js';
import { SnapshotsClient } from '@google-cloud/compute/build/src/v1/snapshots_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { OAuth2Client } from 'google-auth-library';
import { protobuf, type ClientOptions } from 'google-gax';
import { apiErrorDetail, httpStatus } from '../../src/clients/compute.js';
import { loadedComputeClients } from '../../src/clients/computeLibrary.js';
import {
  COMPUTE_CALLS,
  protoMethodName,
  trimComputeProtos,
  type ProtoNode,
} from '../../src/clients/computeProtos.js';

const require = createRequire(import.meta.url);
const full = require('@google-cloud/compute/build/protos/protos.json') as ProtoNode;
const V1 = 'google.cloud.compute.v1';
const v1Of = (root: ProtoNode): Record<string, ProtoNode> =>
  root.nested!.google!.nested!.cloud!.nested!.compute!.nested!.v1!.nested!;

describe('trimComputeProtos', () => {
  const trimmed = trimComputeProtos(full);

  it('keeps exactly the calls in COMPUTE_CALLS, each service with only those methods', () => {
    const v1 = v1Of(trimmed);
    for (const { service, methods } of Object.values(COMPUTE_CALLS)) {
      assert.deepEqual(
        Object.keys(v1[service]!.methods!).sort(),
        methods.map(protoMethodName).sort(),
        service,
      );
    }
    const services = Object.keys(v1).filter((name) => v1[name]!.methods);
    assert.deepEqual(
      services.sort(),
      Object.values(COMPUTE_CALLS)
        .map((c) => c.service)
        .sort(),
    );
  });

  it('is complete: protobufjs resolves every type the kept calls reach', () => {
    const root = protobuf.Root.fromJSON(trimmed);
    for (const { service } of Object.values(COMPUTE_CALLS))
      root.lookupService(`${V1}.${service}`).resolveAll();
    // Far smaller than the package's: v1beta and v1small gone, v1 down to what the calls reach.
    assert.ok(Object.keys(v1Of(trimmed)).length < 150, `${Object.keys(v1Of(trimmed)).length} v1 entries`);
    assert.equal(full.nested!.google!.nested!.cloud!.nested!.compute!.nested!.v1beta !== undefined, true);
    assert.deepEqual(Object.keys(trimmed.nested!.google!.nested!.cloud!.nested!.compute!.nested!), ['v1']);
  });

  it('is idempotent and does not change its input', () => {
    const before = JSON.stringify(v1Of(full).Disks);
    assert.equal(JSON.stringify(trimComputeProtos(trimmed)), JSON.stringify(trimmed));
    assert.equal(JSON.stringify(v1Of(full).Disks), before);
  });

  it('refuses a call the package does not have', () => {
    assert.throws(
      () => trimComputeProtos(full, { disks: { service: 'Disks', methods: ['explode'] } }),
      /Disks has no method Explode/,
    );
    assert.throws(() => trimComputeProtos(full, { x: { service: 'Nope', methods: [] } }), /no service Nope/);
  });
});

// Differential: each call sends the same HTTP request and decodes the same answer with the trimmed descriptors
// as with the package's own, against a local server that records what it gets and answers with a sample.
describe('the trimmed clients against the package clients, call by call', () => {
  const fullRoot = protobuf.Root.fromJSON(full);
  const seen: { method: string; url: string; body: string }[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let server: http.Server;
  let base: ClientOptions;
  const packageClients: Record<keyof typeof COMPUTE_CALLS, new (o: ClientOptions) => object> = {
    disks: DisksClient,
    regionDisks: RegionDisksClient,
    zoneOperations: ZoneOperationsClient,
    regionOperations: RegionOperationsClient,
    globalOperations: GlobalOperationsClient,
    snapshots: SnapshotsClient,
    resourcePolicies: ResourcePoliciesClient,
    addresses: AddressesClient,
  };

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
    const port = (server.address() as AddressInfo).port;
    base = {
      projectId: 'p',
      fallback: true,
      apiEndpoint: '127.0.0.1',
      port,
      protocol: 'http',
      authClient: auth,
    };
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  type Call = (request: unknown, options: unknown) => Promise<unknown[]>;
  const call = async (client: object, method: string, request: unknown): Promise<[unknown, unknown]> => {
    seen.splice(0);
    const options = { timeout: 5_000, maxRetries: 0, autoPaginate: false };
    const outcome = await (client as Record<string, Call>)[method]!.call(client, request, options).then(
      (result) => ({ result: JSON.parse(JSON.stringify(result[0])) as unknown }),
      (error: unknown) => ({ status: httpStatus(error), detail: apiErrorDetail(error) }),
    );
    assert.equal(seen.length, 1, `${method}: one request`);
    return [seen[0], outcome];
  };

  for (const [key, { service, methods }] of Object.entries(COMPUTE_CALLS) as [
    keyof typeof COMPUTE_CALLS,
    (typeof COMPUTE_CALLS)[keyof typeof COMPUTE_CALLS],
  ][]) {
    for (const method of methods) {
      it(`${service}.${method}: same request, same answer, same error`, async () => {
        const rpc = fullRoot.lookupService(`${V1}.${service}`).methods[protoMethodName(method)]!;
        rpc.resolve();
        const request = sample(rpc.resolvedRequestType!, 0);
        const trimmed = loadedComputeClients({ base })[key];
        const packaged = new packageClients[key](base);
        for (const reply of [
          { status: 200, body: sample(rpc.resolvedResponseType!, 0) },
          { status: 404, body: { error: { code: 404, message: 'gone', errors: [{ reason: 'notFound' }] } } },
        ]) {
          answer = reply;
          const [sentTrimmed, gotTrimmed] = await call(trimmed, method, request);
          const [sentPackaged, gotPackaged] = await call(packaged, method, request);
          assert.deepEqual(sentTrimmed, sentPackaged);
          assert.deepEqual(gotTrimmed, gotPackaged);
        }
        // The sample fills every field, so a path template and a body were both exercised.
        assert.match(seen[0]!.url, /^\/compute\/v1\/projects\/s-project\//);
      });
    }
  }
});

/** A value for every field of a message (two levels deep), in the JSON form the REST API speaks. */
function sample(type: protobuf.Type, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    let value: unknown;
    if (field.resolvedType instanceof protobuf.Type) {
      if (depth >= 2) continue;
      value = sample(field.resolvedType, depth + 1);
    } else if (field.resolvedType instanceof protobuf.Enum) {
      value = Object.keys(field.resolvedType.values)[1] ?? Object.keys(field.resolvedType.values)[0];
    } else {
      value = scalar(field.type, field.name);
    }
    if (field.name === 'nextPageToken') continue;
    out[field.name] = field.map ? { k: value } : field.repeated ? [value] : value;
  }
  return out;
}

function scalar(type: string, name: string): unknown {
  if (type === 'string') return `s-${name}`;
  if (type === 'bool') return true;
  if (type === 'bytes') return 'AQI=';
  if (type === 'double' || type === 'float') return 1.5;
  if (/64$/.test(type)) return '7';
  return 7;
}
