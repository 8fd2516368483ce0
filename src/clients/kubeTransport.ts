import * as http from 'node:http';
import * as https from 'node:https';
import { CredentialSource, type Credential } from './kubeCredentials.js';
import type { KubeContext } from './kubeconfig.js';
import { routeFor, type Route } from './kubeAgent.js';
import { retryAfterMs } from '../lib/retry.js';
import { KubeConnectionError, KubeTimeoutError } from './kubeErrors.js';

/** How much time a call may take: the run's Deadline, or anything else that counts down. */
export interface Budget {
  remainingMs(): number;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The REST path, already escaped. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON (YAML's subset, so server-side apply takes it as is). */
  body?: unknown;
  contentType?: string;
  accept?: string;
  budget: Budget;
}

export interface KubeResponse {
  status: number;
  text: string;
  /** The Retry-After header of an error answer, in ms. */
  retryAfterMs?: number;
}

export interface TransportOptions {
  /** Cap for one request (not for a watch), so one hung call cannot eat the whole run; default 30 s. */
  requestTimeoutMs?: number;
  userAgent?: string;
  now?: () => number;
  /** Receives `METHOD path` of each request (never a body, a query value that could be secret, or a header). */
  debug?: (line: string) => void;
}

const MAX_BODY = 64 * 1024 * 1024;

/** One kubeconfig context's connection: keep-alive agent, credentials, per-call deadlines, one safe retry. */
export class KubeTransport {
  readonly credentials: CredentialSource;
  private route: { route: Route; cert: Buffer | undefined; key: Buffer | undefined } | undefined;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly context: KubeContext,
    private readonly options: TransportOptions = {},
  ) {
    this.credentials = new CredentialSource(context.user, context.cluster, options.now);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Sends one request and reads the whole answer; a 401 from an exec credential is retried once with a new one. */
  async send(request: KubeRequest): Promise<KubeResponse> {
    return this.withRetries(request, (credential) => this.exchange(request, credential, undefined, false));
  }

  /**
   * A streaming GET (a watch): lines go to `onLine` as they arrive, until it returns true. Resolves then, when the
   * server ends the stream, or when the budget runs out (`deadline: true`); a non-200 answer is returned whole.
   */
  async stream(
    request: KubeRequest,
    onLine: (line: string) => boolean,
  ): Promise<KubeResponse & { deadline: boolean }> {
    let deadline = false;
    const response = await this.withRetries(request, (credential) =>
      this.exchange(request, credential, onLine, true).then((r) => {
        deadline = r.deadline;
        return r;
      }),
    );
    return { ...response, deadline };
  }

  /** Closes the idle keep-alive sockets so the process can exit. */
  close(): void {
    this.route?.route.agent.destroy();
    this.route = undefined;
  }

  private async withRetries(
    request: KubeRequest,
    attempt: (c: Credential) => Promise<KubeResponse>,
  ): Promise<KubeResponse> {
    const started = request.budget.remainingMs();
    if (started <= 0) throw new KubeTimeoutError(request.method, request.path, 0);
    for (let tries = 1; ; tries++) {
      const credential = await this.credentials.get(() => request.budget.remainingMs());
      try {
        const response = await attempt(credential);
        if (response.status === 401 && tries === 1 && this.credentials.refreshable) {
          this.credentials.invalidate();
          continue;
        }
        return response;
      } catch (error) {
        // A keep-alive socket the server closed just as we reused it: safe to send a read again.
        if (tries === 1 && request.method === 'GET' && error instanceof StaleSocket) continue;
        if (error instanceof StaleSocket) throw error.connectionError;
        throw error;
      }
    }
  }

  private routeFor(credential: Credential): Route {
    const current = this.route;
    if (current && current.cert === credential.cert && current.key === credential.key) return current.route;
    current?.route.agent.destroy();
    const route = routeFor(this.context.cluster, credential);
    this.route = { route, cert: credential.cert, key: credential.key };
    return route;
  }

  private exchange(
    request: KubeRequest,
    credential: Credential,
    onLine: ((line: string) => boolean) | undefined,
    streaming: boolean,
  ): Promise<KubeResponse & { deadline: boolean }> {
    const route = this.routeFor(credential);
    const url = new URL(this.context.cluster.server + request.path + queryString(request.query));
    const remaining = request.budget.remainingMs();
    const limit = streaming ? remaining : Math.min(remaining, this.requestTimeoutMs);
    if (limit <= 0) return Promise.reject(new KubeTimeoutError(request.method, request.path, 0));
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: http.OutgoingHttpHeaders = {
      accept: request.accept ?? 'application/json',
      'user-agent': this.options.userAgent ?? 'skyha-action',
      ...(credential.authorization ? { authorization: credential.authorization } : {}),
      ...(payload
        ? { 'content-type': request.contentType ?? 'application/json', 'content-length': payload.length }
        : {}),
    };
    this.options.debug?.(`${request.method} ${request.path}`);
    return new Promise((resolve, reject) => {
      const target = route.httpProxy
        ? { host: route.httpProxy.hostname, port: route.httpProxy.port || 80, path: url.href }
        : {
            host: url.hostname,
            port: url.port || (url.protocol === 'https:' ? 443 : 80),
            path: url.pathname + url.search,
          };
      const send = url.protocol === 'https:' && !route.httpProxy ? https.request : http.request;
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      let streamingOk = false;
      const req = send({ ...target, method: request.method, headers, agent: route.agent });
      const timer = setTimeout(() => {
        if (streamingOk) finish(() => resolve({ status: 200, text: '', deadline: true }));
        else {
          const capped = limit < remaining;
          finish(() => reject(new KubeTimeoutError(request.method, request.path, limit, undefined, capped)));
        }
        req.destroy();
      }, limit);
      req.on('error', (error) => {
        const stale = req.reusedSocket && isReset(error);
        const failure = new KubeConnectionError(
          request.method,
          request.path,
          this.context.cluster.server,
          error,
        );
        finish(() => reject(stale ? new StaleSocket(failure) : failure));
      });
      req.on('response', (res) => {
        const ok = streaming && res.statusCode === 200;
        streamingOk = ok;
        readBody(res, ok ? onLine : undefined, (error, text) => {
          if (error) {
            const failure = new KubeConnectionError(
              request.method,
              request.path,
              this.context.cluster.server,
              error,
            );
            return finish(() => (ok ? resolve({ status: 200, text: '', deadline: false }) : reject(failure)));
          }
          const status = res.statusCode ?? 0;
          const wait = status >= 400 ? retryAfterMs(res.headers['retry-after']) : undefined;
          const retry = wait === undefined ? {} : { retryAfterMs: wait };
          finish(() => resolve({ status, text, deadline: false, ...retry }));
        });
      });
      req.end(payload);
    });
  }
}

/** A reused keep-alive socket failed before any answer: the request never reached the server's handler. */
class StaleSocket extends Error {
  constructor(readonly connectionError: KubeConnectionError) {
    super(connectionError.message);
  }
}

function isReset(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

// Whole bodies are collected (and capped); a stream's lines go to onLine as each newline arrives.
function readBody(
  res: http.IncomingMessage,
  onLine: ((line: string) => boolean) | undefined,
  done: (error: Error | undefined, text: string) => void,
): void {
  res.setEncoding('utf8');
  let text = '';
  res.on('data', (chunk: string) => {
    text += chunk;
    if (onLine) {
      let newline: number;
      while ((newline = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, newline).trim();
        text = text.slice(newline + 1);
        if (line && onLine(line) === true) {
          done(undefined, '');
          res.destroy();
          return;
        }
      }
    } else if (text.length > MAX_BODY) res.destroy(new Error(`the answer is larger than ${MAX_BODY} bytes`));
  });
  res.on('end', () => done(undefined, onLine ? '' : text));
  res.on('error', (error) => done(error, ''));
  res.on('close', () => {
    if (!res.complete) done(new Error('the server closed the connection mid-answer'), '');
  });
}

function queryString(query: KubeRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
