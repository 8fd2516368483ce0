import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeSchedule,
  parseBackupConfig,
  parseRetentionDays,
  parseSnapshotSchedule,
} from '../../src/config/backup.js';
import { parseConfig } from '../../src/config/config.js';
import { parseDiskConfig } from '../../src/config/disk.js';
import { inputsOf } from '../../src/config/fields.js';
import { InputError } from '../../src/lib/errors.js';

// The snapshot-schedule grammar, the retention, create-disk and `disk-source-snapshot: latest`.

const inputs = (given: Record<string, string>) => inputsOf((name) => given[name] ?? '');

function refusal(parse: () => unknown): InputError {
  try {
    parse();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseSnapshotSchedule', () => {
  const accepted: [string, ReturnType<typeof parseSnapshotSchedule>, string | undefined][] = [
    ['', undefined, undefined],
    ['none', undefined, undefined],
    ['NONE', undefined, undefined],
    ['hourly', { kind: 'hourly', hoursInCycle: 1, startTime: '00:00' }, 'hourly from 00:00 UTC'],
    ['every 1h', { kind: 'hourly', hoursInCycle: 1, startTime: '00:00' }, 'hourly from 00:00 UTC'],
    ['every 6h', { kind: 'hourly', hoursInCycle: 6, startTime: '00:00' }, 'every 6 hours from 00:00 UTC'],
    ['every 23h', { kind: 'hourly', hoursInCycle: 23, startTime: '00:00' }, 'every 23 hours from 00:00 UTC'],
    ['daily', { kind: 'daily', startTime: '04:00' }, 'daily at 04:00 UTC'],
    ['daily 00:00', { kind: 'daily', startTime: '00:00' }, 'daily at 00:00 UTC'],
    ['  Daily   4:00 ', { kind: 'daily', startTime: '04:00' }, 'daily at 04:00 UTC'],
    ['daily 23:00', { kind: 'daily', startTime: '23:00' }, 'daily at 23:00 UTC'],
    [
      'weekly monday 04:00',
      { kind: 'weekly', day: 'MONDAY', startTime: '04:00' },
      'weekly on Monday at 04:00 UTC',
    ],
    [
      'weekly SUNDAY 22:00',
      { kind: 'weekly', day: 'SUNDAY', startTime: '22:00' },
      'weekly on Sunday at 22:00 UTC',
    ],
    ['weekly friday', { kind: 'weekly', day: 'FRIDAY', startTime: '04:00' }, 'weekly on Friday at 04:00 UTC'],
  ];
  for (const [raw, want, text] of accepted) {
    it(`'${raw}'`, () => {
      const got = parseSnapshotSchedule(raw);
      assert.deepEqual(got, want);
      assert.equal(got && describeSchedule(got), text);
    });
  }

  const refused: [string, RegExp][] = [
    ['daily 04:30', /'daily 04:30' starts at 04:30, not on the hour/],
    ['every 0h', /'every 0h' must repeat every 1 to 23 hours/],
    ['every 25h', /'every 25h' must repeat every 1 to 23 hours/],
    ['every 24h', /must repeat every 1 to 23 hours \(use daily for 24\)/],
    ['weekly funday 04:00', /'weekly funday 04:00' names no day of the week \('funday'\)/],
    ['daily 24:00', /has no time of day HH:00/],
    ['daily 4', /has no time of day HH:00/],
    ['every 6', /is not a schedule/],
    ['every six hours', /is not a schedule/],
    ['monthly', /is not a schedule/],
    ['hourly 04:00', /is not a schedule/],
    ['none daily', /is not a schedule/],
    ['weekly', /is not a schedule/],
    ['weekly monday 04:00 extra', /is not a schedule/],
  ];
  for (const [raw, message] of refused) {
    it(`refuses '${raw}', naming the input and showing the accepted forms`, () => {
      const error = refusal(() => parseBackupConfig(inputs({ 'snapshot-schedule': raw })));
      assert.equal(error.input, 'snapshot-schedule');
      assert.match(error.message, /^Input 'snapshot-schedule': /);
      assert.match(error.message, message);
      assert.match(error.hint ?? '', /none, hourly, 'every <N>h' \(N from 1 to 23\), daily, 'daily HH:00'/);
      assert.match(error.hint ?? '', /'weekly <monday\.\.sunday> HH:00'/);
    });
  }
});

