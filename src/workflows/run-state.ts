import type { AnyRunOutput, Message, RunError } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import { applySessionStateChanges, type SessionState, type SessionStateChanges } from '../shared/sessions';
import type { RunEventLog } from './run-stream';

/** What the run lifecycle asks of a run's state: its status, the four transitions, and a copy of its output. */
export interface LifecycleState<Output extends AnyRunOutput> {
  readonly status: RunStatus;
  start(): void;
  complete(): void;
  fail(error: RunError): void;
  cancel(reason: string): void;
  /** Takes what the run's session gave it: earlier turns (before the input) and the session state. */
  joinSession(history: Message[], sessionState: SessionState | undefined): void;
  /** A copy of the output as it stands, for polls and for the end. */
  snapshot(): Output;
}

/**
 * The core every run's state shares: the output (first as a pending run's, the same a poll shows before any worker
 * has started the run), its one-way status transitions, copies of it, and the log its events go to. Pure: no
 * Temporal, no I/O, so unit tests drive the states with an in-memory log. One subclass per kind of run
 * (`AgentRunState`, `TeamRunState`, `WorkflowRunState`), each publishing its own events.
 */
export abstract class RunState<Output extends AnyRunOutput> implements LifecycleState<Output> {
  private readonly startedAt: Date;

  protected constructor(
    protected readonly output: Output,
    protected readonly log: RunEventLog,
    protected readonly now: () => Date,
  ) {
    this.startedAt = now();
  }

  get status(): RunStatus {
    return this.output.status;
  }

  abstract start(): void;
  abstract complete(): void;
  abstract fail(error: RunError): void;
  abstract cancel(reason: string): void;

  joinSession(history: Message[], sessionState: SessionState | undefined): void {
    if (history.length > 0) this.output.messages.unshift(...history);
    if (sessionState !== undefined) this.output.sessionState = sessionState;
  }

  /**
   * The session state as this run sees it now: what it started with, with its tools' and members' changes; undefined
   * while the run has none (it neither read its session nor was given state, and nothing has written to it).
   */
  get sessionState(): SessionState | undefined {
    return this.output.sessionState;
  }

  /** Applies changes a tool (or a member or step run) made to the session state. */
  changeSessionState(changes: SessionStateChanges | undefined): void {
    if (changes) this.output.sessionState = applySessionStateChanges(this.output.sessionState ?? {}, changes);
  }

  /** A copy of the output as it stands, with a current duration and the content so far. */
  snapshot(): Output {
    const duration = (this.now().getTime() - this.startedAt.getTime()) / 1000;
    const output = { ...this.output, content: this.contentSoFar(), metrics: { ...this.output.metrics, duration } };
    // JSON round trip, not structuredClone: the workflow sandbox does not provide it.
    const copy: Output = JSON.parse(JSON.stringify(output));
    return copy;
  }

  /** The run's content as a poll should see it now. */
  protected contentSoFar(): string | null {
    return this.output.content;
  }

  protected transition(status: RunStatus): void {
    if (isTerminalStatus(this.output.status)) {
      throw new Error(`run ${this.output.runId} is already ${this.output.status}; cannot become ${status}`);
    }
    this.output.status = status;
    this.output.updatedAt = this.now().toISOString();
  }
}
