import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import type { ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { clearLogs, computeWrites, kubeWrites, ok } from '../support/e2e.js';
import { needsLoadBalancerAddresses } from '../support/network.js';

// static-ip (issue 22): the server URL survives the cluster. The bundle against the world, whose clusters take
// their load balancers' addresses from its Compute project (standins/cloudLink.ts). With only 127.0.0.1 there are
// no load balancer addresses to keep, so these tests are skipped there (needsLoadBalancerAddresses says why).

const NAME = 'skypilot-ip';
const ADDRESS = `projects/${WORLD.project}/regions/us-east5/addresses/${NAME}`;
const STATIC = { 'static-ip': NAME };

/** The ingress controller's Service of a release (the chart names it after the release). */
const controller = (
  world: LocalWorld,
  namespace = 'skypilot',
  release = 'skypilot',
): Record<string, unknown> | undefined =>
  world.kube.get('v1', 'Service', namespace, `${release}-ingress-nginx-controller`);

/** The rule GKE names after the Service's uid: what holds the address while this cluster serves at it. */
function forwardingRule(world: LocalWorld): string {
  const uid = String(at(controller(world), 'metadata', 'uid'));
  return `a${uid.replace(/-/g, '')}`.slice(0, 32);
}

const ruleUrl = (rule: string): string =>
  `https://www.googleapis.com/compute/v1/projects/${WORLD.project}/regions/us-east5/forwardingRules/${rule}`;

/** Every request that reserved, changed or released an address. */
const addressWrites = (world: LocalWorld): string[] =>
  computeWrites(world).filter((w) => w.includes('/addresses'));

const hostOf = (url: string | undefined): string => new URL(url ?? 'http://none').hostname;

async function assertHealthy(url: string | undefined): Promise<void> {
  const credentials = Buffer.from(`skypilot:${WORLD.password}`).toString('base64');
  const answer = await fetch(`${url}/api/health`, { headers: { Authorization: `Basic ${credentials}` } });
  assert.equal(answer.status, 200);
  assert.equal(((await answer.json()) as { status?: string }).status, 'healthy');
}

describe(
  'static-ip: the same URL after a lost cluster (helm 4)',
  { skip: needsLoadBalancerAddresses },
  () => {
    let world: LocalWorld;
    let first: ActionRun;
    before(async () => {
      world = await startLocalWorld({ flavour: 'helm4' });
    });
    after(() => world.close());

    it('static-ip with service-type NodePort is refused as an input, before anything is read or changed', async () => {
      const run = await world.run({ ...STATIC, 'service-type': 'NodePort' });
      assert.equal(run.code, 1);
      assert.match(
        run.errors[0] ?? '',
        /Input 'static-ip': 'skypilot-ip' is given with service-type NodePort/,
      );
      assert.deepEqual(world.compute.requests, []);
      assert.deepEqual(kubeWrites(world), []);
    });

    it('a deploy reserves the address once, labelled; the Service asks for it; server-url is it', async () => {
      clearLogs(world);
      first = ok(await world.run(STATIC));
      const address = world.compute.address(ADDRESS);
      assert.ok(address, 'the address was reserved');
      assert.deepEqual(addressWrites(world), [
        `POST /compute/v1/projects/${WORLD.project}/regions/us-east5/addresses`,
      ]);
      const insert = world.compute.requests.find((r) => r.method === 'POST' && r.path.endsWith('/addresses'));
      assert.ok(insert?.query.requestId, 'the insert carries a requestId');
      assert.equal(address.labels?.['managed-by'], 'skyha-action');
      assert.equal(address.addressType, 'EXTERNAL');
      assert.equal(address.networkTier, 'PREMIUM');
      assert.equal(at(controller(world), 'spec', 'loadBalancerIP'), address.address);
      assert.equal(address.status, 'IN_USE');
      assert.deepEqual(address.users, [ruleUrl(forwardingRule(world))]);
      assert.equal(hostOf(first.outputs['server-url']), address.address);
      assert.match(first.outputs['server-url'] ?? '', world.network.serverUrlPattern());
      assert.equal(first.outputs['static-ip-address'], address.address);
      assert.match(
        first.summary,
        /\*\*Address:\*\* static `projects\/.*\/skypilot-ip` \(127\.[\d.]+\), reserved by this run/,
      );
      await assertHealthy(first.outputs['server-url']);
    });

    it('a converged rerun reads the address once and writes nothing anywhere', async () => {
      clearLogs(world);
      const again = ok(await world.run(STATIC));
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
      const reads = world.compute.requests.filter((r) => r.path.endsWith(`/addresses/${NAME}`));
      assert.deepEqual(
        reads.map((r) => r.method),
        ['GET'],
      );
      assert.equal(again.outputs['server-url'], first.outputs['server-url']);
      assert.equal(again.outputs['helm-revision'], first.outputs['helm-revision']);
    });

    it('plan mode shows the address, its IP and that it is in use by this Service, and changes nothing', async () => {
      clearLogs(world);
      const plan = ok(await world.run({ ...STATIC, mode: 'plan' }));
      const ip = hostOf(first.outputs['server-url']);
      const line = `| address | ${NAME} | use address ${ADDRESS} (${ip}, IN_USE by this Service's load balancer) |`;
      assert.ok(plan.summary.includes(line), plan.summary);
      // The outputs as things are: the address's IP and the URL it serves at; nothing would change.
      assert.equal(plan.outputs['static-ip-address'], ip);
      assert.equal(plan.outputs['server-url'], first.outputs['server-url']);
      assert.equal(plan.outputs.changes, 'false');
      assert.match(plan.outputs.plan ?? '', /"address":"keep"/);
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
    });

    it('after the cluster is lost, the same inputs serve at the same server-url: one address, never released', async () => {
      await world.loseCluster();
      clearLogs(world);
      const recovered = ok(await world.run(STATIC));
      assert.equal(recovered.outputs.restored, 'true');
      assert.equal(recovered.outputs['server-url'], first.outputs['server-url']);
      assert.deepEqual(computeWrites(world), [], 'the disk and the address are only read');
      assert.equal(world.compute.addresses().filter((a) => a.name === NAME).length, 1);
      assert.deepEqual(world.compute.address(ADDRESS)?.users, [ruleUrl(forwardingRule(world))]);
      await assertHealthy(recovered.outputs['server-url']);
    });

    it("an address a lost cluster's forwarding rule still holds is refused before any change, naming the rule", async () => {
      const deadRule = forwardingRule(world);
      await world.loseCluster({}, { leaveForwardingRules: true });
      clearLogs(world);
      const run = await world.run(STATIC);
      assert.equal(run.code, 1);
      const error = run.errors[0] ?? '';
      assert.match(error, new RegExp(`IN_USE by forwarding rule ${deadRule}`));
      assert.ok(
        error.includes(
          `gcloud compute forwarding-rules delete ${deadRule} --region us-east5 --project ${WORLD.project}`,
        ),
        error,
      );
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
      assert.equal(world.kube.get('v1', 'PersistentVolume', undefined, 'sky-api-server-pv'), undefined);

      // Freed as the hint says (the rule deleted), the rerun serves at the same URL.
      world.compute.freeAddress(deadRule);
      const recovered = ok(await world.run(STATIC));
      assert.equal(recovered.outputs['server-url'], first.outputs['server-url']);
      const deletes = world.compute.requests.filter(
        (r) => r.method === 'DELETE' && r.path.includes('/addresses'),
      );
      assert.deepEqual(deletes, []);
      assert.equal(world.compute.addresses().filter((a) => a.name === NAME).length, 1);
    });
  },
);

describe(
  'static-ip turned on for a running release, and a drill beside it (helm 4)',
  { skip: needsLoadBalancerAddresses },
  () => {
    let world: LocalWorld;
    let ephemeral: ActionRun;
    before(async () => {
      world = await startLocalWorld({ flavour: 'helm4' });
      ephemeral = ok(await world.run());
    });
    after(() => world.close());

    it("plan mode says the load balancer's IP will be reserved, and reserves nothing", async () => {
      clearLogs(world);
      const plan = ok(await world.run({ ...STATIC, mode: 'plan' }));
      const ip = hostOf(ephemeral.outputs['server-url']);
      const line = `| address | ${NAME} | reserve address ${NAME} in us-east5 with the load balancer's IP ${ip} (the URL stays) |`;
      assert.ok(plan.summary.includes(line), plan.summary);
      assert.match(plan.summary, /\| helm \| skypilot\/skypilot \| upgrade \(values changed\)/);
      assert.equal(plan.outputs.changes, 'true');
      assert.match(plan.outputs.plan ?? '', /"address":"reserve","release":"upgrade"/);
      assert.equal(plan.outputs['static-ip-address'], undefined, 'not reserved yet');
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
      assert.equal(world.compute.address(ADDRESS), undefined);
    });

    it('the IP the release serves at is reserved in place: the server URL does not change', async () => {
      clearLogs(world);
      const run = ok(await world.run(STATIC));
      const address = world.compute.address(ADDRESS);
      assert.equal(address?.address, hostOf(ephemeral.outputs['server-url']));
      assert.equal(run.outputs['server-url'], ephemeral.outputs['server-url']);
      assert.deepEqual(address?.users, [ruleUrl(forwardingRule(world))], 'the same forwarding rule holds it');
      assert.equal(at(controller(world), 'spec', 'loadBalancerIP'), address?.address);
      assert.deepEqual(addressWrites(world).length, 1);
      await assertHealthy(run.outputs['server-url']);
      clearLogs(world);
      ok(await world.run(STATIC));
      assert.deepEqual(computeWrites(world), []);
      assert.deepEqual(kubeWrites(world), []);
    });

    it("a drill with production's static-ip asks for no address and leaves production's alone", async () => {
      const before = structuredClone(world.compute.address(ADDRESS));
      clearLogs(world);
      const drill = ok(await world.run({ ...STATIC, mode: 'drill' }));
      const drillService = controller(world, 'skypilot-drill-4242-1', 'skypilot-drill');
      assert.ok(drillService, "the drill's controller Service");
      assert.equal(at(drillService, 'spec', 'loadBalancerIP'), undefined);
      assert.notEqual(hostOf(drill.outputs['server-url']), before?.address);
      assert.deepEqual(addressWrites(world), []);
      assert.deepEqual(world.compute.address(ADDRESS), before);
      await assertHealthy(drill.outputs['server-url']);
      await assertHealthy(ephemeral.outputs['server-url']);
    });
  },
);

// A normal user's machine (npm run demo without root): the load balancers listen on a high port, which a new
// cluster keeps as GKE keeps port 80, so the static address alone decides whether the URL changes.
describe('static-ip in high-port mode (helm 4)', { skip: needsLoadBalancerAddresses }, () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4', network: 'high-port' });
  });
  after(() => world.close());

  it('the recovery serves at the same URL, port included', async () => {
    const first = ok(await world.run(STATIC));
    assert.match(first.outputs['server-url'] ?? '', /^http:\/\/127\.[\d.]+:\d+$/);
    await world.loseCluster();
    const recovered = ok(await world.run(STATIC));
    assert.equal(recovered.outputs['server-url'], first.outputs['server-url']);
    await assertHealthy(recovered.outputs['server-url']);
  });
});
