import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError, TakenError } from '../../src/lib/errors.js';
import {
  applyDiskPlan,
  observeDisk,
  planDisk,
  diskTarget,
  type DiskTarget,
  type ObservedDisk,
} from '../../src/steps/disk.js';
import { parseConfig } from '../../src/config/config.js';
import { ensureDisk } from '../support/steps.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

const PROJECT = 'skyha-test-project';
const ZONE = 'us-east5-b';

function target(overrides: Partial<DiskTarget> = {}): DiskTarget {
  return {
    project: PROJECT,
    name: 'sky-api-server-state',
    zone: ZONE,
    region: 'us-east5',
    replicaZones: [],
    sizeGb: 10,
    type: 'pd-balanced',
    labels: { 'managed-by': 'skyha-action', 'skyha-release': 'skypilot' },
    description: 'SkyPilot API server state',
    ...overrides,
  };
}

function observed(overrides: Partial<ObservedDisk> = {}): ObservedDisk {
  return {
    resourcePath: `projects/${PROJECT}/zones/${ZONE}/disks/sky-api-server-state`,
    name: 'sky-api-server-state',
    selfLink: '',
    sizeGb: 10,
    type: 'pd-balanced',
    status: 'READY',
    users: [],
    labels: {},
    zones: [ZONE],
    regional: false,
    sourceSnapshot: undefined,
    ...overrides,
  };
}

const node = (name: string): string =>
  `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${name}`;

describe('planDisk', () => {
  const cases: {
    name: string;
    target?: Partial<DiskTarget>;
    observed: Partial<ObservedDisk> | undefined;
    nodes?: string[];
    action: 'use' | 'create' | 'refuse';
    text?: RegExp;
    warnings?: number;
  }[] = [
    { name: 'absent -> create', observed: undefined, action: 'create' },
    { name: 'same size and type -> use, no warnings', observed: {}, action: 'use', warnings: 0 },
    {
      name: 'smaller -> refuse, never resize',
      observed: { sizeGb: 5 },
      target: { sizeGb: 10 },
      action: 'refuse',
      text: /5 GB, smaller than disk-size 10 GB/,
    },
    { name: 'larger -> use at real size', observed: { sizeGb: 200 }, action: 'use', warnings: 0 },
    {
      name: 'other type -> use with a warning',
      observed: { type: 'pd-ssd' },
      action: 'use',
      text: /pd-ssd, not disk-type pd-balanced/,
      warnings: 1,
    },
    {
      name: 'attached to a lost cluster node -> refuse naming it',
      observed: { users: [node('gke-old-pool-1-abc')] },
      action: 'refuse',
      text: /attached to gke-old-pool-1-abc/,
    },
    {
      name: 'attached to a target cluster node -> use',
      observed: { users: [node('gke-new-1')] },
      nodes: ['gke-new-1', 'gke-new-2'],
      action: 'use',
    },
    {
      name: 'attached to one of ours and one other -> refuse naming the other',
      observed: { users: [node('gke-new-1'), node('gke-old-9')] },
      nodes: ['gke-new-1'],
      action: 'refuse',
      text: /attached to gke-old-9,? which is not/,
    },
    { name: 'FAILED -> refuse', observed: { status: 'FAILED' }, action: 'refuse', text: /is FAILED/ },
    { name: 'CREATING -> use (apply waits for READY)', observed: { status: 'CREATING' }, action: 'use' },
    {
      name: 'snapshot asked but disk exists -> use, warn that it is ignored',
      observed: {},
      target: { sourceSnapshot: 'snap-1' },
      action: 'use',
      text: /snap-1 is ignored/,
      warnings: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planDisk(target(c.target), c.observed && observed(c.observed), {
        clusterNodeNames: c.nodes ?? [],
      });
      assert.equal(plan.action, c.action);
      const text = plan.action === 'refuse' ? `${plan.reason} ${plan.hint}` : plan.warnings.join(' ');
      if (c.text) assert.match(text, c.text);
      if (c.warnings !== undefined && plan.action !== 'refuse')
        assert.equal(plan.warnings.length, c.warnings);
    });
  }

  it('builds the insert body in the API shape: sizeGb string, type URL, labels, description', () => {
    const plan = planDisk(target(), undefined, {});
    assert.equal(plan.action, 'create');
    assert.deepEqual(plan.request.disk, {
      name: 'sky-api-server-state',
      sizeGb: '10',
      type: `projects/${PROJECT}/zones/${ZONE}/diskTypes/pd-balanced`,
      labels: { 'managed-by': 'skyha-action', 'skyha-release': 'skypilot' },
      description: 'SkyPilot API server state',
    });
  });

  it('builds a regional body with replica zones and a snapshot source', () => {
    const plan = planDisk(
      target({ replicaZones: ['us-east5-a', 'us-east5-b'], sourceSnapshot: 'snap-1' }),
      undefined,
      {},
    );
    assert.equal(plan.action, 'create');
    assert.equal(
      plan.request.resourcePath,
      `projects/${PROJECT}/regions/us-east5/disks/sky-api-server-state`,
    );
    assert.equal(plan.request.disk.type, `projects/${PROJECT}/regions/us-east5/diskTypes/pd-balanced`);
    assert.deepEqual(plan.request.disk.replicaZones, [
      `projects/${PROJECT}/zones/us-east5-a`,
      `projects/${PROJECT}/zones/us-east5-b`,
    ]);
    assert.equal(plan.request.disk.sourceSnapshot, `projects/${PROJECT}/global/snapshots/snap-1`);
  });

  it('diskTarget labels the disk with the action and the release', () => {
    const inputs: Record<string, string> = {
      project: PROJECT,
      zone: ZONE,
      'web-password': 'pw',
      'release-name': 'my-sky',
    };
    const t = diskTarget(parseConfig((n) => inputs[n] ?? '', {}));
    assert.deepEqual(t.labels, { 'managed-by': 'skyha-action', 'skyha-release': 'my-sky' });
    assert.equal(t.sizeGb, 10);
  });
});

