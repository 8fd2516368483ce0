import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStaticIp, type AddressContext } from '../../src/config/address.js';
import { parseConfig } from '../../src/config/config.js';
import { inputsOf } from '../../src/config/fields.js';
import { InputError } from '../../src/lib/errors.js';

// static-ip: a name (or a regional address's path in the cluster's project and region), refused before anything
// changes when it cannot be the load balancer's address.

const context: AddressContext = {
  project: 'my-project-123',
  region: 'us-east5',
  serviceType: 'LoadBalancer',
  values: [],
};
const parse = (raw: string, given: Partial<AddressContext> = {}): string | undefined =>
  parseStaticIp(
    inputsOf((name) => (name === 'static-ip' ? raw : '')),
    { ...context, ...given },
  );

function refusal(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseStaticIp: accepted', () => {
  const accepted: [string, string | undefined][] = [
    ['', undefined],
    ['   ', undefined],
    ['skypilot-ip', 'skypilot-ip'],
    ['  skypilot-ip ', 'skypilot-ip'],
    ['a', 'a'],
    [`a${'b'.repeat(62)}`, `a${'b'.repeat(62)}`],
    ['regions/us-east5/addresses/skypilot-ip', 'skypilot-ip'],
    ['projects/my-project-123/regions/us-east5/addresses/skypilot-ip', 'skypilot-ip'],
    [
      'https://www.googleapis.com/compute/v1/projects/my-project-123/regions/us-east5/addresses/skypilot-ip',
      'skypilot-ip',
    ],
  ];
  for (const [raw, want] of accepted) {
    it(`'${raw}' -> ${String(want)}`, () => assert.equal(parse(raw), want));
  }

  it('values that leave the address alone (an empty loadBalancerIP, other annotations) are fine', () => {
    const values = [
      {
        'ingress-nginx': {
          controller: {
            service: { loadBalancerIP: '', annotations: { 'cloud.google.com/l4-rbs': 'enabled' } },
          },
        },
      },
    ];
    assert.equal(parse('skypilot-ip', { values }), 'skypilot-ip');
  });
});

describe('parseStaticIp: refused, naming the input and what to do', () => {
  const refused: [string, Partial<AddressContext>, RegExp, RegExp][] = [
    ['Skypilot-IP', {}, /'Skypilot-IP' is not valid/, /GCE name/],
    ['1ip', {}, /is not valid/, /GCE name/],
    ['ip-', {}, /is not valid/, /not ending in a hyphen/],
    [`a${'b'.repeat(63)}`, {}, /longer than 63/, /1-63/],
    ['-ip', {}, /starts with '-'/, /flags/],
    [
      '34.120.7.1',
      {},
      /is an IP; static-ip takes the name/,
      /gcloud compute addresses list --filter="address=34\.120\.7\.1"/,
    ],
    ['global/addresses/web-ip', {}, /a global address/, /regional address in us-east5/],
    ['projects/my-project-123/global/addresses/web-ip', {}, /a global address/, /regional address/],
    [
      'regions/europe-west1/addresses/skypilot-ip',
      {},
      /in region europe-west1, but .* in us-east5/,
      /deploy to europe-west1/,
    ],
    [
      'projects/other-project/regions/us-east5/addresses/skypilot-ip',
      {},
      /in project other-project/,
      /my-project-123/,
    ],
    ['regions/us-east5/addresses/Bad_Name', {}, /'Bad_Name' is not valid/, /GCE name/],
    ['skypilot-ip', { serviceType: 'NodePort' }, /with service-type NodePort/, /Remove service-type/],
    [
      'skypilot-ip',
      { values: [{ 'ingress-nginx': { controller: { service: { loadBalancerIP: '34.1.2.3' } } } }] },
      /ingress-nginx\.controller\.service\.loadBalancerIP/,
      /remove it from values/,
    ],
    [
      'skypilot-ip',
      {
        values: [
          {},
          {
            'ingress-nginx': {
              controller: {
                service: { annotations: { 'networking.gke.io/load-balancer-ip-addresses': 'other-ip' } },
              },
            },
          },
        ],
      },
      /networking\.gke\.io\/load-balancer-ip-addresses/,
      /remove the annotation/,
    ],
  ];
  for (const [raw, given, message, hint] of refused) {
    it(`'${raw.slice(0, 60)}' ${Object.keys(given).join(',')}`, () => {
      const error = refusal(() => parse(raw, given));
      assert.equal(error.input, 'static-ip');
      assert.match(error.message, message);
      assert.match(error.hint ?? '', hint);
    });
  }
});

describe('parseConfig: static-ip', () => {
  const base: Record<string, string> = {
    project: 'my-project-123',
    zone: 'us-east5-b',
    'web-password': 'pw-123456',
  };
  const config = (given: Record<string, string>) =>
    parseConfig((name) => ({ ...base, ...given })[name] ?? '', {});

  it('is undefined by default (an ephemeral address) and the name when given', () => {
    assert.equal(config({}).staticIp, undefined);
    assert.equal(config({ 'static-ip': 'skypilot-ip' }).staticIp, 'skypilot-ip');
  });

  it("is checked against the zone's region and the values, before anything is touched", () => {
    const wrongRegion = refusal(() =>
      config({ 'static-ip': 'regions/us-central1/addresses/skypilot-ip', zone: 'us-east5-b' }),
    );
    assert.match(wrongRegion.message, /in region us-central1/);
    const nodePort = refusal(() => config({ 'static-ip': 'skypilot-ip', 'service-type': 'NodePort' }));
    assert.equal(nodePort.input, 'static-ip');
    const pinned = refusal(() =>
      config({
        'static-ip': 'skypilot-ip',
        values: 'ingress-nginx:\n  controller:\n    service:\n      loadBalancerIP: 34.1.2.3\n',
      }),
    );
    assert.match(pinned.message, /loadBalancerIP/);
  });
});
