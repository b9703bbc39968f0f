import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ContinueAsNew,
  isCancellation,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  MEMO_BUDGET_BYTES,
  PAYLOAD_BUDGET_BYTES,
  STORED_OUTPUT_BUDGET_BYTES,
  boundOutput,
  jsonBytes,
} from '../shared/limits';
import { runRecordOf } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { kernStatusKey } from '../shared/search-attributes';
import { componentOf, type RunInput } from '../shared/specs';
import { FINAL_OUTPUT_MEMO, PAUSE_MEMO, exactPartialOnCancelSignal, runOutputQuery } from '../shared/messages';
import { PauseGate } from './run-pause';
import { continueIfDue, type HandOff } from './run-continuation';
import { endsByCancel, toRunError } from './run-errors';
import type { LifecycleState } from './run-state';
import { joinRunSession, readRunSession, readsSession, sessionWriteOf, writeRunSession } from './run-session';
import type { RunStream } from './run-stream';
import { endRunSpan, runSpanOf } from './run-span';
import { hasPatch } from './patches';

/** How long a run whose cancel was recorded before it started waits for the starter's cancel request. */
const CANCEL_BEFORE_START_GRACE = '1 minute';

const CANCELLED_BEFORE_START = 'cancelled before the run started';

/**
 * Runs started before this patch completed when their last model call or member finished after the cancel was
 * requested (the answer arrived before the cancel reached the call); they replay so.
 */
const CANCEL_WINS_OVER_COMPLETION = 'kern-cancel-wins-over-completion';

/**
 * The life of one run around its body, and where a run's facts live.
 *
 * **Status.** The run's state (`RunState`) owns it while the workflow runs. Every other copy is derived from the
 * state here, at two points only: when the run starts (`RUNNING`) and in {@link finish} (the terminal status):
 * - the `KernStatus` search attribute: `PENDING` from the start request, then `RUNNING`, then terminal. Visibility
 *   filters on it, and it tells a poller that a run is still `PENDING` without asking a worker;
 * - the output: the workflow result for `COMPLETED`, the `kernOutput` memo for `CANCELLED` and `ERROR` (a cancelled
 *   or failed execution has no result). Polls read it there once the run has closed, with no worker;
 * - Temporal's execution status, from how the workflow ends: it returns (completed), rethrows the cancellation
 *   (canceled) or throws a non-retryable failure (failed).
 * While the execution is open, the state wins: polls ask it with the `runOutput` query (a run no worker has started
 * has no state yet; its record memo answers). Once the execution has closed, Temporal's status wins: an execution
 * that ended without passing through `finish` (terminated, timed out) is reported `ERROR`, whatever the search
 * attribute says (`KernClient.getRunOutput`).
 *
 * **Answer.** While a model request is in flight, the answer so far exists only as the `RunContent` deltas that the
 * model activity publishes to the run's stream; polls read it from there (`ModelRunState`). When the activity
 * returns, its result is the answer: the state takes it, and publishes the tail the activity left unpublished (one
 * signal fewer per model call). A cancelled model activity reports the text so far, having published all of it. The
 * state's content is the one every output carries.
 *
 * **Continue-as-new.** An agent or team run whose history grows long goes on in a new execution from the top of a
 * model turn (`run-continuation.ts`): not an end, so it does not pass through {@link finish}. The next execution
 * starts from what the last one carried (`input.continued`): it neither starts the run again nor reads its session.
 */
