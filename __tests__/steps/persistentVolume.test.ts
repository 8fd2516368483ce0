import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { ActionError, TakenError } from '../../src/lib/errors.js';
import type { KubernetesClient } from '../../src/clients/kubernetes.js';
import { kubeClientOf } from '../support/clients.js';
import { refused } from '../support/steps.js';
import {
  applyPersistentVolumePlan,
  observePersistentVolume,
  persistentVolumeManifest,
  planPersistentVolume,
  plannedRetain,
  type PersistentVolume,
  type PersistentVolumeTarget,
} from '../../src/steps/persistentVolume.js';

const TARGET: PersistentVolumeTarget = {
  name: 'sky-api-server-pv',
  storageClassName: 'sky-api-server-pv-class',
  diskPath: 'projects/proj-123/zones/us-east5-b/disks/sky-api-server-state',
  sizeGb: 10,
  zones: ['us-east5-b'],
  claim: { namespace: 'skypilot', name: 'skypilot-state' },
};

/** A PV as the runbook's sky-pv.yaml makes it by hand: no claimRef, no affinity, `10G`. */
function handMade(
  overrides: Partial<NonNullable<PersistentVolume['spec']>> = {},
  phase = 'Available',
): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: TARGET.name, uid: 'pv-uid', resourceVersion: '7' },
    spec: {
      storageClassName: 'sky-api-server-pv-class',
      capacity: { storage: '10G' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: TARGET.diskPath, fsType: 'ext4' },
      ...overrides,
    },
    status: { phase },
  };
}

const OUR_CLAIM = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  namespace: 'skypilot',
  name: 'skypilot-state',
};

test('the manifest is the runbook PV plus zone affinity and a claimRef pre-binding', () => {
  const pv = persistentVolumeManifest(TARGET);
  assert.deepEqual(pv.spec?.csi, {
    driver: 'pd.csi.storage.gke.io',
    volumeHandle: 'projects/proj-123/zones/us-east5-b/disks/sky-api-server-state',
    fsType: 'ext4',
  });
  assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Retain');
  assert.deepEqual(pv.spec?.accessModes, ['ReadWriteOnce']);
  assert.equal(pv.spec?.storageClassName, 'sky-api-server-pv-class');
  assert.deepEqual(pv.spec?.capacity, { storage: '10Gi' });
  assert.deepEqual(pv.spec?.claimRef, OUR_CLAIM);
  assert.deepEqual(pv.spec?.nodeAffinity, {
    required: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'topology.gke.io/zone', operator: 'In', values: ['us-east5-b'] }] },
      ],
    },
  });
});

test('a regional disk gets its regional handle and both zones', () => {
  const regional = {
    ...TARGET,
    diskPath: 'projects/proj-123/regions/us-east5/disks/d',
    zones: ['us-east5-a', 'us-east5-b'],
    sizeGb: 200,
  };
  const pv = persistentVolumeManifest(regional);
  assert.equal(pv.spec?.csi?.volumeHandle, 'projects/proj-123/regions/us-east5/disks/d');
  assert.equal(pv.spec?.capacity?.storage, '200Gi');
  assert.match(JSON.stringify(pv.spec?.nodeAffinity), /"values":\["us-east5-a","us-east5-b"\]/);
});

test('no volume -> create, and the claim asks for exactly its capacity', () => {
  const plan = planPersistentVolume(TARGET, undefined);
  assert.equal(plan.action, 'create');
  assert.deepEqual(plan.claimFit, { storageClassName: 'sky-api-server-pv-class', size: '10Gi' });
});

test('our own volume, bound or pre-bound to our claim -> keep with no change', () => {
  for (const phase of ['Bound', 'Available', 'Pending']) {
    const created = persistentVolumeManifest(TARGET);
    const observed: PersistentVolume = {
      ...created,
      spec: { ...created.spec, claimRef: { ...OUR_CLAIM, uid: 'c1' } },
      status: { phase },
    };
    const plan = planPersistentVolume(TARGET, observed);
    assert.equal(plan.action, 'keep', phase);
    assert.deepEqual(plan.claimFit, { storageClassName: 'sky-api-server-pv-class', size: '10Gi' });
  }
});

test("a hand-made runbook volume keeps working: the claim follows its '10G' and it is pre-bound, not recreated", () => {
  const plan = refused(planPersistentVolume(TARGET, handMade()));
  if (plan.action === 'refuse') return assert.fail('refused');
  assert.deepEqual(plan.claimFit, { storageClassName: 'sky-api-server-pv-class', size: '10G' });
  if (plan.action !== 'update') return assert.fail(`expected update, got ${plan.action}`);
  assert.deepEqual(
    plan.changes.map((c) => [c.type, c.patch]),
    [['merge', { spec: { claimRef: OUR_CLAIM } }]],
  );
});