describe('ensureDisk against the Compute API stand-in', () => {
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  const deadline = (): Deadline => new Deadline(60_000);
  const writes = (): string[] =>
    standIn.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 3, readyPolls: 1 });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
  });
  after(() => standIn.close());
  beforeEach(() => standIn.requests.splice(0));

  const opts = { pollIntervalMs: 10 };
  let n = 0;
  const fresh = (overrides: Partial<DiskTarget> = {}): DiskTarget =>
    target({ name: `disk-${++n}`, ...overrides });

  it('creates an absent disk with the right body, waits for the operation and READY', async () => {
    const t = fresh();
    const { labels, labelFingerprint, ...facts } = await ensureDisk(clients, t, deadline(), opts);
    assert.deepEqual(facts, {
      resourcePath: `projects/${PROJECT}/zones/${ZONE}/disks/${t.name}`,
      name: t.name,
      sizeGb: 10,
      zones: [ZONE],
      regional: false,
      created: true,
      type: 'pd-balanced',
    });
    // The labels as read, with the fingerprint a later setLabels (the server version's record) sends back.
    assert.deepEqual(labels, { 'managed-by': 'skyha-action', 'skyha-release': 'skypilot' });
    assert.equal(labelFingerprint, standIn.disk(facts.resourcePath)?.labelFingerprint);
    const insert = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/disks'))!;
    assert.equal(insert.path, `/compute/v1/projects/${PROJECT}/zones/${ZONE}/disks`);
    assert.match(
      insert.query.requestId ?? '',
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const body = insert.body as Record<string, unknown>;
    assert.equal(body.name, t.name);
    assert.equal(body.sizeGb, '10');
    assert.equal(body.type, `projects/${PROJECT}/zones/${ZONE}/diskTypes/pd-balanced`);
    assert.deepEqual(body.labels, { 'managed-by': 'skyha-action', 'skyha-release': 'skypilot' });
    assert.equal(body.description, 'SkyPilot API server state');
    assert.ok(
      standIn.requests.some((r) => r.path.endsWith('/wait')),
      'waited on the zone operation',
    );
    const disk = standIn.disks().find((d) => d.name === t.name)!;
    assert.equal(disk.status, 'READY');
  });

  it('a converged run makes exactly one read and no write', async () => {
    const t = fresh();
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10 });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.created, false);
    assert.deepEqual(
      standIn.requests.map((r) => `${r.method} ${r.path}`),
      [`GET /compute/v1/projects/${PROJECT}/zones/${ZONE}/disks/${t.name}`],
    );
  });

  it('creates a regional disk with replica zones, from a snapshot', async () => {
    standIn.putSnapshot({ project: PROJECT, name: 'state-backup', diskSizeGb: 10 });
    const t = fresh({ replicaZones: ['us-east5-a', 'us-east5-b'], sourceSnapshot: 'state-backup' });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.resourcePath, `projects/${PROJECT}/regions/us-east5/disks/${t.name}`);
    assert.deepEqual(facts.zones, ['us-east5-a', 'us-east5-b']);
    assert.equal(facts.regional, true);
    const insert = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/disks'))!;
    assert.equal(insert.path, `/compute/v1/projects/${PROJECT}/regions/us-east5/disks`);
    const body = insert.body as Record<string, unknown>;
    assert.deepEqual(body.replicaZones, [
      `projects/${PROJECT}/zones/us-east5-a`,
      `projects/${PROJECT}/zones/us-east5-b`,
    ]);
    assert.equal(body.sourceSnapshot, `projects/${PROJECT}/global/snapshots/state-backup`);
    assert.ok(
      standIn.requests.some((r) => r.path.includes('/regions/us-east5/operations/')),
      'waited on the region operation',
    );
    assert.match(
      standIn.disks().find((d) => d.name === t.name)!.sourceSnapshot ?? '',
      /global\/snapshots\/state-backup$/,
    );
  });

  it('refuses a smaller disk and never writes', async () => {
    const t = fresh({ sizeGb: 20 });
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10 });
    await assert.rejects(ensureDisk(clients, t, deadline(), opts), (e: ActionError) => {
      assert.match(e.message, /10 GB, smaller than disk-size 20 GB/);
      assert.match(e.hint ?? '', /never resizes/);
      return true;
    });
    assert.deepEqual(writes(), []);
    assert.equal(standIn.disks().find((d) => d.name === t.name)!.sizeGb, '10');
  });

  it('uses a larger disk at its real size', async () => {
    const t = fresh();
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 100, type: 'pd-ssd' });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.sizeGb, 100);
    assert.equal(facts.type, 'pd-ssd');
    assert.deepEqual(writes(), []);
  });

  it('refuses a disk attached to another cluster, naming the instance', async () => {
    const t = fresh();
    standIn.putDisk({
      project: PROJECT,
      zone: ZONE,
      name: t.name,
      sizeGb: 10,
      users: ['gke-lost-cluster-pool-1-x1y2'],
    });
    await assert.rejects(
      ensureDisk(clients, t, deadline(), { ...opts, clusterNodeNames: ['gke-new-1'] }),
      (e: ActionError) => {
        assert.match(e.message, /attached to gke-lost-cluster-pool-1-x1y2/);
        assert.match(e.hint ?? '', /old cluster's nodes still hold the disk.*ReadWriteOnce/);
        return true;
      },
    );
    assert.deepEqual(writes(), []);
  });

  it('uses a disk attached to a node of the target cluster', async () => {
    const t = fresh();
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10, users: ['gke-new-1'] });
    const facts = await ensureDisk(clients, t, deadline(), { ...opts, clusterNodeNames: ['gke-new-1'] });
    assert.equal(facts.created, false);
  });

  it('retries 503 twice, then succeeds', async () => {
    const t = fresh();
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10 });
    standIn.inject({ kind: 'error', status: 503, method: 'GET', path: `/disks/${t.name}`, times: 2 });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.sizeGb, 10);
    assert.equal(standIn.requests.length, 3);
  });

  it('retries a 429 on insert with the same requestId', async () => {
    const t = fresh();
    standIn.inject({ kind: 'error', status: 429, method: 'POST', path: /\/disks$/ });
    await ensureDisk(clients, t, deadline(), opts);
    const inserts = standIn.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/disks'));
    assert.equal(inserts.length, 2);
    assert.equal(inserts[0]!.query.requestId, inserts[1]!.query.requestId);
  });

  it('reports a failed operation with its reason and what to do', async () => {
    const t = fresh();
    standIn.inject({
      kind: 'operationError',
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      method: 'POST',
      path: /\/disks$/,
    });
    await assert.rejects(ensureDisk(clients, t, deadline(), opts), (e: ActionError) => {
      assert.match(e.message, /ZONE_RESOURCE_POOL_EXHAUSTED/);
      assert.match(e.message, /does not have enough resources/);
      assert.match(e.hint ?? '', /another disk-type or zone/);
      return true;
    });
    assert.equal(
      standIn.disks().find((d) => d.name === t.name),
      undefined,
    );
  });

  it('waits through a slow operation', async () => {
    const t = fresh();
    standIn.inject({ kind: 'slowOperation', polls: 12, method: 'POST', path: /\/disks$/ });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.created, true);
    assert.ok(standIn.requests.filter((r) => r.path.endsWith('/wait')).length >= 12);
  });

  it('an insert retried after a dropped connection leaves exactly one disk', async () => {
    const t = fresh();
    standIn.inject({ kind: 'drop', method: 'POST', path: /\/disks$/ });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.resourcePath, `projects/${PROJECT}/zones/${ZONE}/disks/${t.name}`);
    const inserts = standIn.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/disks'));
    assert.equal(inserts.length, 2, 'the insert was retried');
    assert.equal(inserts[0]!.query.requestId, inserts[1]!.query.requestId);
    assert.equal(standIn.disks().filter((d) => d.name === t.name).length, 1);
    assert.equal(standIn.operations().filter((o) => o.targetLink.endsWith(`/disks/${t.name}`)).length, 1);
    assert.equal(facts.created, true, 'the retried insert is still the one that created it');
  });

  it('a 409 on insert (created meanwhile) looks again and uses the disk', async () => {
    const t = fresh();
    // Seeded after the observe read: the disk appears between the GET and the insert.
    standIn.inject({
      kind: 'error',
      status: 404,
      reason: 'notFound',
      method: 'GET',
      path: `/disks/${t.name}`,
    });
    standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10 });
    const facts = await ensureDisk(clients, t, deadline(), opts);
    assert.equal(facts.created, false);
    assert.equal(standIn.disks().filter((d) => d.name === t.name).length, 1);
  });

  it('with refuseTaken, a 409 on insert is a TakenError and the other disk is left as it is', async () => {
    const t = fresh();
    standIn.inject({
      kind: 'error',
      status: 404,
      reason: 'notFound',
      method: 'GET',
      path: `/disks/${t.name}`,
    });
    const theirs = standIn.putDisk({ project: PROJECT, zone: ZONE, name: t.name, sizeGb: 10 });
    const plan = planDisk(t, await observeDisk(clients, t, deadline()));
    assert.equal(plan.action, 'create');
    await assert.rejects(
      applyDiskPlan(clients, t, plan, deadline(), { ...opts, refuseTaken: true }),
      (e: unknown) => e instanceof TakenError && e.message.includes(`/disks/${t.name}`),
    );
    assert.deepEqual(
      standIn.disks().filter((d) => d.name === t.name),
      [theirs],
    );
  });

  it('reports a 403 with the missing permission, at once', async () => {
    const t = fresh();
    standIn.inject({
      kind: 'forbidden',
      permission: 'compute.disks.create',
      method: 'POST',
      path: /\/disks$/,
    });
    await assert.rejects(ensureDisk(clients, t, deadline(), opts), (e: ActionError) => {
      assert.match(e.message, /HTTP 403 forbidden/);
      assert.match(
        e.message,
        new RegExp(
          `Required 'compute.disks.create' permission for 'projects/${PROJECT}/zones/${ZONE}/disks/${t.name}'`,
        ),
      );
      assert.match(e.hint ?? '', /compute\.disks\.create.*roles\/compute\.storageAdmin/);
      return true;
    });
    assert.equal(standIn.requests.filter((r) => r.method === 'POST').length, 1, 'not retried');
  });

  it('reports a quota error at once', async () => {
    const t = fresh();
    standIn.inject({
      kind: 'error',
      status: 403,
      reason: 'quotaExceeded',
      message: "Quota 'SSD_TOTAL_GB' exceeded. Limit: 500.0 in region us-east5.",
      method: 'POST',
    });
    await assert.rejects(ensureDisk(clients, t, deadline(), opts), (e: ActionError) => {
      assert.match(e.message, /quotaExceeded.*SSD_TOTAL_GB/);
      assert.match(e.hint ?? '', /quota/i);
      return true;
    });
    assert.equal(standIn.requests.filter((r) => r.method === 'POST').length, 1);
  });

  it('observeDisk reads an absent disk as undefined with one GET', async () => {
    assert.equal(await observeDisk(clients, fresh(), deadline()), undefined);
    assert.equal(standIn.requests.length, 1);
  });
});

