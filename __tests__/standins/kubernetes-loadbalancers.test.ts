import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  forwardingRuleName,
  localLoadBalancerAddresses,
  refusals,
  startKubeStandIn,
  type KubeStandIn,
  type LoadBalancerAddresses,
  type LoadBalancerRequest,
} from '../../standins/kubernetes/index.js';
import { startLocalWorld, WORLD } from '../../standins/world.js';
import { call } from '../support/computeStandIn.js';

type Obj = Record<string, unknown>;

async function api(kube: KubeStandIn, method: string, path: string, body?: unknown): Promise<Obj> {
  const res = await fetch(`${kube.url}${path}`, {
    method,
    headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Obj;
}

function loadBalancerService(name: string, loadBalancerIP?: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      type: 'LoadBalancer',
      ...(loadBalancerIP ? { loadBalancerIP } : {}),
      ports: [{ name: 'http', port: 80 }],
    },
  };
}

const createService = (kube: KubeStandIn, ns: string, name: string, ip?: string): Promise<Obj> =>
  api(kube, 'POST', `/api/v1/namespaces/${ns}/services`, loadBalancerService(name, ip));

async function addressOf(kube: KubeStandIn, ns: string, name: string): Promise<string | undefined> {
  const svc = await api(kube, 'GET', `/api/v1/namespaces/${ns}/services/${name}`);
  const ingress = (svc.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } }).loadBalancer
    ?.ingress;
  return ingress?.[0]?.ip;
}

/** The Warning Events GKE's service controller left on a Service. */
async function syncFailures(kube: KubeStandIn, ns: string, name: string): Promise<Obj[]> {
  const events = (await api(kube, 'GET', `/api/v1/namespaces/${ns}/events`)).items as Obj[];
  return events.filter(
    (e) => (e.involvedObject as Obj).name === name && e.reason === 'SyncLoadBalancerFailed',
  );
}

/**
 * A small Compute in front of the addresses, as the world will wire it: a requested address must be reserved and
 * not in use by another forwarding rule; ephemeral ones come from the default provider.
 */
class FakeReservedAddresses implements LoadBalancerAddresses {
  readonly users = new Map<string, string[]>();
  readonly released: string[] = [];
  readonly asked: LoadBalancerRequest[] = [];
  private readonly ephemeral = localLoadBalancerAddresses();

  reserve(ip: string): void {
    this.users.set(ip, []);
  }

  assign(request: LoadBalancerRequest): { ip: string } | { refused: string } {
    this.asked.push(request);
    const { requestedIp, forwardingRule } = request;
    if (requestedIp === undefined) return this.ephemeral.assign(request);
    const users = this.users.get(requestedIp);
    if (!users) return { refused: refusals.notReserved(requestedIp) };
    if (users.some((u) => u !== forwardingRule)) return { refused: refusals.inUse(requestedIp) };
    this.users.set(requestedIp, [forwardingRule]);
    return { ip: requestedIp };
  }

  release(forwardingRule: string): void {
    this.released.push(forwardingRule);
    this.ephemeral.release(forwardingRule);
    for (const [ip, users] of this.users)
      this.users.set(
        ip,
        users.filter((u) => u !== forwardingRule),
      );
  }
}

describe('load balancer addresses, default provider', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
    await api(kube, 'POST', '/api/v1/namespaces', { metadata: { name: 'lb' } });
  });
  after(() => kube?.close());

  test('each LoadBalancer Service gets an address of its own, under a forwarding rule named as GKE names it', async () => {
    const first = await createService(kube, 'lb', 'one');
    await createService(kube, 'lb', 'two');
    const [a, b] = [await addressOf(kube, 'lb', 'one'), await addressOf(kube, 'lb', 'two')];
    assert.match(String(a), /^127\.\d+\.\d+\.\d+$/);
    assert.match(String(b), /^127\.\d+\.\d+\.\d+$/);
    assert.notEqual(a, b);
    const uid = String((first.metadata as Obj).uid);
    const rule = `a${uid.replace(/-/g, '')}`.slice(0, 32);
    assert.equal(forwardingRuleName(first), rule);
    assert.deepEqual(
      kube.loadBalancers().find((lb) => lb.service === 'lb/one'),
      { service: 'lb/one', forwardingRule: rule, ip: a },
    );
  });

  test('spec.loadBalancerIP is honoured; a second Service asking for it waits with an Event until it is free', async () => {
    const wanted = '127.77.1.9';
    await createService(kube, 'lb', 'holder', wanted);
    assert.equal(await addressOf(kube, 'lb', 'holder'), wanted);
    await createService(kube, 'lb', 'waiter', wanted);
    assert.equal(await addressOf(kube, 'lb', 'waiter'), undefined);
    const failures = await syncFailures(kube, 'lb', 'waiter');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.type, 'Warning');
    assert.equal((failures[0]!.source as Obj).component, 'service-controller');
    assert.equal(
      failures[0]!.message,
      `Error syncing load balancer: failed to ensure load balancer: ${refusals.inUse(wanted)}`,
    );
    await api(kube, 'DELETE', '/api/v1/namespaces/lb/services/holder');
    assert.equal(await addressOf(kube, 'lb', 'waiter'), wanted);
  });
});

