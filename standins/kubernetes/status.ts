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
      details: this.details,
      code: this.code,
    };
  }
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

export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: Array<{ field: string; message: string }>,
): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, {
    name,
    group,
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}
