import type { RunError, RunMetrics, ToolExecution } from './run-output';

/** Agent event names, the Python framework's, so clients written for it keep working. */
export const RunEvent = {
  runStarted: 'RunStarted',
  runContent: 'RunContent',
  runCompleted: 'RunCompleted',
  runError: 'RunError',
  runCancelled: 'RunCancelled',
  runPaused: 'RunPaused',
  runContinued: 'RunContinued',
  toolCallStarted: 'ToolCallStarted',
  toolCallCompleted: 'ToolCallCompleted',
  toolCallError: 'ToolCallError',
  modelRequestStarted: 'ModelRequestStarted',
  modelRequestCompleted: 'ModelRequestCompleted',
  /**
   * kern's own event: the model call failed midway and is being retried, so the `RunContent` deltas streamed since
   * the last `ModelRequestStarted` are void. Drop them; the next deltas start the answer again.
   */
  runContentReset: 'RunContentReset',
} as const;

export type RunEventName = (typeof RunEvent)[keyof typeof RunEvent];

/** The name of the Temporal workflow-streams topic that carries a run's events. */
export const RUN_EVENTS_TOPIC = 'events';

/** Fields every agent event carries. `eventIndex` is the event's offset in the run's stream, set on delivery. */
export interface AgentEventBase {
  runId: string;
  sessionId: string;
  agentId: string;
  agentName: string;
  parentRunId?: string;
  createdAt: string;
  eventIndex?: number;
}

/** An agent run's event: a union keyed on `event`. */
export type AgentRunEvent = AgentEventBase &
  (
    | { event: typeof RunEvent.runStarted; model: string; input: string }
    | { event: typeof RunEvent.runContent; content: string }
    | { event: typeof RunEvent.runCompleted; content: string | null; metrics: RunMetrics }
    | { event: typeof RunEvent.runError; error: RunError; content: string | null }
    | { event: typeof RunEvent.runCancelled; reason: string; content: string | null }
    | { event: typeof RunEvent.runPaused }
    | { event: typeof RunEvent.runContinued }
    | { event: typeof RunEvent.toolCallStarted; tool: ToolExecution }
    | { event: typeof RunEvent.toolCallCompleted; tool: ToolExecution }
    | { event: typeof RunEvent.toolCallError; tool: ToolExecution; error: string }
    | { event: typeof RunEvent.modelRequestStarted; model: string }
    | { event: typeof RunEvent.modelRequestCompleted; model: string; inputTokens: number; outputTokens: number }
    | { event: typeof RunEvent.runContentReset; attempt: number }
  );

/** The events that end an agent run's stream: exactly one of them is published, last. */
export const terminalRunEvents: ReadonlySet<string> = new Set([
  RunEvent.runCompleted,
  RunEvent.runError,
  RunEvent.runCancelled,
]);

/** The fields every event of one run shares, as the model activity needs them to publish content deltas. */
export type RunEventContext = Omit<AgentEventBase, 'createdAt' | 'eventIndex'>;

/** An agent event without the fields the run fills in. */
export type AgentEventBody = AgentRunEvent extends infer E
  ? E extends AgentRunEvent
    ? Omit<E, keyof AgentEventBase>
    : never
  : never;
