// How recovery times and state ages read in the summary: UTC to the minute, ages in the largest sensible unit.

/** "2026-11-30 04:00 UTC" for any RFC 3339 time (GCE writes its timestamps in Pacific time with an offset). */
export function utcMinute(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) return rfc3339;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "45 s", "12 min", "16 h", "3 d 4 h": how old something is, rounded down. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h`;
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  return hours ? `${days} d ${hours} h` : `${days} d`;
}

/** Whole seconds from `rfc3339` to `nowMs`; undefined when the time cannot be read. */
export function secondsSince(rfc3339: string, nowMs: number): number | undefined {
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? undefined : Math.max(0, Math.round((nowMs - ms) / 1000));
}
