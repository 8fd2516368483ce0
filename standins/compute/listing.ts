import { createHash } from 'node:crypto';
import { invalid } from './errors.js';
import { link } from './resources.js';

/**
 * Compute list calls (compute/v1 snapshots.list, resourcePolicies.list, addresses.list): `filter`, `maxResults`, `pageToken`,
 * `orderBy`, as documented on the methods' reference pages.
 */
export interface ListQuery {
  filter?: string;
  maxResults?: string;
  pageToken?: string;
  orderBy?: string;
}

type Resource = Record<string, unknown>;
type Predicate = (resource: Resource) => boolean;

/** One page of a list answer: GCE omits `items` when empty and `nextPageToken` on the last page. */
export interface Page<T> {
  items?: T[];
  nextPageToken?: string;
}

/** A list answer (compute#snapshotList, ...): one page of `all`, with the collection's id and selfLink. */
export function listAnswer<T extends object>(
  kind: string,
  collection: string,
  all: T[],
  query: ListQuery,
  fields: readonly string[],
) {
  return { kind, id: collection, ...listPage(all, query, fields), selfLink: link(collection) };
}

/** Filters, sorts and pages `all`; `fields` are the top-level fields a filter may name (the resource's proto). */
export function listPage<T extends object>(all: T[], query: ListQuery, fields: readonly string[]): Page<T> {
  const accept = parseFilter(query.filter ?? '', fields);
  const size = pageSize(query.maxResults);
  const sorted = all.filter((r) => accept(r as Resource)).sort(ordering(query.orderBy));
  const fingerprint = createHash('sha256')
    .update(`${query.filter ?? ''}\n${query.orderBy ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  const start = query.pageToken ? offsetOf(query.pageToken, fingerprint) : 0;
  const items = sorted.slice(start, start + size);
  const next = start + size < sorted.length ? pageToken(start + size, fingerprint) : undefined;
  return { ...(items.length ? { items } : {}), ...(next ? { nextPageToken: next } : {}) };
}

/** "Acceptable values are 0 to 500, inclusive. (Default: 500)" (snapshots.list maxResults); 0 means the default. */
function pageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 500;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw invalid(`Invalid value for field 'maxResults': '${raw}'. Must be greater than or equal to 0`);
  if (n > 500)
    throw invalid(`Invalid value for field 'maxResults': '${raw}'. Must be less than or equal to 500`);
  return n === 0 ? 500 : n;
}

/** Opaque to clients, as GCE's are; bound to the filter and order it was issued for. */
function pageToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ o: offset, f: fingerprint })).toString('base64url');
}

function offsetOf(token: string, fingerprint: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      o?: unknown;
      f?: unknown;
    };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.f === fingerprint)
      return parsed.o;
  } catch {
    // falls through to the refusal
  }
  throw invalid(`Invalid value for field 'pageToken': '${token}'. Invalid page token.`);
}

/** "Currently, only sorting by name or creationTimestamp desc is supported" (orderBy); the default is by name. */
function ordering(orderBy: string | undefined): (a: object, b: object) => number {
  const byName = (a: object, b: object) =>
    String((a as Resource).name).localeCompare(String((b as Resource).name));
  const spec = (orderBy ?? '').trim().replace(/\s+/g, ' ');
  if (spec === '' || spec === 'name') return byName;
  if (spec === 'creationTimestamp desc') {
    // Parsed, not compared as strings: GCE's offsets differ between summer and winter.
    const time = (r: object) => Date.parse(String((r as Resource).creationTimestamp));
    return (a, b) => time(b) - time(a) || byName(a, b);
  }
  throw invalid(
    `Invalid value for field 'orderBy': '${orderBy}'. Only 'name' and 'creationTimestamp desc' are supported.`,
  );
}

/**
 * GCE's two filter grammars, which "cannot be mixed in one request": AIP-160 (`field = "v"`, `!=`, `:`, `<`,
 * `>`, `<=`, `>=`, `AND`, `OR`, parentheses, juxtaposition = AND) and the legacy regular-expression form
 * (`field eq RE2` / `field ne RE2`, the literal matching the entire field). Anything else: 400.
 */
export function parseFilter(text: string, fields: readonly string[]): Predicate {
  if (!text.trim()) return () => true;
  const refuse = () =>
    invalid(`Invalid value for field 'filter': '${text}'. Invalid list filter expression.`);
  const parser = new FilterParser(text, fields, refuse);
  const predicate = parser.expression();
  parser.skipSpace();
  if (!parser.atEnd()) throw refuse();
  if (parser.regexForm && parser.aipForm) throw refuse();
  return predicate;
}

const OPERATORS = ['!=', '<=', '>=', '=', '<', '>', ':'] as const;
type Operator = (typeof OPERATORS)[number] | 'eq' | 'ne';

class FilterParser {
  private pos = 0;
  regexForm = false;
  aipForm = false;

  constructor(
    private readonly text: string,
    private readonly fields: readonly string[],
    private readonly refuse: () => Error,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  /** Terms joined by AND or by juxtaposition; AIP-160 binds OR tighter than AND. */
  expression(): Predicate {
    const terms = [this.disjunction()];
    for (;;) {
      this.skipSpace();
      if (this.atEnd() || this.text[this.pos] === ')') break;
      this.keyword('AND');
      terms.push(this.disjunction());
    }
    return (r) => terms.every((t) => t(r));
  }

  private disjunction(): Predicate {
    const terms = [this.primary()];
    while (this.keyword('OR')) terms.push(this.primary());
    return terms.length === 1 ? terms[0]! : (r) => terms.some((t) => t(r));
  }

  private primary(): Predicate {
    this.skipSpace();
    if (this.text[this.pos] !== '(') return this.restriction();
    this.pos++;
    const inner = this.expression();
    this.skipSpace();
    if (this.text[this.pos] !== ')') throw this.refuse();
    this.pos++;
    return inner;
  }

  /** Consumes `word` followed by a space, if it is next. */
  private keyword(word: string): boolean {
    this.skipSpace();
    const next = this.text.slice(this.pos, this.pos + word.length + 1);
    if (next.length === word.length + 1 && next.startsWith(word) && /\s/.test(next.at(-1)!)) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  private restriction(): Predicate {
    const field = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*/.exec(this.text.slice(this.pos))?.[0];
    if (!field || !this.fields.includes(field.split('.')[0]!)) throw this.refuse();
    this.pos += field.length;
    const operator = this.operator();
    this.skipSpace();
    const value = this.value();
    const read = (r: Resource) => fieldValue(r, field);
    if (operator === 'eq' || operator === 'ne') {
      this.regexForm = true;
      const pattern = this.regex(value);
      const match = (r: Resource) => {
        const v = read(r);
        return v !== undefined && pattern.test(v);
      };
      return operator === 'eq' ? match : (r) => !match(r);
    }
    this.aipForm = true;
    return (r) => compare(read(r), operator, value);
  }

  /** JavaScript's RegExp stands in for RE2; both agree on the patterns a filter on URLs and names needs. */
  private regex(value: string): RegExp {
    try {
      return new RegExp(`^(?:${value})$`);
    } catch {
      throw this.refuse();
    }
  }

  private operator(): Operator {
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    const legacy = /^(eq|ne)\s/.exec(rest)?.[1];
    if (legacy === 'eq' || legacy === 'ne') {
      this.pos += 2;
      return legacy;
    }
    const symbol = OPERATORS.find((o) => rest.startsWith(o));
    if (!symbol) throw this.refuse();
    this.pos += symbol.length;
    return symbol;
  }

  /** A quoted literal, or a bare one up to a space or an unbalanced ')'. */
  private value(): string {
    const quote = this.text[this.pos];
    if (quote === '"' || quote === "'") {
      const end = this.text.indexOf(quote, this.pos + 1);
      if (end < 0) throw this.refuse();
      const literal = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return literal;
    }
    let depth = 0;
    const start = this.pos;
    for (; !this.atEnd(); this.pos++) {
      const c = this.text[this.pos]!;
      if (/\s/.test(c)) break;
      if (c === '(') depth++;
      if (c === ')' && depth-- === 0) break;
    }
    if (this.pos === start) throw this.refuse();
    return this.text.slice(start, this.pos);
  }
}

/** A dotted field (labels.env) as the string the filter compares; undefined when the resource lacks it. */
function fieldValue(resource: Resource, field: string): string | undefined {
  let value: unknown = resource;
  for (const part of field.split('.')) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Resource)[part];
  }
  if (value === undefined || value === null || typeof value === 'object') return undefined;
  return String(value);
}

function compare(actual: string | undefined, operator: Operator, expected: string): boolean {
  if (operator === ':') {
    if (expected === '*') return actual !== undefined;
    return actual !== undefined && actual.includes(expected);
  }
  if (operator === '=') return actual === expected;
  if (operator === '!=') return actual !== expected;
  if (actual === undefined) return false;
  const order = ordered(actual, expected);
  if (operator === '<') return order < 0;
  if (operator === '>') return order > 0;
  if (operator === '<=') return order <= 0;
  return order >= 0;
}

/** Timestamps as times, numbers as numbers, the rest as strings. */
function ordered(a: string, b: string): number {
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  if (/^\d{4}-\d\d-\d\dT/.test(a) && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  const [na, nb] = [Number(a), Number(b)];
  if (a.trim() !== '' && b.trim() !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
