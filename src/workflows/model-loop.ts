import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  uuid4,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import { MaxToolRoundsExceeded, OutputInvalid, toApplicationFailure } from '../shared/errors';
import type { RunEventContext } from '../shared/events';
import type { ToolCallResult } from '../shared/model-call';
import type { RunOutput, TeamRunOutput, ToolCall } from '../shared/run-output';
import type {
  AgentRunInput,
  ModelComponentSpec,
  ModelSpec,
  OutputSchemaSpec,
  TeamRunInput,
  ToolSpec,
} from '../shared/specs';
import { REJECTED_TOOL_CALL } from '../shared/requirements';
import { parseToolArguments } from '../shared/tool-calls';
import type { ModelRunState } from './model-run-state';
import { checkHistoryBudget, checkModelRequestSize } from './run-bounds';
import { partialAnswerOf, toRunError } from './run-errors';
import type { PauseGate } from './run-pause';
import { continuationDue } from './run-continuation';
import { settleAll } from './settle-all';
import { hasPatch } from './patches';

/** The state of an agent's or a team leader's model loop. */
type LoopState = ModelRunState<RunOutput | TeamRunOutput>;

const modelActivityOptions: ActivityOptions = {
  // A backstop only: a lost worker is noticed by the heartbeat timeout, a hung stream by the worker's idle timeout,
  // so a long answer that keeps streaming is not killed and started again from scratch.
  startToCloseTimeout: '60 minutes',
  // Model calls heartbeat while they wait and per streamed chunk; a dead worker is noticed within this time.
  heartbeatTimeout: '10 seconds',
  // The activity reports its cancellation (at its next heartbeat) with the exact answer so far. Runs started before
  // CANCEL_WITHOUT_WAITING wait for that report; later runs wait only when the canceller asks (see `untilCancelled`).
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

/**
 * The patch under which a cancelled run stops waiting for its model call at once, instead of at the call's next
 * heartbeat (see {@link untilCancelled}). Runs started before it replay waiting.
 */
const CANCEL_WITHOUT_WAITING = 'kern-cancel-without-waiting-for-the-model';
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
  /** Where the run waits for people, when the model calls a tool that needs one. */
  gate: PauseGate;
  /** How long it waits for them (`pauseTimeout`); absent: for ever. */
  pauseTimeoutMs: number | undefined;
  /** The shape of the answer, when the run wants a structured one (the run's own, else its component's). */
  outputSchema: OutputSchemaSpec | undefined;
  /** Continues the run as new, when it is due, from the top of a turn (see `run-continuation.ts`). */
  handOff: (progress: { round: number; outputRetries: number }) => Promise<string | undefined>;
}

/** How many times a structured answer that does not fit its schema is asked for again before the run ends `ERROR`. */
export const MAX_OUTPUT_RETRIES = 2;

/**
 * A model call that a cancel of the run ends at once: the run's scope asks Temporal to cancel the activity (which
 * learns of it at its next heartbeat and aborts the HTTP request), and the run goes on to end `CANCELLED` without
 * waiting for it. Its answer so far is then what its deltas carried to the run's stream, which misses at most the
 * last batch window of text (the tail the activity had not published yet). A canceller who asked for the exact answer
 * (`exactPartialOnCancel`) waits for the activity's own report instead, as runs did before this patch.
 *
 * The patch is asked for only when a cancel finds the call in flight, so a run that is not cancelled records no
 * marker for it.
 */
function untilCancelled<T>(call: Promise<T>, state: { exactPartialOnCancel: boolean }): Promise<T> {
  let settled = false;
  // Once the run has ended, nothing awaits the call: its late cancellation is nobody's failure.
  call.then(
    () => (settled = true),
    () => (settled = true),
  );
  const cancelled = CancellationScope.current().cancelRequested.catch((err: unknown) => {
    if (settled || state.exactPartialOnCancel || !hasPatch(CANCEL_WITHOUT_WAITING)) return call;
    throw err;
  });
  return Promise.race([call, cancelled]);
}

