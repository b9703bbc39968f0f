/**
 * Where a failure comes from: `user` (bad input or definition, never retried), `model` (the provider said no or
 * broke), `system` (kern or Temporal).
 */
export type ErrorCategory = 'user' | 'model' | 'system';

/** Base class of every error kern throws. `name` is stable and equals the class name. */
export class KernError extends Error {
  readonly category: ErrorCategory;

  constructor(message: string, category: ErrorCategory, options?: { cause?: unknown }) {
    super(message, options);
    this.category = category;
    this.name = new.target.name;
  }
}

/** The caller passed something kern cannot run: empty input, unknown options, a bad definition. */
export class InvalidInputError extends KernError {
  constructor(message: string) {
    super(message, 'user');
  }
}

/** A run id was given that an earlier run already used. Run ids are unique keys. */
export class RunIdInUseError extends KernError {
  constructor(readonly runId: string) {
    super(`run id '${runId}' is already used by another run`, 'user');
  }
}

/** No run has this id (or only a recorded cancel does). */
export class RunNotFound extends KernError {
  constructor(readonly runId: string) {
    super(`no run has the id '${runId}'`, 'user');
  }
}

/** The model provider refused the request (400, 401, 403, 404, 422): retrying would not help. */
export class ModelRequestRejected extends KernError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message, 'model');
  }
}

/** The model provider failed in a way worth retrying (429, 5xx, timeout, dropped connection). */
export class ModelUnavailable extends KernError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message, 'model');
  }
}

/** The model asked for a tool with arguments that do not match its schema. */
export class ToolArgumentsInvalid extends KernError {
  constructor(message: string) {
    super(message, 'user');
  }
}

/** The model asked for a tool that the worker does not have. */
export class ToolNotFound extends KernError {
  constructor(readonly toolName: string) {
    super(`tool '${toolName}' is not registered on this worker; add it to defineApp({ tools })`, 'user');
  }
}

/** The run used up its tool rounds without a final answer. */
export class MaxToolRoundsExceeded extends KernError {
  constructor(rounds: number) {
    super(`the run reached its limit of ${rounds} tool rounds without a final answer`, 'user');
  }
}
