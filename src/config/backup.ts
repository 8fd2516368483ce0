import { InputError } from '../lib/errors.js';
import type { Inputs } from './fields.js';

// Backups of the state disk: a GCE snapshot schedule (resource policy) the action keeps on the disk.

export const WEEKDAYS = [
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
  'SUNDAY',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** When GCE takes a snapshot: start times are UTC and on the hour ("HH:00"), as GCE requires. */
export type SnapshotSchedule =
  | { kind: 'hourly'; hoursInCycle: number; startTime: string }
  | { kind: 'daily'; startTime: string }
  | { kind: 'weekly'; day: Weekday; startTime: string };

export interface BackupConfig {
  /** undefined for `none`: the action then manages no schedule. */
  schedule: SnapshotSchedule | undefined;
  retentionDays: number;
}

export const BACKUP_DEFAULTS = { snapshotSchedule: 'none', retentionDays: 14 } as const;

/** A `daily` or `weekly` without a time starts at this hour (UTC). */
const DEFAULT_START = '04:00';

const ACCEPTED =
  "Use none, hourly, 'every <N>h' (N from 1 to 23), daily, 'daily HH:00' or 'weekly <monday..sunday> HH:00' " +
  '(UTC, on the hour: GCE starts snapshots on the hour), e.g. daily 04:00';

export function parseBackupConfig(inputs: Inputs): BackupConfig {
  return {
    schedule: parseSnapshotSchedule(inputs.get('snapshot-schedule')),
    retentionDays: parseRetentionDays(inputs.get('snapshot-retention-days')),
  };
}

/** The snapshot-schedule grammar; words are case-insensitive and may be separated by any spaces. */
export function parseSnapshotSchedule(raw: string): SnapshotSchedule | undefined {
  const words = raw.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const refuse = (why: string) => new InputError('snapshot-schedule', `'${raw}' ${why}`, ACCEPTED);
  const [first, second, third, ...rest] = words;
  if (first === undefined || (first === 'none' && words.length === 1)) return undefined;
  if (first === 'hourly' && words.length === 1)
    return { kind: 'hourly', hoursInCycle: 1, startTime: '00:00' };
  if (first === 'every' && second !== undefined && third === undefined) {
    const hours = /^(\d+)h$/.exec(second)?.[1];
    if (hours === undefined) throw refuse('is not a schedule');
    const n = Number(hours);
    if (n < 1 || n > 23) throw refuse('must repeat every 1 to 23 hours (use daily for 24)');
    return { kind: 'hourly', hoursInCycle: n, startTime: '00:00' };
  }
  if (first === 'daily' && third === undefined)
    return { kind: 'daily', startTime: second === undefined ? DEFAULT_START : startTime(second, refuse) };
  if (first === 'weekly' && second !== undefined && rest.length === 0) {
    const day = WEEKDAYS.find((d) => d === second.toUpperCase());
    if (!day) throw refuse(`names no day of the week ('${second}')`);
    return { kind: 'weekly', day, startTime: third === undefined ? DEFAULT_START : startTime(third, refuse) };
  }
  throw refuse('is not a schedule');
}

function startTime(text: string, refuse: (why: string) => InputError): string {
  const m = /^(\d{1,2}):(\d\d)$/.exec(text);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw refuse(`has no time of day HH:00 ('${text}')`);
  if (m[2] !== '00') throw refuse(`starts at ${text}, not on the hour`);
  return `${m[1]!.padStart(2, '0')}:00`;
}

/** Whole days, at least 1: a snapshot older than this is deleted by GCE (the action itself never deletes one). */
export function parseRetentionDays(raw: string): number {
  if (raw === '') return BACKUP_DEFAULTS.retentionDays;
  const days = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(days) || days < 1 || days > 2 ** 31 - 1) {
    throw new InputError(
      'snapshot-retention-days',
      `'${raw}' is not a number of days`,
      'Give a whole number of days, at least 1, e.g. 14',
    );
  }
  return days;
}

/** How a schedule reads in the plan and the summary, e.g. "daily at 04:00 UTC". */
export function describeSchedule(schedule: SnapshotSchedule): string {
  switch (schedule.kind) {
    case 'hourly':
      return schedule.hoursInCycle === 1
        ? `hourly from ${schedule.startTime} UTC`
        : `every ${schedule.hoursInCycle} hours from ${schedule.startTime} UTC`;
    case 'daily':
      return `daily at ${schedule.startTime} UTC`;
    case 'weekly':
      return `weekly on ${schedule.day[0]}${schedule.day.slice(1).toLowerCase()} at ${schedule.startTime} UTC`;
  }
}
