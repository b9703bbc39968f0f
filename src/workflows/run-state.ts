import { isContinueEvent, isTerminalEvent, pauseRequirementsOf, type AnyRunEvent } from '../shared/events';
import type { RunRequirement } from '../shared/requirements';
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
  /** Told of every pause and every continue of the run (its own, or its members' and steps'), after the event. */
  onPauseChange?: (requirements: RunRequirement[] | undefined) => void;
  /** An event of a member or step run, forwarded to this run (see {@link RunState.descendantEvent}). */
  descendantEvent(event: AnyRunEvent): void;
  /** What the run waits for while it is `PAUSED`. */
  readonly requirements: RunRequirement[] | undefined;
  /** Set when the caller who cancels the run wants the exact answer so far (see `exactPartialOnCancelSignal`). */
  exactPartialOnCancel: boolean;
  /** What the run's next execution starts from, if it continues as new (see {@link RunState.carried}). */
  carried(): { output: Output; startedAt: string };
}

/**
 * The core every run's state shares: the output (first as a pending run's, the same a poll shows before any worker
 * has started the run), its one-way status transitions, copies of it, and the log its events go to. Pure: no
 * Temporal, no I/O, so unit tests drive the states with an in-memory log. One subclass per kind of run
 * (`AgentRunState`, `TeamRunState`, `WorkflowRunState`), each publishing its own events.
 */
export abstract class RunState<Output extends AnyRunOutput> implements LifecycleState<Output> {
  private readonly startedAt: Date;
  onPauseChange?: (requirements: RunRequirement[] | undefined) => void;
  exactPartialOnCancel = false;
  /** What the run's own tool calls wait for; and what its member and step runs (at any depth) wait for. */
  private ownRequirements: RunRequirement[] = [];
  private descendantRequirements: RunRequirement[] = [];

  protected constructor(
    protected readonly output: Output,
    protected readonly log: RunEventLog,
    protected readonly now: () => Date,
    /** When the run started: now, or, for a run that continued as new, when its first execution did. */
    startedAt?: string,
  ) {
    this.startedAt = startedAt !== undefined ? new Date(startedAt) : now();
  }

  /**
   * What the run's next execution starts from when it continues as new: the output as it stands, and when the run
   * started. Only taken where the run waits for nobody (see `run-continuation.ts`).
   */
  carried(): { output: Output; startedAt: string } {
    return { output: this.snapshot(), startedAt: this.startedAt.toISOString() };
  }

  get status(): RunStatus {
    return this.output.status;
  }

  get requirements(): RunRequirement[] | undefined {
    return this.output.requirements;
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

  /**
   * The run's own tool calls wait for a person: the run is `PAUSED` (also while its members' are) until
   * {@link resumeOwn}.
   */
  protected pauseOwn(requirements: RunRequirement[]): void {
    this.ownRequirements = requirements;
    this.updatePause(requirements.length > 0);
  }

  /** The run has taken the answers to its own requirements. */
  protected resumeOwn(): void {
    this.ownRequirements = [];
    this.updatePause(false);
  }

  /**
   * An event of a member or step run (at any depth), as forwarded to this run: its pause adds what it waits for to
   * this run's requirements (this run is `PAUSED` while any remain), its continue or end removes them.
   */
  descendantEvent(event: AnyRunEvent): void {
    if (event.runId === this.output.runId) return;
    const paused = pauseRequirementsOf(event);
    if (paused) {
      // A team's or workflow's pause event repeats its members' requirements; each is taken from its own run's event.
      const own = paused.filter((requirement) => requirement.runId === event.runId);
      if (own.length === 0) return;
      const member =
        event.kind === 'team'
          ? { id: event.teamId, name: event.teamName }
          : event.kind === 'agent'
            ? { id: event.agentId, name: event.agentName }
            : undefined;
      // Idempotent: a batch of events delivered twice changes nothing the second time.
      const known = new Set(this.descendantRequirements.map((requirement) => requirement.id));
      if (own.every((requirement) => known.has(requirement.id))) return;
      this.descendantRequirements = [
        ...this.descendantRequirements.filter((requirement) => requirement.runId !== event.runId),
        ...own.map((requirement) => ({
          ...requirement,
          memberRunId: event.runId,
          ...(member ? { memberAgentId: member.id, memberAgentName: member.name } : {}),
        })),
      ];
      this.updatePause(true);
    } else if (isContinueEvent(event) || isTerminalEvent(event)) {
      const before = this.descendantRequirements.length;
      this.descendantRequirements = this.descendantRequirements.filter((r) => r.runId !== event.runId);
      if (this.descendantRequirements.length !== before) this.updatePause(false);
    }
  }

  /** Publishes the run's pause event, with everything it now waits for. */
  protected abstract emitPaused(requirements: RunRequirement[]): void;

  /** Publishes the run's continue event: it waits for nobody any more. */
  protected abstract emitContinued(): void;

  /** Brings status, output and events in line with the open requirements; `added`: some are new. */
  private updatePause(added: boolean): void {
    const status = this.output.status;
    if (status === RunStatus.pending || isTerminalStatus(status)) return;
    const open = [...this.ownRequirements, ...this.descendantRequirements];
    if (open.length > 0) {
      this.output.requirements = open;
      if (status !== RunStatus.paused) this.transition(RunStatus.paused);
      if (added) this.emitPaused(open);
      this.onPauseChange?.(open);
    } else if (status === RunStatus.paused) {
      delete this.output.requirements;
      this.transition(RunStatus.running);
      this.emitContinued();
      this.onPauseChange?.(undefined);
    }
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
    // A run that ended waits for nobody.
    if (isTerminalStatus(status)) delete this.output.requirements;
  }
}
