import { RunEvent, eventFrom, type EventBody, type KernRunEvent } from '../shared/events';
import type { ModelCallResult, ToolCallResult } from '../shared/model-call';
import {
  type AnyRunOutput,
  type RunError,
  type TeamRunOutput,
  type ToolCall,
  type ToolExecution,
} from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import type { AgentRunInput, TeamRunInput } from '../shared/specs';
import type { LifecycleState } from './lifecycle-state';
import { StateBase } from './state-base';

/**
 * The state of one agent or team run and its transitions. Pure: no Temporal, no I/O, so unit tests drive it
 * directly. Every transition publishes the matching event through `publish` (team runs use the `Team` names).
 */
export class RunState extends StateBase<AnyRunOutput> implements LifecycleState {
  private modelRequestInFlight = false;

  constructor(
    input: AgentRunInput | TeamRunInput,
    private readonly publish: (event: KernRunEvent) => void,
    now: () => Date,
  ) {
    super(input, now);
  }

  /** A model request is running: its answer so far is only in the stream. */
  get awaitingModel(): boolean {
    return this.modelRequestInFlight;
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
