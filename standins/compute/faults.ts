import type { LoggedRequest } from './routes.js';

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

/** The faults a test injected, each used up by the requests it matches. */
export class Faults {
  private readonly queue: (Fault & { left: number })[] = [];

  inject(fault: Fault): void {
    this.queue.push({ ...fault, left: fault.times ?? 1 });
  }

  /** The first fault of these kinds matching the request, counted as used once. */
  take<K extends Fault['kind']>(
    kinds: readonly K[],
    method: string,
    urlPath: string,
  ): Extract<Fault, { kind: K }> | undefined {
    const index = this.queue.findIndex(
      (f) =>
        (kinds as readonly string[]).includes(f.kind) &&
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? urlPath.includes(f.path) : f.path.test(urlPath))),
    );
    if (index < 0) return undefined;
    const fault = this.queue[index]!;
    if (--fault.left <= 0) this.queue.splice(index, 1);
    return fault as unknown as Extract<Fault, { kind: K }>;
  }
}

/** The requests `hang` faults hold, oldest first, and who waits for them. */
export class HeldRequests {
  private readonly held: { request: LoggedRequest; proceed: () => void }[] = [];
  private readonly waiters: { count: number; resolve: (held: LoggedRequest[]) => void }[] = [];

  hold(request: LoggedRequest, proceed: () => void): void {
    this.held.push({ request, proceed });
    for (const waiter of this.waiters.filter((w) => this.held.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(this.requests());
    }
  }

  requests(): LoggedRequest[] {
    return this.held.map((h) => h.request);
  }

  /** Resolves once at least `count` requests are held (so tests need no sleeps). */
  whenHeld(count = 1): Promise<LoggedRequest[]> {
    if (this.held.length >= count) return Promise.resolve(this.requests());
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Performs and answers every held request in arrival order; returns how many. */
  release(): number {
    const released = this.held.splice(0);
    for (const h of released) h.proceed();
    return released.length;
  }
}
