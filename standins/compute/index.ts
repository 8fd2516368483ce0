import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiError, alreadyExists, invalid, notFound } from './errors.js';
import { diskRegion, policiesAfterAdd } from './policies.js';
import {
  GCE_NAME,
  SELF_LINK_BASE,
  fingerprint,
  invalidLabel,
  newId,
  operationName,
  timestamp,
  type DiskJson,
  type OperationJson,
  type OperationState,
  type Pending,
  type ResourcePolicyJson,
  type SnapshotJson,
} from './resources.js';
import { scheduleRoutes, type ComputeState, type Route } from './scheduleRoutes.js';
import { seedResourcePolicy, seedSnapshot, type ResourcePolicySeed, type SnapshotSeed } from './seeds.js';

export type {
  DiskJson,
  OperationJson,
  ResourcePolicyJson,
  SnapshotJson,
  SnapshotSchedulePolicyJson,
} from './resources.js';
export type { ResourcePolicySeed, SnapshotSeed } from './seeds.js';

/** One request as the stand-in saw it, so tests can count reads and writes. */
export interface LoggedRequest {
  method: string;
  /** Without the query string, e.g. /compute/v1/projects/p/zones/z/disks/d. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface RequestMatch {
  method?: string;
  /** A substring of the path, or a pattern tested against it. */
  path?: string | RegExp;
  /** How many matching requests the fault applies to (default 1). */
  times?: number;
}

export type Fault =
  /** Answer with a Google error body (429, 5xx, 403 quotaExceeded, ...). */
  | (RequestMatch & { kind: 'error'; status: number; reason?: string; message?: string })
  /** 403 naming the missing permission, as IAM denials read. */
  | (RequestMatch & { kind: 'forbidden'; permission: string })
  /** Perform the request, then destroy the socket without answering: the client cannot know it worked. */
  | (RequestMatch & { kind: 'drop' })
  /** The next matching write starts an operation that ends DONE with this error. */
  | (RequestMatch & { kind: 'operationError'; code: string; message?: string; httpStatus?: number })
  /** The next matching write starts an operation that takes this many polls to finish. */
  | (RequestMatch & { kind: 'slowOperation'; polls: number })
  /**
   * Read the request and never answer: the socket stays open until release() (then the request is performed
   * and answered, if the client still listens) or close() (then it is dropped, never performed).
   */
  | (RequestMatch & { kind: 'hang' });

export interface DiskSeed {
  project?: string;
  zone?: string;
  region?: string;
  replicaZones?: string[];
  name: string;
  sizeGb: number;
  /** A disk type name such as pd-ssd; default pd-balanced. */
  type?: string;
  /** Instance names (in the disk's zone) or full instance URLs. */
  users?: string[];
  labels?: Record<string, string>;
  status?: string;
  description?: string;
  /** Resource policy names in the disk's region, or their URLs; they must have been put first. */
  resourcePolicies?: string[];
}

export interface ComputeStandInOptions {
  /** Polls (GET or wait) an operation needs to reach DONE. */
  operationPolls?: number;
  /** GETs of a new disk or snapshot, after its operation is DONE, before it reads READY. */
  readyPolls?: number;
  /** Loopback address to listen on. */
  host?: string;
}

