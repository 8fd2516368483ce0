import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpPort } from '../../src/runbook/productionState.js';

// A drill on another cluster reaches production at its static address, on the port production's values give its
// controller Service: the values as helm applies them (the files in order, then the `values` input).

describe('httpPort: the controller Service’s http port from production’s values', () => {
  const port = (http: unknown): Record<string, unknown> => ({
    'ingress-nginx': { controller: { service: { ports: { http } } } },
  });
  const cases: Array<[string, Record<string, unknown>[], Record<string, unknown>, number]> = [
    ['the chart’s default', [], {}, 80],
    ['from a values file', [port(30080)], {}, 30080],
    ['the values input wins over the files', [port(30080)], port(8080), 8080],
    ['the last file wins over an earlier one', [port(30080), port(31080)], {}, 31080],
    ['a number written as a string', [], port('8080'), 8080],
    ['something that is no port falls back to 80', [], port('http'), 80],
    [
      'other ingress-nginx values leave it alone',
      [],
      { 'ingress-nginx': { controller: { replicaCount: 2 } } },
      80,
    ],
  ];
  for (const [name, fileValues, values, expected] of cases)
    it(name, () => assert.equal(httpPort({ fileValues, values }), expected));
});
