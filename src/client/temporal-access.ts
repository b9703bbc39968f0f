import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { TemporalUnreachable } from '../shared/errors';
import { workflowIdForRun } from '../shared/ids';
import type { AnyRunOutput } from '../shared/run-output';
import type { RunInput } from '../shared/specs';

/** What every run workflow looks like from the client. */
export type RunWorkflow = (input: RunInput) => Promise<AnyRunOutput>;

/** How long a poll waits for a running run's worker to answer before falling back to what history says. */
export const QUERY_TIMEOUT_MS = 5_000;

/** gRPC status 14, UNAVAILABLE: the Temporal server cannot be reached. */
const GRPC_UNAVAILABLE = 14;

/** True for Temporal's "unavailable" failure, on the error or on its cause (the client wraps it in a ServiceError). */
export function isTemporalUnavailable(err: unknown): boolean {
  const codeOf = (value: unknown) =>
    typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
  return codeOf(err) === GRPC_UNAVAILABLE || codeOf((err as { cause?: unknown } | null)?.cause) === GRPC_UNAVAILABLE;
}

/**
 * The first execution of a run's chain of executions (a run continues as new when its history grows long). A request
 * sent with it reaches the chain's newest execution; an execution whose own run id differs is a later one.
 */
export function firstRunIdOf(description: WorkflowExecutionDescription): string {
  return description.raw.workflowExecutionInfo?.firstRunId || description.runId;
}

/**
 * What the client's modules share: the Temporal client, the task queue runs start on, and the few ways they all reach
 * Temporal (a run's handle, its description, a query with a deadline), each saying "Temporal is unreachable" the same
 * way ({@link TemporalUnreachable}, naming the address).
 */
export class TemporalAccess {
  constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    /** Where Temporal is, for error messages; unknown for a client given to `connect`. */
    readonly address = 'the configured address',
  ) {}

  /** The handle of a run's workflow (its latest execution, or the one of `temporalRunId`). */
  runHandle(runId: string, temporalRunId?: string): WorkflowHandle<RunWorkflow> {
    return this.temporal.workflow.getHandle<RunWorkflow>(workflowIdForRun(runId), temporalRunId);
  }

  /** What Temporal's server knows of a run's execution; `undefined` for a run id no execution has. */
  async describeRun(runId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.runHandle(runId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw this.unreachableOr(err);
    }
  }

  /**
   * A query of a run or session, answered by a worker within `timeoutMs`. When it fails (no worker answered in time,
   * all down or busy; or no such workflow), `fallback` says what that means to the caller: a value to use instead, or
   * an error to throw.
   */
  async queryWithin<T>(timeoutMs: number, query: () => Promise<T>, fallback: (err: unknown) => T): Promise<T> {
    try {
      return await this.temporal.connection.withDeadline(Date.now() + timeoutMs, query);
    } catch (err) {
      return fallback(err);
    }
  }

  /** A visibility call (listing, counting), with Temporal being unreachable said as {@link TemporalUnreachable}. */
  async visibility<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.unreachableOr(err);
    }
  }

  /**
   * Temporal's "unavailable" failure (its server is down or unreachable, after the client's own retries) as
   * {@link TemporalUnreachable}, which says so; any other error as `otherwise` makes it (default: as it is).
   */
  unreachableOr(err: unknown, otherwise: (err: unknown) => unknown = (other) => other): unknown {
    return isTemporalUnavailable(err) ? new TemporalUnreachable(this.address, err) : otherwise(err);
  }
}