export interface ComputeStandIn {
  /** Base URL for the compute-endpoint input, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  host: string;
  /** The STS endpoint for workload identity federation files. */
  tokenUrl: string;
  /** An access token the API accepts, for tests that hand the client an OAuth2Client. */
  accessToken: string;
  /** API requests (the token exchange is counted in tokenExchanges instead, its body is a credential). */
  requests: LoggedRequest[];
  tokenExchanges(): number;
  disks(): DiskJson[];
  /** One disk by resource path (projects/P/zones/Z/disks/D) or URL, as stored (its resourcePolicies included). */
  disk(resourcePath: string): DiskJson | undefined;
  snapshots(): SnapshotJson[];
  resourcePolicies(): ResourcePolicyJson[];
  operations(): OperationJson[];
  putDisk(seed: DiskSeed): DiskJson;
  putSnapshot(seed: SnapshotSeed): SnapshotJson;
  putResourcePolicy(seed: ResourcePolicySeed): ResourcePolicyJson;
  /** The disaster: the disk is gone at once, without an operation; its snapshots remain. */
  removeDisk(resourcePath: string): boolean;
  inject(fault: Fault): void;
  /** Requests a `hang` fault holds, oldest first. */
  held(): LoggedRequest[];
  /** Resolves once at least `count` requests are held (so tests need no sleeps). */
  whenHeld(count?: number): Promise<LoggedRequest[]>;
  /** Performs and answers every held request in arrival order; returns how many it released. */
  release(): number;
  writeExternalAccountCredentials(dir: string): string;
  close(): Promise<void>;
}

const DEFAULT_PROJECT = 'standin-project';

/**
 * The Compute REST API (disks, snapshots, snapshot schedules, operations) and the STS token exchange, in memory
 * over HTTP.
 */
