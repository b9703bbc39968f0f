import { ForkRefused, RunNotContinuable } from './errors';
import type { AnyRunOutput, Message } from './run-output';
import { RunStatus } from './run-status';

/**
 * Forks and regenerates (the framework's `continue` with `fork`, `regenerate` or `continue_from`): a new run, with a
 * new run id, in the same session, that starts from a prefix of an earlier run's conversation instead of from its
 * session's history. The earlier run stays as it was: on Temporal a run's history is never rewritten, and a reset
 * would end the run it resets. Pure: the client builds the seed, the new run's workflow starts from it.
 */

/** Where in a run's conversation a fork starts: after its last message, after its last user message, or after `n`. */
export type ContinueFrom = number | 'end' | 'last_user';

/** What to fork from a run: where, with what new input, and for a regenerate, whether the new answer replaces it. */
export interface ForkRequest {
  /** The boundary (default `end`): the fork keeps that many of the run's messages. */
  continueFrom?: ContinueFrom;
  /** A new user message after the boundary. */
  input?: string;
  /**
   * Asks the model again for the run's last answer: the boundary drops the run's final answer (and keeps the tool
   * calls and results before it), and is not given.
   */
  regenerate?: boolean;
  /** For a regenerate: the new answer takes the old one's place in the session's history (default true). */
  replaceOriginal?: boolean;
}

/** What a forked run starts from: part of the run input (`RunInputBase.seed`). */
export interface RunSeed {
  /** The run it was forked from. */
  fromRunId: string;
  /** How many of that run's messages it kept. */
  messageIndex: number;
  /** The conversation it starts from: those messages, and its new input (if any) as the last. */
  messages: Message[];
  /** Set for a regenerate. */
  regenerate?: true;
  /** A regenerate whose answer replaces the earlier run's turn in the session's history. */
  replacesTurn?: true;
}

/** The seed and the input text of a fork of `source`; refuses a request that does not make sense (`ForkRefused`). */
export function forkSeed(source: AnyRunOutput, request: ForkRequest): { seed: RunSeed; input: string } {
  if (source.kind === 'workflow')
    throw new ForkRefused('a workflow run cannot be forked; fork its agent and team runs');
  if (source.status === RunStatus.cancelled) throw new RunNotContinuable(source.runId);
  if (source.status === RunStatus.pending) throw new ForkRefused(`run ${source.runId} has not started yet`);
  if (request.replaceOriginal !== undefined && !request.regenerate) {
    throw new ForkRefused('replace_original only makes sense with regenerate');
  }
  if (request.regenerate && request.continueFrom !== undefined && request.continueFrom !== 'end') {
    throw new ForkRefused('regenerate finds its own boundary (before the last answer); do not give continue_from');
  }
  const messages = source.messages;
  const wanted = request.regenerate ? regenerateBoundary(messages) : boundaryOf(messages, request.continueFrom);
  if (wanted < 0 || wanted > messages.length) {
    throw new ForkRefused(`continue_from must be between 0 and ${messages.length} (the run's messages)`);
  }
  const messageIndex = safeBoundary(messages, wanted);
  const kept = messages.slice(0, messageIndex);
  const input = request.input !== undefined && request.input !== '' ? request.input : undefined;
  const seeded = input !== undefined ? [...kept, { role: 'user' as const, content: input }] : kept;
  const question = input ?? lastUserText(kept);
  if (question === undefined) {
    throw new ForkRefused('the fork has no user message to answer: give input, or a later continue_from');
  }
  return {
    seed: {
      fromRunId: source.runId,
      messageIndex,
      messages: seeded,
      ...(request.regenerate ? { regenerate: true as const } : {}),
      ...(request.regenerate && request.replaceOriginal !== false ? { replacesTurn: true as const } : {}),
    },
    input: question,
  };
}

function boundaryOf(messages: Message[], continueFrom: ContinueFrom = 'end'): number {
  if (typeof continueFrom === 'number') return continueFrom;
  if (continueFrom === 'end') return messages.length;
  const lastUser = lastUserIndex(messages);
  if (lastUser < 0) throw new ForkRefused("continue_from 'last_user': the run has no user message");
  return lastUser + 1;
}

/** Before the run's final answer: its trailing assistant messages without tool calls are dropped. */
function regenerateBoundary(messages: Message[]): number {
  let index = messages.length;
  while (index > 0 && isFinalAnswer(messages[index - 1]!)) index--;
  if (index === 0) throw new ForkRefused('the run has nothing to regenerate its answer from');
  return index;
}

function isFinalAnswer(message: Message): boolean {
  return message.role === 'assistant' && !message.toolCalls?.length;
}

/**
 * The largest boundary at or before `wanted` that splits no tool round: every tool call kept has its result kept,
 * since a model refuses a conversation with a call and no result.
 */
export function safeBoundary(messages: Message[], wanted: number): number {
  const answered = new Map<string, number>();
  messages.forEach((message, index) => {
    if (message.role === 'tool') answered.set(message.toolCallId, index);
  });
  for (let index = 0; index < wanted; index++) {
    const message = messages[index]!;
    if (message.role !== 'assistant') continue;
    const split = (message.toolCalls ?? []).some((call) => (answered.get(call.id) ?? Infinity) >= wanted);
    if (split) return index;
  }
  return wanted;
}

function lastUserText(messages: Message[]): string | undefined {
  return messages[lastUserIndex(messages)]?.content;
}

function lastUserIndex(messages: Message[]): number {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]!.role === 'user') return index;
  return -1;
}

/**
 * The message boundaries of a run that are its checkpoints, as the framework lists them: where a forked run started,
 * and the end of its conversation. kern records no others: any boundary can be forked from (`continue_from`).
 */
export function checkpointIndexes(output: AnyRunOutput): number[] {
  const indexes = new Set<number>();
  const forkedAt = output.forkedFrom?.messageIndex;
  if (forkedAt !== undefined && forkedAt <= output.messages.length) indexes.add(forkedAt);
  if (output.messages.length > 0) indexes.add(output.messages.length);
  return [...indexes].sort((a, b) => a - b);
}

/**
 * The run as it stood at a message boundary (snapped back so that no tool round is split): its messages up to there,
 * and only the tool executions and requirements of the calls among them.
 */
export function outputAtBoundary(output: AnyRunOutput, messageIndex: number): AnyRunOutput {
  if (!Number.isInteger(messageIndex) || messageIndex < 0 || messageIndex > output.messages.length) {
    throw new ForkRefused(`message_index must be between 0 and ${output.messages.length}`);
  }
  const messages = output.messages.slice(0, safeBoundary(output.messages, messageIndex));
  const called = new Set(
    messages.flatMap((message) => (message.role === 'assistant' ? (message.toolCalls ?? []) : [])).map((c) => c.id),
  );
  const { requirements, ...rest } = output;
  const kept = requirements?.filter((requirement) => called.has(requirement.toolExecution.toolCallId));
  return {
    ...rest,
    messages,
    tools: output.tools.filter((tool) => called.has(tool.toolCallId)),
    ...(kept ? { requirements: kept } : {}),
  } as AnyRunOutput;
}

/** A forked run's first output: the conversation it was seeded with, in place of its input's message. */
export function seededOutput<Output extends AnyRunOutput>(output: Output, seed: RunSeed | undefined): Output {
  return seed ? { ...output, messages: [...seed.messages] } : output;
}
