import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
// The proxy module alone: the package root also loads undici (~1 MB, ~60 ms of start-up).
import { getProxyUrl } from '@actions/http-client/lib/proxy';
import { ActionError } from '../lib/errors.js';
import type { KubeCluster } from './kubeconfig.js';

/** How requests reach the server: one keep-alive agent, and the proxy (if any) to send them through. */
export interface Route {
  agent: http.Agent;
  /** An HTTP proxy for a plain-http server: requests then name the absolute URL. */
  httpProxy: URL | undefined;
}

export interface ClientTls {
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

// Idle sockets close before the usual 60 s idle timeout of load balancers in front of API servers. Up to 64 at once
// (HTTP/1.1: one request per socket): the permission preflight's hundred or so access reviews then go out in two
// rounds rather than a dozen one after another, and the watches a run holds open never make its reads queue.
const KEEP_ALIVE = { keepAlive: true, keepAliveMsecs: 30_000, timeout: 55_000, maxSockets: 64 };

/** The agent for a cluster: TLS trust from the kubeconfig, client cert, proxy-url or HTTPS_PROXY/NO_PROXY. */
export function routeFor(cluster: KubeCluster, client: ClientTls): Route {
  const server = new URL(cluster.server);
  const proxy = proxyFor(cluster, server);
  if (server.protocol === 'http:') {
    return { agent: new http.Agent(KEEP_ALIVE), httpProxy: proxy };
  }
  if (server.protocol !== 'https:') {
    throw new ActionError(`The kubeconfig's server ${cluster.server} is neither https:// nor http://`, {
      hint: 'Check the kubeconfig',
    });
  }
  const tlsOptions: tls.ConnectionOptions = {
    ...(cluster.ca ? { ca: cluster.ca } : {}),
    ...(client.cert && client.key ? { cert: client.cert, key: client.key } : {}),
    rejectUnauthorized: !cluster.insecureSkipTlsVerify,
    ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
  };
  const agent = new https.Agent({ ...KEEP_ALIVE, ...tlsOptions });
  if (proxy) tunnelThrough(agent, proxy, tlsOptions);
  return { agent, httpProxy: undefined };
}

function proxyFor(cluster: KubeCluster, server: URL): URL | undefined {
  const raw = cluster.proxyUrl ?? getProxyUrl(server)?.href;
  if (!raw) return undefined;
  const proxy = new URL(raw);
  if (proxy.protocol !== 'http:') {
    throw new ActionError(
      `The proxy ${proxy.protocol}//${proxy.host} is not supported by the Kubernetes client`,
      {
        hint: 'Use an http:// proxy (HTTP CONNECT) in proxy-url or HTTPS_PROXY',
      },
    );
  }
  return proxy;
}

// An https server through an HTTP proxy: CONNECT opens a tunnel, and TLS to the API server runs inside it.
function tunnelThrough(agent: https.Agent, proxy: URL, tlsOptions: tls.ConnectionOptions): void {
  const auth = proxy.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`
    : undefined;
  const connect = (
    options: http.ClientRequestArgs,
    answer: (err: Error | null, socket?: net.Socket) => void,
  ): void => {
    let answered = false;
    const callback = (err: Error | null, socket?: net.Socket): void => {
      if (answered) return;
      answered = true;
      answer(err, socket);
    };
    const host = String(options.host ?? options.hostname ?? 'localhost');
    const target = `${host}:${options.port ?? 443}`;
    const request = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
    });
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        return callback(
          new Error(`the proxy ${proxy.host} answered CONNECT ${target} with ${response.statusCode}`),
        );
      }
      const servername = tlsOptions.servername ?? (net.isIP(host) ? undefined : host);
      // host: the name the certificate is checked against when no tls-server-name overrides it.
      const secure = tls.connect({ ...tlsOptions, socket, host, ...(servername ? { servername } : {}) });
      secure.once('secureConnect', () => callback(null, secure));
      secure.once('error', (error) => callback(error));
    });
    request.once('error', (error) => callback(error));
    request.end();
  };
  // Node's agent accepts a socket handed to the callback of createConnection (documented for http.Agent).
  (agent as unknown as { createConnection: typeof connect }).createConnection = (options, callback) => {
    connect(options, callback);
    return undefined;
  };
}