describe('parseRetentionDays', () => {
  const cases: [string, number | RegExp][] = [
    ['', 14],
    ['1', 1],
    ['14', 14],
    ['365', 365],
    ['0', /'0' is not a number of days/],
    ['abc', /'abc' is not a number of days/],
    ['-3', /is not a number of days/],
    ['1.5', /is not a number of days/],
    ['7d', /is not a number of days/],
  ];
  for (const [raw, want] of cases) {
    it(`'${raw}'`, () => {
      if (typeof want === 'number') return assert.equal(parseRetentionDays(raw), want);
      const error = refusal(() => parseBackupConfig(inputs({ 'snapshot-retention-days': raw })));
      assert.equal(error.input, 'snapshot-retention-days');
      assert.match(error.message, want);
      assert.match(error.hint ?? '', /whole number of days, at least 1/);
    });
  }
});

describe('create-disk and disk-source-snapshot: latest', () => {
  const disk = (given: Record<string, string>) => parseDiskConfig(inputs(given), false);
  it('defaults: if-absent, no snapshot', () => {
    const d = disk({});
    assert.equal(d.createDisk, 'if-absent');
    assert.equal(d.fromLatestSnapshot, false);
    assert.equal(d.sourceSnapshot, undefined);
  });
  it('never, and latest as its own request rather than a snapshot named latest', () => {
    const d = disk({ 'create-disk': 'never', 'disk-source-snapshot': 'latest' });
    assert.equal(d.createDisk, 'never');
    assert.equal(d.fromLatestSnapshot, true);
    assert.equal(d.sourceSnapshot, undefined);
  });
  it('a named snapshot stays a name', () => {
    const d = disk({ 'disk-source-snapshot': 'state-2026-11-30' });
    assert.equal(d.fromLatestSnapshot, false);
    assert.equal(d.sourceSnapshot, 'state-2026-11-30');
  });
  it('none: an empty disk on purpose, a reserved word like latest rather than a snapshot named none', () => {
    const d = disk({ 'disk-source-snapshot': 'none' });
    assert.deepEqual([d.startEmpty, d.fromLatestSnapshot, d.sourceSnapshot], [true, false, undefined]);
    assert.equal(disk({}).startEmpty, false);
    assert.equal(disk({ 'disk-source-snapshot': 'latest' }).startEmpty, false);
  });
  it('none contradicts create-disk: never, and means nothing to a drill: refused, naming the input', () => {
    const never = refusal(() => disk({ 'disk-source-snapshot': 'none', 'create-disk': 'never' }));
    assert.equal(never.input, 'disk-source-snapshot');
    assert.match(never.message, /'none' starts a new, empty disk, which create-disk: never forbids/);
    assert.match(never.hint ?? '', /create-disk: if-absent/);
    const drill = refusal(() => parseDiskConfig(inputs({ 'disk-source-snapshot': 'none' }), false, 'drill'));
    assert.equal(drill.input, 'disk-source-snapshot');
    assert.match(drill.message, /no meaning in drill mode/);
    assert.equal(parseDiskConfig(inputs({ 'disk-source-snapshot': 'none' }), false, 'plan').startEmpty, true);
  });
  it('refuses another create-disk value', () => {
    const error = refusal(() => disk({ 'create-disk': 'always' }));
    assert.equal(error.input, 'create-disk');
    assert.match(error.hint ?? '', /if-absent, never/);
  });
  it('the whole config carries the backup settings', () => {
    const config = parseConfig(
      (name) =>
        ({
          zone: 'us-east5-b',
          project: 'my-project-1',
          'web-password': 'pw',
          'snapshot-schedule': 'weekly tuesday 03:00',
          'snapshot-retention-days': '30',
        })[name] ?? '',
      {},
    );
    assert.deepEqual(config.backup, {
      schedule: { kind: 'weekly', day: 'TUESDAY', startTime: '03:00' },
      retentionDays: 30,
    });
  });
});
