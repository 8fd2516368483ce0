import assert from 'node:assert/strict';
import { test } from 'node:test';
import { htpasswdMatches } from '../../src/lib/htpasswd.js';
import { newDrillLogin, planAuthSecretCopy } from '../../src/steps/drillAuthSecret.js';
import { drillLabelsMismatch } from '../../src/steps/drillCleanup.js';

// The drill's copy of production's auth-secret: production's lines plus the drill's own login, labelled as the
// drill's; refused, with a way on, when production has no such Secret or it holds no `auth` key.

const from = { name: 'team-htpasswd', namespace: 'skypilot' };
const to = {
  namespace: 'skypilot-drill-42-1',
  labels: { 'managed-by': 'skyha-action', 'skyha-drill': '42-1' },
};
const b64 = (text: string) => Buffer.from(text).toString('base64');

test('the copy holds production’s lines and the drill’s login, in the drill’s namespace, labelled as the drill’s', () => {
  const login = newDrillLogin('42-1');
  assert.equal(login.username, 'skyha-drill-42-1');
  assert.ok(htpasswdMatches(login.line, login.username, login.password));
  const found = {
    type: 'Opaque',
    metadata: {
      name: 'team-htpasswd',
      namespace: 'skypilot',
      uid: 'u',
      resourceVersion: '7',
      labels: { team: 'a' },
    },
    data: { auth: b64('alice:$apr1$x$y\n'), other: b64('kept') },
  };
  const plan = planAuthSecretCopy(found, from, to, login);
  assert.equal(plan.action, 'copy');
  if (plan.action !== 'copy') return;
  assert.deepEqual(plan.manifest.metadata, {
    name: 'team-htpasswd',
    namespace: 'skypilot-drill-42-1',
    labels: to.labels,
    annotations: { 'skyha-action.io/copied-from': 'skypilot/team-htpasswd' },
  });
  const data = plan.manifest.data as Record<string, string>;
  assert.equal(Buffer.from(data.auth!, 'base64').toString(), `alice:$apr1$x$y\n${login.line}\n`);
  assert.equal(data.other, b64('kept'));
  assert.equal(found.data.auth, b64('alice:$apr1$x$y\n'), "production's object is not changed");
});

test('refused with a way on: no Secret in production’s namespace, or no `auth` key in it', () => {
  const login = newDrillLogin('42-1');
  const missing = planAuthSecretCopy(undefined, from, to, login);
  assert.equal(missing.action, 'refuse');
  if (missing.action === 'refuse') {
    assert.match(
      missing.reason,
      /auth-secret skypilot\/team-htpasswd does not exist in production's namespace/,
    );
    assert.match(missing.hint, /kubectl create secret generic team-htpasswd -n skypilot --from-file=auth=/);
    assert.match(missing.hint, /or drill with web-password/);
  }
  const noKey = planAuthSecretCopy({ metadata: {}, data: { users: b64('x') } }, from, to, login);
  assert.equal(noKey.action, 'refuse');
  if (noKey.action === 'refuse') assert.match(noKey.reason, /has no key `auth`/);
});

test('a deletion goes ahead only on every label of the drill run', () => {
  const labels = { 'managed-by': 'skyha-action', 'skyha-drill': '42-1' };
  const cases: Array<[Record<string, string> | undefined, RegExp | undefined]> = [
    [{ ...labels, extra: 'x' }, undefined],
    [{ 'managed-by': 'skyha-action', 'skyha-drill': '41-1' }, /skyha-drill=42-1 expected, found 41-1/],
    [{ 'skyha-drill': '42-1' }, /managed-by=skyha-action expected, found none/],
    [undefined, /expected, found none/],
  ];
  for (const [found, refused] of cases) {
    const why = drillLabelsMismatch({ metadata: found ? { labels: found } : {} }, labels);
    if (refused) assert.match(why ?? '', refused);
    else assert.equal(why, undefined);
  }
  assert.match(drillLabelsMismatch({ metadata: { labels } }, {}) ?? '', /no drill labels/);
});
