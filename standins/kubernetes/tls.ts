import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';

/** A TLS front of the stand-in that authenticates like a real API server: a client certificate or a bearer token. */
export interface TlsListenerOptions {
  /** PEM of the server's certificate and key. */
  cert: Buffer | string;
  key: Buffer | string;
  /** PEM of the CA that signs accepted client certificates. */
  clientCa?: Buffer | string;
  /** Bearer tokens accepted (like a static token file). */
  tokens?: string[];
  /** Answer 401 to requests without credentials (default true; false = anonymous allowed). */
  requireAuth?: boolean;
  /**
   * Serve the API under this path only, as a proxy to the cluster does (Connect gateway:
   * /v1/projects/N/locations/L/gkeMemberships/M): other paths answer 404.
   */
  pathPrefix?: string;
}

export interface TlsListener {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Who each request authenticated as, in order: `cert:<CN>`, `token:<n>` (index in `tokens`) or `anonymous`. */
  identities: string[];
  /** TLS connections accepted (keep-alive reuse shows as fewer connections than requests). */
  connections(): number;
  close(): Promise<void>;
}

const unauthorized = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
});

export async function startTlsListener(
  handler: http.RequestListener,
  options: TlsListenerOptions,
): Promise<TlsListener> {
  const identities: string[] = [];
  let connections = 0;
  const server = https.createServer(
    {
      cert: options.cert,
      key: options.key,
      ...(options.clientCa ? { ca: options.clientCa } : {}),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const identity = authenticate(req, options.tokens ?? []);
      if (!identity && options.requireAuth !== false) {
        identities.push('rejected');
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(unauthorized);
        return;
      }
      identities.push(identity ?? 'anonymous');
      if (options.pathPrefix !== undefined && !stripPrefix(req, options.pathPrefix)) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } }));
        return;
      }
      handler(req, res);
    },
  );
  server.on('secureConnection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    identities,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request as the cluster behind the proxy sees it; false when it is not under the prefix. */
function stripPrefix(req: http.IncomingMessage, prefix: string): boolean {
  const url = req.url ?? '';
  if (!url.startsWith(`${prefix}/`)) return false;
  req.url = url.slice(prefix.length);
  return true;
}

function authenticate(req: http.IncomingMessage, tokens: string[]): string | undefined {
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const subject = socket.getPeerCertificate().subject as { CN?: string } | undefined;
    if (subject?.CN) return `cert:${subject.CN}`;
  }
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const index = bearer === undefined ? -1 : tokens.indexOf(bearer);
  return index >= 0 ? `token:${index}` : undefined;
}

/** A throwaway CA, a server certificate for 127.0.0.1 and `serverName`, and a client certificate, made by openssl. */
export interface TestPki {
  caCert: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** The files, for kubeconfigs that name them. */
  files: { caCert: string; clientCert: string; clientKey: string };
}

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makeTestPki(
  dir: string,
  serverName = 'kubernetes.standin',
  clientName = 'skyha-test',
): TestPki {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=standin-ca',
  );
  const sign = (name: string, subject: string, extensions: string): void => {
    fs.writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
    );
  };
  sign(
    'server',
    '/CN=kube-apiserver',
    `subjectAltName=IP:127.0.0.1,DNS:${serverName}\nextendedKeyUsage=serverAuth\n`,
  );
  sign('client', `/O=system:masters/CN=${clientName}`, 'extendedKeyUsage=clientAuth\n');
  const read = (name: string): Buffer => fs.readFileSync(file(name));
  return {
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    files: { caCert: file('ca.crt'), clientCert: file('client.crt'), clientKey: file('client.key') },
  };
}
