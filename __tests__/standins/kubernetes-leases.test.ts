import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { realBinaries, type RealBinaries } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { api, field, runTool, toolsFor, type Obj } from '../support/kubeTools.js';

const leases = '/apis/coordination.k8s.io/v1/namespaces/locks/leases';

function lease(name: string, spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, ...metadata },
    spec: {
      holderIdentity: 'run-1',
      leaseDurationSeconds: 300,
      acquireTime: '2026-12-01T10:00:00.000000Z',
      renewTime: '2026-12-01T10:00:00.000000Z',
      ...spec,
    },
  };
}

const modified = (name: string): string =>
  `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`;

describe('kubernetes stand-in: Leases over HTTP, as the API server serves them', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locks' } });
  });
  after(() => kube.close());

  test('create answers 201 with the stored Lease; a second create is AlreadyExists naming leases', async () => {
    const created = await api(kube, 'POST', leases, lease('deploy-lock'));
    assert.equal(created.status, 201);
    assert.equal(field(created.body, 'spec.holderIdentity'), 'run-1');
    assert.match(String(field(created.body, 'metadata.uid')), /^[0-9a-f-]{36}$/);
    assert.match(String(field(created.body, 'metadata.resourceVersion')), /^\d+$/);
    // A Lease's strategy keeps no generation.
    assert.equal(field(created.body, 'metadata.generation'), undefined);

    const again = await api(kube, 'POST', leases, lease('deploy-lock'));
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'leases.coordination.k8s.io "deploy-lock" already exists',
      reason: 'AlreadyExists',
      details: { name: 'deploy-lock', group: 'coordination.k8s.io', kind: 'leases' },
      code: 409,
    });
    const got = await api(kube, 'GET', `${leases}/deploy-lock`);
    assert.equal(got.status, 200);
    assert.equal(
      field(got.body, 'metadata.resourceVersion'),
      field(created.body, 'metadata.resourceVersion'),
    );
  });

  test('an update must carry the current resourceVersion: stale is Conflict, missing is Invalid', async () => {
    const current = (await api(kube, 'GET', `${leases}/deploy-lock`)).body;
    const rv = String(field(current, 'metadata.resourceVersion'));
    const takeover = lease(
      'deploy-lock',
      { holderIdentity: 'run-2', leaseTransitions: 1 },
      { resourceVersion: rv },
    );
    const updated = await api(kube, 'PUT', `${leases}/deploy-lock`, takeover);
    assert.equal(updated.status, 200);
    assert.equal(field(updated.body, 'spec.holderIdentity'), 'run-2');
    assert.notEqual(field(updated.body, 'metadata.resourceVersion'), rv);

    const stale = await api(kube, 'PUT', `${leases}/deploy-lock`, {
      ...takeover,
      spec: { ...(takeover.spec as Obj), holderIdentity: 'run-3' },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.equal(stale.body.message, modified('deploy-lock'));
    assert.deepEqual(stale.body.details, {
      name: 'deploy-lock',
      group: 'coordination.k8s.io',
      kind: 'leases',
    });

    const unconditional = await api(kube, 'PUT', `${leases}/deploy-lock`, lease('deploy-lock'));
    assert.equal(unconditional.status, 422);
    assert.equal(
      unconditional.body.message,
      'leases.coordination.k8s.io "deploy-lock" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
    assert.deepEqual(unconditional.body.details, {
      name: 'deploy-lock',
      group: 'coordination.k8s.io',
      kind: 'leases',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0x0: must be specified for an update',
          field: 'metadata.resourceVersion',
        },
      ],
    });
    assert.equal(
      field(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'deploy-lock'), 'spec.holderIdentity'),
      'run-2',
    );
  });

  test('a PUT of a missing Lease creates it (the lease strategy allows create on update)', async () => {
    const put = await api(kube, 'PUT', `${leases}/made-by-put`, lease('made-by-put'));
    assert.equal(put.status, 201);
    assert.equal(
      field(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'made-by-put'), 'spec.holderIdentity'),
      'run-1',
    );
  });

  test('DELETE with preconditions: a wrong uid or resourceVersion is a Conflict worded by the storage layer', async () => {
    const stored = kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'deploy-lock')!;
    const uid = String(field(stored, 'metadata.uid'));
    const rv = String(field(stored, 'metadata.resourceVersion'));
    const options = (preconditions: Obj): Obj => ({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions });
    const wrongUid = await api(kube, 'DELETE', `${leases}/deploy-lock`, options({ uid: 'not-the-uid' }));
    assert.equal(wrongUid.status, 409);
    assert.equal(wrongUid.body.reason, 'Conflict');
    assert.equal(
      wrongUid.body.message,
      `Operation cannot be fulfilled on leases.coordination.k8s.io "deploy-lock": StorageError: invalid object, Code: 4, Key: /registry/leases/locks/deploy-lock, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: not-the-uid, UID in object meta: ${uid}`,
    );
    const wrongRv = await api(
      kube,
      'DELETE',
      `${leases}/deploy-lock`,
      options({ uid, resourceVersion: '1' }),
    );
    assert.equal(wrongRv.status, 409);
    assert.equal(
      wrongRv.body.message,
      `Operation cannot be fulfilled on leases.coordination.k8s.io "deploy-lock": StorageError: invalid object, Code: 4, Key: /registry/leases/locks/deploy-lock, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${rv}`,
    );
    assert.ok(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'deploy-lock'));

    const deleted = await api(kube, 'DELETE', `${leases}/deploy-lock`, options({ uid, resourceVersion: rv }));
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'deploy-lock', group: 'coordination.k8s.io', kind: 'leases', uid },
    });
    assert.equal((await api(kube, 'GET', `${leases}/deploy-lock`)).status, 404);
  });

  test('spec validation: leaseDurationSeconds and leaseTransitions ranges are 422 Invalid with causes', async () => {
    const zero = await api(kube, 'POST', leases, lease('bad-duration', { leaseDurationSeconds: 0 }));
    assert.equal(zero.status, 422);
    assert.equal(
      zero.body.message,
      'Lease.coordination.k8s.io "bad-duration" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
    );
    assert.deepEqual(zero.body.details, {
      name: 'bad-duration',
      group: 'coordination.k8s.io',
      kind: 'Lease',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be greater than 0',
          field: 'spec.leaseDurationSeconds',
        },
      ],
    });
    const both = await api(
      kube,
      'POST',
      leases,
      lease('bad-both', { leaseDurationSeconds: -5, leaseTransitions: -1 }),
    );
    assert.equal(
      both.body.message,
      'Lease.coordination.k8s.io "bad-both" is invalid: [spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]',
    );
    assert.equal(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'bad-both'), undefined);
  });

  test('wrong JSON types and MicroTimes without microseconds fail decoding: 400 "cannot be handled as a Lease"', async () => {
    const cases: Array<[Obj, string]> = [
      [
        { leaseDurationSeconds: 1.5 },
        'json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32',
      ],
      [
        { leaseDurationSeconds: '30' },
        'json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32',
      ],
      [
        { holderIdentity: 7 },
        'json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of type string',
      ],
      // JavaScript's toISOString() has milliseconds: exactly what a client must not send.
      [
        { renewTime: '2026-12-01T10:00:00.000Z' },
        'parsing time "2026-12-01T10:00:00.000Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".000Z" as ".000000"',
      ],
      [
        { acquireTime: '2026-12-01T10:00:00Z' },
        'parsing time "2026-12-01T10:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"',
      ],
      [
        { renewTime: '2026-12-01T10:00:00.0000001Z' },
        'parsing time "2026-12-01T10:00:00.0000001Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "1Z" as "Z07:00"',
      ],
      [
        { renewTime: '2026-02-30T10:00:00.000000Z' },
        'parsing time "2026-02-30T10:00:00.000000Z": day out of range',
      ],
      [{ renewTime: 1764583200 }, 'json: cannot unmarshal number into Go value of type string'],
    ];
    for (const [spec, why] of cases) {
      const answer = await api(kube, 'POST', leases, lease('bad-types', spec));
      assert.equal(answer.status, 400, JSON.stringify(spec));
      assert.equal(answer.body.reason, 'BadRequest');
      assert.equal(answer.body.message, `Lease in version "v1" cannot be handled as a Lease: ${why}`);
    }
    assert.equal(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'bad-types'), undefined);
  });

  test('MicroTimes are stored as the server writes them: UTC with six fractional digits', async () => {
    const created = await api(
      kube,
      'POST',
      leases,
      lease('offset', { acquireTime: '2026-12-01T12:00:00.123456+02:00' }),
    );
    assert.equal(created.status, 201);
    assert.equal(field(created.body, 'spec.acquireTime'), '2026-12-01T10:00:00.123456Z');
  });
});

