import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients, type ComputeClients } from '../../src/clients/compute.js';
import { Deadline } from '../../src/lib/deadline.js';
import { ActionError } from '../../src/lib/errors.js';
import {
  addressTarget,
  applyAddressPlan,
  describeAddressPlan,
  forwardingRuleName,
  loadBalancerOf,
  observeAddress,
  planAddress,
  type AddressObservation,
  type AddressPlan,
  type AddressTarget,
  type ObservedAddress,
  type ObservedLoadBalancer,
} from '../../src/steps/address.js';
import { startComputeStandIn, type ComputeStandIn } from '../../standins/compute/index.js';

// The address step: its pure plan by table, and observe/apply against the Compute stand-in.

const PROJECT = 'proj-address';
const TARGET: AddressTarget = {
  project: PROJECT,
  region: 'us-east5',
  name: 'skypilot-ip',
  release: { name: 'skypilot', namespace: 'skypilot' },
};
const PATH = `projects/${PROJECT}/regions/us-east5/addresses/skypilot-ip`;
const RULE = 'a0123456789abcdef0123456789abcde';
const ruleOf = (name: string): string => `projects/${PROJECT}/regions/us-east5/forwardingRules/${name}`;

const address = (over: Partial<ObservedAddress> = {}): ObservedAddress => ({
  resourcePath: PATH,
  ip: '34.1.2.3',
  status: 'RESERVED',
  users: [],
  addressType: 'EXTERNAL',
  ipVersion: undefined,
  labels: {},
  ...over,
});
const lb = (over: Partial<ObservedLoadBalancer> = {}): ObservedLoadBalancer => ({
  service: 'skypilot/skypilot-ingress-nginx-controller',
  type: 'LoadBalancer',
  forwardingRule: RULE,
  ip: undefined,
  requestedIp: undefined,
  ...over,
});
const seen = (a?: ObservedAddress, l?: ObservedLoadBalancer): AddressObservation => ({
  address: a,
  loadBalancer: l,
});

