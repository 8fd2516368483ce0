import * as net from 'node:net';

// What this machine lets the stand-ins bind, probed once per process: the load balancer addresses the Kubernetes
// stand-in hands out (127.X.Y.Z) and the port its ingress listens on there (80, as in production) are not
// bindable everywhere. A normal user cannot bind port 80; macOS has only 127.0.0.1 on its loopback.

/**
 * - `privileged-port`: 127.X.Y.Z:80, as production looks (the URL has no port); root, or port 80 allowed.
 * - `high-port`: a normal user on Linux: 127.X.Y.Z still, the controller Service on a free high port.
 * - `single-address`: only 127.0.0.1 (macOS, or SKYHA_STANDIN_SINGLE_ADDRESS=1): a NodePort on 127.0.0.1.
 */
export type NetworkMode = 'privileged-port' | 'high-port' | 'single-address';

export interface HostNetwork {
  mode: NetworkMode;
  /** One line saying which mode and why, for the start of the demo and the tests. */
  summary: string;
}

/** An address the load balancer never hands out (it skips 127.0.0.x), so probing it disturbs nothing. */
const PROBE_ADDRESS = '127.0.0.2';

let probed: Promise<HostNetwork> | undefined;

/** The mode this machine allows (probed once); `forced` is for tests that exercise a mode on any machine. */
export function hostNetwork(forced?: NetworkMode): Promise<HostNetwork> {
  if (forced) return Promise.resolve(describe(forced, 'chosen by the caller'));
  probed ??= probe(process.env);
  return probed;
}

async function probe(env: NodeJS.ProcessEnv): Promise<HostNetwork> {
  if (env.SKYHA_STANDIN_SINGLE_ADDRESS === '1') {
    return describe('single-address', 'SKYHA_STANDIN_SINGLE_ADDRESS=1');
  }
  const anyPort = await tryListen(PROBE_ADDRESS, 0);
  if (anyPort !== 'ok') return describe('single-address', `${PROBE_ADDRESS} cannot be bound (${anyPort})`);
  const port80 = await tryListen(PROBE_ADDRESS, 80);
  // In use means someone may bind it: the stand-in's own 127.X.Y.Z addresses are still free.
  if (port80 === 'ok' || port80 === 'EADDRINUSE') return describe('privileged-port', 'port 80 can be bound');
  return describe('high-port', `port 80 cannot be bound (${port80}: not root)`);
}

function describe(mode: NetworkMode, why: string): HostNetwork {
  const how: Record<NetworkMode, string> = {
    'privileged-port': 'load balancers on 127.X.Y.Z:80, as in production',
    'high-port': 'load balancers on 127.X.Y.Z with the controller Service on a free high port',
    'single-address': 'no load balancer addresses: a NodePort controller Service on 127.0.0.1',
  };
  return { mode, summary: `Stand-in network: ${mode} (${why}): ${how[mode]}` };
}

/** 'ok', or the error code that refused the bind (EACCES, EADDRNOTAVAIL, ...). */
function tryListen(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve('ok')));
  });
}

/** A port nothing listens on now, on any address (a wildcard listener on it would refuse this bind too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on `port` now (on 127.0.0.1, nor on every address). */
export async function portIsFree(port: number): Promise<boolean> {
  return (await tryListen('127.0.0.1', port)) === 'ok';
}

const NODE_PORTS = { min: 30000, max: 32767 };

/**
 * A free port in the NodePort range on 127.0.0.1, other than `avoid`. The range lies below the ephemeral ports
 * of Linux and macOS, so only another listener can hold one; a random start spreads parallel test processes.
 */
export async function freeNodePort(avoid: ReadonlySet<number> = new Set()): Promise<number> {
  const span = NODE_PORTS.max - NODE_PORTS.min + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = NODE_PORTS.min + ((start + i) % span);
    if (!avoid.has(port) && (await tryListen('127.0.0.1', port)) === 'ok') return port;
  }
  throw new Error(`no free port in ${NODE_PORTS.min}-${NODE_PORTS.max} on 127.0.0.1`);
}
