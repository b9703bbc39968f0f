import type { RunEventContext } from './events';
import type { Message, ToolCall } from './run-output';
import type { ModelSpec, ToolSpec } from './specs';

/** Input of the `callModel` activity. Holds no API key: the worker reads it from its own environment. */
export interface ModelCallInput {
  runId: string;
  model: ModelSpec;
  instructions?: string;
  messages: Message[];
  tools: ToolSpec[];
  /** When set, the activity publishes the answer's text to the run's stream as `RunContent` deltas. */
  eventContext?: RunEventContext;
}

/** What one model request produced. */
export interface ModelCallResult {
  content: string;
  toolCalls: ToolCall[];
  inputTokens: number;
  outputTokens: number;
  /** Seconds from sending the request to the first streamed token, when streaming. */
  timeToFirstToken?: number;
  /**
   * How much of `content` (in UTF-16 code units, from the start) the activity already published as deltas; the
   * workflow publishes the rest. Histories recorded before this field have `streamed: true` for "all of it".
   */
  streamedChars?: number;
  /** @deprecated Recorded by older workers: true when the whole content was published as deltas. */
  streamed?: boolean;
}

/** Details a cancelled model activity reports back, so the run keeps the partial answer. */
export interface ModelCallCancelledDetails {
  partialContent: string;
  /** How much of `partialContent` was already published as deltas. */
  streamedChars?: number;
}

/** Input of the `executeTool` activity. */
export interface ToolCallInput {
  runId: string;
  toolCallId: string;
  toolName: string;
  /** The JSON text of the arguments, as the model produced it; validated on the worker. */
  arguments: string;
}

/** Result of a tool execution. A tool that throws returns `isError` and its message, which goes to the model. */
export interface ToolCallResult {
  content: string;
  isError: boolean;
  args: Record<string, unknown>;
}
