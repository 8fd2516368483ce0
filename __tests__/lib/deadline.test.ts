import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deadline } from '../../src/lib/deadline.js';
import { rollbackReserveMs } from '../../src/config/upgrade.js';

// A deadline ending earlier than the run's: the part of the run an upgrade may use, leaving its rollback time.

test('earlier: ends that much sooner, never outlasts the run, and ends when the run is cancelled', () => {
  let now = 1_000;
  const clock = () => now;
  const run = new Deadline(90_000, clock, 18_000);
  const upgrade = run.earlier(30_000);
  assert.equal(run.remainingMs(), 72_000);
  assert.equal(upgrade.remainingMs(), 42_000);
  assert.equal(upgrade.totalMs, 60_000);
  now += 42_000;
  assert.ok(upgrade.expired());
  assert.equal(run.remainingMs(), 30_000, 'the rollback still has its part');
  // Its grace is the run's: what follows a failure may use the run's reserve.
  assert.equal(upgrade.grace(10_000).remainingMs(), 10_000);
  const another = run.earlier(10_000);
  assert.equal(another.remainingMs(), 20_000);
  run.cancel();
  assert.equal(another.remainingMs(), 0, 'cancelling the run ends it');
  assert.equal(another.grace(10_000).remainingMs(), 0);
});

test('earlier than now: already expired, never negative', () => {
  let now = 0;
  const run = new Deadline(10_000, () => now);
  now = 5_000;
  assert.equal(run.earlier(60_000).remainingMs(), 0);
});

test('rollbackReserveMs: a third of the timeout, at most 5 minutes', () => {
  assert.equal(rollbackReserveMs(90_000), 30_000);
  assert.equal(rollbackReserveMs(15 * 60_000), 5 * 60_000);
  assert.equal(rollbackReserveMs(60 * 60_000), 5 * 60_000);
});