describe('addressTarget and the names GKE gives', () => {
  it("is undefined without static-ip, else the name in the zone's region", () => {
    const config = { project: PROJECT, region: 'us-east5', release: { name: 'sky', namespace: 'team' } };
    assert.equal(addressTarget({ ...config, staticIp: undefined }), undefined);
    assert.deepEqual(addressTarget({ ...config, staticIp: 'ip' }), {
      project: PROJECT,
      region: 'us-east5',
      name: 'ip',
      release: { name: 'sky', namespace: 'team' },
    });
  });

  it('a forwarding rule is "a" and the uid without dashes, 32 characters', () => {
    assert.equal(
      forwardingRuleName('3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b'),
      'a3f1c2b4a5d6e4f708a9b0c1d2e3f4a5',
    );
  });

  it('loadBalancerOf reads the IP the Service shows and the one it asks for', () => {
    const service = {
      metadata: { name: 'ctl', namespace: 'ns', uid: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b' },
      spec: { type: 'LoadBalancer', loadBalancerIP: '34.1.2.3' },
      status: { loadBalancer: { ingress: [{ ip: '34.9.9.9' }] } },
    };
    assert.deepEqual(loadBalancerOf(service), {
      service: 'ns/ctl',
      type: 'LoadBalancer',
      forwardingRule: 'a3f1c2b4a5d6e4f708a9b0c1d2e3f4a5',
      ip: '34.9.9.9',
      requestedIp: '34.1.2.3',
    });
    assert.deepEqual(loadBalancerOf({ metadata: { name: 'c', namespace: 'n', uid: 'u' } }), {
      service: 'n/c',
      type: 'ClusterIP',
      forwardingRule: 'au',
      ip: undefined,
      requestedIp: undefined,
    });
  });
});

describe('planAddress', () => {
  const cases: [string, AddressObservation, (plan: AddressPlan) => void][] = [
    [
      'absent, no Service yet: reserve a new external address, labelled; GCE picks the IP',
      seen(),
      (plan) => {
        assert.equal(plan.action, 'reserve');
        if (plan.action !== 'reserve') return;
        assert.deepEqual(plan.request, {
          name: 'skypilot-ip',
          addressType: 'EXTERNAL',
          networkTier: 'PREMIUM',
          labels: { 'managed-by': 'skyha-action' },
          description: 'SkyPilot API server address of release skypilot/skypilot (skyha-action)',
        });
        assert.equal(plan.ip, undefined);
        assert.deepEqual([plan.warnings, plan.notes], [[], []]);
      },
    ],
    [
      'absent, the Service serves at an ephemeral IP: that IP is reserved, the URL stays',
      seen(undefined, lb({ ip: '34.5.6.7' })),
      (plan) => {
        assert.equal(plan.action, 'reserve');
        if (plan.action !== 'reserve') return;
        assert.equal(plan.request.address, '34.5.6.7');
        assert.equal(plan.ip, '34.5.6.7');
        assert.match(
          plan.notes[0] ?? '',
          /IP 34\.5\.6\.7 is reserved as address skypilot-ip: the server URL stays/,
        );
        assert.deepEqual(plan.warnings, []);
      },
    ],
    [
      'absent, the Service asks for another static IP: a new address, and users are warned the URL changes',
      seen(undefined, lb({ ip: '34.5.6.7', requestedIp: '34.5.6.7' })),
      (plan) => {
        assert.equal(plan.action, 'reserve');
        if (plan.action !== 'reserve') return;
        assert.equal(plan.request.address, undefined);
        assert.match(
          plan.warnings[0] ?? '',
          /serves at 34\.5\.6\.7 now and moves to the new address skypilot-ip/,
        );
      },
    ],
    [
      'absent, a NodePort Service (no forwarding rule): a new address',
      seen(undefined, lb({ type: 'NodePort' })),
      (plan) => assert.equal(plan.action === 'reserve' && plan.request.address, undefined),
    ],
    [
      'RESERVED, no Service yet (a recovery): use it',
      seen(address()),
      (plan) => {
        assert.equal(plan.action, 'use');
        assert.equal(plan.action === 'use' && plan.ip, '34.1.2.3');
        assert.deepEqual(plan.action === 'use' && plan.warnings, []);
      },
    ],
    [
      "IN_USE by this Service's forwarding rule: use it",
      seen(
        address({ status: 'IN_USE', users: [ruleOf(RULE)] }),
        lb({ ip: '34.1.2.3', requestedIp: '34.1.2.3' }),
      ),
      (plan) => assert.equal(plan.action, 'use'),
    ],
    [
      "IN_USE by a rule of another name while the Service shows the address: it is the Service's, use it",
      seen(address({ status: 'IN_USE', users: [ruleOf('k8s2-tcp-x')] }), lb({ ip: '34.1.2.3' })),
      (plan) => assert.equal(plan.action, 'use'),
    ],
    [
      'RESERVED while the Service serves elsewhere: use it, warning that the URL changes',
      seen(address(), lb({ ip: '34.5.6.7' })),
      (plan) => {
        assert.equal(plan.action, 'use');
        assert.match(
          plan.action === 'use' ? (plan.warnings[0] ?? '') : '',
          /serves at 34\.5\.6\.7 now and moves to skypilot-ip \(34\.1\.2\.3\): users log in again/,
        );
      },
    ],
    [
      "IN_USE by a lost cluster's forwarding rule, no Service yet: refused, naming the rule and how to free it",
      seen(address({ status: 'IN_USE', users: [ruleOf('adeadbeef')] })),
      (plan) => {
        assert.equal(plan.action, 'refuse');
        if (plan.action !== 'refuse') return;
        assert.match(
          plan.reason,
          /IN_USE by forwarding rule adeadbeef, and this cluster has no load balancer for it yet/,
        );
        assert.ok(
          plan.hint.includes(
            `gcloud compute forwarding-rules delete adeadbeef --region us-east5 --project ${PROJECT}`,
          ),
        );
        assert.match(plan.hint, /gcloud container clusters list/);
        assert.match(plan.hint, /Nothing was changed/);
      },
    ],
    [
      'IN_USE by another rule while this Service waits for it: refused, naming both rules',
      seen(address({ status: 'IN_USE', users: [ruleOf('adeadbeef')] }), lb({ requestedIp: '34.1.2.3' })),
      (plan) => {
        assert.equal(plan.action, 'refuse');
        assert.match(
          plan.action === 'refuse' ? plan.reason : '',
          new RegExp(
            `forwarding rule adeadbeef, not by the load balancer of Service skypilot/skypilot-ingress-nginx-controller \\(${RULE}\\)`,
          ),
        );
      },
    ],
    [
      'IN_USE by a global forwarding rule: the hint says --global',
      seen(address({ status: 'IN_USE', users: [`projects/${PROJECT}/global/forwardingRules/web`] })),
      (plan) =>
        assert.match(
          plan.action === 'refuse' ? plan.hint : '',
          /forwarding-rules delete web --global --project/,
        ),
    ],
    [
      'in use by an instance: refused, naming it',
      seen(address({ status: 'IN_USE', users: [`projects/${PROJECT}/zones/us-east5-b/instances/vm-1`] })),
      (plan) => {
        assert.equal(plan.action, 'refuse');
        assert.match(plan.action === 'refuse' ? plan.reason : '', /in use by projects\/.*\/instances\/vm-1/);
      },
    ],
    [
      'INTERNAL: refused with a hint',
      seen(address({ addressType: 'INTERNAL', ip: '10.0.0.9' })),
      (plan) => {
        assert.equal(plan.action, 'refuse');
        if (plan.action !== 'refuse') return;
        assert.match(
          plan.reason,
          /is an INTERNAL address: the ingress controller's external load balancer cannot use it/,
        );
        assert.match(plan.hint, /Reserve an EXTERNAL address/);
      },
    ],
    [
      'IPv6: refused',
      seen(address({ ipVersion: 'IPV6', ip: '2600:1900::' })),
      (plan) => assert.match(plan.action === 'refuse' ? plan.reason : '', /IPv6/),
    ],
  ];
  for (const [name, observation, check] of cases) it(name, () => check(planAddress(TARGET, observation)));

  it('describes each plan in one line', () => {
    assert.equal(
      describeAddressPlan(planAddress(TARGET, seen())),
      'reserve address skypilot-ip in us-east5 (EXTERNAL, PREMIUM tier; GCE picks the IP)',
    );
    assert.equal(
      describeAddressPlan(planAddress(TARGET, seen(undefined, lb({ ip: '34.5.6.7' })))),
      "reserve address skypilot-ip in us-east5 with the load balancer's IP 34.5.6.7 (the URL stays)",
    );
    assert.equal(
      describeAddressPlan(planAddress(TARGET, seen(address()))),
      `use address ${PATH} (34.1.2.3, RESERVED)`,
    );
    const inUse = seen(address({ status: 'IN_USE', users: [ruleOf(RULE)] }), lb());
    assert.equal(
      describeAddressPlan(planAddress(TARGET, inUse)),
      `use address ${PATH} (34.1.2.3, IN_USE by this Service's load balancer)`,
    );
    assert.match(
      describeAddressPlan(planAddress(TARGET, seen(address({ addressType: 'INTERNAL' })))),
      /^refuse: /,
    );
  });
});

describe('observe and apply against the Compute stand-in', () => {
  let standIn: ComputeStandIn;
  let clients: ComputeClients;
  const deadline = (): Deadline => new Deadline(60_000);
  const inserts = () => standIn.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/addresses'));
  let n = 0;
  const fresh = (): AddressTarget => ({ ...TARGET, name: `ip-${++n}` });

  before(async () => {
    standIn = await startComputeStandIn({ operationPolls: 2 });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
    clients = createComputeClients({ project: PROJECT, endpoint: standIn.url, authClient: auth });
  });
  after(() => standIn.close());
  beforeEach(() => standIn.requests.splice(0));

  it('an absent address reads as undefined; a reserved one with its IP, status and users', async () => {
    const target = fresh();
    assert.equal(await observeAddress(clients, target, deadline()), undefined);
    const put = standIn.putAddress({ project: PROJECT, name: target.name, users: [RULE] });
    assert.deepEqual(await observeAddress(clients, target, deadline()), {
      resourcePath: `projects/${PROJECT}/regions/us-east5/addresses/${target.name}`,
      ip: put.address,
      status: 'IN_USE',
      users: [ruleOf(RULE)],
      addressType: 'EXTERNAL',
      ipVersion: undefined,
      labels: {},
    });
  });

  it('reserves with one requestId across a dropped connection, waits, and returns the IP GCE picked', async () => {
    const target = fresh();
    standIn.inject({ kind: 'drop', method: 'POST', path: /\/addresses$/ });
    const plan = planAddress(target, seen());
    const facts = await applyAddressPlan(clients, plan, undefined, deadline());
    const made = standIn.address(facts.resourcePath);
    assert.deepEqual(facts, { resourcePath: facts.resourcePath, ip: made?.address, reserved: true });
    assert.equal(made?.status, 'RESERVED');
    assert.equal(made?.labels?.['managed-by'], 'skyha-action');
    assert.equal(inserts().length, 2);
    assert.equal(inserts()[0]!.query.requestId, inserts()[1]!.query.requestId);
    assert.equal(standIn.addresses().filter((a) => a.name === target.name).length, 1);
  });

  it('promotes an ephemeral IP a forwarding rule holds: the rule keeps it, now IN_USE of the address', async () => {
    const target = fresh();
    const ip = `127.66.${n}.9`;
    standIn.holdEphemeralAddress(ip, RULE);
    const plan = planAddress(target, seen(undefined, lb({ ip })));
    const facts = await applyAddressPlan(clients, plan, lb({ ip }), deadline());
    assert.deepEqual(facts, { resourcePath: facts.resourcePath, ip, reserved: true });
    const made = standIn.address(facts.resourcePath);
    assert.equal(made?.status, 'IN_USE');
    assert.deepEqual(made?.users, [`https://www.googleapis.com/compute/v1/${ruleOf(RULE)}`]);
  });

  it('an address reserved by someone else meanwhile (409) is checked and used, or refused', async () => {
    const target = fresh();
    const plan = planAddress(target, seen());
    const theirs = standIn.putAddress({ project: PROJECT, name: target.name });
    const facts = await applyAddressPlan(clients, plan, undefined, deadline());
    assert.deepEqual(facts, { resourcePath: facts.resourcePath, ip: theirs.address, reserved: false });

    const taken = fresh();
    const takenPlan = planAddress(taken, seen());
    standIn.putAddress({ project: PROJECT, name: taken.name, users: ['adeadbeef'] });
    await assert.rejects(
      applyAddressPlan(clients, takenPlan, undefined, deadline()),
      (error: unknown) => error instanceof ActionError && /forwarding rule adeadbeef/.test(error.message),
    );
  });

  it('using an address writes nothing; a refused plan throws before any request', async () => {
    const target = fresh();
    const put = standIn.putAddress({ project: PROJECT, name: target.name });
    const use = planAddress(target, seen(await observeAddress(clients, target, deadline())));
    standIn.requests.splice(0);
    assert.deepEqual(await applyAddressPlan(clients, use, undefined, deadline()), {
      resourcePath: `projects/${PROJECT}/regions/us-east5/addresses/${target.name}`,
      ip: put.address,
      reserved: false,
    });
    const refused = planAddress(target, seen(address({ addressType: 'INTERNAL' })));
    await assert.rejects(applyAddressPlan(clients, refused, undefined, deadline()), /INTERNAL/);
    assert.deepEqual(standIn.requests, []);
  });
});
