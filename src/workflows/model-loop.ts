import {
  ActivityCancellationType,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import { MaxToolRoundsExceeded, toApplicationFailure } from '../shared/errors';
import type { RunEventContext } from '../shared/events';
import type { ToolCallResult } from '../shared/model-call';
import type { RunOutput, TeamRunOutput, ToolCall } from '../shared/run-output';
import type { AgentRunInput, ModelSpec, TeamRunInput, ToolSpec } from '../shared/specs';
import { parseToolArguments } from '../shared/tool-calls';
import type { ModelRunState } from './model-run-state';
import { checkHistoryBudget, checkModelRequestSize } from './run-bounds';
import { partialAnswerOf, toRunError } from './run-errors';

/** The state of an agent's or a team leader's model loop. */
type LoopState = ModelRunState<RunOutput | TeamRunOutput>;

const modelActivityOptions: ActivityOptions = {
  // A backstop only: a lost worker is noticed by the heartbeat timeout, a hung stream by the worker's idle timeout,
  // so a long answer that keeps streaming is not killed and started again from scratch.
  startToCloseTimeout: '60 minutes',
  // Model calls heartbeat while they wait and per streamed chunk; a dead worker is noticed within this time.
  heartbeatTimeout: '10 seconds',
  // Wait for the activity to report its cancellation, so the HTTP request is aborted and the partial answer
  // comes back before the run ends.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
};

const toolActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Tools heartbeat while they run: a lost worker is noticed, and a cancel reaches the tool, within seconds.
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // Errors thrown by a tool go back to the model as its result; only infrastructure failures are retried.
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
};

const { callModel } = proxyActivities<KernActivities>(modelActivityOptions);
const { executeTool } = proxyActivities<KernActivities>(toolActivityOptions);

/** What differs between an agent's loop and a team leader's. */
export interface ModelLoop {
  /** What the run's activities are labelled with in the Temporal UI (`modelRunLabel`). */
  label: string;
  model: ModelSpec;
  instructions: string | undefined;
  tools: ToolSpec[];
  maxToolRounds: number;
  /** Runs one model turn's tool calls. Returns true when the run has its answer and the loop should end. */
  runToolCalls(calls: ToolCall[]): Promise<boolean>;
}

/** Model → tools → model … until the model answers without tool calls (or `runToolCalls` ends it). */
export async function runModelLoop(
  input: AgentRunInput | TeamRunInput,
  state: LoopState,
  loop: ModelLoop,
): Promise<void> {
  const eventContext: RunEventContext = {
    source: state.source,
    ...(input.forwardEventsTo?.length ? { forwardTo: input.forwardEventsTo } : {}),
    ...(input.liveStream ? { live: true } : {}),
  };
  // A tool the component does not declare never runs, even if the worker has one by that name.
  const declared = new Set(loop.tools.map((tool) => tool.name));
  for (let round = 0; ; round++) {
    const request = {
      runId: input.runId,
      model: loop.model,
      instructions: loop.instructions,
      messages: state.snapshot().messages,
      tools: loop.tools,
      eventContext,
    };
    checkModelRequestSize(request);
    checkHistoryBudget();
    state.modelRequestStarted();
    // Summaries tell turns apart in the Temporal UI: `ResearchTeam leader · turn 2 · gpt-5-mini`.
    const summary = `${loop.label} · turn ${round + 1} · ${loop.model.id}`;
    setCurrentDetails(`${loop.label}: waiting on the model (turn ${round + 1})`);
    const result = await callModel
      .executeWithOptions({ ...modelActivityOptions, summary }, [request])
      .catch((err: unknown) => {
        // A cancelled request reports the answer so far, which the run keeps.
        if (isCancellation(err)) state.modelRequestCancelled(partialAnswerOf(err));
        throw err;
      });
    state.modelResponded(result);
    if (result.toolCalls.length === 0) return;
    if (round >= loop.maxToolRounds) {
      throw toApplicationFailure(new MaxToolRoundsExceeded(loop.maxToolRounds));
    }
    const [calls, undeclared] = partition(result.toolCalls, (call) => declared.has(call.name));
    for (const call of undeclared) await runWorkflowTool(state, call, async () => refuseUndeclared(call, declared));
    if (calls.length === 0) continue;
    setCurrentDetails(`${loop.label}: running ${calls.map((call) => call.name).join(', ')}`);
    if (await loop.runToolCalls(calls)) return;
  }
}

/** The model's answer to a call of a tool its component does not have: a tool error it can correct. */
function refuseUndeclared(call: ToolCall, declared: Set<string>): ToolCallResult {
  const names = [...declared].join(', ') || 'none';
  return {
    content: `Error: there is no tool named '${call.name}' here; the tools are: ${names}`,
    isError: true,
    args: parseToolArguments(call.arguments),
  };
}

function partition<T>(items: T[], keep: (item: T) => boolean): [T[], T[]] {
  return [items.filter(keep), items.filter((item) => !keep(item))];
}

/** Runs one tool call as an activity on a worker that has the tool, recording it on the run. */
export async function runActivityTool(
  input: AgentRunInput | TeamRunInput,
  state: LoopState,
  call: ToolCall,
  label: string,
): Promise<void> {
  const execution = state.toolStarted(call);
  try {
    const summary = `${label} · tool ${call.name}`;
    const result = await executeTool.executeWithOptions({ ...toolActivityOptions, summary }, [
      {
        runId: input.runId,
        toolCallId: call.id,
        toolName: call.name,
        arguments: call.arguments,
        sessionState: state.sessionState,
      },
    ]);
    state.toolFinished(execution, result);
  } catch (err) {
    if (!isCancellation(err)) state.toolFailed(execution, toRunError(err));
    throw err;
  }
}

/** Runs a tool call that the workflow answers itself (delegation), recording it on the run like any tool. */
export async function runWorkflowTool(
  state: LoopState,
  call: ToolCall,
  execute: () => Promise<ToolCallResult>,
): Promise<ToolCallResult> {
  const execution = state.toolStarted(call);
  const result = await execute();
  state.toolFinished(execution, result);
  return result;
}

/** The system prompt of an agent or a team leader: description, role, then instructions. */
export function systemInstructions(
  spec: { description?: string; role?: string; instructions: string[] },
  extra: string[] = [],
): string | undefined {
  const parts = [spec.description, spec.role ? `Your role: ${spec.role}` : undefined, ...extra, ...spec.instructions];
  const text = parts.filter((part): part is string => Boolean(part)).join('\n');
  return text || undefined;
}
