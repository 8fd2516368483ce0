import type { Report } from '../report.js';
import type { Cluster, Prepared } from './cluster.js';
import type { Observed } from './plan.js';
import type { ReadAhead } from './readAhead.js';

/** What applying needs; `lock` is the release lock, checked before each step that changes something. */
export interface ApplyContext {
  prepared: Prepared;
  cluster: Cluster;
  report: Report;
  observed: Observed;
  lock?: { check(before: string): void };
  /** Reads started before the plan (see readAhead.ts): an unchanged release reuses its server's. */
  ahead?: ReadAhead;
  /** Makes the namespace (a drill creates its own, labelled); default: applied when something needs it first. */
  makeNamespace?: () => Promise<void>;
}
