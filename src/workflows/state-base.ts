import type { KernRunEvent, RunEventSource } from '../shared/events';
import { outputFromRecord, runRecordOf } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import type { RunInput } from '../shared/specs';

/**
 * What every run's state shares: its output (first as a pending run's, the same a poll shows before any worker
 * has started it), the source its events carry, copies of the output, and the one-way status transitions.
 */
export abstract class StateBase<Output extends AnyRunOutput> {
  /** Who this run's events come from. */
  readonly source: RunEventSource;
  protected readonly output: Output;
  private readonly startedAt: Date;

  protected constructor(
    input: RunInput,
    protected readonly now: () => Date,
  ) {
    this.startedAt = now();
    this.output = outputFromRecord(runRecordOf(input), RunStatus.pending) as Output;
    const { runId, sessionId, parentRunId } = this.output;
    const identity =
      'workflowId' in this.output
        ? { workflowId: this.output.workflowId, workflowName: this.output.workflowName }
        : 'teamId' in this.output
          ? { teamId: this.output.teamId, teamName: this.output.teamName }
          : { agentId: this.output.agentId, agentName: this.output.agentName };
    this.source = { runId, sessionId, ...(parentRunId ? { parentRunId } : {}), ...identity };
  }

  get status(): RunStatus {
    return this.output.status;
  }

  /**
   * A copy of the output as it stands, with a current duration. `liveContent` is an answer being streamed right
   * now, which replaces `content` while it is not empty.
   */
  snapshot(liveContent?: string): Output {
    const duration = (this.now().getTime() - this.startedAt.getTime()) / 1000;
    const content = liveContent || this.output.content;
    // JSON round trip, not structuredClone: the workflow sandbox does not provide it.
    return JSON.parse(
      JSON.stringify({ ...this.output, content, metrics: { ...this.output.metrics, duration } }),
    ) as Output;
  }

  /** Keeps every event on the output (`storeEvents`). */
  storeEvents(events: KernRunEvent[]): void {
    this.output.events = events;
  }

  protected transition(status: RunStatus): void {
    if (isTerminalStatus(this.output.status)) {
      throw new Error(`run ${this.output.runId} is already ${this.output.status}; cannot become ${status}`);
    }
    this.output.status = status;
    this.output.updatedAt = this.now().toISOString();
  }
}
