import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// A reverse proxy that puts a realistic round-trip time between the action and a local stand-in, and counts the
// round trips it forwards. Loopback answers in microseconds, so without it every benchmark hides the network.
// Model: a new connection costs one RTT (the TCP handshake) before its first request; every request costs one
// RTT, half on the way in and half on the way back (before the response headers). Bodies then stream as they come.

/** One request as the proxy forwarded it; times are performance.now() in the proxy's process. */
export interface ProxiedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  userAgent: string;
  /** Which client connection it came on (1-based, in order of arrival). */
  connection: number;
  /** True for the first request on its connection: it also paid the handshake. */
  newConnection: boolean;
  status?: number;
  /** When the request reached the proxy. */
  arrivedAt: number;
  /** When the response's last byte went back to the client (undefined while it is still open, e.g. a watch). */
  doneAt?: number;
}

export interface LatencyProxyOptions {
  /** The stand-in behind the proxy, e.g. http://127.0.0.1:PORT */
  target: string;
  /** Round-trip time to add, in milliseconds. */
  rttMs: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

export interface LatencyProxy {
  /** http://HOST:PORT: hand this to the action instead of the stand-in's URL. */
  url: string;
  rttMs: number;
  target: string;
  requests: ProxiedRequest[];
  /** Client connections accepted since the last clear. */
  connections(): number;
  clear(): void;
  close(): Promise<void>;
}

type Later = (ms: number, fn: () => void) => void;

/** How each request is sent on: to which stand-in, over which agent, after which delays. */
interface Upstream {
  target: URL;
  agent: http.Agent;
  later: Later;
  /** Half the round trip: the way in, and the way back. */
  half: number;
}

export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const { rttMs } = options;
  const requests: ProxiedRequest[] = [];
  // Keep-alive to the stand-in so the proxy's own hop adds no handshakes of its own.
  const agent = new http.Agent({ keepAlive: true });
  const connectionIds = new WeakMap<Socket, { id: number; used: boolean }>();
  let connectionCount = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later: Later = (ms, fn) => {
    if (ms <= 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const upstream: Upstream = { target: new URL(options.target), agent, later, half: rttMs / 2 };

  const server = http.createServer((req, res) => {
    const conn = connectionIds.get(req.socket) ?? { id: 0, used: true };
    const record = recordOf(req, conn.id, !conn.used);
    conn.used = true;
    requests.push(record);
    req.pause();
    let aborted = false;
    res.on('close', () => {
      aborted = !res.writableFinished;
      record.doneAt ??= performance.now();
    });
    later(upstream.half + (record.newConnection ? rttMs : 0), () => {
      if (!aborted) forward(req, res, record, upstream);
    });
  });
  server.on('connection', (socket: Socket) => {
    connectionCount += 1;
    connectionIds.set(socket, { id: connectionCount, used: false });
  });

  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    rttMs,
    target: options.target,
    requests,
    connections: () => connectionCount,
    clear: () => {
      requests.length = 0;
      connectionCount = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function recordOf(req: http.IncomingMessage, connection: number, newConnection: boolean): ProxiedRequest {
  const [pathOnly = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s);
  return {
    method: req.method ?? 'GET',
    path: pathOnly,
    query,
    userAgent: req.headers['user-agent'] ?? '',
    connection,
    newConnection,
    arrivedAt: performance.now(),
  };
}

/** Sends the request on to the stand-in; its answer goes back half a round trip later, then streams. */
function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: ProxiedRequest,
  { target, agent, later, half }: Upstream,
): void {
  const headers = { ...req.headers, host: target.host };
  const upstream = http.request(
    {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    },
    (answer) => {
      answer.pause();
      later(half, () => {
        if (res.destroyed) {
          answer.destroy();
          return;
        }
        record.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
        answer.resume();
      });
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('latency proxy: the stand-in did not answer\n');
    } else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
  req.resume();
}
