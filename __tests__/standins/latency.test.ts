import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startLatencyProxy, type LatencyProxy } from '../../standins/latency.js';
import { startLocalWorld } from '../../standins/world.js';

// The proxy must be transparent (status, headers, bodies both ways, streamed responses) and count every
// request and connection it forwards: the benchmarks' round-trip floor is built from those counts.

interface Upstream {
  url: string;
  seen: { method: string; url: string; host: string; body: string }[];
  /** Ends the open streaming response, if any. */
  finishStream: () => void;
  close: () => Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  let finishStream = (): void => {};
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body });
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        finishStream = () => res.end('{"type":"BOOKMARK"}\n');
        return;
      }
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-standin': 'yes' });
        res.end('{"code":404}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-standin': 'yes' });
      res.end(`echo:${req.method}:${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    finishStream: () => finishStream(),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function request(
  url: string,
  options: { method?: string; body?: string; agent?: http.Agent; userAgent?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: { 'user-agent': options.userAgent ?? 'test-client/1.0' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('latency proxy', () => {
  let upstream: Upstream;
  let proxy: LatencyProxy;
  before(async () => {
    upstream = await startUpstream();
    proxy = await startLatencyProxy({ target: upstream.url, rttMs: 5 });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('forwards method, path, query and body, and returns status, headers and body unchanged', async () => {
    proxy.clear();
    const answer = await request(`${proxy.url}/compute/v1/disks?requestId=r1`, {
      method: 'POST',
      body: '{"a":1}',
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'echo:POST:{"a":1}');
    assert.equal(answer.headers['x-standin'], 'yes');
    const last = upstream.seen.at(-1);
    assert.equal(last?.url, '/compute/v1/disks?requestId=r1');
    assert.equal(last?.host, new URL(upstream.url).host, 'the stand-in sees its own Host');

    const missing = await request(`${proxy.url}/missing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body, '{"code":404}');
  });

  it('records each request with its path, query, user agent, status and connection', async () => {
    proxy.clear();
    await request(`${proxy.url}/api/v1/pods?watch=false`, { userAgent: 'kubectl/v1.35.2 (linux/amd64)' });
    assert.equal(proxy.requests.length, 1);
    const [r] = proxy.requests;
    assert.equal(r?.method, 'GET');
    assert.equal(r?.path, '/api/v1/pods');
    assert.equal(r?.query, 'watch=false');
    assert.equal(r?.userAgent, 'kubectl/v1.35.2 (linux/amd64)');
    assert.equal(r?.status, 200);
    assert.equal(r?.newConnection, true);
    assert.ok(r?.doneAt !== undefined && r.doneAt >= r.arrivedAt);
  });

  it('counts connections apart from requests: keep-alive requests share one handshake', async () => {
    proxy.clear();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) await request(`${proxy.url}/r${i}`, { agent });
    } finally {
      agent.destroy();
    }
    await request(`${proxy.url}/alone`);
    assert.equal(proxy.requests.length, 4);
    assert.equal(proxy.connections(), 2);
    assert.deepEqual(
      proxy.requests.map((r) => r.newConnection),
      [true, false, false, true],
    );
    assert.equal(new Set(proxy.requests.slice(0, 3).map((r) => r.connection)).size, 1);
  });

  it('streams a long response (a watch) as it comes, without waiting for its end', async () => {
    proxy.clear();
    const firstEvent = await new Promise<{ res: http.IncomingMessage; chunk: string }>((resolve, reject) => {
      http
        .get(`${proxy.url}/stream`, { agent: false }, (res) => {
          res.once('data', (d: Buffer) => resolve({ res, chunk: d.toString() }));
        })
        .on('error', reject);
    });
    assert.equal(firstEvent.chunk, '{"type":"ADDED"}\n');
    assert.equal(proxy.requests[0]?.doneAt, undefined, 'still open');
    let rest = '';
    firstEvent.res.on('data', (d: Buffer) => (rest += d.toString()));
    const ended = new Promise((resolve) => firstEvent.res.on('end', resolve));
    upstream.finishStream();
    await ended;
    assert.equal(rest, '{"type":"BOOKMARK"}\n');
  });

  it('answers 502 when the stand-in is gone, and still counts the request', async () => {
    const gone = await startUpstream();
    const url = gone.url;
    await gone.close();
    const orphan = await startLatencyProxy({ target: url, rttMs: 0 });
    try {
      const answer = await request(`${orphan.url}/anything`);
      assert.equal(answer.status, 502);
      assert.equal(orphan.requests.length, 1);
    } finally {
      await orphan.close();
    }
  });
});

describe('a local world with latency', () => {
  it('sends the action through the proxies: Compute endpoint, token exchange, kubeconfig, chart repository', async () => {
    const world = await startLocalWorld({ latencyMs: { compute: 0, kube: 0, charts: 0 } });
    try {
      const latency = world.latency;
      assert.ok(latency?.charts);
      const inputs = world.inputs();
      assert.equal(inputs['compute-endpoint'], latency.compute.url);
      assert.equal(inputs['helm-repo-url'], latency.charts.url);
      const env = world.env();
      const credentials = fs.readFileSync(env.GOOGLE_APPLICATION_CREDENTIALS ?? '', 'utf8');
      assert.match(credentials, new RegExp(`"token_url": "${latency.compute.url}/`));
      assert.ok(!credentials.includes(world.compute.url));
      assert.ok(fs.readFileSync(env.KUBECONFIG ?? '', 'utf8').includes(`server: ${latency.kube.url}`));

      // A lost cluster's replacement has a new address, so it gets a new proxy that reaches the new API server.
      const oldProxy = latency.kube.url;
      await world.loseCluster();
      assert.notEqual(latency.kube.url, oldProxy);
      assert.equal(latency.kube.target, world.kube.url);
      assert.ok(
        fs.readFileSync(world.env().KUBECONFIG ?? '', 'utf8').includes(`server: ${latency.kube.url}`),
      );
      const version = await request(`${latency.kube.url}/version`);
      assert.equal(version.status, 200);
      assert.equal(latency.kube.requests.length, 1);
    } finally {
      await world.close();
    }
  });

  it('leaves the inputs and environment pointing at the stand-ins when no latency is asked for', async () => {
    const world = await startLocalWorld();
    try {
      assert.equal(world.latency, undefined);
      assert.equal(world.inputs()['compute-endpoint'], world.compute.url);
      assert.ok(fs.readFileSync(world.env().KUBECONFIG ?? '', 'utf8').includes(`server: ${world.kube.url}`));
    } finally {
      await world.close();
    }
  });
});
