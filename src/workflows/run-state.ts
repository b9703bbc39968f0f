import { RunEvent, eventFrom, type EventBody, type KernRunEvent, type ModelRunSource } from '../shared/events';
import type { ModelCallResult, ToolCallResult } from '../shared/model-call';
import {
  emptyMetrics,
  type AnyRunOutput,
  type RunError,
  type TeamRunOutput,
  type ToolCall,
  type ToolExecution,
} from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import { componentOf, type AgentRunInput, type TeamRunInput } from '../shared/specs';
import type { LifecycleState } from './lifecycle-state';

/**
 * The state of one agent or team run and its transitions. Pure: no Temporal, no I/O, so unit tests drive it
 * directly. Every transition publishes the matching event through `publish` (team runs use the `Team` names).
 */
export class RunState implements LifecycleState {
  private readonly output: AnyRunOutput;
  private readonly startedAt: Date;
  private modelRequestInFlight = false;
  /** Who this run's events come from. */
  readonly source: ModelRunSource;

  constructor(
    input: AgentRunInput | TeamRunInput,
    private readonly publish: (event: KernRunEvent) => void,
    private readonly now: () => Date,
  ) {
    this.startedAt = now();
    const component = componentOf(input);
    const identity =
      'team' in input
        ? { teamId: component.id, teamName: component.name }
        : { agentId: component.id, agentName: component.name };
    this.source = {
      runId: input.runId,
      sessionId: input.sessionId,
      ...(input.parentRunId ? { parentRunId: input.parentRunId } : {}),
      ...identity,
    };
    this.output = {
      runId: input.runId,
      sessionId: input.sessionId,
      ...(input.userId !== undefined ? { userId: input.userId } : {}),
      ...(input.parentRunId !== undefined ? { parentRunId: input.parentRunId } : {}),
      ...identity,
      ...('team' in input ? { memberResponses: [] } : {}),
      status: RunStatus.pending,
      content: null,
      input: input.input,
      model: component.modelId,
      messages: [{ role: 'user', content: input.input }],
      tools: [],
      metrics: emptyMetrics(),
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
    } as AnyRunOutput;
  }

  get status(): RunStatus {
    return this.output.status;
  }

  /** A model request is running: its answer so far is only in the stream. */
  get awaitingModel(): boolean {
    return this.modelRequestInFlight;
  }

  /**
   * A copy of the output as it stands, with a current duration. `liveContent` is the answer the model is streaming
   * right now, which replaces `content` while it is not empty.
   */
  snapshot(liveContent?: string): AnyRunOutput {
    const duration = (this.now().getTime() - this.startedAt.getTime()) / 1000;
    const content = liveContent || this.output.content;
    // JSON round trip, not structuredClone: the workflow sandbox does not provide it.
    return JSON.parse(
      JSON.stringify({ ...this.output, content, metrics: { ...this.output.metrics, duration } }),
    ) as AnyRunOutput;
  }

  /** Keeps every event on the output (`storeEvents`). */
  storeEvents(events: KernRunEvent[]): void {
    this.output.events = events;
  }

  start(): void {
    this.transition(RunStatus.running);
    this.emit({ event: RunEvent.runStarted, model: this.output.model, input: this.output.input });
  }

  modelRequestStarted(): void {
    this.modelRequestInFlight = true;
    this.emit({ event: RunEvent.modelRequestStarted, model: this.output.model });
  }

  modelResponded(result: ModelCallResult): void {
    this.modelRequestInFlight = false;
    const metrics = this.output.metrics;
    metrics.inputTokens += result.inputTokens;
    metrics.outputTokens += result.outputTokens;
    metrics.totalTokens = metrics.inputTokens + metrics.outputTokens;
    metrics.timeToFirstToken ??= result.timeToFirstToken;
    this.output.messages.push({
      role: 'assistant',
      content: result.content,
      ...(result.toolCalls.length > 0 ? { toolCalls: result.toolCalls } : {}),
    });
    if (result.content) {
      this.output.content = result.content;
      // What the activity streamed reached subscribers as deltas already; the rest goes out now, before the
      // request's completion, as it would have streamed.
      const streamedChars = result.streamedChars ?? (result.streamed ? result.content.length : 0);
      this.emitContent(result.content.slice(streamedChars));
    }
    this.emit({
      event: RunEvent.modelRequestCompleted,
      model: this.output.model,
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
    });
  }

