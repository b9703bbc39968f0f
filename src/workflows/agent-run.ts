import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowStream } from '@temporalio/workflow-streams/workflow';
import type { KernActivities } from '../activities';
import { RUN_EVENTS_TOPIC, type AgentRunEvent } from '../shared/events';
import type { ModelCallCancelledDetails } from '../shared/model-call';
import type { RunError, RunOutput, ToolCall } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { kernStatusKey } from '../shared/search-attributes';
import type { AgentRunInput, AgentSpec } from '../shared/specs';
import { RunState } from './run-state';
import { answerSoFar, readRunEvents } from './stream-log';

/** The run's output as it stands: status, content so far (also mid-answer), messages, tools, metrics. */
export const runOutputQuery = defineQuery<RunOutput>('runOutput');

/** The run's events from an index on. Also answers after the run has closed (the worker replays it). */
export const runEventsQuery = defineQuery<AgentRunEvent[], [number]>('runEvents');

/** Memo key under which a run that ends `CANCELLED` or `ERROR` leaves its output, readable with no worker. */
export const FINAL_OUTPUT_MEMO = 'kernOutput';

/**
 * How long a run whose cancel was recorded before it started waits for the starter's cancel request, so that the
 * execution ends as canceled in Temporal. The model is never called either way.
 */
const CANCEL_BEFORE_START_GRACE = '1 minute';

const modelActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // Model calls heartbeat while they wait and per streamed chunk; a dead worker is noticed within this time.
  heartbeatTimeout: '10 seconds',
  // Wait for the activity to report its cancellation, so the HTTP request is aborted and the partial answer
  // comes back before the run ends.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
};

const toolActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // Errors thrown by a tool go back to the model as its result; only infrastructure failures are retried.
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
};

const { callModel } = proxyActivities<KernActivities>(modelActivityOptions);
const { executeTool } = proxyActivities<KernActivities>(toolActivityOptions);

/**
 * One agent run: model → tools → model … until the model answers without tool calls. Polled with
 * {@link runOutputQuery}; its events go to the workflow stream's `events` topic; cancelled by Temporal cancellation.
 */
export async function agentRun(input: AgentRunInput): Promise<RunOutput> {
  const stream = new WorkflowStream();
  const events = stream.topic<AgentRunEvent>(RUN_EVENTS_TOPIC);
  const state = new RunState(
    input,
    (event) => events.publish(event),
    () => new Date(),
  );
  setHandler(runOutputQuery, () =>
    state.snapshot(state.awaitingModel ? answerSoFar(readRunEvents(stream)) : undefined),
  );
  setHandler(runEventsQuery, (fromIndex) => readRunEvents(stream, fromIndex));
  const finish = (): RunOutput => {
    if (input.agent.storeEvents) state.storeEvents(readRunEvents(stream));
    return recordFinalOutput(state);
  };

  try {
    if (input.cancelledBeforeStart) {
      await sleep(CANCEL_BEFORE_START_GRACE);
      state.cancel('cancelled before the run started');
      return finish();
    }
    state.start();
    upsertSearchAttributes([{ key: kernStatusKey, value: RunStatus.running }]);
    await runAgentLoop(input, state);
    state.complete();
    return finish();
  } catch (err) {
    if (isCancellation(err)) {
      state.cancel(input.cancelledBeforeStart ? 'cancelled before the run started' : 'cancelled', partialContent(err));
      finish();
      throw err;
    }
    const error = toRunError(err);
    state.fail(error);
    finish();
    throw ApplicationFailure.create({ message: error.message, type: error.type, nonRetryable: true });
  }
}

async function runAgentLoop(input: AgentRunInput, state: RunState): Promise<void> {
  const agent = input.agent;
  for (let round = 0; ; round++) {
    state.modelRequestStarted();
    const result = await callModel.executeWithOptions(
      { ...modelActivityOptions, summary: `${agent.model.provider} ${agent.model.id}` },
      [
        {
          runId: input.runId,
          model: agent.model,
          instructions: systemInstructions(agent),
          messages: state.snapshot().messages,
          tools: agent.tools,
          eventContext: {
            runId: input.runId,
            sessionId: input.sessionId,
            agentId: agent.id,
            agentName: agent.name,
            ...(input.parentRunId ? { parentRunId: input.parentRunId } : {}),
          },
        },
      ],
    );
    state.modelResponded(result);
    if (result.toolCalls.length === 0) return;
    if (round >= agent.maxToolRounds) {
      throw ApplicationFailure.create({
        type: 'MaxToolRoundsExceeded',
        message: `the run reached its limit of ${agent.maxToolRounds} tool rounds without a final answer`,
        nonRetryable: true,
      });
    }
    // Tool calls of one model turn are independent, so they run in parallel; results keep the model's order.
    await Promise.all(result.toolCalls.map((call) => runTool(input, state, call)));
  }
}

async function runTool(input: AgentRunInput, state: RunState, call: ToolCall): Promise<void> {
  const execution = state.toolStarted(call);
  try {
    const result = await executeTool.executeWithOptions({ ...toolActivityOptions, summary: `tool ${call.name}` }, [
      { runId: input.runId, toolCallId: call.id, toolName: call.name, arguments: call.arguments },
    ]);
    state.toolFinished(execution, result);
  } catch (err) {
    if (!isCancellation(err)) state.toolFailed(execution, toRunError(err));
    throw err;
  }
}

/** Records the final status where it can be read with no worker: the search attribute, and the memo. */
function recordFinalOutput(state: RunState): RunOutput {
  const output = state.snapshot();
  upsertSearchAttributes([{ key: kernStatusKey, value: output.status }]);
  // A completed run's output is the workflow result; a cancelled or failed execution has no result, so its
  // output goes to the memo.
  if (output.status !== RunStatus.completed) upsertMemo({ [FINAL_OUTPUT_MEMO]: output });
  return output;
}

function systemInstructions(agent: AgentSpec): string | undefined {
  const parts = [agent.description, agent.role ? `Your role: ${agent.role}` : undefined, ...agent.instructions];
  const text = parts.filter((part): part is string => Boolean(part)).join('\n');
  return text || undefined;
}

function partialContent(err: unknown): string | undefined {
  const cancelled = err instanceof ActivityFailure ? err.cause : err;
  if (!(cancelled instanceof CancelledFailure)) return undefined;
  const details = cancelled.details[0] as ModelCallCancelledDetails | undefined;
  return details?.partialContent || undefined;
}

function toRunError(err: unknown): RunError {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}