export async function runLifecycle<Output extends AnyRunOutput>(
  input: RunInput,
  stream: RunStream,
  state: LifecycleState<Output>,
  body: (gate: PauseGate, handOff: HandOff) => Promise<void>,
): Promise<Output> {
  setHandler(runOutputQuery, () => boundOutput(state.snapshot()));
  setHandler(exactPartialOnCancelSignal, () => {
    state.exactPartialOnCancel = true;
  });
  // A run that continued as new goes on where its last execution stood: started, its session read (see
  // `run-continuation.ts`).
  const continued = input.continued;
  if (continued?.exactPartialOnCancel) state.exactPartialOnCancel = true;
  const span = runSpanOf(input);
  const gate = new PauseGate(input.runId, () => state.requirements);
  stream.onEventFromBelow = (event) => state.descendantEvent(event);
  // Visibility follows every pause (an approvals inbox lists PAUSED runs), and the memo keeps what the run waits
  // for, so a poll with no worker up still shows it.
  state.onPauseChange = (requirements) => {
    upsertSearchAttributes([{ key: kernStatusKey, value: requirements ? RunStatus.paused : RunStatus.running }]);
    upsertMemo({ [PAUSE_MEMO]: requirements ? { requirements } : null });
  };
  const end = async (transition: () => void) => {
    const output = await finish(input, stream, state, transition);
    endRunSpan(span, output);
    return output;
  };
  try {
    if (input.cancelledBeforeStart) {
      // Wait for the starter's cancel request, so that the execution ends as canceled in Temporal. The model is
      // never called either way.
      await sleep(CANCEL_BEFORE_START_GRACE, {
        summary: 'cancelled before it started: waiting for the cancel request, then ending canceled',
      });
      return await end(() => state.cancel(CANCELLED_BEFORE_START));
    }
    if (!continued) {
      state.start();
      upsertSearchAttributes([{ key: kernStatusKey, value: RunStatus.running }]);
    }
    // Only a run that reads its session yields here (see `readsSession`).
    const session = continued
      ? { baseline: continued.sessionBaseline }
      : readsSession(input)
        ? await readRunSession(input, state)
        : joinRunSession(input, state);
    await body(gate, (progress) => continueIfDue(input, stream, state, session, progress));
    // A cancel requested before the run finished ends it CANCELLED (with its whole answer as the content), even
    // when its last call finished before the cancel reached it: `cancelRun` said true, so the run is cancelled.
    if (CancellationScope.current().consideredCancelled && hasPatch(CANCEL_WINS_OVER_COMPLETION)) {
      throw new CancelledFailure('cancelled');
    }
    // Written before the run completes, so whoever sees it complete finds it in the session's next run. A run with
    // nothing to write does not yield here (runs recorded before sessions replay with their commands in order).
    const sessionWrite = sessionWriteOf(input, session, state.snapshot());
    if (sessionWrite) await writeRunSession(input, sessionWrite);
    return await end(() => state.complete());
  } catch (err) {
    // Not an end: the run goes on in its next execution.
    if (err instanceof ContinueAsNew) throw err;
    if (endsByCancel(err)) {
      await end(() => state.cancel(input.cancelledBeforeStart ? CANCELLED_BEFORE_START : 'cancelled'));
      // A failure that raced the cancel (a model 5xx in the moment before the cancel reached it) ends it canceled too.
      throw isCancellation(err) ? err : new CancelledFailure('cancelled', [], err instanceof Error ? err : undefined);
    }
    const error = toRunError(err);
    await end(() => state.fail(error));
    throw ApplicationFailure.create({ message: error.message, type: error.type, nonRetryable: true });
  }
}

/**
 * Ends the run: the one terminal transition, then the copies of its outcome (see {@link runLifecycle}), after every
 * event has reached the teams above it.
 */
async function finish<Output extends AnyRunOutput>(
  input: RunInput,
  stream: RunStream,
  state: LifecycleState<Output>,
  transition: () => void,
): Promise<Output> {
  // A run that ends while it waits (cancelled, timed out) waits no more: its pause memo goes with the final output.
  const endsPaused = state.requirements !== undefined;
  transition();
  const snapshot = state.snapshot();
  if (componentOf(input).storeEvents) snapshot.events = stream.read();
  // Stored outside history, the output is not held to Temporal's payload limit (the live answers to polls still are).
  const output = boundOutput(snapshot, input.payloadsStored ? STORED_OUTPUT_BUDGET_BYTES : PAYLOAD_BUDGET_BYTES);
  await CancellationScope.nonCancellable(async () => {
    await stream.drain();
    await stream.close();
  });
  setCurrentDetails('');
  upsertSearchAttributes([{ key: kernStatusKey, value: output.status }]);
  if (output.status !== RunStatus.completed) {
    // Beside the run's record in the memo, which Temporal bounds as a whole: past its limit, Temporal would
    // terminate the run here, without this finish.
    const memoOutput = boundOutput(output, MEMO_BUDGET_BYTES - jsonBytes(runRecordOf(input)));
    upsertMemo({ [FINAL_OUTPUT_MEMO]: memoOutput, ...(endsPaused ? { [PAUSE_MEMO]: null } : {}) });
  }
  return output;
}