describe('kubernetes stand-in: Leases with real kubectl (create, replace, delete --raw)', () => {
  let bins: RealBinaries;
  let kube: KubeStandIn;
  let tools: ReturnType<typeof toolsFor>;
  const kubectl = (...args: string[]) => runTool(bins.kubectl, args, tools.env);
  const file = (name: string, content: Obj): string => {
    const at = path.join(tools.dir, name);
    fs.writeFileSync(at, JSON.stringify(content));
    return at;
  };

  before(async () => {
    bins = await realBinaries('helm4');
    kube = await startKubeStandIn();
    tools = toolsFor(kube);
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locks' } });
  });
  after(async () => {
    await kube.close();
    tools.cleanup();
  });

  test('kubectl create twice: the second fails with the AlreadyExists message', async () => {
    const first = file('lease.json', lease('release-lock', {}, { namespace: 'locks' }));
    const created = await kubectl('create', '-f', first);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /lease.coordination.k8s.io\/release-lock created/);
    const again = await kubectl('create', '-f', first);
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr.trim(),
      `Error from server (AlreadyExists): error when creating "${first}": leases.coordination.k8s.io "release-lock" already exists`,
    );
  });

  test('kubectl replace with the observed resourceVersion takes the Lease over; a stale one is refused', async () => {
    const observed = JSON.parse(
      (await kubectl('get', 'lease', 'release-lock', '-n', 'locks', '-o', 'json')).stdout,
    ) as Obj;
    const rv = String(field(observed, 'metadata.resourceVersion'));
    const takeover = file(
      'takeover.json',
      lease('release-lock', { holderIdentity: 'run-2' }, { namespace: 'locks', resourceVersion: rv }),
    );
    const replaced = await kubectl('replace', '-f', takeover);
    assert.equal(replaced.code, 0, replaced.stderr);
    const holder = await kubectl(
      'get',
      'lease',
      'release-lock',
      '-n',
      'locks',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    );
    assert.equal(holder.stdout, 'run-2');
    const table = await kubectl('get', 'lease', 'release-lock', '-n', 'locks');
    assert.match(table.stdout, /^NAME\s+HOLDER\s+AGE\nrelease-lock\s+run-2\s+\d+s\n$/);
    const stale = await kubectl('replace', '-f', takeover);
    assert.equal(stale.code, 1);
    assert.equal(
      stale.stderr.trim(),
      `Error from server (Conflict): error when replacing "${takeover}": ${modified('release-lock')}`,
    );
  });

  test('kubectl delete --raw sends DeleteOptions preconditions: a wrong uid keeps the Lease', async () => {
    const url = '/apis/coordination.k8s.io/v1/namespaces/locks/leases/release-lock';
    const wrong = file('wrong.json', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { uid: 'someone-else' },
    });
    const refused = await kubectl('delete', '--raw', url, '-f', wrong);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^Error from server \(Conflict\): Operation cannot be fulfilled on leases\.coordination\.k8s\.io "release-lock": StorageError: invalid object, Code: 4, Key: \/registry\/leases\/locks\/release-lock, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: someone-else, UID in object meta: [0-9a-f-]{36}$/m,
    );
    const uid = String(
      field(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'release-lock'), 'metadata.uid'),
    );
    const right = file('right.json', { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid } });
    const deleted = await kubectl('delete', '--raw', url, '-f', right);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((JSON.parse(deleted.stdout) as Obj).status, 'Success');
    assert.equal(kube.get('coordination.k8s.io/v1', 'Lease', 'locks', 'release-lock'), undefined);
  });

  test('kubectl create of a Lease with millisecond times is a BadRequest from the server', async () => {
    const bad = file(
      'millis.json',
      lease('millis', { renewTime: '2026-12-01T10:00:00.000Z' }, { namespace: 'locks' }),
    );
    const refused = await kubectl('create', '-f', bad);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr.trim(),
      `Error from server (BadRequest): error when creating "${bad}": Lease in version "v1" cannot be handled as a Lease: parsing time "2026-12-01T10:00:00.000Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".000Z" as ".000000"`,
    );
  });
});

