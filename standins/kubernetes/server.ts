import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { AccessControl } from './access.js';
import type { Cluster, WriteOptions } from './cluster.js';
import { discoveryAnswer } from './discoveryRoutes.js';
import { FaultInjector } from './faults.js';
import { decodeProtobufObject, protobufContentType, ProtobufUnsupported } from './protobuf.js';
import {
  apiVersionOf,
  findByResource,
  isRecord,
  nameOf,
  rec,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { ApiError, badRequest } from './status.js';
import type { Answer, RecordedRequest } from './requests.js';
import { toTable, wantsTable } from './table.js';
import { serveWatch } from './watch.js';

export type { RecordedRequest } from './requests.js';

interface ApiPath {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  watchPath: boolean;
}

/** One resource request, once its path is parsed. */
interface ApiCall {
  req: IncomingMessage;
  method: string;
  path: ApiPath;
  query: URLSearchParams;
  body: unknown;
  opts: WriteOptions;
}

/** Routes one HTTP request to discovery, OpenAPI, or the resource verbs, and records it. */
export class ApiRouter {
  readonly requests: RecordedRequest[] = [];
  readonly watchStreams = new Set<ServerResponse>();
  readonly faults = new FaultInjector();
  readonly access = new AccessControl();

  constructor(
    private readonly cluster: Cluster,
    private readonly beforeAnswer: () => Promise<void>,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      contentType,
      userAgent: req.headers['user-agent'],
      body: '',
      at: performance.now(),
    };
    this.requests.push(recorded);
    let answer: Answer;
    let body: unknown;
    let undecodable: unknown;
    let loseAnswer = false;
    try {
      body = raw.length ? decodeBody(raw, contentType) : undefined;
      recorded.body = body === undefined ? '' : JSON.stringify(body);
    } catch (error) {
      undecodable = error;
    }
    try {
      // Faults see every request once it is read, before it is served.
      const fault = await this.faults.intercept(recorded);
      if (fault === 'closed') return;
      if (typeof fault === 'object' && 'reset' in fault) {
        if (fault.reset === 'before') return void req.socket.resetAndDestroy();
        loseAnswer = true;
      }
      if (typeof fault === 'object' && 'endStreamAfter' in fault) endStreamAfter(res, fault.endStreamAfter);
      // As on the API server, the authorizer runs before the body is even decoded.
      this.authorize(recorded.method, url);
      if (undecodable) throw undecodable;
      const routed = this.route(req, res, url, body);
      if (routed === 'streaming') return;
      answer = routed;
    } catch (error) {
      answer = errorAnswer(error);
    }
    await this.beforeAnswer();
    // A client that gave up on a held request is gone; the request was still performed, as on a real server.
    if (res.destroyed) return;
    if (loseAnswer) return void req.socket.resetAndDestroy();
    const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const retryAfter = isRecord(answer.body) ? rec(answer.body.details).retryAfterSeconds : undefined;
    if (answer.status === 304) {
      res.writeHead(304, answer.headers);
      res.end();
      return;
    }
    res.writeHead(answer.status, {
      'Content-Type': answer.contentType ?? 'application/json',
      ...(typeof retryAfter === 'number' ? { 'Retry-After': String(retryAfter) } : {}),
      ...answer.headers,
    });
    res.end(payload);
  }

  private authorize(method: string, url: URL): void {
    const parsed = parseApiPath(url.pathname.replace(/\/+$/, '') || '/');
    if (!parsed || parsed.type.review) return;
    const { type, namespace, name, subresource } = parsed;
    const q = url.searchParams;
    const watch = parsed.watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
    const exists = (): boolean => !!name && this.cluster.store.get(type, namespace, name) !== undefined;
    this.access.authorize({ method, type, namespace, name, subresource, watch, exists });
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL, body: unknown): Answer | 'streaming' {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const fixed = discoveryAnswer(req, path, url.searchParams);
      if (fixed) return fixed;
    }
    const parsed = parseApiPath(path);
    if (!parsed) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const q = url.searchParams;
    if (parsed.type.kind === 'SelfSubjectAccessReview' && method === 'POST')
      return { status: 201, body: this.access.review(requireObject(body)) };
    const opts: WriteOptions = {
      dryRun: q.getAll('dryRun').includes('All'),
      fieldManager: q.get('fieldManager') ?? undefined,
      force: q.get('force') === 'true',
    };
    if (parsed.type.review && method !== 'POST') throw methodNotAllowed();
    const call: ApiCall = { req, method, path: parsed, query: q, body, opts };
    return parsed.name === undefined ? this.collection(call, res) : this.object(call, parsed.name);
  }

  /** Verbs on a collection: watch, list, create, deletecollection. */
  private collection(call: ApiCall, res: ServerResponse): Answer | 'streaming' {
    const { req, method, query: q, body, opts } = call;
    const { type, namespace, watchPath } = call.path;
    if (method === 'GET' && (watchPath || q.get('watch') === 'true' || q.get('watch') === '1')) {
      serveWatch(this.cluster, req, res, { type, namespace, query: q }, this.watchStreams);
      return 'streaming';
    }
    if (method === 'GET') {
      const items = this.cluster.list(type, namespace, q.get('labelSelector'), q.get('fieldSelector'));
      if (wantsTable(req.headers.accept))
        return ok(toTable(type, items, String(this.cluster.store.resourceVersion)));
      return ok(this.listBody(type, items));
    }
    if (method === 'POST') {
      return { status: 201, body: this.cluster.create(type, namespace, requireObject(body), opts) };
    }
    if (method === 'DELETE') {
      for (const item of this.cluster.list(type, namespace, q.get('labelSelector'), q.get('fieldSelector'))) {
        this.cluster.delete(type, namespace, nameOf(item), rec(body), opts);
      }
      return ok({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
    }
    throw methodNotAllowed();
  }

  /** Verbs on one object and its subresources (status, scale, log, a namespace's finalize). */
  private object(call: ApiCall, name: string): Answer {
    const { req, method, query: q, body, opts } = call;
    const { type, namespace, subresource } = call.path;
    if (subresource === 'log' && type.kind === 'Pod' && method === 'GET')
      return this.podLog(type, namespace, name);
    if (subresource === 'scale') return this.scale(method, type, namespace, name, body, opts);
    if (
      subresource !== undefined &&
      subresource !== 'status' &&
      !(type.kind === 'Namespace' && subresource === 'finalize')
    ) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const sub = subresource === 'status' ? 'status' : undefined;
    const existed = (): boolean => this.cluster.store.get(type, namespace, name) !== undefined;
    switch (method) {
      case 'GET': {
        const found = this.cluster.get(type, namespace, name);
        if (wantsTable(req.headers.accept))
          return ok(toTable(type, [found], String(this.cluster.store.resourceVersion)));
        return ok(found);
      }
      case 'PUT': {
        const status = existed() ? 200 : 201;
        return { status, body: this.cluster.update(type, namespace, name, requireObject(body), sub, opts) };
      }
      case 'PATCH': {
        const patchType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const status = existed() ? 200 : 201;
        return { status, body: this.cluster.patch(type, namespace, name, patchType, body, sub, opts) };
      }
      case 'DELETE': {
        const options = { ...rec(body) };
        const policy = q.get('propagationPolicy');
        if (policy) options.propagationPolicy = policy;
        return ok(this.cluster.delete(type, namespace, name, options, opts));
      }
      default:
        throw methodNotAllowed();
    }
  }

  /** What `kubectl logs` shows of a SkyPilot API server pod. */
  private podLog(type: ResourceType, namespace: string | undefined, name: string): Answer {
    const pod = this.cluster.get(type, namespace, name);
    const lines = [
      `INFO: Started server process [1] for pod ${nameOf(pod)}`,
      'INFO: Waiting for application startup.',
      'INFO: Application startup complete.',
      'INFO: Uvicorn running on http://0.0.0.0:46580 (Press CTRL+C to quit)',
    ];
    return { status: 200, body: `${lines.join('\n')}\n`, contentType: 'text/plain' };
  }

  private scale(
    method: string,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
  ): Answer {
    const current = this.cluster.get(type, namespace, name);
    const toScale = (obj: KubeObject): KubeObject => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name,
        namespace,
        uid: rec(obj.metadata).uid,
        resourceVersion: rec(obj.metadata).resourceVersion,
      },
      spec: { replicas: rec(obj.spec).replicas ?? 1 },
      status: { replicas: rec(obj.status).replicas ?? 0, selector: '' },
    });
    if (method === 'GET') return ok(toScale(current));
    const replicas = rec(rec(body).spec).replicas;
    if (typeof replicas !== 'number') throw badRequest('spec.replicas is required');
    const updated = this.cluster.patch(
      type,
      namespace,
      name,
      'application/merge-patch+json',
      { spec: { replicas } },
      undefined,
      opts,
    );
    return ok(toScale(updated));
  }

  private listBody(type: ResourceType, items: KubeObject[]): KubeObject {
    return {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type),
      metadata: { resourceVersion: String(this.cluster.store.resourceVersion) },
      items,
    };
  }
}

