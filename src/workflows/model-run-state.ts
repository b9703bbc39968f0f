import {
  RunEvent,
  TeamRunEvent,
  eventFrom,
  type AgentEventSource,
  type AnyRunEvent,
  type EventBody,
  type TeamEventSource,
} from '../shared/events';
import type { ModelCallResult, ToolCallResult } from '../shared/model-call';
import type { RequirementAnswer, RunRequirement } from '../shared/requirements';
import { seededOutput } from '../shared/forks';
import { outputFromRecordOf, runRecordOf } from '../shared/run-record';
import type { RunError, RunOutput, TeamRunOutput, ToolCall, ToolExecution } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import type { AgentRunInput, ToolSpec } from '../shared/specs';
import { parseToolArguments } from '../shared/tool-calls';
import { RunState } from './run-state';
import type { RunEventLog } from './run-stream';

/**
 * The state of a run whose answer comes from a model loop: an agent's, or a team leader's. Model turns, tool calls
 * and the four transitions, each publishing its event (a team's with the `Team` names).
 *
 * The answer while a model request is in flight exists only as the `RunContent` deltas its activity publishes to the
 * log, so polls read it from there; when the request returns, its result is the answer. See `run-lifecycle.ts`.
 */
export abstract class ModelRunState<Output extends RunOutput | TeamRunOutput> extends RunState<Output> {
  /** Who this run's events come from. */
  readonly source: AgentEventSource | TeamEventSource;
  private requestInFlight = false;

  protected constructor(output: Output, log: RunEventLog, now: () => Date, startedAt?: string) {
    super(output, log, now, startedAt);
    this.source = modelEventSource(output);
  }

  start(): void {
    this.transition(RunStatus.running);
    this.emit({ event: RunEvent.runStarted, model: this.output.model, input: this.output.input });
  }

  modelRequestStarted(): void {
    this.requestInFlight = true;
    this.emit({ event: RunEvent.modelRequestStarted, model: this.output.model });
  }

  /** The model answered. The text its activity did not stream as deltas goes out now, before the completion. */
  modelResponded(result: ModelCallResult): void {
    this.requestInFlight = false;
    const metrics = this.output.metrics;
    metrics.inputTokens += result.inputTokens;
    metrics.outputTokens += result.outputTokens;
    metrics.totalTokens = metrics.inputTokens + metrics.outputTokens;
    if (result.cacheReadTokens) metrics.cacheReadTokens = (metrics.cacheReadTokens ?? 0) + result.cacheReadTokens;
    if (result.reasoningTokens) metrics.reasoningTokens = (metrics.reasoningTokens ?? 0) + result.reasoningTokens;
    metrics.timeToFirstToken ??= result.timeToFirstToken;
    this.output.messages.push({
      role: 'assistant',
      content: result.content,
      ...(result.toolCalls.length > 0 ? { toolCalls: result.toolCalls } : {}),
    });
    if (result.content) {
      this.output.content = result.content;
      this.emitContent(result.content.slice(result.streamedChars ?? 0));
    }
    this.emit({
      event: RunEvent.modelRequestCompleted,
      model: this.output.model,
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
    });
  }

  /** The model's answer fitted the run's `outputSchema`: the parsed value is the run's content. */
  answerStructured(value: unknown, schemaName: string): void {
    // The content is typed as text for the runs kern runs inside; a structured run's is the value (`RunOutput<C>`).
    (this.output as { content: unknown }).content = value;
    this.output.contentType = schemaName;
  }

  /** Asks the model again (a structured answer that did not fit): the request goes into the conversation. */
  askAgain(request: string): void {
    this.output.messages.push({ role: 'user', content: request });
  }

  /**
   * The model request was cancelled: the answer so far is what its activity reported (having streamed all of it), or,
   * when the run did not wait for that report, what the stream carried.
   */
  modelRequestCancelled(partialContent: string | undefined): void {
    const answer = partialContent || answerSoFar(this.log.read(), this.output.runId);
    this.requestInFlight = false;
    if (answer) this.output.content = answer;
  }

  /** A tool call starts; one that waited for a person keeps the execution it was recorded with then. */
  toolStarted(call: ToolCall): ToolExecution {
    let execution = this.output.tools.find((tool) => tool.toolCallId === call.id);
    if (!execution) {
      execution = this.newExecution(call);
      this.output.tools.push(execution);
    }
    this.emit({ event: RunEvent.toolCallStarted, tool: { ...execution } });
    return execution;
  }

