import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { budgetOf } from '../../src/lib/deadline.js';
import {
  describeState,
  fingerprintFrom,
  isEmptyState,
  observeServerState,
  parseNames,
  parseUsers,
  planStateAdvice,
  settleStateReading,
  STATE_PATHS,
  type HttpAnswer,
  type StateAnswers,
  type StateFingerprint,
  type StateReading,
} from '../../src/steps/serverState.js';

// The fingerprint of the server's state: what each endpoint's answer becomes (pure), the words the summary uses,
// the warning of a recovery that finds nothing, and the reads themselves against a server that checks them.

const ok = (body: unknown): HttpAnswer => ({ status: 200, body: JSON.stringify(body) });
const user = (id: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  name,
  created_at: 1767225600,
  role: 'user',
  ...extra,
});
const answers = (over: Partial<StateAnswers> = {}): StateAnswers => ({
  users: ok([user('skypilot-system', 'skypilot-system'), user('b1', 'bob'), user('a1', 'alice')]),
  clusters: ok(['train-1', 'sky-dev']),
  storages: ok([]),
  volumes: { status: 404, body: '{"detail":"Not Found"}' },
  ...over,
});
const read = (state: StateFingerprint): StateReading => ({ read: true, state });

describe('fingerprintFrom: the endpoints’ answers, as a fingerprint or the reason there is none', () => {
  const cases: Array<{ name: string; answers: StateAnswers; expect: StateReading }> = [
    {
      name: 'users by name without the server’s own; clusters sorted; an unserved optional endpoint left out',
      answers: answers(),
      expect: read({
        users: [
          { id: 'a1', name: 'alice' },
          { id: 'b1', name: 'bob' },
        ],
        clusters: ['sky-dev', 'train-1'],
        storages: [],
        volumes: undefined,
      }),
    },
    {
      name: 'service accounts and users a newer server marks system are not state that came back',
      answers: answers({
        users: ok([
          user('sa-0f1e2d3c', 'ci-bot'),
          user('4b3c2d1e', '4b3c2d1e', { user_type: 'system' }),
          user('c1', 'carol', { user_type: 'basic' }),
        ]),
      }),
      expect: read({
        users: [{ id: 'c1', name: 'carol' }],
        clusters: ['sky-dev', 'train-1'],
        storages: [],
        volumes: undefined,
      }),
    },
    {
      name: 'a user without a name is shown by its id; duplicate names are counted once',
      answers: answers({ users: ok([user('d1', '')]), clusters: ok(['a', 'a']) }),
      expect: read({ users: [{ id: 'd1', name: 'd1' }], clusters: ['a'], storages: [], volumes: undefined }),
    },
    {
      name: 'an older server without /users: not read, and said so',
      answers: answers({ users: { status: 404, body: '{"detail":"Not Found"}' } }),
      expect: {
        read: false,
        reason: 'the server does not serve /users (HTTP 404): an older SkyPilot without it',
        transient: false,
      },
    },
    {
      name: 'credentials refused',
      answers: answers({ clusters: { status: 401, body: '' } }),
      expect: {
        read: false,
        reason: "the server did not accept the run's credentials for /api/completion/cluster_name (HTTP 401)",
        transient: false,
      },
    },
    {
      name: 'a 503 may pass: transient',
      answers: answers({ users: { status: 503, body: '<html>' } }),
      expect: { read: false, reason: '/users answered HTTP 503', transient: true },
    },
    {
      name: 'no answer: transient',
      answers: answers({ clusters: { error: 'connect ECONNREFUSED' } }),
      expect: {
        read: false,
        reason: '/api/completion/cluster_name did not answer (connect ECONNREFUSED)',
        transient: true,
      },
    },
    {
      name: 'a body of another shape is not guessed at',
      answers: answers({ users: ok({ users: [] }) }),
      expect: {
        read: false,
        reason: '/users answered with something other than a JSON list',
        transient: false,
      },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(fingerprintFrom(c.answers), c.expect));
});

describe('parseUsers and parseNames: rows they cannot trust', () => {
  it('a row without an id, or names that are not strings, make the answer unreadable', () => {
    assert.equal(
      (parseUsers(ok([{ name: 'x' }])) as { reason: string }).reason,
      '/users answered with something other than a list of users with an id',
    );
    assert.equal(
      (parseNames(ok(['a', 3]), STATE_PATHS.clusters) as { reason: string }).reason,
      '/api/completion/cluster_name answered with something other than a list of names',
    );
    assert.equal(
      (parseNames({ status: 200, body: 'not json' }, '/x') as { reason: string }).reason,
      '/x answered with something other than JSON',
    );
  });
});

describe('describeState and isEmptyState', () => {
  const state = (users: string[], clusters: string[], storages?: string[]): StateFingerprint => ({
    users: users.map((name) => ({ id: name, name })),
    clusters,
    storages,
  });
  const cases: Array<[string, StateFingerprint, string, boolean]> = [
    [
      'counts and names',
      state(['alice', 'bob', 'carol'], ['sky-dev', 'train-1']),
      '3 users (alice, bob, carol), 2 clusters (sky-dev, train-1)',
      false,
    ],
    ['one of each', state(['alice'], ['sky-dev']), '1 user (alice), 1 cluster (sky-dev)', false],
    [
      'a few names, then how many more',
      state(['a', 'b', 'c', 'd', 'e'], []),
      '5 users (a, b, c and 2 more), 0 clusters',
      false,
    ],
    ['nothing', state([], [], []), '0 users, 0 clusters', true],
    [
      'storages only when there are some',
      state([], [], ['ckpts']),
      '0 users, 0 clusters, 1 storage (ckpts)',
      false,
    ],
  ];
  for (const [name, s, line, empty] of cases)
    it(name, () => {
      assert.equal(describeState(s), line);
      assert.equal(isEmptyState(s), empty);
    });
});

describe('planStateAdvice: a recovery that expected state and found none warns, naming the disk', () => {
  const disk = 'projects/p/zones/us-east5-b/disks/sky-api-server-state';
  const empty = read({ users: [], clusters: [] });
  const full = read({ users: [{ id: 'a', name: 'alice' }], clusters: [] });
  const unread: StateReading = { read: false, reason: 'x', transient: false };
  const cases: Array<[string, StateReading, boolean, number]> = [
    ['expected and empty: a warning', empty, true, 1],
    ['expected, and users came back', full, true, 0],
    ['not expected (create-disk: if-absent): a new server is empty', empty, false, 0],
    ['not read: nothing to judge', unread, true, 0],
  ];
  for (const [name, reading, expected, warnings] of cases)
    it(name, () => {
      const advice = planStateAdvice(reading, expected, disk);
      assert.equal(advice.warnings.length, warnings);
      for (const w of advice.warnings)
        assert.match(w, /create-disk is never.*projects\/p\/zones\/us-east5-b\/disks\/sky-api-server-state/);
    });
});

describe('settleStateReading: the reading beside health counts unless it could not', () => {
  const again: StateReading = read({ users: [], clusters: ['x'] });
  const cases: Array<[string, StateReading | undefined, boolean]> = [
    ['a fingerprint is kept', read({ users: [], clusters: [] }), false],
    [
      'a lasting reason is kept (no second try at a 404)',
      { read: false, reason: '404', transient: false },
      false,
    ],
    ['a transient failure is read again once', { read: false, reason: '503', transient: true }, true],
    ['none beside health (it could not authenticate): read now', undefined, true],
  ];
  for (const [name, beside, readsAgain] of cases)
    it(name, async () => {
      let asked = 0;
      const result = await settleStateReading(beside, () => (asked++, Promise.resolve(again)));
      assert.equal(asked, readsAgain ? 1 : 0);
      assert.deepEqual(result, readsAgain ? again : beside);
    });
});

describe('observeServerState: the reads, with basic auth, and only the state endpoints', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ path: string; auth: string | undefined }> = [];
  const expected = `Basic ${Buffer.from('skypilot:s3cret-pw').toString('base64')}`;
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      const send = (code: number, body: unknown): void => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== expected) return send(401, { detail: 'Unauthorized' });
      const [path] = (req.url ?? '').split('?');
      if (path === '/users') return send(200, [user('a1', 'alice')]);
      if (path === '/api/completion/cluster_name') return send(200, ['sky-dev']);
      return send(404, { detail: 'Not Found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the four endpoints at once with the credentials; a 404 on an optional one leaves it out', async () => {
    seen.length = 0;
    const reading = await observeServerState(
      url,
      { username: 'skypilot', password: 's3cret-pw' },
      budgetOf(5000),
    );
    assert.deepEqual(
      reading,
      read({
        users: [{ id: 'a1', name: 'alice' }],
        clusters: ['sky-dev'],
        storages: undefined,
        volumes: undefined,
      }),
    );
    assert.deepEqual(seen.map((s) => s.path).sort(), Object.values(STATE_PATHS).sort());
    assert.ok(seen.every((s) => s.auth === expected));
    assert.ok(
      !seen.some((s) => /export|api\/get|requests/.test(s.path)),
      'never the export or request history',
    );
  });

  it('a wrong password: not read, and the reason names the 401', async () => {
    const reading = await observeServerState(
      url,
      { username: 'skypilot', password: 'wrong' },
      budgetOf(5000),
    );
    assert.equal(reading.read, false);
    assert.match(
      (reading as { reason: string }).reason,
      /did not accept the run's credentials for \/users \(HTTP 401\)/,
    );
  });

  it('auth-secret without web-password: no request at all, and the reason says so', async () => {
    seen.length = 0;
    const reading = await observeServerState(
      url,
      { username: 'skypilot', password: undefined },
      budgetOf(5000),
    );
    assert.deepEqual(seen, []);
    assert.match((reading as { reason: string }).reason, /auth-secret was given without web-password/);
  });

  it('no server there: transient, never a throw', async () => {
    const reading = await observeServerState(
      'http://127.0.0.1:1',
      { username: 'u', password: 'p' },
      budgetOf(5000),
    );
    assert.equal(reading.read, false);
    assert.equal((reading as { transient: boolean }).transient, true);
  });
});