export async function startComputeStandIn(options: ComputeStandInOptions = {}): Promise<ComputeStandIn> {
  const operationPolls = options.operationPolls ?? 3;
  const readyPolls = options.readyPolls ?? 1;
  const host = options.host ?? '127.0.0.1';
  const accessToken = `standin-${randomBytes(12).toString('hex')}`;
  const tokens = new Set([accessToken]);
  const disks = new Map<string, DiskJson>();
  const snapshots = new Map<string, SnapshotJson>();
  const policies = new Map<string, ResourcePolicyJson>();
  const operations = new Map<string, OperationState>();
  const byRequestId = new Map<string, OperationState>();
  const pending = new Map<string, Pending>();
  const faults: (Fault & { left: number })[] = [];
  const requests: LoggedRequest[] = [];
  const hung: { request: LoggedRequest; proceed: () => void }[] = [];
  const heldWaiters: { count: number; resolve: (held: LoggedRequest[]) => void }[] = [];
  const goneDiskIds = new Map<string, string>();
  let exchanges = 0;
  let base = '';

  const link = (resourcePath: string): string => `${SELF_LINK_BASE}${resourcePath}`;
  const relative = (urlOrPath: string): string => urlOrPath.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');

  function takeFault<K extends Fault['kind']>(
    kinds: readonly K[],
    method: string,
    urlPath: string,
  ): Extract<Fault, { kind: K }> | undefined {
    const index = faults.findIndex(
      (f) =>
        (kinds as readonly string[]).includes(f.kind) &&
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? urlPath.includes(f.path) : f.path.test(urlPath))),
    );
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if (--fault.left <= 0) faults.splice(index, 1);
    return fault as unknown as Extract<Fault, { kind: K }>;
  }

  function startOperation(
    scope: string,
    type: string,
    target: string,
    method: string,
    urlPath: string,
    onDone: () => void,
  ): OperationState {
    const failing = takeFault(['operationError'], method, urlPath);
    const slow = takeFault(['slowOperation'], method, urlPath);
    const name = operationName();
    const scopeField = scope.startsWith('zones/')
      ? { zone: link(`projects/${project(urlPath)}/${scope}`) }
      : scope.startsWith('regions/')
        ? { region: link(`projects/${project(urlPath)}/${scope}`) }
        : {};
    const op: OperationState = {
      json: {
        kind: 'compute#operation',
        id: newId(),
        name,
        ...scopeField,
        operationType: type,
        targetLink: link(target),
        targetId: newId(),
        status: 'PENDING',
        user: 'standin@standin-project.iam.gserviceaccount.com',
        progress: 0,
        insertTime: timestamp(),
        selfLink: link(`projects/${project(urlPath)}/${scope}/operations/${name}`),
      },
      polls: 0,
      pollsToDone: slow ? slow.polls : operationPolls,
      onDone,
      ...(failing
        ? {
            failure: {
              code: failing.code,
              message: failing.message ?? defaultOperationMessage(failing.code, target),
              httpStatus: failing.httpStatus ?? (failing.code === 'ZONE_RESOURCE_POOL_EXHAUSTED' ? 503 : 403),
            },
          }
        : {}),
    };
    operations.set(relative(op.json.selfLink), op);
    return op;
  }

  function poll(op: OperationState): OperationJson {
    if (op.json.status === 'DONE') return op.json;
    op.polls++;
    if (op.polls < op.pollsToDone) {
      op.json.status = 'RUNNING';
      op.json.startTime ??= timestamp();
      op.json.progress = Math.round((100 * op.polls) / op.pollsToDone);
      return op.json;
    }
    op.json.status = 'DONE';
    op.json.progress = 100;
    op.json.startTime ??= timestamp();
    op.json.endTime = timestamp();
    if (op.failure) {
      op.json.error = { errors: [{ code: op.failure.code, message: op.failure.message }] };
      op.json.httpErrorStatusCode = op.failure.httpStatus;
      op.json.httpErrorMessage = op.failure.httpStatus === 503 ? 'SERVICE UNAVAILABLE' : 'FORBIDDEN';
    } else {
      op.onDone();
    }
    return op.json;
  }

  /** CREATING until its operation is DONE and it has been read `readyPolls` more times. */
  function readResource<T extends { status: string }>(
    key: string,
    resource: T,
    ready: string,
    between?: string,
  ): T {
    const wait = pending.get(key);
    if (wait && wait.op.json.status === 'DONE') {
      if (wait.reads-- <= 0) {
        resource.status = ready;
        pending.delete(key);
      } else if (between) {
        resource.status = between;
      }
    }
    return resource;
  }

  /** GCE's requestId: a retry with the same id answers with the first operation and changes nothing. */
  function once(query: Record<string, string>, start: () => OperationState): OperationJson {
    const requestId = query.requestId;
    const seen = requestId ? byRequestId.get(requestId) : undefined;
    if (seen) return seen.json;
    const op = start();
    if (requestId) byRequestId.set(requestId, op);
    return op.json;
  }

  function insertDisk(
    projectId: string,
    scope: string,
    body: Record<string, unknown>,
    method: string,
    urlPath: string,
  ) {
    const name = typeof body.name === 'string' ? body.name : '';
    if (!GCE_NAME.test(name))
      throw invalid(
        `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    const key = `projects/${projectId}/${scope}/disks/${name}`;
    if (disks.has(key)) throw alreadyExists(key);
    const regional = scope.startsWith('regions/');
    const typeName = diskTypeName(body.type, regional);
    const labelProblem = invalidLabel(body.labels as Record<string, string> | undefined);
    if (labelProblem) throw invalid(labelProblem);
    let snapshot: SnapshotJson | undefined;
    if (body.sourceSnapshot !== undefined) {
      const snapshotPath = snapshotKey(String(body.sourceSnapshot), projectId);
      snapshot = snapshots.get(snapshotPath);
      if (!snapshot) throw notFound(snapshotPath);
    }
    const sizeGb = body.sizeGb === undefined ? Number(snapshot?.diskSizeGb ?? 500) : Number(body.sizeGb);
    if (!Number.isSafeInteger(sizeGb) || sizeGb < 10)
      throw invalid(`Invalid value for field 'resource.sizeGb': '${String(body.sizeGb)}'`);
    if (snapshot && sizeGb < Number(snapshot.diskSizeGb)) {
      throw invalid(
        `Requested disk size cannot be smaller than the snapshot size (${snapshot.diskSizeGb} GB)`,
      );
    }
    let replicaZones: string[] | undefined;
    if (regional) {
      const zones = Array.isArray(body.replicaZones) ? body.replicaZones.map(String) : [];
      if (zones.length !== 2)
        throw invalid("Invalid value for field 'resource.replicaZones': exactly two zones are required");
      replicaZones = zones.map((z) => link(`projects/${projectId}/zones/${z.replace(/^.*\/zones\//, '')}`));
    }
    const disk: DiskJson = {
      kind: 'compute#disk',
      id: newId(),
      creationTimestamp: timestamp(),
      name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      sizeGb: String(sizeGb),
      ...(regional
        ? { region: link(`projects/${projectId}/${scope}`), replicaZones }
        : { zone: link(`projects/${projectId}/${scope}`) }),
      status: 'CREATING',
      selfLink: link(key),
      type: link(`projects/${projectId}/${scope}/diskTypes/${typeName}`),
      ...(body.labels ? { labels: { ...(body.labels as Record<string, string>) } } : {}),
      labelFingerprint: fingerprint(),
      ...(snapshot ? { sourceSnapshot: snapshot.selfLink, sourceSnapshotId: snapshot.id } : {}),
      physicalBlockSizeBytes: '4096',
    };
    // disks.insert takes resourcePolicies too: a restored disk can get its schedule in the same call.
    if (body.resourcePolicies !== undefined) {
      const attached = policiesAfterAdd(disk, body.resourcePolicies, policies, projectId, key);
      disk.resourcePolicies = attached.map((p) => p.selfLink);
    }
    const op = startOperation(scope, 'insert', key, method, urlPath, () => undefined);
    op.json.targetId = disk.id;
    // A failing insert leaves no disk behind, as a capacity or quota failure does.
    if (!op.failure) {
      disks.set(key, disk);
      pending.set(key, { op, reads: readyPolls });
    }
    return op;
  }

  function createSnapshot(
    projectId: string,
    scope: string,
    diskName: string,
    body: Record<string, unknown>,
    method: string,
    urlPath: string,
  ) {
    const diskPath = `projects/${projectId}/${scope}/disks/${diskName}`;
    const disk = disks.get(diskPath);
    if (!disk) throw notFound(diskPath);
    const name = typeof body.name === 'string' ? body.name : '';
    if (!GCE_NAME.test(name)) throw invalid(`Invalid value for field 'resource.name': '${name}'`);
    const key = `projects/${projectId}/global/snapshots/${name}`;
    if (snapshots.has(key)) throw alreadyExists(key);
    const labelProblem = invalidLabel(body.labels as Record<string, string> | undefined);
    if (labelProblem) throw invalid(labelProblem);
    const snapshot: SnapshotJson = {
      kind: 'compute#snapshot',
      id: newId(),
      creationTimestamp: timestamp(),
      name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      status: 'CREATING',
      sourceDisk: disk.selfLink,
      sourceDiskId: disk.id,
      diskSizeGb: disk.sizeGb,
      storageBytes: '0',
      selfLink: link(key),
      ...(body.labels ? { labels: { ...(body.labels as Record<string, string>) } } : {}),
      labelFingerprint: fingerprint(),
    };
    const op = startOperation(scope, 'createSnapshot', diskPath, method, urlPath, () => {
      snapshot.storageBytes = String(Number(disk.sizeGb) * 1024 ** 3 * 0.01);
    });
    if (!op.failure) {
      snapshots.set(key, snapshot);
      pending.set(key, { op, reads: readyPolls });
    }
    return op;
  }

  const routes: Route[] = [
    [
      'POST',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+)\/disks$/,
      (m, body, method, urlPath, query) => once(query, () => insertDisk(m[1]!, m[2]!, body, method, urlPath)),
    ],
    [
      'GET',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+)\/disks\/([^/]+)$/,
      (m) => {
        const key = `projects/${m[1]}/${m[2]}/disks/${m[3]}`;
        const disk = disks.get(key);
        if (!disk) throw notFound(key);
        return readResource(key, disk, 'READY');
      },
    ],
    [
      'DELETE',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+)\/disks\/([^/]+)$/,
      (m, _body, method, urlPath, query) =>
        once(query, () => {
          const key = `projects/${m[1]}/${m[2]}/disks/${m[3]}`;
          const disk = disks.get(key);
          if (!disk) throw notFound(key);
          if (disk.users?.length) {
            throw new ApiError(
              400,
              'resourceInUseByAnotherResource',
              `The disk resource '${key}' is already being used by '${relative(disk.users[0]!)}'`,
            );
          }
          return startOperation(m[2]!, 'delete', key, method, urlPath, () => disks.delete(key));
        }),
    ],
    [
      'POST',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+)\/disks\/([^/]+)\/createSnapshot$/,
      (m, body, method, urlPath, query) =>
        once(query, () => createSnapshot(m[1]!, m[2]!, m[3]!, body, method, urlPath)),
    ],
    [
      'GET',
      /^projects\/([^/]+)\/global\/snapshots\/([^/]+)$/,
      (m) => {
        const key = `projects/${m[1]}/global/snapshots/${m[2]}`;
        const snapshot = snapshots.get(key);
        if (!snapshot) throw notFound(key);
        return readResource(key, snapshot, 'READY', 'UPLOADING');
      },
    ],
    [
      'DELETE',
      /^projects\/([^/]+)\/global\/snapshots\/([^/]+)$/,
      (m, _body, method, urlPath, query) =>
        once(query, () => {
          const key = `projects/${m[1]}/global/snapshots/${m[2]}`;
          if (!snapshots.has(key)) throw notFound(key);
          return startOperation('global', 'delete', key, method, urlPath, () => snapshots.delete(key));
        }),
    ],
    [
      'GET',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+|global)\/operations\/([^/]+)$/,
      (m) => poll(operation(m)),
    ],
    [
      'POST',
      /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+|global)\/operations\/([^/]+)\/wait$/,
      (m) => poll(operation(m)),
    ],
  ];
  const state: ComputeState = {
    disks,
    snapshots,
    policies,
    pending,
    link,
    startOperation,
    readResource,
    once,
  };
  routes.push(...scheduleRoutes(state));

  function operation(m: RegExpExecArray): OperationState {
    const key = `projects/${m[1]}/${m[2]}/operations/${m[3]}`;
    const op = operations.get(key);
    if (!op) throw notFound(key);
    return op;
  }

  /** A `hang` fault holds the request, read in full, before anything else happens to it. */
  function handleApi(req: http.IncomingMessage, res: http.ServerResponse, logged: LoggedRequest): void {
    if (!takeFault(['hang'], logged.method, logged.path)) {
      serve(req, res, logged.path, logged.query, logged.body as Record<string, unknown>);
      return;
    }
    hung.push({
      request: logged,
      proceed: () => {
        try {
          serve(req, res, logged.path, logged.query, logged.body as Record<string, unknown>);
        } catch (error) {
          sendFailure(res, error);
        }
      },
    });
    for (const waiter of heldWaiters.filter((w) => hung.length >= w.count)) {
      heldWaiters.splice(heldWaiters.indexOf(waiter), 1);
      waiter.resolve(hung.map((h) => h.request));
    }
  }

  function serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    urlPath: string,
    query: Record<string, string>,
    body: Record<string, unknown>,
  ): void {
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token || !tokens.has(token)) {
      send(res, 401, new ApiError(401).body());
      return;
    }
    const error = takeFault(['error', 'forbidden'], method, urlPath);
    if (error?.kind === 'error') {
      send(res, error.status, new ApiError(error.status, error.reason, error.message).body());
      return;
    }
    const resourcePath = urlPath.replace(/^\/compute\/v1\//, '');
    if (error?.kind === 'forbidden') {
      const target = resourcePath.replace(/\/(createSnapshot|wait)$/, '');
      const named =
        /\/disks$/.test(target) && typeof body.name === 'string' ? `${target}/${body.name}` : target;
      send(
        res,
        403,
        new ApiError(403, 'forbidden', `Required '${error.permission}' permission for '${named}'`).body(),
      );
      return;
    }
    const drop = takeFault(['drop'], method, urlPath);
    for (const [routeMethod, pattern, handler] of routes) {
      const m = routeMethod === method ? pattern.exec(resourcePath) : null;
      if (!m) continue;
      let status = 200;
      let answer: unknown;
      try {
        answer = handler(m, body, method, urlPath, query);
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

  /** The STS token exchange of workload identity federation: subject token in, access token out. */
  function handleToken(res: http.ServerResponse, form: URLSearchParams): void {
    exchanges++;
    if (
      form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
      !form.get('subject_token')
    ) {
      send(res, 400, {
        error: 'invalid_request',
        error_description: 'grant_type and subject_token are required',
      });
      return;
    }
    const issued = `sts-${randomBytes(16).toString('hex')}`;
    tokens.add(issued);
    send(res, 200, {
      access_token: issued,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        if (req.method === 'POST' && url.pathname === '/v1/token') {
          handleToken(res, new URLSearchParams(text));
          return;
        }
        const query = Object.fromEntries(url.searchParams);
        let body: Record<string, unknown> = {};
        if (text.trim()) {
          const parsed: unknown = JSON.parse(text);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
            body = parsed as Record<string, unknown>;
        }
        const logged: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query, body };
        requests.push(logged);
        handleApi(req, res, logged);
      } catch (error) {
        sendFailure(res, error);
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://${host}:${port}`;

  function putDisk(seed: DiskSeed): DiskJson {
    const projectId = seed.project ?? DEFAULT_PROJECT;
    const regional = seed.region !== undefined;
    const scope = regional ? `regions/${seed.region}` : `zones/${seed.zone ?? 'us-east5-b'}`;
    const key = `projects/${projectId}/${scope}/disks/${seed.name}`;
    const userZone = seed.zone ?? seed.replicaZones?.[0] ?? 'us-east5-b';
    const disk: DiskJson = {
      kind: 'compute#disk',
      id: newId(),
      creationTimestamp: timestamp(),
      name: seed.name,
      ...(seed.description ? { description: seed.description } : {}),
      sizeGb: String(seed.sizeGb),
      ...(regional
        ? {
            region: link(`projects/${projectId}/${scope}`),
            replicaZones: (seed.replicaZones ?? []).map((z) => link(`projects/${projectId}/zones/${z}`)),
          }
        : { zone: link(`projects/${projectId}/${scope}`) }),
      status: seed.status ?? 'READY',
      selfLink: link(key),
      type: link(`projects/${projectId}/${scope}/diskTypes/${seed.type ?? 'pd-balanced'}`),
      ...(seed.labels ? { labels: { ...seed.labels } } : {}),
      labelFingerprint: fingerprint(),
      ...(seed.users?.length
        ? {
            users: seed.users.map((u) =>
              u.includes('/') ? u : link(`projects/${projectId}/zones/${userZone}/instances/${u}`),
            ),
          }
        : {}),
      physicalBlockSizeBytes: '4096',
    };
    if (seed.resourcePolicies?.length) attachSeeded(disk, key, projectId, seed.resourcePolicies);
    disks.set(key, disk);
    return disk;
  }

  /** Seeds go through the same rules as the API: a policy a disk names must exist and fit the disk. */
  function attachSeeded(disk: DiskJson, key: string, projectId: string, names: string[]): void {
    const urls = names.map((n) =>
      n.includes('/') ? n : `projects/${projectId}/regions/${diskRegion(disk)}/resourcePolicies/${n}`,
    );
    disk.resourcePolicies = policiesAfterAdd(disk, urls, policies, projectId, key).map((p) => p.selfLink);
  }

  function release(): number {
    const released = hung.splice(0);
    for (const h of released) h.proceed();
    return released.length;
  }

  function whenHeld(count = 1): Promise<LoggedRequest[]> {
    if (hung.length >= count) return Promise.resolve(hung.map((h) => h.request));
    return new Promise((resolve) => heldWaiters.push({ count, resolve }));
  }

  return {
    url: base,
    port,
    host,
    tokenUrl: `${base}/v1/token`,
    accessToken,
    requests,
    tokenExchanges: () => exchanges,
    disks: () => [...disks.values()],
    disk: (resourcePath) => disks.get(relative(resourcePath)),
    snapshots: () => [...snapshots.values()],
    resourcePolicies: () => [...policies.values()],
    operations: () => [...operations.values()].map((o) => o.json),
    putDisk,
    putSnapshot: (seed) => seedSnapshot(state, seed, seed.project ?? DEFAULT_PROJECT, goneDiskIds),
    putResourcePolicy: (seed) => seedResourcePolicy(state, seed, seed.project ?? DEFAULT_PROJECT),
    removeDisk: (resourcePath) => disks.delete(relative(resourcePath)),
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    held: () => hung.map((h) => h.request),
    whenHeld,
    release,
    writeExternalAccountCredentials(dir: string): string {
      const subjectToken = path.join(dir, 'github-oidc-token.jwt');
      // A GitHub OIDC token stands in here; the STS stand-in accepts any non-empty subject token.
      fs.writeFileSync(
        subjectToken,
        `eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"repo:o/r"}').toString('base64url')}.`,
        { mode: 0o600 },
      );
      const file = path.join(dir, 'external-account.json');
      const credentials = {
        type: 'external_account',
        audience:
          '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/github/providers/github',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${base}/v1/token`,
        credential_source: { file: subjectToken },
      };
      fs.writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
      return file;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
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

function project(urlPath: string): string {
  return /\/projects\/([^/]+)\//.exec(urlPath)?.[1] ?? DEFAULT_PROJECT;
}

/** The API wants the type as a URL (full or partial); a bare name is malformed. */
function diskTypeName(type: unknown, regional: boolean): string {
  if (type === undefined) return 'pd-standard';
  const m = /(?:^|\/)(zones|regions)\/[^/]+\/diskTypes\/([a-z0-9-]+)$/.exec(String(type));
  if (!m) throw invalid(`Invalid value for field 'resource.type': '${String(type)}'. The URL is malformed.`);
  if ((m[1] === 'regions') !== regional) {
    throw invalid(
      `Invalid value for field 'resource.type': '${String(type)}'. ${regional ? 'Regional' : 'Zonal'} disks need a ${regional ? 'regional' : 'zonal'} disk type.`,
    );
  }
  const known = [
    'pd-balanced',
    'pd-ssd',
    'pd-standard',
    'pd-extreme',
    'hyperdisk-balanced',
    'hyperdisk-extreme',
    'hyperdisk-throughput',
    'hyperdisk-ml',
    'hyperdisk-balanced-high-availability',
  ];
  if (!known.includes(m[2]!)) throw notFound(String(type));
  return m[2]!;
}

function snapshotKey(source: string, projectId: string): string {
  const rel = source.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');
  if (/^projects\/[^/]+\/global\/snapshots\/[^/]+$/.test(rel)) return rel;
  if (/^global\/snapshots\/[^/]+$/.test(rel)) return `projects/${projectId}/${rel}`;
  throw invalid(`Invalid value for field 'resource.sourceSnapshot': '${source}'. The URL is malformed.`);
}

function defaultOperationMessage(code: string, target: string): string {
  if (code === 'ZONE_RESOURCE_POOL_EXHAUSTED') {
    const zone = /zones\/[^/]+/.exec(target)?.[0] ?? 'zone';
    return `The zone '${target.replace(/\/disks\/.*$/, '').replace(/\/zones\/.*$/, '')}/${zone}' does not have enough resources available to fulfill the request. Try a different zone, or try again later.`;
  }
  if (code === 'QUOTA_EXCEEDED') return "Quota 'SSD_TOTAL_GB' exceeded. Limit: 500.0 in region us-east5.";
  return `Operation failed: ${code}`;
}
