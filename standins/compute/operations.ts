import { notFound } from './errors.js';
import type { Faults } from './faults.js';
import {
  link,
  newId,
  operationName,
  projectOf,
  relative,
  timestamp,
  type OperationJson,
  type OperationState,
  type Pending,
} from './resources.js';
import type { ApiCall, Route } from './routes.js';

/** What an operation is started by: the request (faults match it, the project comes from it). */
type Caller = Pick<ApiCall, 'method' | 'urlPath'>;

/**
 * Zone, region and global operations (compute/v1 zoneOperations, regionOperations, globalOperations: get and
 * wait), requestId, and the resources that stay CREATING until their operation is DONE.
 */
export class Operations {
  private readonly byKey = new Map<string, OperationState>();
  private readonly byRequestId = new Map<string, OperationState>();
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly faults: Faults,
    /** Polls (GET or wait) an operation needs to reach DONE. */
    private readonly pollsToDone: number,
  ) {}

  /** An operation on `target` in `scope` (zones/Z, regions/R or global); `onDone` runs if it ends without error. */
  start(
    call: Caller,
    scope: string,
    type: string,
    target: string,
    onDone: () => void = () => undefined,
  ): OperationState {
    const failing = this.faults.take(['operationError'], call.method, call.urlPath);
    const slow = this.faults.take(['slowOperation'], call.method, call.urlPath);
    const name = operationName();
    const scoped = `projects/${projectOf(call.urlPath)}/${scope}`;
    const op: OperationState = {
      json: {
        kind: 'compute#operation',
        id: newId(),
        name,
        ...(scope.startsWith('zones/') ? { zone: link(scoped) } : {}),
        ...(scope.startsWith('regions/') ? { region: link(scoped) } : {}),
        operationType: type,
        targetLink: link(target),
        targetId: newId(),
        status: 'PENDING',
        user: 'standin@standin-project.iam.gserviceaccount.com',
        progress: 0,
        insertTime: timestamp(),
        selfLink: link(`${scoped}/operations/${name}`),
      },
      polls: 0,
      pollsToDone: slow ? slow.polls : this.pollsToDone,
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
    this.byKey.set(relative(op.json.selfLink), op);
    return op;
  }

  /** GCE's requestId: a retry with the same id answers with the first operation and changes nothing. */
  once(call: Pick<ApiCall, 'query'>, start: () => OperationState): OperationJson {
    const requestId = call.query.requestId;
    const seen = requestId ? this.byRequestId.get(requestId) : undefined;
    if (seen) return seen.json;
    const op = start();
    if (requestId) this.byRequestId.set(requestId, op);
    return op.json;
  }

  /** The resource at `key`, made by `op`, reads as made only once `op` is DONE and it was read `reads` more times. */
  awaitDone(key: string, op: OperationState, reads: number): void {
    this.pending.set(key, { op, reads });
  }

  /** The resource as a read sees it: `ready` once its operation is DONE and read enough, else `between` or as is. */
  read<T extends { status: string }>(key: string, resource: T, ready: string, between?: string): T {
    const wait = this.pending.get(key);
    if (wait && wait.op.json.status === 'DONE') {
      if (wait.reads-- <= 0) {
        resource.status = ready;
        this.pending.delete(key);
      } else if (between) {
        resource.status = between;
      }
    }
    return resource;
  }

  all(): OperationJson[] {
    return [...this.byKey.values()].map((o) => o.json);
  }

  routes(): Route[] {
    const scope = String.raw`^projects\/([^/]+)\/((?:zones|regions)\/[^/]+|global)\/operations\/([^/]+)`;
    return [
      ['GET', new RegExp(`${scope}$`), ({ match }) => this.poll(this.operation(match))],
      ['POST', new RegExp(`${scope}\\/wait$`), ({ match }) => this.poll(this.operation(match))],
    ];
  }

  private operation(m: RegExpExecArray): OperationState {
    const key = `projects/${m[1]}/${m[2]}/operations/${m[3]}`;
    const op = this.byKey.get(key);
    if (!op) throw notFound(key);
    return op;
  }

  /** Every GET or wait is one poll; the last one ends the operation, with its error or its effect. */
  private poll(op: OperationState): OperationJson {
    if (op.json.status === 'DONE') return op.json;
    op.polls++;
    op.json.startTime ??= timestamp();
    if (op.polls < op.pollsToDone) {
      op.json.status = 'RUNNING';
      op.json.progress = Math.round((100 * op.polls) / op.pollsToDone);
      return op.json;
    }
    op.json.status = 'DONE';
    op.json.progress = 100;
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
}

function defaultOperationMessage(code: string, target: string): string {
  if (code === 'ZONE_RESOURCE_POOL_EXHAUSTED') {
    const zone = /zones\/[^/]+/.exec(target)?.[0] ?? 'zone';
    return `The zone '${target.replace(/\/disks\/.*$/, '').replace(/\/zones\/.*$/, '')}/${zone}' does not have enough resources available to fulfill the request. Try a different zone, or try again later.`;
  }
  if (code === 'QUOTA_EXCEEDED') return "Quota 'SSD_TOTAL_GB' exceeded. Limit: 500.0 in region us-east5.";
  return `Operation failed: ${code}`;
}
