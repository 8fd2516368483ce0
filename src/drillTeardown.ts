import * as core from '@actions/core';
import type { ComputeClients } from './clients/compute.js';
import { knownKind } from './clients/kinds.js';
import type { KubeObject } from './clients/kubernetes.js';
import { Deadline, sleep } from './lib/deadline.js';
import { describeError } from './lib/errors.js';
import { planStep, type Report } from './report.js';
import type { Cluster } from './runbook/cluster.js';
import {
  deleteDrillObject,
  deleteDrillResource,
  drillLabelsMismatch,
  type DrillObject,
} from './steps/drillCleanup.js';
import type { ManifestResource } from './steps/releaseManifest.js';

// A drill removes what it made, and only that, within a budget of its own: the run's own is usually spent by
// then (a drill that fails mostly runs out of time). After a failure or a timeout it has CLEANUP_MS and goes in
// order: the release, the namespace (with the claim in it, and the copied Secret), the volume once nothing binds
// it, the disk once no node holds it. Cancelled, the runner kills the step seconds later: every deletion is then
// asked for at once and the cluster finishes them on its own.

/** After a failure or a timeout: a drill step with `drill-cleanup` ends at most this long past `timeout`. */
export const CLEANUP_MS = 3 * 60_000;
/** After a cancellation: the runner sends SIGKILL about 10 s after cancelling, and stopping helm takes up to 3 s. */
export const CANCELLED_CLEANUP_MS = 5000;

export type DrillPart = 'release' | 'volume' | 'namespace' | 'disk' | 'snapshot';

/** What the teardown may remove: read when it starts, as the drill fills it in. */
export interface DrillLeftovers {
  runId: string;
  runLabel: string;
  labels: Record<string, string>;
  release: string;
  namespace: string;
  pv: string;
  diskPath: string;
  /** The snapshot this drill took; undefined when it restored an existing one (never deleted). */
  snapshotPath: string | undefined;
  /** What this run created (or began to): nothing else is touched. */
  made: Set<DrillPart>;
  /** What the drill release makes, as rendered: its cluster-scoped objects are deleted by name too. */
  releaseResources: () => ManifestResource[];
  compute: ComputeClients;
  report: Report;
}

/** One teardown per drill, whichever of the drill's end and a cancellation asks first. */
export class DrillTeardown {
  private running: Promise<void> | undefined;

  constructor(
    private readonly leftovers: DrillLeftovers,
    private readonly cluster: Cluster,
  ) {}

  run(mode: 'full' | 'cancelled'): Promise<void> {
    this.running ??=
      mode === 'full'
        ? this.full(new Deadline(CLEANUP_MS))
        : this.cancelled(new Deadline(CANCELLED_CLEANUP_MS));
    return this.running;
  }

  /** In order, each waited for: the volume is deleted once the claim that binds it has gone with the namespace. */
  private async full(budget: Deadline): Promise<void> {
    const { made, diskPath } = this.leftovers;
    const snapshot = this.deleteSnapshot(budget, 'deleted');
    const helm = this.cluster.helm.withBudget(budget);
    if (made.has('release'))
      await this.step('release', 'deleted', async () => {
        this.notOurs(await this.namespaceObject(budget));
        await helm.run([
          'uninstall',
          this.leftovers.release,
          '--namespace',
          this.leftovers.namespace,
          '--ignore-not-found',
          '--timeout',
          helm.timeout(),
        ]);
        await this.deleteReleaseObjects(budget);
      });
    if (made.has('namespace'))
      await this.step('namespace', 'deleted', () => this.deleteNamespace(budget, true));
    if (made.has('volume')) await this.step('volume', 'deleted', () => this.deleteVolume(budget, true));
    if (made.has('disk'))
      await this.step('disk', 'deleted', () => this.deleteDiskWhenDetached(budget, diskPath));
    await snapshot;
  }

  /** Everything asked for at once, nothing waited for but the answers (no helm: a cancelled run starts none). */
  private async cancelled(budget: Deadline): Promise<void> {
    const { made, diskPath, compute, labels } = this.leftovers;
    const asked = 'deletion requested';
    await Promise.all([
      made.has('release') && this.step('release', asked, () => this.deleteReleaseObjects(budget)),
      made.has('namespace') && this.step('namespace', asked, () => this.deleteNamespace(budget, false)),
      made.has('volume') && this.step('volume', asked, () => this.deleteVolume(budget, false)),
      made.has('disk') &&
        this.step('disk', 'deleted', () => deleteDrillResource(compute, 'disk', diskPath, labels, budget)),
      this.deleteSnapshot(budget, 'deleted'),
    ]);
  }