describe('credentials', () => {
  it('a workload identity federation (external_account) file works with no auth override', async () => {
    const standIn = await startComputeStandIn();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-wif-'));
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      process.env.GOOGLE_APPLICATION_CREDENTIALS = standIn.writeExternalAccountCredentials(dir);
      standIn.putDisk({ project: PROJECT, zone: ZONE, name: 'wif-disk', sizeGb: 10 });
      const clients = createComputeClients({ project: PROJECT, endpoint: standIn.url });
      const facts = await ensureDisk(clients, target({ name: 'wif-disk' }), new Deadline(60_000));
      assert.equal(facts.sizeGb, 10);
      assert.equal(standIn.tokenExchanges(), 1);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
      fs.rmSync(dir, { recursive: true, force: true });
      await standIn.close();
    }
  });

  it('a request without a token is refused with 401 and explained', async () => {
    const standIn = await startComputeStandIn();
    try {
      const auth = new OAuth2Client();
      auth.setCredentials({ access_token: 'not-a-token', expiry_date: Date.now() + 3_600_000 });
      const clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
      await assert.rejects(ensureDisk(clients, target(), new Deadline(30_000)), (e: ActionError) => {
        assert.match(e.message, /HTTP 401/);
        assert.match(e.hint ?? '', /google-github-actions\/auth/);
        return true;
      });
    } finally {
      await standIn.close();
    }
  });
});
