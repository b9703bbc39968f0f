import { ApplicationFailure } from '@temporalio/common';

/**
 * Base class of every error kern throws: one class per failure. `name` is stable and equals the class name; in a
 * run's output it is the error's `type`. `retryable` failures are retried by Temporal; the others end the run at once.
 */
export class KernError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
    this.name = new.target.name;
  }
}

/** The failure an activity or workflow throws for a kern error: `type` is its class name. */
export function toApplicationFailure(err: KernError): ApplicationFailure {
  return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: !err.retryable });
}

/** The caller passed something kern cannot run: empty input, unknown options, a bad definition. */
export class InvalidInputError extends KernError {
  constructor(message: string) {
    super(message);
  }
}

/** A run id was given that an earlier run already used. Run ids are unique keys. */
export class RunIdInUseError extends KernError {
  constructor(readonly runId: string) {
    super(`run id '${runId}' is already used by another run`);
  }
}

/** No run has this id (or only a recorded cancel does). */
export class RunNotFound extends KernError {
  constructor(readonly runId: string) {
    super(`no run has the id '${runId}'`);
  }
}

/** The Temporal server cannot be reached (down, restarting, or a wrong `TEMPORAL_ADDRESS`). Worth trying again. */
export class TemporalUnreachable extends KernError {
  constructor(address: string, cause?: unknown) {
    super(`the Temporal server at ${address} is unreachable; try again once it is up`, { cause, retryable: true });
  }
}

/** A finished run's events cannot be read: no worker replayed it in time, and its component did not store them. */
export class RunEventsUnavailable extends KernError {
  constructor(
    readonly runId: string,
    cause: unknown,
  ) {
    super(
      `run ${runId} has ended; reading its events needs a running kern worker (to replay it), or a component ` +
        `built with storeEvents: true`,
      { cause },
    );
  }
}

/** The model provider refused the request (400, 401, 403, 404, 422): retrying would not help. */
export class ModelRequestRejected extends KernError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The model provider failed in a way worth retrying (429, 5xx, timeout, dropped connection). */
export class ModelUnavailable extends KernError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message, { retryable: true });
  }
}

/** The model asked for a tool with arguments that do not match its schema. */
export class ToolArgumentsInvalid extends KernError {
  constructor(toolName: string, problem: string) {
    super(`invalid arguments for tool '${toolName}': ${problem}`);
  }
}

/** The model asked for a tool that the worker does not have. */
export class ToolNotFound extends KernError {
  constructor(readonly toolName: string) {
    super(`tool '${toolName}' is not registered on this worker; add it to defineApp({ tools })`);
  }
}

/** The run used up its tool rounds without a final answer. */
export class MaxToolRoundsExceeded extends KernError {
  constructor(rounds: number) {
    super(`the run reached its limit of ${rounds} tool rounds without a final answer`);
  }
}

/** A workflow names a step function that the worker does not have. */
export class StepFunctionNotFound extends KernError {
  constructor(readonly functionName: string) {
    super(
      `step function '${functionName}' is not registered on this worker; add its workflow to defineApp({ workflows })`,
    );
  }
}

/** A step function threw. Retried as its step allows. */
export class StepFunctionFailed extends KernError {
  constructor(functionName: string, message: string) {
    super(`${functionName}: ${message}`, { retryable: true });
  }
}

/** A step function returned something of the wrong shape for its role. */
export class StepFunctionInvalidResult extends KernError {
  constructor(message: string) {
    super(message);
  }
}

/** A workflow step failed, and it may not be skipped. */
export class StepFailed extends KernError {
  constructor(stepName: string, reason: string) {
    super(`step '${stepName}' failed: ${reason}`);
  }
}

/** A router's selector chose a step that is not one of its choices. */
export class UnknownRoute extends KernError {
  constructor(routerName: string, chosen: string, choices: string[]) {
    super(`router '${routerName}' chose '${chosen}', which is not one of its steps: ${choices.join(', ')}`);
  }
}