  /**
   * The model called tools that need a person: the run pauses (`RunPaused`), with one requirement per call, each
   * recorded on the run's tools with what it needs. Returns the requirements.
   */
  pauseFor(calls: Array<{ call: ToolCall; tool: ToolSpec }>, ids: string[]): RunRequirement[] {
    const createdAt = this.now().toISOString();
    const requirements = calls.map(({ call, tool }, i): RunRequirement => {
      const needs = tool.needs ?? 'confirmation';
      const execution: ToolExecution = {
        ...this.newExecution(call),
        ...(needs === 'confirmation' ? { requiresConfirmation: true } : {}),
        ...(needs === 'userInput' ? { requiresUserInput: true, userInputSchema: tool.userInputFields ?? [] } : {}),
        ...(needs === 'externalExecution' ? { externalExecutionRequired: true } : {}),
      };
      this.output.tools.push(execution);
      return {
        id: ids[i]!,
        runId: this.output.runId,
        needs,
        toolExecution: { ...execution },
        ...(execution.userInputSchema ? { userInputSchema: execution.userInputSchema } : {}),
        createdAt,
      };
    });
    this.pauseOwn(requirements);
    return requirements;
  }

  /** The person's answers are in: they are recorded on the calls' executions, and the run goes on (`RunContinued`). */
  resumeWith(requirements: RunRequirement[], answers: RequirementAnswer[]): void {
    for (const answer of answers) {
      const requirement = requirements.find((candidate) => candidate.id === answer.id);
      const execution = this.output.tools.find((tool) => tool.toolCallId === requirement?.toolExecution.toolCallId);
      if (!execution) continue;
      if (answer.confirmation !== undefined) execution.confirmed = answer.confirmation;
      if (answer.confirmationNote !== undefined) execution.confirmationNote = answer.confirmationNote;
      if (answer.userInput !== undefined) {
        execution.answered = true;
        execution.userInputSchema = execution.userInputSchema?.map((field) => ({
          ...field,
          value: answer.userInput?.[field.name] ?? null,
        }));
      }
    }
    this.resumeOwn();
  }

  protected emitPaused(requirements: RunRequirement[]): void {
    this.emit({ event: RunEvent.runPaused, requirements, tools: requirements.map((r) => r.toolExecution) });
  }

  protected emitContinued(): void {
    this.emit({ event: RunEvent.runContinued });
  }

  private newExecution(call: ToolCall): ToolExecution {
    return {
      toolCallId: call.id,
      toolName: call.name,
      toolArgs: parseToolArguments(call.arguments),
      createdAt: this.now().toISOString(),
    };
  }

  toolFinished(execution: ToolExecution, result: ToolCallResult): void {
    execution.toolArgs = result.args;
    execution.result = result.content;
    execution.toolCallError = result.isError;
    this.changeSessionState(result.sessionStateChanges);
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

  complete(): void {
    this.transition(RunStatus.completed);
    this.emit({ event: RunEvent.runCompleted, content: this.output.content, metrics: this.snapshot().metrics });
  }

  fail(error: RunError): void {
    this.requestInFlight = false;
    this.output.error = error;
    this.transition(RunStatus.error);
    this.emit({ event: RunEvent.runError, error, content: this.output.content });
  }

  cancel(reason: string): void {
    this.requestInFlight = false;
    this.transition(RunStatus.cancelled);
    this.emit({ event: RunEvent.runCancelled, reason, content: this.output.content });
  }

  /** While a model request is in flight, the answer so far is what its deltas said (when they said anything). */
  protected override contentSoFar(): string | null {
    return (this.requestInFlight && answerSoFar(this.log.read(), this.output.runId)) || this.output.content;
  }

  protected emitContent(content: string): void {
    if (content) this.emit({ event: RunEvent.runContent, content });
  }

  private emit(body: EventBody): void {
    this.log.publish(eventFrom(this.source, body, this.now().toISOString()));
  }
}

/** The state of one agent run. */
export class AgentRunState extends ModelRunState<RunOutput> {
  constructor(input: AgentRunInput, log: RunEventLog, now: () => Date = () => new Date()) {
    const continued = input.continued;
    const output = continued
      ? (continued.output as RunOutput)
      : seededOutput(outputFromRecordOf.agent(runRecordOf(input)), input.seed);
    super(output, log, now, continued?.startedAt);
  }
}

function modelEventSource(output: RunOutput | TeamRunOutput): AgentEventSource | TeamEventSource {
  const run = {
    runId: output.runId,
    sessionId: output.sessionId,
    ...(output.parentRunId !== undefined ? { parentRunId: output.parentRunId } : {}),
  };
  return output.kind === 'agent'
    ? { kind: 'agent', ...run, agentId: output.agentId, agentName: output.agentName }
    : { kind: 'team', ...run, teamId: output.teamId, teamName: output.teamName };
}

/**
 * The text run `runId` has streamed since its last model request started, without what a failed attempt streamed
 * (a retried attempt starts with `RunContentReset`).
 */
function answerSoFar(events: readonly AnyRunEvent[], runId: string): string {
  let answer = '';
  for (const event of events) {
    if (event.runId !== runId) continue;
    switch (event.event) {
      case RunEvent.modelRequestStarted:
      case TeamRunEvent.modelRequestStarted:
      case RunEvent.runContentReset:
      case TeamRunEvent.runContentReset:
        answer = '';
        break;
      case RunEvent.runContent:
      case TeamRunEvent.runContent:
        answer += event.content;
        break;
      default:
        break;
    }
  }
  return answer;
}
