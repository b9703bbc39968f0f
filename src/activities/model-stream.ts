import type { ToolCall } from '../shared/run-output';

/** What a provider adapter reports while it reads a model's answer. */
export interface ModelStreamSink {
  /** Any event of a streamed answer arrived (text, tool-call arguments, usage): the stream is alive. */
  onEvent(): void;
  /** A piece of the answer's text, as it arrives. */
  onDelta(text: string): void;
}

/** The provider-neutral result of one streamed or whole model answer. */
export interface ModelAnswer {
  content: string;
  toolCalls: ToolCall[];
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  reasoningTokens?: number;
}

/** The cached-input and reasoning token counts a provider reported, kept when there are any. */
export function reportedTokens(
  cached: number | null | undefined,
  reasoning: number | null | undefined,
): Pick<ModelAnswer, 'cacheReadTokens' | 'reasoningTokens'> {
  return { ...(cached ? { cacheReadTokens: cached } : {}), ...(reasoning ? { reasoningTokens: reasoning } : {}) };
}