  /** Sets the run's answer without a model turn (a routed team answers with its member's answer). */
  answer(content: string | null): void {
    this.output.content = content;
    this.emitContent(content ?? '');
  }

  toolStarted(call: ToolCall): ToolExecution {
    const execution: ToolExecution = {
      toolCallId: call.id,
      toolName: call.name,
      toolArgs: parseArguments(call.arguments),
      createdAt: this.now().toISOString(),
    };
    this.output.tools.push(execution);
    this.emit({ event: RunEvent.toolCallStarted, tool: { ...execution } });
    return execution;
  }

  toolFinished(execution: ToolExecution, result: ToolCallResult): void {
    execution.toolArgs = result.args;
    execution.result = result.content;
    execution.toolCallError = result.isError;
    this.output.messages.push({
      role: 'tool',
      toolCallId: execution.toolCallId,
      toolName: execution.toolName,
      content: result.content,
    });
    if (result.isError) {
      this.emit({ event: RunEvent.toolCallError, tool: { ...execution }, error: result.content });
    } else {
      this.emit({ event: RunEvent.toolCallCompleted, tool: { ...execution } });
    }
  }

  toolFailed(execution: ToolExecution, error: RunError): void {
    execution.result = error.message;
    execution.toolCallError = true;
    this.emit({ event: RunEvent.toolCallError, tool: { ...execution }, error: error.message });
  }

  /** A team's member run: recorded when it starts, replaced by its output when it ends. */
  memberRun(output: AnyRunOutput): void {
    const members = (this.output as TeamRunOutput).memberResponses as AnyRunOutput[];
    const index = members.findIndex((member) => member.runId === output.runId);
    if (index >= 0) members[index] = output;
    else members.push(output);
  }

  /** The run ids of member runs that have not ended. */
  openMemberRunIds(): string[] {
    const members = (this.output as Partial<TeamRunOutput>).memberResponses ?? [];
    return members.filter((member) => !isTerminalStatus(member.status)).map((member) => member.runId);
  }

  /** Member runs that have not ended, with the given status (a cancelled team's members end `CANCELLED`). */
  endOpenMemberRuns(status: RunStatus, contentOf: (runId: string) => string | null | undefined): void {
    const members: AnyRunOutput[] = (this.output as Partial<TeamRunOutput>).memberResponses ?? [];
    for (const member of members) {
      if (isTerminalStatus(member.status)) continue;
      member.status = status;
      member.content = contentOf(member.runId) ?? member.content;
      member.updatedAt = this.now().toISOString();
    }
  }

  complete(): void {
    this.transition(RunStatus.completed);
    this.emit({ event: RunEvent.runCompleted, content: this.output.content, metrics: this.snapshot().metrics });
  }

  fail(error: RunError): void {
    this.modelRequestInFlight = false;
    this.output.error = error;
    this.transition(RunStatus.error);
    this.emit({ event: RunEvent.runError, error, content: this.output.content });
  }

  /**
   * Ends the run `CANCELLED`, keeping what the model had said so far (`partial`: the text, and how much of it was
   * already published as deltas).
   */
  cancel(reason: string, partial?: { content: string; streamedChars: number }): void {
    this.modelRequestInFlight = false;
    if (partial?.content) {
      this.output.content = partial.content;
      this.emitContent(partial.content.slice(partial.streamedChars));
    }
    this.transition(RunStatus.cancelled);
    this.emit({ event: RunEvent.runCancelled, reason, content: this.output.content });
  }

  private emitContent(content: string): void {
    if (content) this.emit({ event: RunEvent.runContent, content });
  }

  private transition(status: RunStatus): void {
    if (isTerminalStatus(this.output.status)) {
      throw new Error(`run ${this.output.runId} is already ${this.output.status}; cannot become ${status}`);
    }
    this.output.status = status;
    this.output.updatedAt = this.now().toISOString();
  }

  private emit(body: EventBody): void {
    this.publish(eventFrom(this.source, body, this.now().toISOString()));
  }
}

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
