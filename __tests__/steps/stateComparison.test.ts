import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StateFingerprint, StateReading } from '../../src/steps/serverState.js';
import {
  compareWithProduction,
  describeVerdict,
  sameState,
  type ProductionReads,
  type StateVerdict,
} from '../../src/steps/stateComparison.js';

// A drill's state against production's, read right before and right after the snapshot: verified when it equals
// either read; a bad restore named by what it lost or invented; production changing in between told apart.

const fp = (users: string[], clusters: string[], storages?: string[]): StateFingerprint => ({
  users: users.map((name) => ({ id: `id-${name}`, name })),
  clusters,
  ...(storages && { storages }),
});
const read = (users: string[], clusters: string[], storages?: string[]): StateReading => ({
  read: true,
  state: fp(users, clusters, storages),
});
const unread = (reason: string): StateReading => ({ read: false, reason, transient: false });

const three = ['alice', 'bob', 'carol'];
const prod = read(three, ['sky-dev', 'train-1']);

describe('compareWithProduction', () => {
  const cases: Array<{
    name: string;
    drill: StateReading;
    production: ProductionReads;
    kind: StateVerdict['kind'];
    detail?: RegExp;
  }> = [
    {
      name: 'equal to both reads: verified',
      drill: read(three, ['train-1', 'sky-dev']),
      production: { before: prod, after: prod },
      kind: 'verified',
      detail:
        /^3 users \(alice, bob, carol\), 2 clusters \(sky-dev, train-1\), as production's read before and after the snapshot$/,
    },
    {
      name: 'production gained a cluster after the snapshot; the drill equals the read before: verified',
      drill: prod,
      production: { before: prod, after: read(three, ['sky-dev', 'train-1', 'train-2']) },
      kind: 'verified',
      detail: /read before the snapshot \(production changed between the two reads\)$/,
    },
    {
      name: 'production lost a user just before the snapshot; the drill equals the read after: verified',
      drill: read(['alice', 'bob'], ['sky-dev', 'train-1']),
      production: { before: prod, after: read(['alice', 'bob'], ['sky-dev', 'train-1']) },
      kind: 'verified',
      detail: /read after the snapshot/,
    },
    {
      name: 'a snapshot that lost a cluster: differs, with the counts and the name',
      drill: read(three, ['sky-dev']),
      production: { before: prod, after: prod },
      kind: 'differs',
      detail: /^3 users, 1 cluster came back; production has 3 users, 2 clusters: missing cluster train-1$/,
    },
    {
      name: 'a user that production never had: extra',
      drill: read([...three, 'mallory'], ['sky-dev', 'train-1']),
      production: { before: prod, after: prod },
      kind: 'differs',
      detail: /: extra user mallory$/,
    },
    {
      name: 'at most a few names, then how many more',
      drill: read([], []),
      production: { before: read(['a', 'b', 'c', 'd', 'e'], []), after: read(['a', 'b', 'c', 'd', 'e'], []) },
      kind: 'differs',
      detail: /missing users a, b, c and 2 more$/,
    },
    {
      name: 'production changed between the reads and the drill equals neither, losing what production kept: differs, said precisely',
      drill: read(three, ['sky-dev', 'train-2']),
      production: { before: prod, after: read(three, ['sky-dev', 'train-1', 'train-2']) },
      kind: 'differs',
      detail:
        /^production changed between its reads before and after the snapshot \(added cluster train-2\), and the drill's state equals neither: 3 users, 2 clusters came back; production had 3 users, 2 clusters before the snapshot and 3 users, 3 clusters after: missing cluster train-1 \(at both reads\)$/,
    },
    {
      name: 'production changed twice during the snapshot; the drill lies between the reads: inconclusive, not a bad restore',
      drill: read(three, ['sky-dev', 'train-1', 'train-2']),
      production: { before: prod, after: read(three, ['sky-dev', 'train-2', 'train-3']) },
      kind: 'inconclusive',
      detail:
        /\(removed cluster train-1; added clusters train-2, train-3\).*equals neither read, but holds everything production kept throughout/,
    },
    {
      name: 'the read after the snapshot failed: compared with the one before',
      drill: prod,
      production: { before: prod, after: unread('/users answered HTTP 503') },
      kind: 'verified',
    },
    {
      name: 'the read after the snapshot failed and the drill differs from the one before',
      drill: read(three, []),
      production: { before: prod, after: unread('x') },
      kind: 'differs',
      detail: /missing clusters sky-dev, train-1$/,
    },
    {
      name: 'one read (an existing snapshot, no reads around it)',
      drill: prod,
      production: { before: prod },
      kind: 'verified',
      detail: /as production's read when the drill started$/,
    },
    {
      name: 'a part one side does not serve is not compared (storages on an older production)',
      drill: read(three, ['sky-dev', 'train-1'], ['ckpts']),
      production: { before: prod, after: prod },
      kind: 'verified',
    },
    {
      name: 'storages both sides read are compared',
      drill: read(three, ['sky-dev', 'train-1'], []),
      production: { before: read(three, ['sky-dev', 'train-1'], ['ckpts']) },
      kind: 'differs',
      detail: /missing storage ckpts$/,
    },
    {
      name: 'users are told apart by id: a renamed id is a different user',
      drill: { read: true, state: { users: [{ id: 'other', name: 'alice' }], clusters: [] } },
      production: {
        before: { read: true, state: { users: [{ id: 'id-alice', name: 'alice' }], clusters: [] } },
      },
      kind: 'differs',
      detail: /missing user alice; extra user alice$/,
    },
    {
      name: 'production unreachable: not compared, with its reason',
      drill: prod,
      production: {
        before: unread('production is on another cluster'),
        after: unread('production is on another cluster'),
      },
      kind: 'not-compared',
    },
    {
      name: 'the drill server’s state unread: not compared',
      drill: unread('the server does not serve /users (HTTP 404)'),
      production: { before: prod, after: prod },
      kind: 'not-compared',
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const verdict = compareWithProduction(c.drill, c.production);
      assert.equal(verdict.kind, c.kind, JSON.stringify(verdict));
      if (c.detail) assert.match('detail' in verdict ? verdict.detail : '', c.detail);
    });

  it('the reasons are kept when nothing is compared', () => {
    const verdict = compareWithProduction(prod, { before: unread('production is on another cluster') });
    assert.equal(
      describeVerdict(verdict),
      "State not compared with production: production's state was not read: production is on another cluster.",
    );
    const drillUnread = compareWithProduction(unread('HTTP 404'), { before: prod });
    assert.equal(
      describeVerdict(drillUnread),
      "State not compared with production: the drill server's state was not read: HTTP 404.",
    );
  });

  it('the verdict sentences: verified says so in the words users look for', () => {
    assert.match(
      describeVerdict(compareWithProduction(prod, { before: prod, after: prod })),
      /^State verified against production: /,
    );
    assert.match(
      describeVerdict(compareWithProduction(read([], []), { before: prod, after: prod })),
      /^The drill's state differs from production's: /,
    );
  });
});

describe('sameState', () => {
  it('order does not matter; a missing optional part is not compared; a different part is', () => {
    assert.ok(sameState(fp(['a', 'b'], ['x', 'y']), fp(['b', 'a'], ['y', 'x'])));
    assert.ok(sameState(fp(['a'], ['x'], ['s']), fp(['a'], ['x'])));
    assert.ok(!sameState(fp(['a'], ['x'], ['s']), fp(['a'], ['x'], [])));
    assert.ok(!sameState(fp(['a'], ['x']), fp(['a'], ['x', 'y'])));
  });
});
