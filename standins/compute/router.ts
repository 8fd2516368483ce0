import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError } from './errors.js';
import type { Faults, HeldRequests } from './faults.js';
import type { Json, LoggedRequest, Route } from './routes.js';
import type { TokenExchange } from './token.js';

/** What the one HTTP server of the stand-in routes to. */
export interface RouterParts {
  routes: Route[];
  faults: Faults;
  held: HeldRequests;
  tokens: TokenExchange;
  /** Every API request is appended here (not the token exchange: its body is a credential). */
  requests: LoggedRequest[];
}

export interface Router {
  port: number;
  close(): Promise<void>;
}

/** Listens on `host` (ephemeral port): POST /v1/token to the token exchange, /compute/v1/... to the routes. */
export async function startRouter(host: string, parts: RouterParts): Promise<Router> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        receive(parts, req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        sendFailure(res, error);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function receive(
  parts: RouterParts,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  text: string,
): void {
  const url = new URL(req.url ?? '/', 'http://standin');
  if (req.method === 'POST' && url.pathname === '/v1/token') {
    const answer = parts.tokens.exchange(new URLSearchParams(text));
    send(res, answer.status, answer.body);
    return;
  }
  let body: Json = {};
  if (text.trim()) {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Json;
  }
  const logged: LoggedRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    body,
    at: performance.now(),
  };
  parts.requests.push(logged);
  // A `hang` fault holds the request, read in full, before anything else happens to it.
  if (!parts.faults.take(['hang'], logged.method, logged.path)) {
    serve(parts, req, res, logged);
    return;
  }
  parts.held.hold(logged, () => {
    try {
      serve(parts, req, res, logged);
    } catch (error) {
      sendFailure(res, error);
    }
  });
}

function serve(
  parts: RouterParts,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  logged: LoggedRequest,
): void {
  const { method, path: urlPath, query } = logged;
  const body = logged.body as Json;
  if (!parts.tokens.accepts(req.headers.authorization)) {
    send(res, 401, new ApiError(401).body());
    return;
  }
  const refused = injectedRefusal(parts.faults, method, urlPath, body);
  if (refused) {
    send(res, refused.code, refused.body());
    return;
  }
  const drop = parts.faults.take(['drop'], method, urlPath);
  const resourcePath = urlPath.replace(/^\/compute\/v1\//, '');
  for (const [routeMethod, pattern, handler] of parts.routes) {
    const match = routeMethod === method ? pattern.exec(resourcePath) : null;
    if (!match) continue;
    let status = 200;
    let answer: unknown;
    try {
      answer = handler({ match, body, method, urlPath, query });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      status = e.code;
      answer = e.body();
    }
    if (drop) {
      req.socket.destroy();
      return;
    }
    send(res, status, answer);
    return;
  }
  send(res, 404, new ApiError(404, 'notFound', `No route for ${method} ${urlPath}`).body());
}

/** An injected `error` or `forbidden` fault as the error the API answers instead of doing anything. */
function injectedRefusal(faults: Faults, method: string, urlPath: string, body: Json): ApiError | undefined {
  const fault = faults.take(['error', 'forbidden'], method, urlPath);
  if (!fault) return undefined;
  if (fault.kind === 'error') return new ApiError(fault.status, fault.reason, fault.message);
  // IAM names the resource the permission is checked on: a method's resource, an insert's new resource.
  const target = urlPath
    .replace(/^\/compute\/v1\//, '')
    .replace(/\/(createSnapshot|wait|setLabels|addResourcePolicies|removeResourcePolicies)$/, '');
  const named =
    /\/(disks|addresses|resourcePolicies)$/.test(target) && typeof body.name === 'string'
      ? `${target}/${body.name}`
      : target;
  return new ApiError(403, 'forbidden', `Required '${fault.permission}' permission for '${named}'`);
}

/** A bug in the stand-in answers 500 with its message, so a test shows it instead of hanging. */
function sendFailure(res: http.ServerResponse, error: unknown): void {
  send(res, 500, new ApiError(500, 'backendError', `stand-in failure: ${(error as Error).message}`).body());
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  // A released request whose client gave up: performed, but nobody to answer.
  if (res.destroyed || res.socket?.destroyed !== false) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
