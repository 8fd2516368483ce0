import { computeGet, type ComputeClients } from '../clients/compute.js';
import type { KubeObject, KubernetesClient } from '../clients/kubernetes.js';
import type { Deadline } from '../lib/deadline.js';
import { refuse, type Advice, type Refusal } from '../lib/plan.js';
import { diskResourcePath, observeDisk, type DiskTarget, type ObservedDisk } from './disk.js';

// A drill works only on what it makes in this run. Before it creates anything it looks for each of its own
// names; whatever is already there (an earlier drill's leftover, another team's, a twin job of the same run)
// stops the drill, which then neither adopts it nor deletes it.

/** Everything a drill will create, by the names derived from its run. */
export interface DrillResources {
  runId: string;
  /** The label carrying the run id on everything the drill makes. */
  runLabel: string;
  project: string;
  snapshot: string;
  /** The drill disk as it will be inserted: from `snapshot`, labelled with the run. */
  disk: DiskTarget;
  volume: string;
  namespace: string;
}

/** What already carries the drill's names; undefined for each one that is free. */
export interface ObservedDrillResources {
  snapshot: { labels: Record<string, string> } | undefined;
  disk: ObservedDisk | undefined;
  volume: VolumeObject | undefined;
  namespace: KubeObject | undefined;
}

interface VolumeObject extends KubeObject {
  spec?: { csi?: { volumeHandle?: string } };
}

export type DrillResourcesPlan = ({ action: 'create' } & Advice) | Refusal;

/** One line of the printed plan per resource the drill will create. */
export interface DrillResourceLine {
  step: 'snapshot' | 'disk' | 'volume' | 'namespace';
  resource: string;
  action: string;
  taken: boolean;
}

/** The four reads, side by side; nothing is written. */
export async function observeDrillResources(
  compute: ComputeClients,
  kube: KubernetesClient,
  wanted: DrillResources,
  deadline: Deadline,
): Promise<ObservedDrillResources> {
  const { project, snapshot } = wanted;
  const [found, disk, volume, namespace] = await Promise.all([
    computeGet(`reading snapshot ${snapshotPath(wanted)}`, deadline, (opts) =>
      compute.snapshots.get({ project, snapshot }, opts),
    ),
    observeDisk(compute, wanted.disk, deadline),
    kube.get<VolumeObject>('v1', 'PersistentVolume', wanted.volume),
    kube.get('v1', 'Namespace', wanted.namespace),
  ]);
  return { snapshot: found ? { labels: { ...(found.labels ?? {}) } } : undefined, disk, volume, namespace };
}

/** Pure: one printed line per resource, saying what it would be created as or why its name is taken. */
export function drillResourceLines(
  wanted: DrillResources,
  observed: ObservedDrillResources,
): DrillResourceLine[] {
  const free = 'create (none there before the drill)';
  const line = (step: DrillResourceLine['step'], resource: string, taken: string | undefined) => ({
    step,
    resource,
    action: taken ? `refuse: ${taken}` : free,
    taken: taken !== undefined,
  });
  return [
    line('snapshot', snapshotPath(wanted), observed.snapshot && snapshotTaken(wanted, observed.snapshot)),
    line('disk', diskResourcePath(wanted.disk), observed.disk && diskTaken(wanted, observed.disk)),
    line('volume', wanted.volume, observed.volume && volumeTaken(wanted, observed.volume)),
    line('namespace', wanted.namespace, observed.namespace && namespaceTaken(wanted, observed.namespace)),
  ];
}

/** Pure: the drill goes ahead only when none of its names is taken. */
export function planDrillResources(
  wanted: DrillResources,
  observed: ObservedDrillResources,
): DrillResourcesPlan {
  const taken = drillResourceLines(wanted, observed).filter((l) => l.taken);
  if (!taken.length) return { action: 'create', warnings: [], notes: [] };
  const what = taken.map((l) => `${l.step} ${l.resource} ${l.action.slice('refuse: '.length)}`);
  return refuse(
    `Drill ${wanted.runId} stopped before creating anything: its own names are taken: ${what.join('; ')}`,
    'A drill uses only what it creates in this run, and never adopts or deletes what it finds. If these are ' +
      `leftovers of an earlier drill, remove them (${taken.map((l) => removal(wanted, l)).join('; ')}) and run ` +
      'the drill again; otherwise give the drill other names (disk-name, pv-name, namespace)',
  );
}

function snapshotPath(wanted: DrillResources): string {
  return `projects/${wanted.project}/global/snapshots/${wanted.snapshot}`;
}

function snapshotTaken(wanted: DrillResources, found: { labels: Record<string, string> }): string {
  return `exists before the drill (${madeBy(wanted, found.labels)})`;
}

function diskTaken(wanted: DrillResources, disk: ObservedDisk): string {
  const source = disk.sourceSnapshot ? lastSegment(disk.sourceSnapshot) : undefined;
  const from =
    source === undefined
      ? 'not from a snapshot'
      : source === wanted.snapshot
        ? "from a snapshot of this drill's name"
        : `from another snapshot, ${source}`;
  return `exists before the drill (${madeBy(wanted, disk.labels)}, ${from})`;
}

function volumeTaken(wanted: DrillResources, volume: VolumeObject): string {
  const handle = volume.spec?.csi?.volumeHandle;
  const drillDisk = diskResourcePath(wanted.disk);
  const on = !handle
    ? 'on no GCE disk'
    : handle.endsWith(drillDisk)
      ? "on the drill disk's name"
      : `on ${handle}`;
  return `exists before the drill (${madeBy(wanted, volume.metadata?.labels ?? {})}, ${on})`;
}

function namespaceTaken(wanted: DrillResources, namespace: KubeObject): string {
  return `exists before the drill (${madeBy(wanted, namespace.metadata?.labels ?? {})})`;
}

/** Who the labels say made it: this very run (a twin job or a retried step), another drill run, or no drill. */
function madeBy(wanted: DrillResources, labels: Record<string, string>): string {
  const run = labels[wanted.runLabel];
  if (run === undefined) return `not made by a drill: no ${wanted.runLabel} label`;
  if (run === wanted.runId)
    return `labelled ${wanted.runLabel}=${run}, this run's: made by a twin job or an earlier try`;
  return `made by drill run ${run}`;
}

function removal(wanted: DrillResources, line: DrillResourceLine): string {
  const { project, disk } = wanted;
  const where = disk.replicaZones.length ? `--region ${disk.region}` : `--zone ${disk.zone}`;
  switch (line.step) {
    case 'snapshot':
      return `gcloud compute snapshots delete ${wanted.snapshot} --project ${project}`;
    case 'disk':
      return `gcloud compute disks delete ${disk.name} ${where} --project ${project}`;
    case 'volume':
      return `kubectl delete persistentvolume ${wanted.volume}`;
    case 'namespace':
      return `kubectl delete namespace ${wanted.namespace}`;
  }
}

function lastSegment(url: string): string {
  return url.replace(/\/+$/, '').split('/').pop() ?? url;
}
