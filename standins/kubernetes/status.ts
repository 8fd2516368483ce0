/** A failure answered as a Kubernetes `Status` body with the real reason and code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: withoutEmpty(this.details),
      code: this.code,
    };
  }
}

/** StatusDetails fields are omitempty: a core-group error has no `group` at all. */
function withoutEmpty(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, v]) => v !== '' && v !== undefined));
}

interface Target {
  group: string;
  resource: string;
  name: string;
}

function qualified(t: Target): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

export function notFound(t: Target): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(t)} "${t.name}" not found`, {
    name: t.name,
    group: t.group,
    kind: t.resource,
  });
}

export function alreadyExists(t: Target): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name}" already exists`, {
    name: t.name,
    group: t.group,
    kind: t.resource,
  });
}

export function conflict(t: Target, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${why}`,
    {
      name: t.name,
      group: t.group,
      kind: t.resource,
    },
  );
}

/** field.ErrorType of a cause, read from the wording its message starts with. */
const causeReasons: Array<[prefix: string, reason: string]> = [
  ['Required value', 'FieldValueRequired'],
  ['Forbidden', 'FieldValueForbidden'],
  ['Unsupported value', 'FieldValueNotSupported'],
  ['Duplicate value', 'FieldValueDuplicate'],
  ['Too long', 'FieldValueTooLong'],
  ['Too many', 'FieldValueTooMany'],
  ['Not found', 'FieldValueNotFound'],
];

export interface Cause {
  field: string;
  /** The field error's body as the API server words it, e.g. `Invalid value: "x": must be ...`. */
  message: string;
}

/**
 * 422 Invalid as errors.NewInvalid builds it: "<Kind>.<group> "name" is invalid: <errors>", one error bare,
 * several deduplicated in brackets; `kind` may also be a resource (the API server does that for resourceVersion).
 */
export function invalid(kind: string, group: string, name: string, causes: Cause[]): ApiError {
  const texts = [...new Set(causes.map((c) => `${c.field}: ${c.message}`))];
  const text = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${text}`, {
    name,
    group,
    kind,
    causes: causes.map((c) => ({
      reason: causeReasons.find(([prefix]) => c.message.startsWith(prefix))?.[1] ?? 'FieldValueInvalid',
      message: c.message,
      field: c.field,
    })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}
