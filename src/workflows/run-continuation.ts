import { CancellationScope, continueAsNew, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import { PAYLOAD_BUDGET_BYTES, STORED_OUTPUT_BUDGET_BYTES, jsonBytes } from '../shared/limits';
import type { AnyRunOutput } from '../shared/run-output';
import type { RunKind } from '../shared/kinds';
import {
  RUN_INPUT_VERSION,
  type RunContinuation,
  type RunInput,
  type StepsProgress,
  type ToolSpec,
} from '../shared/specs';
import { megabytes } from './run-bounds';
import type { RunSessionStart } from './run-session';
import type { LifecycleState } from './run-state';
import type { CarriedStream, RunStream } from './run-stream';
import { hasPatch } from './patches';

/**
 * Continue-as-new: a run whose history grows long goes on in a new execution of the same
 * workflow id, which starts where the last one stood. Nothing a caller sees changes: the run id, polls (by the
 * workflow id, which names the newest execution), `cancelRun` and `continueRun`, the stream (its events and their
 * indexes carry over, so a subscriber or a resumed stream goes on without a gap or a repeat; a stream too large to
 * carry whole carries its latest events), the memo and search attributes (Temporal copies them), and the output. The
 * Temporal UI shows the executions as a chain.
 *
 * An agent or team run hands over only at the top of its model loop, where nothing is in flight: no model or tool
 * call, no member run (a team's members are waited for by the tool call that delegated to them), no pause. The state
 * is then the run's output, its stream and the loop's counters (`RunContinuation`). A workflow run of steps hands over
 * before a step starts while no other step is running (no step function call, no agent or team step); its state is
 * then its output, its stream and what ran inside the composite steps still running (`StepsProgress`, see
 * `step-runner.ts`).
 */

/**
 * Where kern continues a run as new when Temporal's server has not suggested it first (the server suggests it at
 * 4,096 events or 4 MB by default; a server may be set otherwise): far below kern's `HISTORY_BUDGET`.
 */
const CONTINUE_AFTER = { events: 10_000, bytes: 10 * 1024 * 1024 } as const;

/** The least room a run hands over with for its latest events (the rest of its state comes first). */
const MIN_EVENTS_CARRIED_BYTES = 64 * 1024;

/** Runs started before continue-as-new replay without it (up to `RunTooLarge` at kern's history bound). */
const CONTINUES_AS_NEW = 'kern-runs-continue-as-new';
/** Workflow runs of steps continue as new since this one. */
const WORKFLOW_RUNS_CONTINUE_AS_NEW = 'kern-workflow-runs-continue-as-new';

/** Where a run's model loop stands, at the top of a turn. */
export interface LoopProgress {
  round: number;
  outputRetries: number;
  /** The tools its MCP servers listed when it started. */
  mcpTools?: ToolSpec[];
}

/** Where a run stands when it hands over: its model loop's turn, or its steps. */
export type RunProgress = LoopProgress | { steps: StepsProgress; step: string };

/**
 * Continues the run as new when its history has grown long enough, from the top of its model loop or before a
 * workflow's step. Returns when it does not: with nothing, when it is not time yet, or with why it cannot (its state
 * too large to carry in one payload).
 */
export type HandOff = (progress: RunProgress) => Promise<string | undefined>;

/**
 * True when the run's history has grown enough to continue as new, and the run is one that does. Asked before
 * {@link HandOff}, which yields: a run that is not due, and a run recorded before continue-as-new that is (its history
 * may well have passed Temporal's suggestion), go on without yielding, with the commands they recorded.
 */
export function continuationDue(kind: RunKind): boolean {
  const { continueAsNewSuggested, historyLength, historySize } = workflowInfo();
  const due = continueAsNewSuggested || historyLength >= CONTINUE_AFTER.events || historySize >= CONTINUE_AFTER.bytes;
  return due && hasPatch(kind === 'workflow' ? WORKFLOW_RUNS_CONTINUE_AS_NEW : CONTINUES_AS_NEW);
}

/** See {@link HandOff}; asked only when {@link continuationDue}. */
export async function continueIfDue<Output extends AnyRunOutput>(
  input: RunInput,
  stream: RunStream,
  state: LifecycleState<Output>,
  session: RunSessionStart,
  progress: RunProgress,
): Promise<string | undefined> {
  if (state.requirements !== undefined || CancellationScope.current().consideredCancelled) return undefined;
  // Counting this one, which hands over.
  const executions = (input.continued?.executions ?? 0) + 1;
  const nextInput = (carried: CarriedStream): RunInput => {
    const { output, startedAt } = state.carried();
    const continued: RunContinuation = {
      executions,
      output,
      startedAt,
      ...carried,
      sessionBaseline: session.baseline,
      ...('steps' in progress
        ? { steps: progress.steps }
        : {
            round: progress.round,
            outputRetries: progress.outputRetries,
            ...(progress.mcpTools ? { mcpTools: progress.mcpTools } : {}),
          }),
      ...(state.exactPartialOnCancel ? { exactPartialOnCancel: true } : {}),
    };
    return { ...input, version: RUN_INPUT_VERSION, continued };
  };
  // Weighed before anything is handed over: the next execution's input is one payload. The stream goes whole when
  // it fits, else with as many of its latest events as fit (a resume from an index before them starts at them).
  const budget = input.payloadsStored ? STORED_OUTPUT_BUDGET_BYTES : PAYLOAD_BUDGET_BYTES;
  const withoutEvents = jsonBytes(nextInput(stream.carriedState(0)));
  if (withoutEvents > budget - MIN_EVENTS_CARRIED_BYTES) {
    return (
      `it could not continue as new: its state is ${megabytes(withoutEvents)} MB without its events, over the ` +
      `${megabytes(budget)} MB of one payload` +
      `${input.payloadsStored ? '' : '; keep large payloads outside history (docs/payloads.md)'}`
    );
  }
  const from = 'steps' in progress ? `step ${progress.step}` : `turn ${progress.round + 1}`;
  setCurrentDetails(`continuing as new: execution ${executions + 1} of this run goes on from ${from}`);
  const next = nextInput(await stream.handOver(budget - withoutEvents));
  return continueAsNew<(input: RunInput) => Promise<unknown>>(next);
}
