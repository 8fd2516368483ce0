import { describeState, fewNames, type StateFingerprint, type StateReading } from './serverState.js';

// A drill proves its snapshot brought production's state back: the drill server's fingerprint against production's,
// read right before and right after the snapshot. Production may change in between (a user added, a cluster torn
// down): what production had at both reads must have come back, and nothing production had at neither may appear.

/** Production's state around the snapshot; `after` is absent when the drill restored an existing snapshot. */
export interface ProductionReads {
  before: StateReading;
  after?: StateReading | undefined;
}

export type StateVerdict =
  /** Equal to production's read before the snapshot, after it, or both. */
  | { kind: 'verified'; matches: 'before' | 'after' | 'both'; detail: string }
  /** Production changed during the snapshot, and the drill holds what it kept throughout: neither read to match. */
  | { kind: 'inconclusive'; detail: string }
  /** The restore lost or invented something: the drill fails with this. */
  | { kind: 'differs'; detail: string }
  | { kind: 'not-compared'; reason: string };

type Kind = 'user' | 'cluster' | 'storage' | 'volume';

/** Each part of a fingerprint as keys (a user's id, else the name) and the names shown for them. */
function items(state: StateFingerprint): Map<Kind, Map<string, string> | undefined> {
  const named = (names: string[] | undefined): Map<string, string> | undefined =>
    names && new Map(names.map((n) => [n, n]));
  return new Map<Kind, Map<string, string> | undefined>([
    ['user', new Map(state.users.map((u) => [u.id, u.name]))],
    ['cluster', named(state.clusters)],
    ['storage', named(state.storages)],
    ['volume', named(state.volumes)],
  ]);
}

/** Pure: the drill's state against production's reads. */
export function compareWithProduction(drill: StateReading, production: ProductionReads): StateVerdict {
  if (!drill.read)
    return { kind: 'not-compared', reason: `the drill server's state was not read: ${drill.reason}` };
  const reads = [production.before, production.after].filter((r): r is StateReading => r !== undefined);
  const seen = reads.filter((r): r is Extract<StateReading, { read: true }> => r.read);
  if (!seen.length) {
    const first = reads.find((r): r is Extract<StateReading, { read: false }> => !r.read);
    return { kind: 'not-compared', reason: `production's state was not read: ${first?.reason ?? 'no read'}` };
  }
  const [before, after] = [production.before.read, production.after?.read === true];
  const equalBefore = before && sameState(drill.state, seen[0]!.state);
  const equalAfter = after && sameState(drill.state, seen[seen.length - 1]!.state);
  if (equalBefore || equalAfter) {
    const matches = equalBefore && equalAfter ? 'both' : equalBefore ? 'before' : 'after';
    return { kind: 'verified', matches, detail: verifiedDetail(drill.state, matches, seen.length === 2) };
  }
  const changed = seen.length === 2 && !sameState(seen[0]!.state, seen[1]!.state);
  const lost = difference(
    drill.state,
    seen.map((r) => r.state),
    changed,
  );
  const around = changed ? changedDetail(seen[0]!.state, seen[1]!.state) : '';
  if (!lost.length)
    return {
      kind: 'inconclusive',
      detail: `${around}; the drill's state (${describeState(drill.state)}) equals neither read, but holds everything production kept throughout and nothing it never had`,
    };
  const [first, last] = [seen[0]!.state, seen[seen.length - 1]!.state];
  const had = changed
    ? `production had ${describeCounts(first)} before the snapshot and ${describeCounts(last)} after`
    : `production has ${describeCounts(first)}`;
  const neither = changed ? `${around}, and the drill's state equals neither: ` : '';
  return {
    kind: 'differs',
    detail: `${neither}${describeCounts(drill.state)} came back; ${had}: ${lost.join('; ')}`,
  };
}

/** Same users (by id) and names, part by part; a part one side did not read is not compared. */
export function sameState(a: StateFingerprint, b: StateFingerprint): boolean {
  const [left, right] = [items(a), items(b)];
  for (const [kind, mine] of left) {
    const theirs = right.get(kind);
    if (!mine || !theirs) continue;
    if (mine.size !== theirs.size || [...mine.keys()].some((k) => !theirs.has(k))) return false;
  }
  return true;
}

/**
 * What the drill lost (kept by production at every read) and what it invented (at no read), kind by kind:
 * "missing cluster train-1", "extra user eve".
 */
function difference(drill: StateFingerprint, production: StateFingerprint[], changed = false): string[] {
  const mine = items(drill);
  const theirs = production.map(items);
  const lines: string[] = [];
  for (const [kind, own] of mine) {
    const reads = theirs.map((t) => t.get(kind));
    if (!own || reads.some((r) => !r)) continue;
    const all = reads as Map<string, string>[];
    const missing = [...all[0]!].filter(([k]) => all.every((r) => r.has(k)) && !own.has(k));
    const extra = [...own].filter(([k]) => !all.some((r) => r.has(k)));
    const [kept, never] = changed ? [' (at both reads)', ' (at neither read)'] : ['', ''];
    const names = (found: [string, string][]): string => fewNames(found.map(([, n]) => n));
    if (missing.length) lines.push(`missing ${plural(kind, missing.length)} ${names(missing)}${kept}`);
    if (extra.length) lines.push(`extra ${plural(kind, extra.length)} ${names(extra)}${never}`);
  }
  return lines;
}

function changedDetail(before: StateFingerprint, after: StateFingerprint): string {
  const changes = [
    ...difference(after, [before]).map((l) => l.replace(/^missing/, 'removed').replace(/^extra/, 'added')),
  ];
  return `production changed between its reads before and after the snapshot (${changes.join('; ')})`;
}

function verifiedDetail(
  state: StateFingerprint,
  matches: 'before' | 'after' | 'both',
  twoReads: boolean,
): string {
  const read = twoReads
    ? { both: 'before and after the snapshot', before: 'before the snapshot', after: 'after the snapshot' }[
        matches
      ]
    : 'when the drill started';
  const changed = twoReads && matches !== 'both' ? ' (production changed between the two reads)' : '';
  return `${describeState(state)}, as production's read ${read}${changed}`;
}

/** "2 clusters, 3 users": counts only. */
function describeCounts(state: StateFingerprint): string {
  const parts = [plural('user', state.users.length, true), plural('cluster', state.clusters.length, true)];
  return parts.join(', ');
}

function plural(kind: Kind, count: number, withCount = false): string {
  const word = count === 1 ? kind : `${kind}s`;
  return withCount ? `${count} ${word}` : word;
}

/** The sentence the drill reports for its verdict. */
export function describeVerdict(verdict: StateVerdict): string {
  switch (verdict.kind) {
    case 'verified':
      return `State verified against production: ${verdict.detail}.`;
    case 'inconclusive':
      return `State not verified: ${verdict.detail}.`;
    case 'differs':
      return `The drill's state differs from production's: ${verdict.detail}.`;
    case 'not-compared':
      return `State not compared with production: ${verdict.reason}.`;
  }
}
