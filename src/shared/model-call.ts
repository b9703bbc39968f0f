import type { RunEventContext } from './events';
import type { Message, ToolCall } from './run-output';
import type { SessionState, SessionStateChanges } from './sessions';
import type { ModelSpec, OutputSchemaSpec, ToolSpec } from './specs';

/** Input of the `callModel` activity. Holds no API key: the worker reads it from its own environment. */
export interface ModelCallInput {
  runId: string;
  model: ModelSpec;
  instructions?: string;
  messages: Message[];
  tools: ToolSpec[];
  /** When set, the activity publishes the answer's text to the run's stream as `RunContent` deltas. */
  eventContext?: RunEventContext;
  /** Ask for a JSON answer of this shape; the activity checks the answer against it (see `ModelCallResult`). */
  outputSchema?: OutputSchemaSpec;
}

/** What one model request produced. */
export interface ModelCallResult {
  content: string;
  toolCalls: ToolCall[];
  inputTokens: number;
  outputTokens: number;
  /** Input tokens the provider served from its prompt cache (part of `inputTokens`), when it reports them. */
  cacheReadTokens?: number;
  /** Output tokens spent on reasoning (part of `outputTokens`), when the provider reports them. */
  reasoningTokens?: number;
  /** Seconds from sending the request to the first streamed token, when streaming. */
  timeToFirstToken?: number;
  /**
   * How much of `content` (UTF-16 code units from the start) the activity published as `RunContent` deltas. The
   * workflow publishes the rest (the tail) together with `ModelRequestCompleted`, which saves a signal per call.
   */
  streamedChars: number;
  /**
   * For a request with `outputSchema`, answered without tool calls: the answer parsed and checked against the schema
   * (`value`), or why it does not fit (`problem`, which the workflow tells the model when it asks again).
   */
  structured?: { value: unknown } | { problem: string };
}

/**
 * The details of the `CancelledFailure` a cancelled model activity reports: the answer so far, which the run keeps
 * as its content. The activity has published all of it as deltas before it reports.
 */
export interface ModelCallCancelledDetails {
  partialContent: string;
}

/** Input of the `executeTool` activity. */
export interface ToolCallInput {
  runId: string;
  toolCallId: string;
  toolName: string;
  /** The JSON text of the arguments, as the model produced it; validated on the worker. */
  arguments: string;
  /** The session state as the run sees it, handed to the tool as `context.sessionState`. */
  sessionState?: SessionState;
  /** What a person filled in for a `requiresUserInput` tool; the tool gets it with the model's arguments. */
  userInput?: Record<string, unknown>;
  /** The MCP server whose tool this is (`ToolSpec.mcpServer`): the call goes to it. */
  mcpServer?: string;
}

/** Result of a tool execution. A tool that throws returns `isError` and its message, which goes to the model. */
export interface ToolCallResult {
  content: string;
  isError: boolean;
  args: Record<string, unknown>;
  /** What the tool changed in `context.sessionState`, when it changed anything. */
  sessionStateChanges?: SessionStateChanges;
}
