import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, httpStatus } from '../../src/clients/compute.js';
import { loadedComputeClients } from '../../src/clients/computeLibrary.js';
import { COMPUTE_CALLS } from '../../src/clients/computeProtos.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

const PROJECT = 'skyha-test-project';
const ZONE = 'us-east5-b';
const REGION = 'us-east5';

describe('createComputeClients', () => {
  let standIn: ComputeStandIn;
  before(async () => {
    standIn = await startComputeStandIn();
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: 'zonal', sizeGb: 10 });
    standIn.putDisk({
      project: PROJECT,
      region: REGION,
      replicaZones: [ZONE, 'us-east5-c'],
      name: 'regional',
      sizeGb: 20,
    });
    standIn.putSnapshot({ project: PROJECT, name: 'snap', diskSizeGb: 10 });
  });
  after(() => standIn.close());

  const withToken = (): OAuth2Client => {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    return auth;
  };

  it('a call made before the library has loaded waits for it, then goes out', async () => {
    const clients = createComputeClients({
      project: PROJECT,
      endpoint: standIn.url,
      authClient: withToken(),
    });
    const [disk] = await clients.disks.get({ project: PROJECT, zone: ZONE, disk: 'zonal' });
    assert.equal(disk.sizeGb, '10');
    await clients.ready;
  });

  it('failures come back as the library reports them, whatever the client', async () => {
    const clients = createComputeClients({
      project: PROJECT,
      endpoint: standIn.url,
      authClient: withToken(),
    });
    const missing = clients.regionDisks.get({ project: PROJECT, region: REGION, disk: 'no-such-disk' });
    await assert.rejects(missing, (error: unknown) => httpStatus(error) === 404);
    const [snapshot] = await clients.snapshots.get({ project: PROJECT, snapshot: 'snap' });
    assert.equal(snapshot.diskSizeGb, '10');
  });

  it('all clients share one set of credentials: one workload identity token exchange', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-wif-'));
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      process.env.GOOGLE_APPLICATION_CREDENTIALS = standIn.writeExternalAccountCredentials(dir);
      const before = standIn.tokenExchanges();
      const clients = createComputeClients({ project: PROJECT, endpoint: standIn.url });
      const reads = await Promise.all([
        clients.disks.get({ project: PROJECT, zone: ZONE, disk: 'zonal' }),
        clients.regionDisks.get({ project: PROJECT, region: REGION, disk: 'regional' }),
      ]);
      await clients.snapshots.get({ project: PROJECT, snapshot: 'snap' });
      assert.deepEqual(
        reads.map(([d]) => d.name),
        ['zonal', 'regional'],
      );
      assert.equal(standIn.tokenExchanges() - before, 1);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the library is ready while the token exchange still waits for its answer, not only after it', async () => {
    // A token endpoint that holds the exchange until told, then passes it on to the stand-in's.
    let arrived = (): void => undefined;
    const atEndpoint = new Promise<void>((resolve) => (arrived = resolve));
    let answer = (): void => undefined;
    const answerNow = new Promise<void>((resolve) => (answer = resolve));
    const sts = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        arrived();
        void answerNow
          .then(() =>
            fetch(`${standIn.url}/v1/token`, {
              method: 'POST',
              headers: { 'content-type': req.headers['content-type'] ?? '' },
              body: Buffer.concat(chunks),
            }),
          )
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': 'application/json' });
            res.end(await r.text());
          });
      });
    });
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-wif-'));
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      const file = standIn.writeExternalAccountCredentials(dir);
      const held = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split(standIn.url).join(held));
      process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
      const clients = createComputeClients({ project: PROJECT, endpoint: standIn.url });
      await atEndpoint;
      // Loaded while the exchange is held: were it loaded only after the answer, this would never settle.
      await clients.ready;
      answer();
      const [disk] = await clients.disks.get({ project: PROJECT, zone: ZONE, disk: 'zonal' });
      assert.equal(disk.name, 'zonal');
    } finally {
      answer();
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
      fs.rmSync(dir, { recursive: true, force: true });
      sts.closeAllConnections();
      await new Promise<void>((resolve) => sts.close(() => resolve()));
    }
  });

  it('offers every call in COMPUTE_CALLS, each a method of the real client', () => {
    const clients = createComputeClients({
      project: PROJECT,
      endpoint: standIn.url,
      authClient: withToken(),
    });
    const loaded = loadedComputeClients({ base: { projectId: PROJECT }, authClient: withToken() });
    for (const [key, { methods }] of Object.entries(COMPUTE_CALLS)) {
      const deferred = clients[key as keyof typeof COMPUTE_CALLS] as unknown as Record<string, unknown>;
      const real = loaded[key as keyof typeof COMPUTE_CALLS] as unknown as Record<string, unknown>;
      assert.deepEqual(Object.keys(deferred).sort(), [...methods].sort(), key);
      for (const method of methods) assert.equal(typeof real[method], 'function', `${key}.${method}`);
    }
  });
});