function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

/** A fault that ends a watch stream early: after `events` event lines (0: as soon as it is open). */
function endStreamAfter(res: ServerResponse, events: number): void {
  const write = res.write.bind(res) as (chunk: unknown) => boolean;
  const end = res.end.bind(res) as () => ServerResponse;
  let sent = 0;
  let ended = false;
  const finish = (): ServerResponse => {
    if (!ended) end();
    ended = true;
    return res;
  };
  res.end = finish as ServerResponse['end'];
  res.write = ((chunk: unknown) => {
    if (ended) return false;
    const written = write(chunk);
    if (++sent >= events) finish();
    return written;
  }) as ServerResponse['write'];
  if (events > 0) return;
  const flush = res.flushHeaders.bind(res);
  res.flushHeaders = () => {
    flush();
    finish();
  };
}

function ok(body: unknown): Answer {
  return { status: 200, body };
}

/** Splits /api/v1/... and /apis/G/V/... into resource type, namespace, name and subresource. */
export function parseApiPath(path: string): ApiPath | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = findByResource(group, version, rest[2]!);
    if (inner?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const type = rest[0] ? findByResource(group, version, rest[0]) : undefined;
  if (!type || rest.length > 3) return undefined;
  return { type, namespace, name: rest[1], subresource: rest[2], watchPath };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const mediaType = (contentType ?? 'application/json').split(';')[0]!.trim();
  if (mediaType === protobufContentType) return decodeProtobufObject(raw);
  const text = raw.toString('utf8');
  try {
    return mediaType === 'application/apply-patch+yaml' || mediaType.endsWith('yaml')
      ? YAML.parse(text)
      : JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
}

function requireObject(body: unknown): KubeObject {
  if (!isRecord(body)) throw badRequest('the request body must be an object');
  return body;
}

function errorAnswer(error: unknown): Answer {
  if (error instanceof ApiError) return { status: error.code, body: error.toStatus() };
  if (error instanceof ProtobufUnsupported) {
    return { status: 415, body: new ApiError(415, 'UnsupportedMediaType', error.message).toStatus() };
  }
  console.error('kubernetes stand-in: internal error:', error);
  return {
    status: 500,
    body: new ApiError(500, 'InternalError', `internal error: ${String(error)}`).toStatus(),
  };
}
