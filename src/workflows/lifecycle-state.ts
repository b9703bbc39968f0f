import type { KernRunEvent, RunEventSource } from '../shared/events';
import type { AnyRunOutput, RunError } from '../shared/run-output';
import type { RunStatus } from '../shared/run-status';

/**
 * What the run lifecycle needs of a run's state: agent and team runs (`RunState`) and workflow runs
 * (`WorkflowState`) provide it, each publishing its own events.
 */
export interface LifecycleState {
  /** Who the run's events come from. */
  readonly source: RunEventSource;
  readonly status: RunStatus;
  /** A model request is running, whose answer so far is only in the stream. */
  readonly awaitingModel: boolean;
  snapshot(liveContent?: string): AnyRunOutput;
  storeEvents(events: KernRunEvent[]): void;
  start(): void;
  complete(): void;
  fail(error: RunError): void;
  cancel(reason: string, partial?: { content: string; streamedChars: number }): void;
  /** Child runs (team members, agent and team steps) that have not ended. */
  openMemberRunIds(): string[];
  endOpenMemberRuns(status: RunStatus, contentOf: (runId: string) => string | null | undefined): void;
}