describe('kubernetes stand-in: generic store semantics per resource strategy', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
  });
  after(() => kube.close());

  test('generation exists only where the strategy keeps it, and moves only with the spec', async () => {
    const cm = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'plain' },
      data: { a: '1' },
    });
    assert.equal(field(cm.body, 'metadata.generation'), undefined);
    const deployment = (labels: Obj, image: string): Obj => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen', labels },
      spec: {
        selector: { matchLabels: { app: 'gen' } },
        template: { metadata: { labels: { app: 'gen' } }, spec: { containers: [{ name: 'c', image }] } },
      },
    });
    const created = await api(
      kube,
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      deployment({}, 'a:1'),
    );
    assert.equal(field(created.body, 'metadata.generation'), 1);
    const relabelled = await api(
      kube,
      'PUT',
      '/apis/apps/v1/namespaces/default/deployments/gen',
      deployment({ x: 'y' }, 'a:1'),
    );
    assert.equal(field(relabelled.body, 'metadata.generation'), 1);
    const changed = await api(
      kube,
      'PUT',
      '/apis/apps/v1/namespaces/default/deployments/gen',
      deployment({ x: 'y' }, 'a:2'),
    );
    assert.equal(field(changed.body, 'metadata.generation'), 2);
  });

  test('most types allow an unconditional PUT; a stale resourceVersion is a Conflict for every type', async () => {
    const before = kube.get('v1', 'ConfigMap', 'default', 'plain')!;
    const overwrite = await api(kube, 'PUT', '/api/v1/namespaces/default/configmaps/plain', {
      metadata: { name: 'plain' },
      data: { a: '2' },
    });
    assert.equal(overwrite.status, 200);
    assert.notEqual(
      field(overwrite.body, 'metadata.resourceVersion'),
      field(before, 'metadata.resourceVersion'),
    );
    const stale = await api(kube, 'PUT', '/api/v1/namespaces/default/configmaps/plain', {
      metadata: { name: 'plain', resourceVersion: field(before, 'metadata.resourceVersion') },
      data: { a: '3' },
    });
    assert.equal(stale.status, 409);
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on configmaps "plain": the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.deepEqual(stale.body.details, { name: 'plain', kind: 'configmaps' });
    const missing = await api(kube, 'PUT', '/api/v1/namespaces/default/configmaps/nope', {
      metadata: { name: 'nope' },
    });
    assert.equal(missing.status, 404);
  });

  test('DELETE answers a Success Status, or the object for stores that return it (claims)', async () => {
    const uid = String(field(kube.get('v1', 'ConfigMap', 'default', 'plain'), 'metadata.uid'));
    const deleted = await api(kube, 'DELETE', '/api/v1/namespaces/default/configmaps/plain');
    assert.deepEqual(deleted.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'plain', kind: 'configmaps', uid },
    });
    kube.put({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'claim', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const claim = await api(kube, 'DELETE', '/api/v1/namespaces/default/persistentvolumeclaims/claim');
    assert.equal(claim.body.kind, 'PersistentVolumeClaim');
  });
});
