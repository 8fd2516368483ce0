import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedDisk } from '../../src/steps/disk.js';
import {
  drillResourceLines,
  planDrillResources,
  type DrillResources,
  type ObservedDrillResources,
} from '../../src/steps/drillResources.js';

// The drill looks for each of its own names before it creates anything: anything already there stops it.

const WANTED: DrillResources = {
  runId: '4242-1',
  runLabel: 'skyha-drill',
  project: 'proj',
  snapshot: 'state-drill-4242-1',
  disk: {
    project: 'proj',
    name: 'state-drill-4242-1',
    zone: 'us-east5-b',
    region: 'us-east5',
    replicaZones: [],
    sizeGb: 10,
    type: 'pd-balanced',
    sourceSnapshot: 'projects/proj/global/snapshots/state-drill-4242-1',
    labels: { 'managed-by': 'skyha-action', 'skyha-drill': '4242-1' },
    description: 'drill',
  },
  volume: 'pv-drill-4242-1',
  namespace: 'skypilot-drill-4242-1',
};
const DISK_PATH = 'projects/proj/zones/us-east5-b/disks/state-drill-4242-1';

const FREE: ObservedDrillResources = {
  snapshot: undefined,
  disk: undefined,
  volume: undefined,
  namespace: undefined,
};

function disk(labels: Record<string, string>, sourceSnapshot: string | undefined): ObservedDisk {
  return {
    resourcePath: DISK_PATH,
    name: 'state-drill-4242-1',
    selfLink: '',
    sizeGb: 10,
    type: 'pd-balanced',
    status: 'READY',
    users: [],
    labels,
    zones: ['us-east5-b'],
    regional: false,
    sourceSnapshot,
  };
}

const ours = { 'managed-by': 'skyha-action', 'skyha-drill': '4242-1' };
const snapshotUrl = (name: string) =>
  `https://www.googleapis.com/compute/v1/projects/proj/global/snapshots/${name}`;

describe('planDrillResources', () => {
  it('goes ahead when every name is free, and says so for each', () => {
    assert.deepEqual(planDrillResources(WANTED, FREE), { action: 'create', warnings: [], notes: [] });
    assert.deepEqual(
      drillResourceLines(WANTED, FREE).map((l) => [l.step, l.resource, l.taken]),
      [
        ['snapshot', 'projects/proj/global/snapshots/state-drill-4242-1', false],
        ['disk', DISK_PATH, false],
        ['volume', 'pv-drill-4242-1', false],
        ['namespace', 'skypilot-drill-4242-1', false],
      ],
    );
  });

  const cases: Array<[string, Partial<ObservedDrillResources>, RegExp, RegExp]> = [
    [
      "another team's disk of the drill disk's name",
      { disk: disk({ team: 'data' }, undefined) },
      new RegExp(
        `disk ${DISK_PATH} exists before the drill \\(not made by a drill: no skyha-drill label, not from a snapshot\\)`,
      ),
      /gcloud compute disks delete state-drill-4242-1 --zone us-east5-b --project proj/,
    ],
    [
      "an earlier drill's disk",
      { disk: disk({ 'skyha-drill': '4100-2' }, snapshotUrl('state-drill-4100-2')) },
      /made by drill run 4100-2, from another snapshot, state-drill-4100-2/,
      /disks delete/,
    ],
    [
      "this run's labels but another sourceSnapshot",
      { disk: disk(ours, snapshotUrl('someone-elses')) },
      /labelled skyha-drill=4242-1, this run's: made by a twin job or an earlier try, from another snapshot, someone-elses/,
      /disks delete/,
    ],
    [
      "this run's snapshot name but no run label",
      { disk: disk({ 'managed-by': 'skyha-action' }, snapshotUrl('state-drill-4242-1')) },
      /no skyha-drill label, from a snapshot of this drill's name/,
      /disks delete/,
    ],
    [
      'the drill snapshot',
      { snapshot: { labels: { 'skyha-drill': '4000-1' } } },
      /snapshot projects\/proj\/global\/snapshots\/state-drill-4242-1 exists before the drill \(made by drill run 4000-1\)/,
      /gcloud compute snapshots delete state-drill-4242-1 --project proj/,
    ],
    [
      'the drill volume, on the drill disk',
      { volume: { metadata: { name: 'pv-drill-4242-1' }, spec: { csi: { volumeHandle: DISK_PATH } } } },
      /volume pv-drill-4242-1 exists before the drill \(not made by a drill: no skyha-drill label, on the drill disk's name\)/,
      /kubectl delete persistentvolume pv-drill-4242-1/,
    ],
    [
      'the drill volume, on another disk',
      {
        volume: {
          metadata: { labels: ours },
          spec: { csi: { volumeHandle: 'projects/p/zones/z/disks/prod' } },
        },
      },
      /this run's: made by a twin job or an earlier try, on projects\/p\/zones\/z\/disks\/prod/,
      /kubectl delete persistentvolume/,
    ],
    [
      'the drill namespace',
      { namespace: { metadata: { name: 'skypilot-drill-4242-1' } } },
      /namespace skypilot-drill-4242-1 exists before the drill \(not made by a drill/,
      /kubectl delete namespace skypilot-drill-4242-1/,
    ],
  ];
  for (const [name, taken, reason, hint] of cases) {
    it(`refuses ${name}, naming it and how to remove it`, () => {
      const plan = planDrillResources(WANTED, { ...FREE, ...taken });
      assert.equal(plan.action, 'refuse');
      if (plan.action !== 'refuse') return;
      assert.match(plan.reason, /^Drill 4242-1 stopped before creating anything/);
      assert.match(plan.reason, reason);
      assert.match(plan.hint, hint);
      assert.equal(drillResourceLines(WANTED, { ...FREE, ...taken }).filter((l) => l.taken).length, 1);
    });
  }

  it('names every taken resource at once, and a regional disk by its region', () => {
    const regional = { ...WANTED, disk: { ...WANTED.disk, replicaZones: ['us-east5-b', 'us-east5-c'] } };
    const plan = planDrillResources(regional, {
      snapshot: { labels: {} },
      disk: disk({}, undefined),
      volume: { metadata: {} },
      namespace: { metadata: {} },
    });
    assert.equal(plan.action, 'refuse');
    if (plan.action !== 'refuse') return;
    for (const step of ['snapshot', 'disk', 'volume', 'namespace'])
      assert.match(plan.reason, new RegExp(`${step} \\S+ exists`));
    assert.match(plan.hint, /disks delete state-drill-4242-1 --region us-east5/);
  });
});
