import { HttpClient } from '@actions/http-client';
import { BasicCredentialHandler } from '@actions/http-client/lib/auth';
import type { Budget } from '../lib/deadline.js';
import type { Advice } from '../lib/plan.js';

// The runbook's promise, checked: "the new API server ... should retain the same state as the previous API server".
// Once the server answers healthy, a small fingerprint of its state is read through its own API with the run's
// credentials, only from endpoints that answer straight from the state database (sky/server/server.py,
// sky/users/server.py): the users, and the names of clusters, storages and volumes. Request history is wiped on
// every restart and /users/export returns password hashes: neither is ever read. Observe only: a state that cannot
// be read is reported with the reason, never a failure of the run.

/** A user as `GET /users` lists it: `{id, name, created_at, role}` (newer servers add `user_type`). */
export interface StateUser {
  id: string;
  name: string;
}

/** What came back: the users (the server's own left out) and the names each completion endpoint lists. */
export interface StateFingerprint {
  users: StateUser[];
  clusters: string[];
  /** Undefined when the server does not serve the endpoint (older servers have no volumes). */
  storages?: string[] | undefined;
  volumes?: string[] | undefined;
}

export type StateReading =
  | { read: true; state: StateFingerprint }
  /** transient: the server may answer on a second try (no answer, 5xx); otherwise it never will (404, 401, ...). */
  | { read: false; reason: string; transient: boolean };

/** One HTTP answer, or the reason there was none. */
export type HttpAnswer = { status: number; body: string } | { error: string };

/** The state endpoints: all GET, synchronous, answered from the state database. */
export const STATE_PATHS = {
  users: '/users',
  clusters: '/api/completion/cluster_name?incomplete=',
  storages: '/api/completion/storage_name?incomplete=',
  volumes: '/api/completion/volume_name?incomplete=',
} as const;

export type StatePart = keyof typeof STATE_PATHS;
export type StateAnswers = Record<StatePart, HttpAnswer>;

/**
 * Users the server makes itself: `skypilot-system` runs its internal daemons and is written into the database at
 * every start (sky/server/requests/executor.py), so even a fresh server lists it; newer servers mark such users
 * `user_type: "system"`. They are not state that came back.
 */
export const SYSTEM_USER_ID = 'skypilot-system';

/** Reads the fingerprint: every endpoint at once, with basic auth; never throws. */
export async function observeServerState(
  url: string,
  auth: { username: string; password: string | undefined },
  budget: Budget,
): Promise<StateReading> {
  if (auth.password === undefined) {
    const reason =
      'auth-secret was given without web-password: the action knows no password to read the state with';
    return { read: false, reason, transient: false };
  }
  const socketTimeout = Math.max(1000, Math.min(10_000, budget.remainingMs()));
  const handler = new BasicCredentialHandler(auth.username, auth.password);
  const client = new HttpClient('skyha-action', [handler], { socketTimeout, allowRetries: false });
  try {
    const parts = Object.keys(STATE_PATHS) as StatePart[];
    const answers = await Promise.all(parts.map((part) => getOnce(client, `${url}${STATE_PATHS[part]}`)));
    return fingerprintFrom(Object.fromEntries(parts.map((p, i) => [p, answers[i]!])) as StateAnswers);
  } finally {
    client.dispose();
  }
}

/**
 * The reading taken beside the healthy answer, or a second one when that could not count: there was none (the
 * health check could not authenticate), or it met the server a moment before it answered (no answer, 5xx).
 */
export async function settleStateReading(
  beside: StateReading | undefined,
  readAgain: () => Promise<StateReading>,
): Promise<StateReading> {
  return beside === undefined || (!beside.read && beside.transient) ? readAgain() : beside;
}