describe('load balancer addresses from a provider hook', () => {
  let kube: KubeStandIn;
  const cloud = new FakeReservedAddresses();
  before(async () => {
    kube = await startKubeStandIn({ loadBalancerAddresses: cloud });
    await api(kube, 'POST', '/api/v1/namespaces', { metadata: { name: 'hook' } });
  });
  after(() => kube?.close());

  test("an address that is not reserved leaves the Service pending with GKE's Event; reserved, it is granted", async () => {
    const ip = '127.88.0.7';
    const made = await createService(kube, 'hook', 'static', ip);
    assert.equal(await addressOf(kube, 'hook', 'static'), undefined);
    const [failure] = await syncFailures(kube, 'hook', 'static');
    assert.match(
      String(failure?.message),
      /requested ip "127\.88\.0\.7" is neither static nor assigned to the LB/,
    );
    assert.deepEqual(cloud.asked.at(-1), {
      forwardingRule: forwardingRuleName(made),
      service: 'hook/static',
      requestedIp: ip,
    });

    cloud.reserve(ip);
    // Any change makes the service controller try again, as its resync does on GKE.
    await api(kube, 'PATCH', '/api/v1/namespaces/hook/services/static', {
      metadata: { labels: { retry: '1' } },
    });
    assert.equal(await addressOf(kube, 'hook', 'static'), ip);
    assert.deepEqual(cloud.users.get(ip), [forwardingRuleName(made)]);
  });

  test('the release hook runs when a Service goes, stops being a LoadBalancer, or asks for another address', async () => {
    const gone = await createService(kube, 'hook', 'gone');
    const demoted = await createService(kube, 'hook', 'demoted');
    const moved = await createService(kube, 'hook', 'moved');
    const firstAddress = await addressOf(kube, 'hook', 'moved');
    assert.ok(firstAddress);
    cloud.released.length = 0;

    await api(kube, 'DELETE', '/api/v1/namespaces/hook/services/gone');
    assert.deepEqual(cloud.released, [forwardingRuleName(gone)]);

    await api(kube, 'PATCH', '/api/v1/namespaces/hook/services/demoted', { spec: { type: 'ClusterIP' } });
    assert.deepEqual(cloud.released, [forwardingRuleName(gone), forwardingRuleName(demoted)]);

    const next = '127.88.0.8';
    cloud.reserve(next);
    await api(kube, 'PATCH', '/api/v1/namespaces/hook/services/moved', { spec: { loadBalancerIP: next } });
    assert.deepEqual(cloud.released.at(-1), forwardingRuleName(moved));
    assert.equal(await addressOf(kube, 'hook', 'moved'), next);
    assert.ok(!kube.loadBalancers().some((lb) => lb.ip === firstAddress));
  });

  test('an address held by another forwarding rule is refused as in use', async () => {
    const ip = '127.88.0.9';
    cloud.reserve(ip);
    cloud.users.set(ip, ['a0deadclusterrule']);
    await createService(kube, 'hook', 'blocked', ip);
    assert.equal(await addressOf(kube, 'hook', 'blocked'), undefined);
    const [failure] = await syncFailures(kube, 'hook', 'blocked');
    assert.match(String(failure?.message), /Specified IP address is in-use and would result in a conflict/);
  });

  test('releaseLoadBalancers (the cluster is deleted) releases every forwarding rule it holds', async () => {
    const held = kube.loadBalancers().map((lb) => lb.forwardingRule);
    assert.ok(held.length >= 2);
    cloud.released.length = 0;
    kube.releaseLoadBalancers();
    assert.deepEqual([...cloud.released].sort(), [...held].sort());
    assert.deepEqual(kube.loadBalancers(), []);
  });
});

