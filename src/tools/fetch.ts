import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpClient, type HttpClientResponse } from '@actions/http-client';
import { currentStep } from '../lib/cancellation.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError, OutOfTimeError } from '../lib/errors.js';
import { withRetry } from '../lib/retry.js';

/** A publisher or mirror answered with a status other than 200; the URL and status are what the user needs. */
export class HttpStatusError extends ActionError {
  constructor(
    readonly url: string,
    readonly status: number,
    hint?: string,
  ) {
    super(`GET ${url} returned HTTP ${status}`, hint === undefined ? {} : { hint });
    this.name = 'HttpStatusError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENETUNREACH',
]);

/** 408, 429, 5xx and dropped connections are worth another try; a 404 is an answer. */
export function isTransientHttpError(error: unknown): boolean {
  if (error instanceof HttpStatusError)
    return error.status === 408 || error.status === 429 || error.status >= 500;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && TRANSIENT_CODES.has(code)) || /^Request timeout/.test(error.message);
}

/** @actions/http-client honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY; its own retries are off, ours use the deadline. */
function client(deadline: Deadline): HttpClient {
  return new HttpClient('skyha-action', [], {
    allowRetries: false,
    socketTimeout: Math.max(1000, Math.min(60_000, deadline.remainingMs())),
  });
}

/**
 * One HTTP exchange, ended by the run's deadline whatever the server does (the socket timeout only catches a
 * server that goes silent, not one that trickles): at the deadline its sockets are destroyed and it fails.
 */
async function exchange<T>(
  what: string,
  deadline: Deadline,
  work: (http: HttpClient, hold: (response: HttpClientResponse) => void) => Promise<T>,
): Promise<T> {
  deadline.check(what);
  const http = client(deadline);
  const responses: HttpClientResponse[] = [];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const step = currentStep();
      reject(
        new OutOfTimeError(
          `${what} ran out of time during step ${step}: the run's timeout was used up`,
          step,
        ),
      );
      for (const response of responses) response.message.destroy();
      http.dispose();
    }, deadline.remainingMs());
  });
  try {
    return await Promise.race([work(http, (response) => void responses.push(response)), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function request(
  method: 'GET' | 'HEAD',
  url: string,
  http: HttpClient,
  hold: (response: HttpClientResponse) => void,
): Promise<HttpClientResponse> {
  const response = await (method === 'GET' ? http.get(url) : http.head(url));
  hold(response);
  return response;
}

async function drain(response: HttpClientResponse): Promise<void> {
  response.message.resume();
  await new Promise<void>((resolve) => {
    if (response.message.complete) resolve();
    response.message
      .once('end', resolve)
      .once('error', () => resolve())
      .once('close', resolve);
  });
}

/** GETs `url` and returns the response when it is a 200; any other status is drained and thrown. */
async function getOk(
  url: string,
  http: HttpClient,
  hold: (response: HttpClientResponse) => void,
): Promise<HttpClientResponse> {
  const response = await request('GET', url, http, hold);
  const status = response.message.statusCode ?? 0;
  if (status !== 200) {
    await drain(response);
    throw new HttpStatusError(url, status);
  }
  return response;
}

/** GETs a small file (version or checksum file) as text, retrying transient failures. */
export async function fetchText(url: string, deadline: Deadline): Promise<string> {
  return withRetry(
    () => exchange(`GET ${url}`, deadline, async (http, hold) => (await getOk(url, http, hold)).readBody()),
    { what: `GET ${url}`, isTransient: isTransientHttpError, deadline },
  );
}

/** Whether the publisher has a file: 200 yes, 404 (or 403, what bucket-backed mirrors say) no, anything else an error. */
export async function fileExists(url: string, method: 'GET' | 'HEAD', deadline: Deadline): Promise<boolean> {
  return withRetry(
    () =>
      exchange(`${method} ${url}`, deadline, async (http, hold) => {
        const response = await request(method, url, http, hold);
        const status = response.message.statusCode ?? 0;
        await drain(response);
        if (status === 200) return true;
        if (status === 404 || status === 403) return false;
        throw new HttpStatusError(url, status);
      }),
    { what: `${method} ${url}`, isTransient: isTransientHttpError, deadline },
  );
}

/** Streams a download to `dest`, hashing as it goes; returns the SHA-256 in lowercase hex. */
export async function downloadFile(url: string, dest: string, deadline: Deadline): Promise<string> {
  const what = `download of ${url}`;
  return withRetry(
    () =>
      exchange(what, deadline, async (http, hold) => {
        const response = await getOk(url, http, hold);
        const hash = crypto.createHash('sha256');
        const hashing = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            callback(null, chunk);
          },
        });
        try {
          await pipeline(response.message, hashing, fs.createWriteStream(dest));
        } catch (error) {
          fs.rmSync(dest, { force: true });
          throw error;
        }
        return hash.digest('hex');
      }),
    { what, isTransient: isTransientHttpError, deadline },
  );
}
