import { RUN_KINDS, RUN_KIND_LIST } from './kinds';
import { unreachable } from './never';
import type { RunRequirement } from './requirements';
import type { RunError, RunMetrics, StepOutput, ToolExecution } from './run-output';

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

/** Team event names: the agent ones with a `Team` prefix (`TeamRunContent`, …), as in the Python framework. */
export const TeamRunEvent = {
  runStarted: 'TeamRunStarted',
  runContent: 'TeamRunContent',
  runCompleted: 'TeamRunCompleted',
  runError: 'TeamRunError',
  runCancelled: 'TeamRunCancelled',
  runPaused: 'TeamRunPaused',
  runContinued: 'TeamRunContinued',
  toolCallStarted: 'TeamToolCallStarted',
  toolCallCompleted: 'TeamToolCallCompleted',
  toolCallError: 'TeamToolCallError',
  modelRequestStarted: 'TeamModelRequestStarted',
  modelRequestCompleted: 'TeamModelRequestCompleted',
  runContentReset: 'TeamRunContentReset',
} as const satisfies { [K in keyof typeof RunEvent]: `Team${(typeof RunEvent)[K]}` };

export type TeamRunEventName = (typeof TeamRunEvent)[keyof typeof TeamRunEvent];

/** Workflow event names, the Python framework's. */
export const WorkflowRunEvent = {
  workflowStarted: 'WorkflowStarted',
  workflowCompleted: 'WorkflowCompleted',
  workflowCancelled: 'WorkflowCancelled',
  workflowError: 'WorkflowError',
  /** A step's run paused for a person; `WorkflowContinued` (kern's own name) when it goes on. */
  workflowPaused: 'WorkflowPaused',
  workflowContinued: 'WorkflowContinued',
  stepStarted: 'StepStarted',
  stepCompleted: 'StepCompleted',
  stepError: 'StepError',
  stepsExecutionStarted: 'StepsExecutionStarted',
  stepsExecutionCompleted: 'StepsExecutionCompleted',
  parallelExecutionStarted: 'ParallelExecutionStarted',
  parallelExecutionCompleted: 'ParallelExecutionCompleted',
  conditionExecutionStarted: 'ConditionExecutionStarted',
  conditionExecutionCompleted: 'ConditionExecutionCompleted',
  loopExecutionStarted: 'LoopExecutionStarted',
  loopIterationStarted: 'LoopIterationStarted',
  loopIterationCompleted: 'LoopIterationCompleted',
  loopExecutionCompleted: 'LoopExecutionCompleted',
  routerExecutionStarted: 'RouterExecutionStarted',
  routerExecutionCompleted: 'RouterExecutionCompleted',
} as const;

export type WorkflowRunEventName = (typeof WorkflowRunEvent)[keyof typeof WorkflowRunEvent];

type W = typeof WorkflowRunEvent;

/** The body of a workflow event: what happened, without who and when. */
export type WorkflowEventBody =
  | { event: W['workflowStarted']; input: string }
  | { event: W['workflowCompleted']; content: string | null }
  | { event: W['workflowCancelled']; reason: string; content: string | null }
  | { event: W['workflowError']; error: RunError; content: string | null }
  | { event: W['workflowPaused']; requirements: RunRequirement[] }
  | { event: W['workflowContinued'] }
  | { event: W['stepStarted']; stepName: string }
  | { event: W['stepCompleted']; stepName: string; stepOutput: StepOutput }
  | { event: W['stepError']; stepName: string; error: RunError }
  | {
      event:
        | W['stepsExecutionStarted']
        | W['parallelExecutionStarted']
        | W['conditionExecutionStarted']
        | W['loopExecutionStarted']
        | W['routerExecutionStarted'];
      stepName: string;
      /** A condition's verdict, or the steps a router chose. */
      conditionResult?: boolean;
      selectedSteps?: string[];
      maxIterations?: number;
    }
  | {
      event:
        | W['stepsExecutionCompleted']
        | W['parallelExecutionCompleted']
        | W['conditionExecutionCompleted']
        | W['loopExecutionCompleted']
        | W['routerExecutionCompleted'];
      stepName: string;
      stepOutput: StepOutput;
    }
  | { event: W['loopIterationStarted']; stepName: string; iteration: number; maxIterations: number }
  | { event: W['loopIterationCompleted']; stepName: string; iteration: number; shouldContinue: boolean };

/** The name of the Temporal workflow-streams topic that carries a run's events. */
export const RUN_EVENTS_TOPIC = 'events';

/** Fields every event carries besides its source. `eventIndex` is the event's offset in the stream it was read from. */
interface EventBase {
  createdAt: string;
  eventIndex?: number;
}

/** The run an event comes from. */
interface SourceBase {
  runId: string;
  sessionId: string;
  parentRunId?: string;
}

/** Who publishes an agent run's events. */
export type AgentEventSource = SourceBase & { kind: 'agent'; agentId: string; agentName: string };
/** Who publishes a team run's own events (its leader's). */
export type TeamEventSource = SourceBase & { kind: 'team'; teamId: string; teamName: string };
/** Who publishes a workflow run's own events. */
export type WorkflowEventSource = SourceBase & { kind: 'workflow'; workflowId: string; workflowName: string };
/** Who publishes an event: the run, and its component's kind, id and name. A union keyed on `kind`. */
export type RunEventSource = AgentEventSource | TeamEventSource | WorkflowEventSource;

