import { describe, test, type TestContext } from 'node:test';
import { freePort, hostNetwork } from '../../standins/hostNetwork.js';

// Tests that put load balancer Services into the Kubernetes stand-in themselves (not through startLocalWorld)
// serve them where this machine allows: 127.X.Y.Z:80 as root, 127.X.Y.Z on a free high port as a normal user.

export const network = await hostNetwork();
console.log(network.summary);

/** The controller Services' http port: 80 (production's) when it can be bound, else a free high port. */
export const LB_HTTP_PORT = network.mode === 'privileged-port' ? 80 : await freePort();

/** A load balancer address as a URL, as endpoint.ts writes it: no port when it is 80. */
export const lbUrl = (ip: unknown): string =>
  `http://${String(ip)}${LB_HTTP_PORT === 80 ? '' : `:${LB_HTTP_PORT}`}`;

/** What every load balancer URL of the stand-in matches. */
export const lbUrlPattern = new RegExp(
  `^http://127\\.\\d+\\.\\d+\\.\\d+${LB_HTTP_PORT === 80 ? '' : `:${LB_HTTP_PORT}`}$`,
);

/** For `describe`/`test` `skip`: why, and what to run instead, on a machine with only 127.0.0.1. */
export const needsLoadBalancerAddresses =
  network.mode === 'single-address'
    ? 'needs 127.X.Y.Z load balancer addresses, which this machine lacks (only 127.0.0.1): run it on Linux, where no root is needed'
    : false;

/** `describe`, skipped with that one-line reason where load balancer addresses cannot exist. */
export const describeLB = (name: string, fn: () => void): void =>
  void describe(name, { skip: needsLoadBalancerAddresses }, fn);

/** `test`, likewise. */
export const testLB = (name: string, fn: (t: TestContext) => Promise<void>): void =>
  void test(name, { skip: needsLoadBalancerAddresses }, fn);