test('the handle may be written as a full API URL', () => {
  const url = `https://www.googleapis.com/compute/v1/${TARGET.diskPath}`;
  const plan = planPersistentVolume(
    TARGET,
    handMade({ csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: url }, claimRef: OUR_CLAIM }),
  );
  assert.equal(plan.action, 'keep');
});

test('a volume on another disk is refused, never repointed', () => {
  for (const csi of [
    { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/proj-123/zones/us-east5-b/disks/other-disk' },
    {
      driver: 'pd.csi.storage.gke.io',
      volumeHandle: 'projects/proj-123/zones/us-east5-a/disks/sky-api-server-state',
    },
    { driver: 'filestore.csi.storage.gke.io', volumeHandle: TARGET.diskPath },
  ]) {
    assert.throws(
      () => refused(planPersistentVolume(TARGET, handMade({ csi }))),
      (e: unknown) =>
        e instanceof ActionError && /not at the disk/.test(e.message) && /never repoints/.test(e.hint ?? ''),
    );
  }
});

test('reclaim policy Delete is set back to Retain, with a warning', () => {
  const plan = planPersistentVolume(
    TARGET,
    handMade({ persistentVolumeReclaimPolicy: 'Delete', claimRef: OUR_CLAIM }, 'Bound'),
  );
  assert.equal(plan.action, 'update');
  assert.deepEqual(
    plan.changes.map((c) => c.patch),
    [{ spec: { persistentVolumeReclaimPolicy: 'Retain' } }],
  );
  assert.match(plan.warnings.join('\n'), /Delete.*Retain/);
});

test('a Released volume with a stale claimRef is cleared and pre-bound to the new claim, guarded by the stale uid', () => {
  for (const stale of [
    { ...OUR_CLAIM, uid: 'dead-uid', resourceVersion: '41' },
    { ...OUR_CLAIM, namespace: 'old-ns', name: 'old-state', uid: 'dead-uid' },
  ]) {
    const plan = planPersistentVolume(TARGET, handMade({ claimRef: stale }, 'Released'));
    assert.equal(plan.action, 'update');
    assert.deepEqual(
      plan.changes.map((c) => [c.type, c.patch]),
      [
        [
          'json',
          [
            { op: 'test', path: '/spec/claimRef/uid', value: 'dead-uid' },
            { op: 'replace', path: '/spec/claimRef', value: OUR_CLAIM },
          ],
        ],
      ],
    );
  }
});

test('a volume bound or reserved for another claim is refused', () => {
  const other = { ...OUR_CLAIM, namespace: 'team-a', name: 'data', uid: 'u' };
  for (const [spec, phase] of [
    [{ claimRef: other }, 'Bound'],
    [{ claimRef: { ...other, uid: undefined } }, 'Available'],
    [{}, 'Bound'],
  ] as const) {
    assert.throws(
      () => refused(planPersistentVolume(TARGET, handMade(spec, phase))),
      (e: unknown) =>
        e instanceof ActionError && /reserved for/.test(e.message) && /claimRef/.test(e.hint ?? ''),
    );
  }
});

test('a refused volume on the state disk still carries the patch back to Retain; a Retain one carries none', () => {
  const other = { ...OUR_CLAIM, namespace: 'team-a', name: 'data', uid: 'u' };
  const refusal = (policy: string) => {
    const plan = planPersistentVolume(
      TARGET,
      handMade({ claimRef: other, persistentVolumeReclaimPolicy: policy }, 'Bound'),
    );
    return plan.action === 'refuse' ? plan : assert.fail('expected a refusal');
  };
  assert.deepEqual(refusal('Delete').retain?.patch, { spec: { persistentVolumeReclaimPolicy: 'Retain' } });
  assert.match(refusal('Delete').reason, /reserved for/);
  assert.equal(refusal('Retain').retain, undefined);
});

test('plannedRetain: the one change made first, whether the volume is updated or refused; none otherwise', () => {
  const retain = { spec: { persistentVolumeReclaimPolicy: 'Retain' } };
  const other = { ...OUR_CLAIM, namespace: 'team-a', name: 'data', uid: 'u' };
  const cases: Array<[string, PersistentVolume | undefined, unknown]> = [
    [
      'Delete, ours',
      handMade({ persistentVolumeReclaimPolicy: 'Delete', claimRef: OUR_CLAIM }, 'Bound'),
      retain,
    ],
    [
      'Recycle, Released',
      handMade({ persistentVolumeReclaimPolicy: 'Recycle', claimRef: OUR_CLAIM }, 'Released'),
      retain,
    ],
    [
      'Delete, refused (another claim)',
      handMade({ persistentVolumeReclaimPolicy: 'Delete', claimRef: other }, 'Bound'),
      retain,
    ],
    ['Retain already', handMade({ claimRef: OUR_CLAIM }, 'Bound'), undefined],
    ['absent (created with Retain)', undefined, undefined],
    [
      'Delete, on another disk (never touched)',
      handMade({
        persistentVolumeReclaimPolicy: 'Delete',
        csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/someone-else' },
      }),
      undefined,
    ],
  ];
  for (const [name, observed, want] of cases) {
    assert.deepEqual(plannedRetain(planPersistentVolume(TARGET, observed))?.patch, want, name);
  }
});

test("another storage class is followed with a warning; none at all is refused (it would get the default class's new disk)", () => {
  const plan = planPersistentVolume(TARGET, handMade({ storageClassName: 'manual', claimRef: OUR_CLAIM }));
  assert.equal(plan.action, 'keep');
  assert.equal(plan.claimFit.storageClassName, 'manual');
  assert.match(plan.warnings.join(), /manual/);
  assert.throws(
    () => refused(planPersistentVolume(TARGET, handMade({ storageClassName: '' }))),
    /no storageClassName/,
  );
});

describe('against the Kubernetes stand-in, through the in-process client', () => {
  let kube: KubeStandIn;
  let kubectl: KubernetesClient;
  let dir: string;

  before(async () => {
    kube = await startKubeStandIn({ nodeZone: 'us-east5-b' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-pv-test-'));
    kubectl = kubeClientOf(kube.writeKubeconfig(dir));
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skypilot' } });
  });
  after(async () => {
    await kube?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** observe, plan, apply: the three verbs as main.ts runs them. */
  async function converge(target: PersistentVolumeTarget) {
    const plan = planPersistentVolume(target, await observePersistentVolume(kubectl, target.name));
    return { plan, facts: await applyPersistentVolumePlan(kubectl, target.name, plan) };
  }

  function storedPv(name: string): PersistentVolume | undefined {
    return kube.get('v1', 'PersistentVolume', undefined, name) as PersistentVolume | undefined;
  }

  test('fresh cluster: the volume is created by a create (POST); a rerun makes no mutating request', async () => {
    const target = { ...TARGET, name: 'fresh-pv' };
    kube.clearRequests();
    const first = await converge(target);
    assert.equal(first.facts.created, true);
    assert.deepEqual(first.facts.claimFit, { storageClassName: 'sky-api-server-pv-class', size: '10Gi' });
    const writes = kube.mutatingRequests();
    assert.equal(writes.length, 1);
    // A create, not an apply: an apply would also "create" a volume another run made a moment earlier.
    assert.equal(writes[0]!.method, 'POST');
    assert.match(writes[0]!.query, /fieldManager=skyha-action/);
    const pv = storedPv('fresh-pv');
    assert.equal(pv?.spec?.csi?.volumeHandle, TARGET.diskPath);
    assert.equal(pv?.spec?.persistentVolumeReclaimPolicy, 'Retain');
    assert.deepEqual(pv?.spec?.claimRef, OUR_CLAIM);

    kube.clearRequests();
    const second = await converge(target);
    assert.equal(second.plan.action, 'keep');
    assert.equal(second.facts.changed, false);
    assert.deepEqual(kube.mutatingRequests(), []);
  });

  /** Another run's create lands between this run's read and its create: the stand-in holds ours meanwhile. */
  async function createdMeanwhile(
    target: PersistentVolumeTarget,
    theirs: PersistentVolume,
    recheck: boolean,
  ) {
    const plan = planPersistentVolume(target, await observePersistentVolume(kubectl, target.name));
    assert.equal(plan.action, 'create');
    const hold = kube.inject({ kind: 'hang', method: 'POST', path: '/api/v1/persistentvolumes' });
    const applying = applyPersistentVolumePlan(
      kubectl,
      target.name,
      plan,
      recheck ? { recheck: target } : {},
    );
    await hold.firstCaught();
    kube.put(theirs as Record<string, unknown>);
    hold.release();
    return applying;
  }

  test('a volume another run created meanwhile: used with recheck, but not reported as created', async () => {
    const target = { ...TARGET, name: 'raced-pv' };
    const theirs = persistentVolumeManifest(target);
    const facts = await createdMeanwhile(target, theirs, true);
    assert.deepEqual(facts, {
      name: 'raced-pv',
      created: false,
      changed: false,
      claimFit: { storageClassName: 'sky-api-server-pv-class', size: '10Gi' },
    });
    assert.equal(storedPv('raced-pv')?.spec?.csi?.volumeHandle, TARGET.diskPath);
  });

  test('a volume someone made meanwhile on another disk is refused with recheck, a TakenError without', async () => {
    const onOther = { ...TARGET, name: 'raced-other', diskPath: 'projects/p/zones/us-east5-b/disks/other' };
    await assert.rejects(
      createdMeanwhile({ ...TARGET, name: 'raced-other' }, persistentVolumeManifest(onOther), true),
      /points at projects\/p\/zones\/us-east5-b\/disks\/other/,
    );
    const target = { ...TARGET, name: 'raced-taken' };
    await assert.rejects(
      createdMeanwhile(target, persistentVolumeManifest(target), false),
      (e: unknown) => e instanceof TakenError && /PersistentVolume raced-taken/.test(e.message),
    );
  });

  test('a Released volume with a stale claimRef is reclaimed, and the new claim binds it', async () => {
    const target = { ...TARGET, name: 'released-pv', claim: { namespace: 'skypilot', name: 'rel-state' } };
    kube.put({
      ...handMade(
        {
          claimRef: { ...OUR_CLAIM, name: 'rel-state', uid: 'uid-of-a-deleted-claim', resourceVersion: '3' },
        },
        'Released',
      ),
      metadata: { name: 'released-pv' },
    });
    assert.equal(storedPv('released-pv')?.status?.phase, 'Released');
    const { plan, facts } = await converge(target);
    assert.equal(plan.action, 'update');
    assert.equal(facts.changed, true);
    assert.deepEqual(storedPv('released-pv')?.spec?.claimRef, { ...OUR_CLAIM, name: 'rel-state' });

    kube.put({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'rel-state', namespace: 'skypilot' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: facts.claimFit.storageClassName,
        volumeName: 'released-pv',
        resources: { requests: { storage: facts.claimFit.size } },
      },
    });
    const claim = await kubectl.get<PersistentVolume>('v1', 'PersistentVolumeClaim', 'rel-state', {
      namespace: 'skypilot',
    });
    assert.equal(claim?.status?.phase, 'Bound');
    assert.equal(storedPv('released-pv')?.status?.phase, 'Bound');
    kube.clearRequests();
    assert.equal((await converge(target)).plan.action, 'keep');
    assert.deepEqual(kube.mutatingRequests(), []);
  });

  test('a volume on another disk is refused and left untouched', async () => {
    kube.put({
      ...handMade({
        csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/someone-else' },
      }),
      metadata: { name: 'other-disk-pv' },
    });
    kube.clearRequests();
    await assert.rejects(converge({ ...TARGET, name: 'other-disk-pv' }), /someone-else/);
    assert.deepEqual(kube.mutatingRequests(), []);
    assert.equal(storedPv('other-disk-pv')?.spec?.csi?.volumeHandle, 'projects/p/zones/z/disks/someone-else');
  });

  test('reclaim policy Delete is set back to Retain', async () => {
    kube.put({
      ...handMade({ persistentVolumeReclaimPolicy: 'Delete', claimRef: OUR_CLAIM }),
      metadata: { name: 'delete-pv' },
    });
    const { facts } = await converge({ ...TARGET, name: 'delete-pv' });
    assert.equal(facts.changed, true);
    assert.equal(storedPv('delete-pv')?.spec?.persistentVolumeReclaimPolicy, 'Retain');
    kube.clearRequests();
    await converge({ ...TARGET, name: 'delete-pv' });
    assert.deepEqual(kube.mutatingRequests(), []);
  });

  test("a hand-made runbook volume is kept and pre-bound; the claim asks for its '10G'", async () => {
    kube.put({ ...handMade(), metadata: { name: 'runbook-pv' } });
    const { facts } = await converge({ ...TARGET, name: 'runbook-pv' });
    assert.equal(facts.created, false);
    assert.deepEqual(facts.claimFit, { storageClassName: 'sky-api-server-pv-class', size: '10G' });
    const pv = storedPv('runbook-pv');
    assert.deepEqual(pv?.spec?.claimRef, OUR_CLAIM);
    assert.equal(pv?.spec?.nodeAffinity, undefined, 'immutable fields are left alone');
  });
});