/** The body of an event, by its agent name: what happened, without who and when. */
export type EventBody =
  | { event: typeof RunEvent.runStarted; model: string; input: string }
  /** `attempt`: the model call's attempt that streamed it, on deltas of a retried call (2, 3, …). */
  | { event: typeof RunEvent.runContent; content: string; attempt?: number }
  | { event: typeof RunEvent.runCompleted; content: string | null; metrics: RunMetrics }
  | { event: typeof RunEvent.runError; error: RunError; content: string | null }
  | { event: typeof RunEvent.runCancelled; reason: string; content: string | null }
  /** `requirements`: every answer the run waits for (its members' too); `tools`: the calls of its own that wait. */
  | { event: typeof RunEvent.runPaused; requirements: RunRequirement[]; tools: ToolExecution[] }
  | { event: typeof RunEvent.runContinued }
  | { event: typeof RunEvent.toolCallStarted; tool: ToolExecution }
  | { event: typeof RunEvent.toolCallCompleted; tool: ToolExecution }
  | { event: typeof RunEvent.toolCallError; tool: ToolExecution; error: string }
  | { event: typeof RunEvent.modelRequestStarted; model: string }
  | { event: typeof RunEvent.modelRequestCompleted; model: string; inputTokens: number; outputTokens: number }
  | { event: typeof RunEvent.runContentReset; attempt: number };

type AsTeamEvent<B> = B extends { event: infer N extends string } ? Omit<B, 'event'> & { event: `Team${N}` } : never;

/** An agent run's event: a union keyed on `event`. */
export type AgentEvent = EventBase & AgentEventSource & EventBody;

/** A team run's own event (its leader's); member events on a team's stream are their own kind's events. */
export type TeamEvent = EventBase & TeamEventSource & AsTeamEvent<EventBody>;

/** A workflow run's own event; its agent and team steps' events on its stream are theirs. */
export type WorkflowEvent = EventBase & WorkflowEventSource & WorkflowEventBody;

/** Any event a run's stream carries: keyed on `event`, and on `kind` for the kind of run that published it. */
export type AnyRunEvent = AgentEvent | TeamEvent | WorkflowEvent;

/** Where and how the model activity publishes a run's content deltas. */
export interface RunEventContext {
  source: AgentEventSource | TeamEventSource;
  /** Workflow ids of the teams above the run, whose streams get its events too. */
  forwardTo?: string[];
  /** Someone streams the run: publish in short batches (else in long ones, for polls of partial content). */
  live?: boolean;
}

/** Builds the event an agent or team publishes for a body: a team's events have the `Team` names. */
export function eventFrom(
  source: AgentEventSource | TeamEventSource,
  body: EventBody,
  createdAt: string,
): AgentEvent | TeamEvent {
  switch (source.kind) {
    case 'agent':
      return { ...body, ...source, createdAt };
    case 'team':
      // TypeScript cannot follow the name mapping across the union of bodies; `AsTeamEvent` states it.
      return { ...body, ...source, event: `${RUN_KINDS.team.eventPrefix}${body.event}`, createdAt } as TeamEvent;
    default:
      return unreachable(source, 'event source');
  }
}

/** The agent name of an agent or team event (`TeamRunContent` → `RunContent`), to switch on one set of names. */
export function baseEventName(event: AgentEvent | TeamEvent): RunEventName {
  // A team's event names are the agent's with the team's prefix (`TeamRunEvent` is checked to be so).
  return event.event.slice(RUN_KINDS[event.kind].eventPrefix.length) as RunEventName;
}

/** The events that end a run's stream: exactly one of them is published, last, by the run itself. */
const terminalNames: ReadonlySet<string> = new Set(RUN_KIND_LIST.flatMap((kind) => RUN_KINDS[kind].endEvents));
const pauseNames: ReadonlySet<string> = new Set(RUN_KIND_LIST.map((kind) => RUN_KINDS[kind].pauseEvent));
const continueNames: ReadonlySet<string> = new Set(RUN_KIND_LIST.map((kind) => RUN_KINDS[kind].continueEvent));

/** The requirements of a pause event (`RunPaused`, `TeamRunPaused`, `WorkflowPaused`); `undefined` for any other. */
export function pauseRequirementsOf(event: AnyRunEvent): RunRequirement[] | undefined {
  return pauseNames.has(event.event) ? ((event as { requirements?: RunRequirement[] }).requirements ?? []) : undefined;
}

/** True for a run's `RunContinued`, `TeamRunContinued` or `WorkflowContinued`. */
export function isContinueEvent(event: AnyRunEvent): boolean {
  return continueNames.has(event.event);
}

/** True for the terminal event of the run `runId` (not of one of its members). */
export function isTerminalEventOf(event: AnyRunEvent, runId: string): boolean {
  return event.runId === runId && isTerminalEvent(event);
}

/** True for a terminal event of whichever run published it. */
export function isTerminalEvent(event: AnyRunEvent): boolean {
  return terminalNames.has(event.event);
}