describe('a lost cluster in the world', () => {
  test('an address that is not reserved in the project is refused, as GKE refuses it', async () => {
    const world = await startLocalWorld();
    try {
      world.kube.put({
        ...loadBalancerService('edge', '127.99.3.5'),
        metadata: { name: 'edge', namespace: 'sky' },
      });
      assert.deepEqual(world.kube.loadBalancers(), []);
      const events = world.kube.list('v1', 'Event', 'sky');
      assert.ok(events.some((e) => String(e.message).includes(refusals.notReserved('127.99.3.5'))));
    } finally {
      await world.close();
    }
  });

  test("a load balancer's ephemeral IP, reserved by an insert naming it, stays its own; a lost cluster frees it", async () => {
    const world = await startLocalWorld();
    try {
      world.kube.put({ ...loadBalancerService('edge'), metadata: { name: 'edge', namespace: 'sky' } });
      const [held] = world.kube.loadBalancers();
      assert.ok(held, 'an ephemeral address');
      const regionPath = `/compute/v1/projects/${WORLD.project}/regions/us-east5`;
      const inserted = await call(world.compute, 'POST', `${regionPath}/addresses`, {
        name: 'promoted',
        address: held.ip,
      });
      assert.equal(inserted.status, 200, JSON.stringify(inserted.json));
      // Each wait is one poll of the operation: until DONE.
      const wait = `${regionPath}/operations/${String(inserted.json.name)}/wait`;
      for (let i = 0; i < 10 && (await call(world.compute, 'POST', wait)).json.status !== 'DONE'; i++);
      const addressPath = `projects/${WORLD.project}/regions/us-east5/addresses/promoted`;
      assert.equal(world.compute.address(addressPath)?.status, 'IN_USE');
      assert.deepEqual(world.compute.address(addressPath)?.users, [
        `https://www.googleapis.com/compute/v1/projects/${WORLD.project}/regions/us-east5/forwardingRules/${held.forwardingRule}`,
      ]);

      // Now asking for it, the Service keeps its forwarding rule and its address.
      world.kube.put({
        ...loadBalancerService('edge', held.ip),
        metadata: { name: 'edge', namespace: 'sky' },
      });
      assert.deepEqual(world.kube.loadBalancers(), [held]);
      await world.loseCluster();
      assert.equal(world.compute.address(addressPath)?.status, 'RESERVED');
      world.kube.put({
        ...loadBalancerService('edge', held.ip),
        metadata: { name: 'edge', namespace: 'sky' },
      });
      assert.deepEqual(
        world.kube.loadBalancers().map((lb) => lb.ip),
        [held.ip],
        'the next cluster gets it',
      );
    } finally {
      await world.close();
    }
  });

  test('loseCluster releases its load balancers, unless they are left behind holding their addresses', async () => {
    const world = await startLocalWorld();
    try {
      const reserved = world.compute.putAddress({ name: 'skypilot-ip', region: 'us-east5' });
      const ip = String(reserved.address);
      const addressPath = `projects/${WORLD.project}/regions/us-east5/addresses/skypilot-ip`;
      const users = (): unknown => world.compute.address(addressPath)?.users ?? [];
      world.kube.put({ ...loadBalancerService('edge', ip), metadata: { name: 'edge', namespace: 'sky' } });
      assert.deepEqual(
        world.kube.loadBalancers().map((lb) => lb.ip),
        [ip],
      );
      const [rule] = world.kube.loadBalancers().map((lb) => lb.forwardingRule);
      assert.deepEqual(users(), [
        `https://www.googleapis.com/compute/v1/projects/${WORLD.project}/regions/us-east5/forwardingRules/${rule}`,
      ]);
      assert.equal(world.compute.address(addressPath)?.status, 'IN_USE');

      // GKE deletes a deleted cluster's forwarding rules: the address is RESERVED again, the next cluster may have it.
      await world.loseCluster();
      assert.equal(world.compute.address(addressPath)?.status, 'RESERVED');
      world.kube.put({ ...loadBalancerService('edge', ip), metadata: { name: 'edge', namespace: 'sky' } });
      assert.deepEqual(
        world.kube.loadBalancers().map((lb) => lb.ip),
        [ip],
      );

      // A dead cluster whose forwarding rule GKE did not clean up keeps the address from the next one.
      await world.loseCluster({}, { leaveForwardingRules: true });
      assert.equal(world.compute.address(addressPath)?.status, 'IN_USE');
      world.kube.put({ ...loadBalancerService('edge', ip), metadata: { name: 'edge', namespace: 'sky' } });
      assert.deepEqual(world.kube.loadBalancers(), []);
      const events = world.kube.list('v1', 'Event', 'sky');
      assert.ok(
        events.some(
          (e) => e.reason === 'SyncLoadBalancerFailed' && String(e.message).includes(refusals.inUse(ip)),
        ),
      );
    } finally {
      await world.close();
    }
  });
});
