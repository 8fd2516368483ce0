import { invalidValue } from './names.js';
import { isRecord, type KubeObject } from './resources.js';
import { badRequest, type Cause } from './status.js';

/** Go's RFC3339Micro layout, which metav1.MicroTime requires when it decodes JSON. */
const microLayout = '2006-01-02T15:04:05.000000Z07:00';

/** The layout's elements in order: what time.Parse would name in "cannot parse X as Y". */
const elements: Array<{ layout: string; take: (rest: string) => number; range?: [number, number, string] }> =
  [
    { layout: '2006', take: (r) => (/^\d{4}/.test(r) ? 4 : -1) },
    { layout: '-', take: (r) => (r.startsWith('-') ? 1 : -1) },
    { layout: '01', take: (r) => (/^\d{2}/.test(r) ? 2 : -1), range: [1, 12, 'month'] },
    { layout: '-', take: (r) => (r.startsWith('-') ? 1 : -1) },
    { layout: '02', take: (r) => (/^\d{2}/.test(r) ? 2 : -1), range: [1, 31, 'day'] },
    { layout: 'T', take: (r) => (r.startsWith('T') ? 1 : -1) },
    { layout: '15', take: (r) => (/^\d{2}/.test(r) ? 2 : -1), range: [0, 23, 'hour'] },
    { layout: ':', take: (r) => (r.startsWith(':') ? 1 : -1) },
    { layout: '04', take: (r) => (/^\d{2}/.test(r) ? 2 : -1), range: [0, 59, 'minute'] },
    { layout: ':', take: (r) => (r.startsWith(':') ? 1 : -1) },
    { layout: '05', take: (r) => (/^\d{2}/.test(r) ? 2 : -1), range: [0, 59, 'second'] },
    { layout: '.000000', take: (r) => (/^[.,]\d{6}/.test(r) ? 7 : -1) },
    { layout: 'Z07:00', take: (r) => (r.startsWith('Z') ? 1 : /^[+-]\d{2}:\d{2}/.test(r) ? 6 : -1) },
  ];

/** Parses a MicroTime as Go's time.Parse(RFC3339Micro) does; throws its error text when it does not fit. */
export function parseMicroTime(value: string): Date {
  const fail = (detail: string): never => {
    throw new Error(`parsing time ${JSON.stringify(value)}${detail}`);
  };
  let rest = value;
  for (const el of elements) {
    const n = el.take(rest);
    if (n < 0)
      fail(
        ` as ${JSON.stringify(microLayout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(el.layout)}`,
      );
    if (el.range) {
      const v = Number(rest.slice(0, n));
      if (v < el.range[0] || v > el.range[1]) fail(`: ${el.range[2]} out of range`);
    }
    rest = rest.slice(n);
  }
  if (rest) fail(`: extra text: ${JSON.stringify(rest)}`);
  const [year, month, day] = [0, 5, 8].map((at) => Number(value.slice(at, at + (at ? 2 : 4))));
  if (day! > new Date(Date.UTC(year!, month!, 0)).getUTCDate()) fail(': day out of range');
  return new Date(value.replace(',', '.').replace(/(\.\d{3})\d{3}/, '$1'));
}

/** MicroTime as the API server writes it back: UTC, exactly six fractional digits. */
export function formatMicroTime(value: string): string {
  const micros = /[.,](\d{6})/.exec(value)?.[1] ?? '000000';
  return parseMicroTime(value)
    .toISOString()
    .replace(/\.\d{3}Z$/, `.${micros}Z`);
}

type GoType = 'string' | 'int32' | 'MicroTime';
const specFields: Record<string, GoType> = {
  holderIdentity: 'string',
  leaseDurationSeconds: 'int32',
  acquireTime: 'MicroTime',
  renewTime: 'MicroTime',
  leaseTransitions: 'int32',
  strategy: 'string',
  preferredHolder: 'string',
};

/** How encoding/json names a JSON value it cannot store: numbers carry their text only for integer targets. */
function jsonKind(value: unknown, integerTarget = false): string {
  if (typeof value === 'number') return integerTarget ? `number ${String(value)}` : 'number';
  if (Array.isArray(value)) return 'array';
  if (isRecord(value)) return 'object';
  return typeof value;
}

/**
 * Decodes a Lease's spec the way the API server's JSON decoder does: a wrong JSON type or a MicroTime that
 * is not RFC 3339 with microseconds is a 400 BadRequest ("cannot be handled as a Lease"), before validation.
 * Returns the object with MicroTimes normalised, as the server stores them.
 */
export function decodeLease(obj: KubeObject): KubeObject {
  const spec = obj.spec;
  if (spec === undefined || spec === null) return obj;
  const cannot = (why: string): never => {
    throw badRequest(`Lease in version "v1" cannot be handled as a Lease: ${why}`);
  };
  if (!isRecord(spec))
    return cannot(
      `json: cannot unmarshal ${jsonKind(spec)} into Go struct field Lease.spec of type v1.LeaseSpec`,
    );
  for (const [field, type] of Object.entries(specFields)) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    const where = `Go struct field LeaseSpec.spec.${field}`;
    if (type === 'int32') {
      if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= 2 ** 31)
        cannot(`json: cannot unmarshal ${jsonKind(value, true)} into ${where} of type int32`);
    } else if (typeof value !== 'string') {
      // MicroTime unmarshals its text with a json.Unmarshal of its own, which knows no struct field.
      cannot(
        type === 'MicroTime'
          ? `json: cannot unmarshal ${jsonKind(value)} into Go value of type string`
          : `json: cannot unmarshal ${jsonKind(value)} into ${where} of type string`,
      );
    } else if (type === 'MicroTime') {
      try {
        spec[field] = formatMicroTime(value);
      } catch (error) {
        cannot((error as Error).message);
      }
    }
  }
  return obj;
}

/** ValidateLeaseSpec of pkg/apis/coordination/validation. */
export function leaseSpecCauses(spec: Record<string, unknown>): Cause[] {
  const causes: Cause[] = [];
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) {
    causes.push({
      field: 'spec.leaseDurationSeconds',
      message: invalidValue(duration, 'must be greater than 0'),
    });
  }
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) {
    causes.push({
      field: 'spec.leaseTransitions',
      message: invalidValue(transitions, 'must be greater than or equal to 0'),
    });
  }
  const strategy = spec.strategy;
  if (typeof strategy === 'string' && !strategy.includes('/') && strategy !== 'OldestEmulationVersion') {
    causes.push({
      // ValidateLeaseSpec passes spec.strategy and the strategy check appends "strategy" once more.
      field: 'spec.strategy.strategy',
      message: `Unsupported value: ${JSON.stringify(strategy)}: supported values: "OldestEmulationVersion"`,
    });
  }
  if (typeof spec.preferredHolder === 'string' && spec.preferredHolder !== '' && !strategy) {
    causes.push({
      field: 'spec.preferredHolder',
      message: 'Forbidden: may only be specified if `strategy` is defined',
    });
  }
  return causes;
}
