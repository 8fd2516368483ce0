/** An error the user can act on: what went wrong, and what to do about it. */
export class ActionError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.hint = options.hint;
  }
}

/** A bad input: names the input, shows the value (unless secret) and what is accepted. */
export class InputError extends ActionError {
  readonly input: string;

  constructor(input: string, message: string, hint?: string) {
    super(`Input '${input}': ${message}`, hint === undefined ? {} : { hint });
    this.name = 'InputError';
    this.input = input;
  }
}

/** A name this run was about to create was taken meanwhile by another run or a person: the object is not ours. */
export class TakenError extends ActionError {
  constructor(
    readonly resource: string,
    hint: string,
  ) {
    super(`${resource} was created by someone else just before this run could create it`, { hint });
    this.name = 'TakenError';
  }
}

/** One line for `core.setFailed`, with the hint and the chain of causes that explain it. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message];
  let cause: unknown = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (!parts.some((p) => p.includes(cause instanceof Error ? cause.message : '')))
      parts.push(cause.message);
    cause = cause.cause;
  }
  const text = parts.join(': ');
  return error instanceof ActionError && error.hint ? `${text}. ${error.hint}` : text;
}

/** A call stopped because the run's time (or its own request timeout) ran out: names the call and the step. */
export class OutOfTimeError extends ActionError {
  constructor(
    message: string,
    readonly step: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, {
      hint: "Raise the 'timeout' input if the cluster is slow but healthy; a rerun converges",
      ...options,
    });
    this.name = 'OutOfTimeError';
  }
}