/** Model → tools → model … until the model answers without tool calls (or `runToolCalls` ends it). */
export async function runModelLoop(
  input: AgentRunInput | TeamRunInput,
  state: LoopState,
  loop: ModelLoop,
): Promise<void> {
  const eventContext: RunEventContext = {
    source: state.source,
    // Deltas go to the runs above only when someone streams them live; otherwise to this run's own stream alone.
    ...(input.forwardEventsTo?.length && input.liveStream ? { forwardTo: input.forwardEventsTo } : {}),
    ...(input.liveStream ? { live: true } : {}),
  };
  // A tool the component does not declare never runs, even if the worker has one by that name.
  const specs = new Map(loop.tools.map((tool) => [tool.name, tool]));
  const declared = new Set(specs.keys());
  // A run that continued as new goes on from the turn its last execution handed over at.
  let outputRetries = input.continued?.outputRetries ?? 0;
  for (let round = input.continued?.round ?? 0; ; round++) {
    const whyNotContinued = continuationDue(input.kind) ? await loop.handOff({ round, outputRetries }) : undefined;
    const request = {
      runId: input.runId,
      model: loop.model,
      instructions: loop.instructions,
      messages: state.snapshot().messages,
      tools: loop.tools,
      eventContext,
      ...(loop.outputSchema ? { outputSchema: loop.outputSchema } : {}),
    };
    checkModelRequestSize(request);
    checkHistoryBudget(whyNotContinued);
    state.modelRequestStarted();
    // Summaries tell turns apart in the Temporal UI: `ResearchTeam leader · turn 2 · gpt-5-mini`.
    const summary = `${loop.label} · turn ${round + 1} · ${loop.model.id}`;
    setCurrentDetails(`${loop.label}: waiting on the model (turn ${round + 1})`);
    const call = callModel.executeWithOptions({ ...modelActivityOptions, summary }, [request]);
    const result = await untilCancelled(call, state).catch((err: unknown) => {
      // The answer so far: what the cancelled call reported, or else what the run's stream carried of it.
      if (isCancellation(err)) state.modelRequestCancelled(partialAnswerOf(err));
      throw err;
    });
    state.modelResponded(result);
    if (result.toolCalls.length === 0) {
      const structured = result.structured;
      if (!loop.outputSchema || !structured) return;
      if ('value' in structured) return state.answerStructured(structured.value, loop.outputSchema.name);
      // An answer that does not fit its schema: the model is told why and asked again, a bounded number of times.
      if (outputRetries >= MAX_OUTPUT_RETRIES) throw toApplicationFailure(new OutputInvalid(structured.problem));
      outputRetries++;
      state.askAgain(
        `Your answer does not match the required JSON schema (${structured.problem}). ` +
          'Answer again with only the JSON value.',
      );
      continue;
    }
    // Retries of a structured answer are model turns, but not tool rounds.
    if (round - outputRetries >= loop.maxToolRounds) {
      throw toApplicationFailure(new MaxToolRoundsExceeded(loop.maxToolRounds));
    }
    const [calls, undeclared] = partition(result.toolCalls, (call) => declared.has(call.name));
    for (const call of undeclared) await runWorkflowTool(state, call, async () => refuseUndeclared(call, declared));
    if (calls.length === 0) continue;
    // Calls that need a person wait until the others of their turn have run.
    const [ordinary, needPeople] = partition(calls, (call) => specs.get(call.name)?.needs === undefined);
    if (ordinary.length > 0) {
      setCurrentDetails(`${loop.label}: running ${ordinary.map((call) => call.name).join(', ')}`);
      if (await loop.runToolCalls(ordinary)) return;
    }
    if (needPeople.length > 0) await runWithPeople(input, state, loop, specs, needPeople);
  }
}

/**
 * Tool calls that need a person: the run pauses until `continueRun` answers them (`PAUSED`, `RunPaused`), then takes
 * the answers (`RunContinued`) and gives the model the calls' results: a confirmed call or one with user input runs
 * as a tool activity, a refused one answers with the person's note, an external one with the result handed in. The
 * model is not asked again for the turn that paused.
 */
async function runWithPeople(
  input: AgentRunInput | TeamRunInput,
  state: LoopState,
  loop: ModelLoop,
  specs: ReadonlyMap<string, ToolSpec>,
  calls: ToolCall[],
): Promise<void> {
  const requirements = state.pauseFor(
    calls.map((call) => ({ call, tool: specs.get(call.name)! })),
    calls.map(() => uuid4()),
  );
  setCurrentDetails(`${loop.label}: paused, waiting for a person (${calls.map((call) => call.name).join(', ')})`);
  const answers = await loop.gate.answersFor(requirements, loop.pauseTimeoutMs);
  state.resumeWith(requirements, answers);
  setCurrentDetails(`${loop.label}: running ${calls.map((call) => call.name).join(', ')}`);
  await settleAll(
    requirements.map(async (requirement, i) => {
      const call = calls[i]!;
      const answer = answers.find((candidate) => candidate.id === requirement.id)!;
      const args = parseToolArguments(call.arguments);
      const mcpServer = specs.get(call.name)?.mcpServer;
      switch (requirement.needs) {
        case 'confirmation':
          if (answer.confirmation) return runActivityTool(input, state, call, loop.label, { mcpServer });
          await runWorkflowTool(state, call, async () => ({
            content: answer.confirmationNote || REJECTED_TOOL_CALL,
            isError: true,
            args,
          }));
          return;
        case 'userInput':
          return runActivityTool(input, state, call, loop.label, { userInput: answer.userInput, mcpServer });
        case 'externalExecution':
          await runWorkflowTool(state, call, async () => ({
            content: answer.externalExecutionResult ?? '',
            isError: false,
            args,
          }));
          return;
      }
    }),
  );
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
  options: { userInput?: Record<string, unknown>; mcpServer?: string } = {},
): Promise<void> {
  const { userInput, mcpServer } = options;
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
        ...(userInput !== undefined ? { userInput } : {}),
        ...(mcpServer !== undefined ? { mcpServer } : {}),
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

const mcpListOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
};
const { listMcpTools } = proxyActivities<KernActivities>(mcpListOptions);

/**
 * The tools of an agent's or a team leader's MCP servers, as the worker lists them when the run starts: recorded in
 * the run's history (the activity's result), so the Temporal UI shows what the model was offered, and a replay offers
 * the same. A name one of its `own` tools (or another server's) has ends the run `ToolNameClash`.
 */
export async function mcpToolsOf(
  component: ModelComponentSpec,
  own: readonly ToolSpec[],
  label: string,
): Promise<ToolSpec[]> {
  const sources = component.mcp ?? [];
  const servers = sources.map((source) => source.server).join(', ');
  const listed = await listMcpTools.executeWithOptions(
    { ...mcpListOptions, summary: `${label} · list the tools of MCP ${servers}` },
    [{ sources }],
  );
  const owned = new Set(own.map((tool) => tool.name));
  const clash = listed.find((tool) => owned.has(tool.name) || listed.filter((t) => t.name === tool.name).length > 1);
  if (clash) {
    throw ApplicationFailure.create({
      type: 'ToolNameClash',
      message: `MCP server '${clash.mcpServer}' has a tool '${clash.name}' named as another tool of ${component.name}: exclude one`,
      nonRetryable: true,
    });
  }
  return listed;
}
