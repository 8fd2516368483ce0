/** Google's JSON error body, as the Compute API sends it for every failed call. */
export interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    errors: ({ message: string; domain: string; reason: string } & ErrorLocation)[];
    status?: string;
  };
}

/** Where the failed condition was, for the errors that name one (412 names the If-Match header). */
export interface ErrorLocation {
  location?: string;
  locationType?: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const DEFAULTS: Record<number, [reason: string, message: string]> = {
  400: ['invalid', 'Invalid request'],
  401: ['required', 'Request is missing required authentication credential. Expected OAuth 2 access token.'],
  403: ['forbidden', 'Forbidden'],
  404: ['notFound', 'Not found'],
  409: ['alreadyExists', 'Already exists'],
  412: ['conditionNotMet', 'Precondition not met'],
  429: ['rateLimitExceeded', "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'"],
  500: ['backendError', 'Internal error. Please try again or contact Google Support.'],
  502: ['backendError', 'Bad gateway'],
  503: ['backendError', 'The service is currently unavailable.'],
};

/** Thrown inside a handler: answered with the body the real API sends (code, message, errors[], status). */
export class ApiError extends Error {
  readonly reason: string;

  constructor(
    readonly code: number,
    reason?: string,
    message?: string,
    private readonly where: ErrorLocation = {},
  ) {
    const [defaultReason, defaultMessage] = DEFAULTS[code] ?? ['error', `HTTP ${code}`];
    super(message ?? defaultMessage);
    this.reason = reason ?? defaultReason;
  }

  body(): GoogleErrorBody {
    const status = STATUS_NAMES[this.code];
    return {
      error: {
        code: this.code,
        message: this.message,
        errors: [
          {
            message: this.message,
            domain: this.code === 429 ? 'usageLimits' : 'global',
            reason: this.reason,
            ...this.where,
          },
        ],
        ...(status ? { status } : {}),
      },
    };
  }
}

export const notFound = (resource: string): ApiError =>
  new ApiError(404, 'notFound', `The resource '${resource}' was not found`);
export const alreadyExists = (resource: string): ApiError =>
  new ApiError(409, 'alreadyExists', `The resource '${resource}' already exists`);
export const invalid = (message: string): ApiError => new ApiError(400, 'invalid', message);
/** GCE refuses to delete what another resource uses (an attached disk, a policy on a disk, an address in use). */
export const inUse = (type: string, resource: string, user: string): ApiError =>
  new ApiError(
    400,
    'resourceInUseByAnotherResource',
    `The ${type} resource '${resource}' is already being used by '${user}'`,
  );