async function getOnce(client: HttpClient, url: string): Promise<HttpAnswer> {
  try {
    const response = await client.get(url, { accept: 'application/json' });
    return { status: response.message.statusCode ?? 0, body: await response.readBody() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Pure: the fingerprint from the endpoints' answers. Users and clusters are needed; the others are read if served. */
export function fingerprintFrom(answers: StateAnswers): StateReading {
  const users = parseUsers(answers.users);
  if (!Array.isArray(users)) return users;
  const clusters = parseNames(answers.clusters, STATE_PATHS.clusters);
  if (!Array.isArray(clusters)) return clusters;
  const optional = (part: 'storages' | 'volumes'): string[] | undefined => {
    const names = parseNames(answers[part], STATE_PATHS[part]);
    return Array.isArray(names) ? names : undefined;
  };
  const state = { users, clusters, storages: optional('storages'), volumes: optional('volumes') };
  return { read: true, state };
}

type Unread = Extract<StateReading, { read: false }>;

/** The users, by name, without service accounts (`sa-...`) and the server's own users. */
export function parseUsers(answer: HttpAnswer): StateUser[] | Unread {
  const body = jsonBody(answer, STATE_PATHS.users);
  if (!Array.isArray(body)) return body;
  const users: StateUser[] = [];
  for (const row of body as unknown[]) {
    if (typeof row !== 'object' || row === null || typeof (row as { id?: unknown }).id !== 'string')
      return malformed(STATE_PATHS.users, 'a list of users with an id');
    const { id, name, user_type: type } = row as { id: string; name?: unknown; user_type?: unknown };
    if (id.startsWith('sa-') || id === SYSTEM_USER_ID || type === 'system') continue;
    users.push({ id, name: typeof name === 'string' && name ? name : id });
  }
  return users.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** A completion endpoint's list of names, sorted. */
export function parseNames(answer: HttpAnswer, path: string): string[] | Unread {
  const body = jsonBody(answer, path);
  if (!Array.isArray(body)) return body;
  if (!(body as unknown[]).every((n) => typeof n === 'string')) return malformed(path, 'a list of names');
  return [...new Set(body as string[])].sort();
}

function jsonBody(answer: HttpAnswer, path: string): unknown[] | Unread {
  const endpoint = path.split('?')[0];
  if ('error' in answer)
    return { read: false, reason: `${endpoint} did not answer (${answer.error})`, transient: true };
  const { status } = answer;
  if (status !== 200)
    return { read: false, reason: refusalReason(endpoint!, status), transient: status >= 500 };
  try {
    const body = JSON.parse(answer.body) as unknown;
    return Array.isArray(body) ? body : malformed(path, 'a JSON list');
  } catch {
    return malformed(path, 'JSON');
  }
}

function refusalReason(endpoint: string, status: number): string {
  if (status === 404) return `the server does not serve ${endpoint} (HTTP 404): an older SkyPilot without it`;
  if (status === 401) return `the server did not accept the run's credentials for ${endpoint} (HTTP 401)`;
  if (status === 403) return `the server does not let the run's user read ${endpoint} (HTTP 403)`;
  return `${endpoint} answered HTTP ${status}`;
}

function malformed(path: string, expected: string): Unread {
  return {
    read: false,
    reason: `${path.split('?')[0]} answered with something other than ${expected}`,
    transient: false,
  };
}

/** No users besides the server's own, and no clusters, storages or volumes: what a new, empty disk shows. */
export function isEmptyState(state: StateFingerprint): boolean {
  return [state.users, state.clusters, state.storages ?? [], state.volumes ?? []].every(
    (l) => l.length === 0,
  );
}

/** "3 users (alice, bob, carol), 2 clusters (sky-dev, train-1)": counts, and the first few names. */
export function describeState(state: StateFingerprint): string {
  const users = state.users.map((u) => u.name);
  const parts = [counted(users, 'user'), counted(state.clusters, 'cluster')];
  if (state.storages?.length) parts.push(counted(state.storages, 'storage'));
  if (state.volumes?.length) parts.push(counted(state.volumes, 'volume'));
  return parts.join(', ');
}

/** The few names a line has room for. */
export const NAMES_SHOWN = 3;

export function fewNames(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown;
}

function counted(names: readonly string[], noun: string): string {
  const count = `${names.length} ${noun}${names.length === 1 ? '' : 's'}`;
  return names.length ? `${count} (${fewNames([...names].sort())})` : count;
}

/**
 * Pure: what a run that expected existing state says when the server shows none. A recovery with
 * `create-disk: never` that finds an empty state was pointed at the wrong disk, or at one that never held it.
 */
export function planStateAdvice(reading: StateReading, expectState: boolean, disk: string): Advice {
  const advice: Advice = { warnings: [], notes: [] };
  if (!expectState || !reading.read || !isEmptyState(reading.state)) return advice;
  advice.warnings.push(
    `create-disk is never, so disk ${disk} was expected to hold the server's state, but the server shows none ` +
      '(no users besides its own, no clusters): check that disk-name, zone and project name the disk the state ' +
      'was on, and that it is not a new disk made since',
  );
  return advice;
}
