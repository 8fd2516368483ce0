import type { RecordedRequest } from './requests.js';
import { ApiError } from './status.js';

/** Which requests a fault applies to; every given field must match. */
export interface RequestMatch {
  /** GET, POST, ... (case-insensitive). */
  method?: string;
  /** A substring of the URL path (no query string), or a pattern tested against it. */
  path?: string | RegExp;
  /** A substring of the User-Agent header (helm sends `Helm/4.1.4 ...`, kubectl `kubectl/v1.35.2 ...`), or a pattern. */
  userAgent?: string | RegExp;
  /** A substring of the query string (e.g. `watch=true`), or a pattern tested against it. */
  query?: string | RegExp;
  /** How many matching requests the fault applies to (default 1; Infinity for all of them). */
  times?: number;
}

export type KubeFault =
  /** Read the request, then never answer: the connection stays open until release() or close(). */
  | (RequestMatch & { kind: 'hang' })
  /** Answer with a Status error body (e.g. 503, or 429 with Retry-After) without performing the request. */
  | (RequestMatch & {
      kind: 'error';
      status: number;
      reason?: string;
      message?: string;
      retryAfterSeconds?: number;
    })
  /**
   * Drop the connection without an answer, as a reset or a load balancer would: before the request is performed,
   * or (`afterServing`) once it was, so only its answer is lost.
   */
  | (RequestMatch & { kind: 'reset'; afterServing?: boolean })
  /** Serve a watch, but end its stream after `afterEvents` events (default 0: at once), as a server closing early. */
  | (RequestMatch & { kind: 'endStream'; afterEvents?: number });

/** What inject() hands back to a test. */
export interface InjectedFault {
  /** The requests this fault has caught so far, in order. */
  readonly caught: RecordedRequest[];
  /** Resolves once the first request was caught (for 'hang': it is being held open now). */
  firstCaught(): Promise<RecordedRequest>;
  /** Stops the fault; requests it holds are then served as if the server had only been slow. */
  release(): void;
}

/** What the server does with a request: serve it, drop it unanswered, or serve it with a fault. */
export type Outcome =
  'proceed' | 'closed' | { reset: 'before' | 'afterServing' } | { endStreamAfter: number };

type Held = 'proceed' | 'closed';

interface Armed {
  fault: KubeFault;
  left: number;
  handle: InjectedFault;
  held: Set<(outcome: Held) => void>;
  onCaught: Array<(r: RecordedRequest) => void>;
}

const defaultReasons: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Faults a test arms on the API server: matched against each request after it has been read and recorded. */
export class FaultInjector {
  private readonly armed: Armed[] = [];
  /** Also the exhausted ones: they may still hold requests. */
  private readonly all: Armed[] = [];

  inject(fault: KubeFault): InjectedFault {
    const caught: RecordedRequest[] = [];
    const entry: Armed = {
      fault,
      left: fault.times ?? 1,
      held: new Set(),
      onCaught: [],
      handle: {
        caught,
        firstCaught: () =>
          caught[0] ? Promise.resolve(caught[0]) : new Promise((resolve) => entry.onCaught.push(resolve)),
        release: () => {
          this.disarm(entry);
          for (const resume of [...entry.held]) resume('proceed');
          entry.held.clear();
        },
      },
    };
    this.armed.push(entry);
    this.all.push(entry);
    return entry.handle;
  }

  /**
   * Applies the first matching fault: resolves 'proceed' to serve the request normally, 'closed' when the
   * stand-in shut down while holding it, how to reset or cut short the answer, or throws the ApiError an
   * 'error' fault answers with.
   */
  async intercept(request: RecordedRequest): Promise<Outcome> {
    const entry = this.armed.find((a) => a.left > 0 && matches(a.fault, request));
    if (!entry) return 'proceed';
    if (--entry.left <= 0) this.disarm(entry);
    entry.handle.caught.push(request);
    const { fault } = entry;
    if (fault.kind !== 'hang') for (const notify of entry.onCaught.splice(0)) notify(request);
    if (fault.kind === 'error') throw faultError(fault);
    if (fault.kind === 'reset') return { reset: fault.afterServing ? 'afterServing' : 'before' };
    if (fault.kind === 'endStream') return { endStreamAfter: fault.afterEvents ?? 0 };
    const outcome = new Promise<Held>((resolve) => entry.held.add(resolve));
    for (const notify of entry.onCaught.splice(0)) notify(request);
    return outcome;
  }

  /** The stand-in is closing: every held request ends without an answer. */
  closeAll(): void {
    this.armed.length = 0;
    for (const entry of this.all.splice(0)) {
      for (const resume of entry.held) resume('closed');
      entry.held.clear();
    }
  }

  private disarm(entry: Armed): void {
    const at = this.armed.indexOf(entry);
    if (at >= 0) this.armed.splice(at, 1);
  }
}

function matches(fault: KubeFault, request: RecordedRequest): boolean {
  const test = (want: string | RegExp | undefined, have: string): boolean =>
    want === undefined || (typeof want === 'string' ? have.includes(want) : want.test(have));
  return (
    (!fault.method || fault.method.toUpperCase() === request.method) &&
    test(fault.path, request.path) &&
    test(fault.query, request.query) &&
    test(fault.userAgent, request.userAgent ?? '')
  );
}

function faultError(fault: Extract<KubeFault, { kind: 'error' }>): ApiError {
  const reason = fault.reason ?? defaultReasons[fault.status] ?? 'InternalError';
  return new ApiError(
    fault.status,
    reason,
    fault.message ?? 'the server is currently unable to handle the request',
    fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds },
  );
}