  private deleteSnapshot(budget: Deadline, done: string): Promise<void> {
    const { made, snapshotPath, compute, labels } = this.leftovers;
    // A snapshot the drill did not take (production's newest) is never deleted.
    if (!made.has('snapshot') || !snapshotPath) return Promise.resolve();
    return this.step('snapshot', done, () =>
      deleteDrillResource(compute, 'snapshot', snapshotPath, labels, budget),
    );
  }

  private namespaceObject(budget: Deadline): Promise<KubeObject | undefined> {
    return this.cluster.kube.get('v1', 'Namespace', this.leftovers.namespace, { budget });
  }

  /** Throws unless the drill's namespace (named after the run) carries the run's labels. */
  private notOurs(namespace: KubeObject | undefined): void {
    const why = namespace && drillLabelsMismatch(namespace, this.leftovers.labels);
    if (why) throw new Error(`namespace ${this.leftovers.namespace}: ${why}`);
  }

  /** Its claim and everything else in it (the copied Secret, helm's records) go with it. */
  private deleteNamespace(budget: Deadline, wait: boolean): Promise<unknown> {
    const { namespace, labels } = this.leftovers;
    const object = { apiVersion: 'v1', kind: 'Namespace', name: namespace };
    return deleteDrillObject(this.cluster.kube, object, (o) => drillLabelsMismatch(o, labels), budget, {
      wait,
    });
  }

  /** Only while it is labelled with the run and still points at the drill disk (its handle cannot change). */
  private deleteVolume(budget: Deadline, wait: boolean): Promise<unknown> {
    const { pv, labels, diskPath } = this.leftovers;
    const object = { apiVersion: 'v1', kind: 'PersistentVolume', name: pv };
    const notOurs = (o: KubeObject): string | undefined => {
      const handle = (o.spec as { csi?: { volumeHandle?: string } } | undefined)?.csi?.volumeHandle;
      return handle === diskPath ? drillLabelsMismatch(o, labels) : `it points at ${handle ?? 'no disk'}`;
    };
    return deleteDrillObject(this.cluster.kube, object, notOurs, budget, { wait });
  }

  /**
   * What the drill release made outside the drill's namespace, which deleting that namespace leaves: its
   * cluster-scoped objects (IngressClass, ClusterRole, ...) and those the chart puts in other namespaces (a Role in
   * skypilot-system). Each only while helm's annotations name the drill's release in the drill's namespace.
   */
  private async deleteReleaseObjects(budget: Deadline): Promise<void> {
    const { release, namespace } = this.leftovers;
    const objects: DrillObject[] = this.leftovers.releaseResources().flatMap((r) => {
      const info = r.hook ? undefined : knownKind(r.apiVersion, r.kind);
      if (!info || (info.namespaced && (r.namespace ?? namespace) === namespace)) return [];
      return [{ ...r, ...(info.namespaced ? { namespace: r.namespace } : { namespace: undefined }) }];
    });
    const notOurs = (o: KubeObject): string | undefined => {
      const annotations = o.metadata?.annotations ?? {};
      // What helm keeps on uninstall (the chart's skypilot-system namespace) is kept here too.
      if (annotations['helm.sh/resource-policy'] === 'keep') return 'helm.sh/resource-policy is keep';
      const owner = `${annotations['meta.helm.sh/release-namespace'] ?? ''}/${annotations['meta.helm.sh/release-name'] ?? ''}`;
      return owner === `${namespace}/${release}` ? undefined : `helm's annotations name release ${owner}`;
    };
    const kube = this.cluster.kube;
    await Promise.all(objects.map((o) => deleteDrillObject(kube, o, notOurs, budget, { leaveOthers: true })));
  }

  // The pod's node releases the disk a little after the pod is gone: a disk still in use is retried, not forced.
  private async deleteDiskWhenDetached(budget: Deadline, diskPath: string): Promise<void> {
    const { compute, labels } = this.leftovers;
    // From 250 ms, twice as long each time up to 5 s: a fast cloud detaches in well under a second.
    for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
      try {
        return await deleteDrillResource(compute, 'disk', diskPath, labels, budget);
      } catch (error) {
        if (!/in use|resourceInUse|attached/i.test(describeError(error)) || budget.remainingMs() < 10_000)
          throw error;
        await sleep(pause);
      }
    }
  }

  /** One part: reported as done, or warned about (labelled for removal by hand); never throws. */
  private async step(what: DrillPart, done: string, remove: () => Promise<unknown>): Promise<void> {
    const { report, runLabel, runId } = this.leftovers;
    try {
      await remove();
      planStep(report, 'cleanup', what, `${done} (drill resource)`);
    } catch (error) {
      core.warning(`Drill cleanup of the ${what} failed: ${describeError(error)}`);
      report.notes.push(
        `Cleanup of the drill ${what} failed; it is labelled ${runLabel}=${runId} for manual removal.`,
      );
    }
  }
}
