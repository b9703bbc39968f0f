import { ApplicationFailure } from '@temporalio/common';

/**
 * Base class of every error kern throws: one class per failure. `name` is stable and equals the class name; in a
 * run's output it is the error's `type`. `retryable` failures are retried by Temporal; the others end the run at once.
 */
export class KernError extends Error {
  readonly retryable: boolean;
  /** For a retryable error: how long to wait before the next attempt, instead of the retry policy's backoff. */
  readonly nextRetryDelayMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryable?: boolean; nextRetryDelayMs?: number }) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
    this.nextRetryDelayMs = options?.nextRetryDelayMs;
    this.name = new.target.name;
  }
}

/** The failure an activity or workflow throws for a kern error: `type` is its class name. */
export function toApplicationFailure(err: KernError): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.name,
    message: err.message,
    nonRetryable: !err.retryable,
    ...(err.nextRetryDelayMs !== undefined ? { nextRetryDelay: err.nextRetryDelayMs } : {}),
  });
}

/** Secret-shaped strings (API keys, bearer tokens), and `secret` itself, replaced: for text bound for history. */
export function redactSecrets(text: string, secret?: string): string {
  const redacted = secret && secret.length >= 8 ? text.split(secret).join('[redacted]') : text;
  return redacted
    .replace(/\b(sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, '$1-[redacted]')
    .replace(/\b(Bearer)\s+[A-Za-z0-9_*.~+/=-]{8,}/gi, '$1 [redacted]');
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

/** A schedule id was given that a kern schedule already has. */
export class ScheduleIdInUseError extends KernError {
  constructor(readonly scheduleId: string) {
    super(`schedule id '${scheduleId}' is already used by another schedule`);
  }
}

/** A session was created with an id that a session already has. */
export class SessionIdInUseError extends KernError {
  constructor(readonly sessionId: string) {
    super(`session id '${sessionId}' is already used by another session; update it instead, or choose another id`);
  }
}

/** No kern schedule has this id (or it was deleted). */
export class ScheduleNotFound extends KernError {
  constructor(readonly scheduleId: string) {
    super(`no schedule has the id '${scheduleId}'`);
  }
}

/** A session's state cannot be read: no kern worker answered for its workflow in time. */
export class SessionUnavailable extends KernError {
  constructor(
    readonly sessionId: string,
    cause: unknown,
  ) {
    super(`session ${sessionId}: reading its state needs a running kern worker, and none answered in time`, {
      cause,
      retryable: true,
    });
  }
}

/** The Temporal server cannot be reached (down, restarting, or a wrong `TEMPORAL_ADDRESS`). Worth trying again. */
export class TemporalUnreachable extends KernError {
  constructor(address: string, cause?: unknown) {
    // What the connection said (a refused connection, a certificate it does not trust, a deadline) is the way to the fix.
    const why = cause instanceof Error && cause.message ? ` (${cause.message.split('\n')[0]})` : '';
    super(
      `the Temporal server at ${address} is unreachable${why}; try again once it is up, or check the address and its TLS settings`,
      {
        cause,
        retryable: true,
      },
    );
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

/**
 * The model provider failed in a way worth retrying (429, 5xx, timeout, dropped connection, a stream gone quiet).
 * The next attempt waits `retryAfterMs` when the provider said how long.
 */
export class ModelUnavailable extends KernError {
  constructor(
    message: string,
    readonly status?: number,
    retryAfterMs?: number,
  ) {
    super(message, { retryable: true, ...(retryAfterMs !== undefined ? { nextRetryDelayMs: retryAfterMs } : {}) });
  }
}

/** The model asked for a tool with arguments that do not match its schema. */
export class ToolArgumentsInvalid extends KernError {
  constructor(toolName: string, problem: string) {
    super(`invalid arguments for tool '${toolName}': ${problem}`);
  }
}

/**
 * The run's component declares a tool that the worker does not have. Retried (with the tool activity's attempts), so
 * that during a rolling deploy a worker that has it takes the call; then the run ends `ERROR`.
 */
export class ToolNotFound extends KernError {
  constructor(readonly toolName: string) {
    super(`tool '${toolName}' is not registered on this worker; add it to defineApp({ tools })`, { retryable: true });
  }
}

/** The run used up its tool rounds without a final answer. */
export class MaxToolRoundsExceeded extends KernError {
  constructor(rounds: number) {
    super(`the run reached its limit of ${rounds} tool rounds without a final answer`);
  }
}

/**
 * A workflow names a step function that the worker does not have. Retried like a lost worker, so that during a
 * rolling deploy a worker that has it takes the call; then the step fails.
 */
export class StepFunctionNotFound extends KernError {
  constructor(readonly functionName: string) {
    super(
      `step function '${functionName}' is not registered on this worker; add its workflow to defineApp({ workflows })`,
      { retryable: true },
    );
  }
}

/** A step function threw. The workflow calls it again as its step allows (`maxRetries`). */
export class StepFunctionFailed extends KernError {
  constructor(functionName: string, message: string) {
    super(`${functionName}: ${message}`);
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

/**
 * A run outgrew what Temporal keeps for one execution: one model request over the payload budget, or a history
 * near Temporal's limits. The run ends `ERROR` through kern's finish, with its output so far.
 */
export class RunTooLarge extends KernError {
  constructor(message: string) {
    super(message);
  }
}

/** `continueRun` was called for a run that does not wait for anyone: it is running, finished, or already continuing. */
export class RunNotPaused extends KernError {
  constructor(
    readonly runId: string,
    detail: string,
  ) {
    super(`run '${runId}' is not paused: ${detail}`);
  }
}

/**
 * The answers given to `continueRun` do not fit what the run waits for: an unknown or missing requirement, the wrong
 * kind of answer, or user input that fails the tool's schema. Nothing was changed; the run goes on waiting.
 */
export class RequirementAnswersInvalid extends KernError {
  constructor(message: string) {
    super(message);
  }
}

/** A structured answer still did not fit its `outputSchema` after the run asked the model again; the zod issues. */
export class OutputInvalid extends KernError {
  constructor(problem: string) {
    super(`the answer does not match the output schema: ${problem}`);
  }
}

/**
 * A fork that cannot be made: of a run (`forkRun`, the framework's `continue` with `fork`, `regenerate` or
 * `continue_from`): a workflow run, a boundary outside the run's messages, options that contradict each other, or
 * nothing for the model to answer; of a session (`forkSession`): one with no runs of the component. Nothing was
 * started.
 */
export class ForkRefused extends KernError {
  constructor(problem: string) {
    super(`cannot fork: ${problem}`);
  }
}

/** A run that cannot be continued or forked at all: it was cancelled (as the framework refuses it). */
export class RunNotContinuable extends KernError {
  constructor(readonly runId: string) {
    super(`cannot continue run ${runId}: run is cancelled`);
  }
}
