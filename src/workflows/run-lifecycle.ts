import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowStream } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, isTerminalEventOf, type KernRunEvent, type RunEventContext } from '../shared/events';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { kernStatusKey } from '../shared/search-attributes';
import type { RunInput } from '../shared/specs';
import { EventForwarder } from './event-forwarder';
import { FINAL_OUTPUT_MEMO, runEventsQuery, runOutputQuery } from './messages';
import { partialContent, toRunError } from './run-errors';
import type { LifecycleState } from './lifecycle-state';
import { answerSoFar, cancelledContent, readRunEvents } from './stream-log';

/**
 * How long a run whose cancel was recorded before it started waits for the starter's cancel request, so that the
 * execution ends as canceled in Temporal. The model is never called either way.
 */
const CANCEL_BEFORE_START_GRACE = '1 minute';

const CANCELLED_BEFORE_START = 'cancelled before the run started';

/** How long a cancelled team waits for its cancelled members' last events (their partial answers). */
const MEMBER_END_GRACE = '5 seconds';

/** What a run's body works with. */
export interface RunContext<S extends LifecycleState> {
  state: S;
  /** Where a model activity of this run publishes its deltas. */
  eventContext: RunEventContext;
}

/**
 * The life of one run around its body: the stream and its queries, `RUNNING` on start, and one terminal status at
 * the end (`COMPLETED`, `CANCELLED` on Temporal cancellation, `ERROR` on failure), recorded where it can be read
 * with no worker: the search attribute, and the memo for runs that end without a result.
 */
export async function runLifecycle<S extends LifecycleState>(
  input: RunInput,
  options: { storeEvents?: boolean },
  createState: (publish: (event: KernRunEvent) => void, now: () => Date) => S,
  body: (run: RunContext<S>) => Promise<void>,
): Promise<AnyRunOutput> {
  const stream = new WorkflowStream();
  const topic = stream.topic<KernRunEvent>(RUN_EVENTS_TOPIC);
  const forwarder = new EventForwarder(input.forwardEventsTo ?? [], `run-${input.runId}`);
  const state = createState(
    (event) => {
      topic.publish(event);
      forwarder.forward(event);
    },
    () => new Date(),
  );
  const eventContext: RunEventContext = {
    source: state.source,
    ...(input.forwardEventsTo?.length ? { forwardTo: input.forwardEventsTo } : {}),
    ...(input.liveStream ? { live: true } : {}),
  };
  setHandler(runOutputQuery, () =>
    state.snapshot(state.awaitingModel ? answerSoFar(readRunEvents(stream), input.runId) : undefined),
  );
  setHandler(runEventsQuery, (fromIndex) => readRunEvents(stream, fromIndex));

  /**
   * Ends the run: lets open member runs end first (their last events, with their partial answers, come by signal
   * shortly after), then makes the one terminal transition, then records the outcome.
   */
  const finish = async (transition: () => void): Promise<AnyRunOutput> => {
    const open = state.openMemberRunIds();
    if (open.length > 0) {
      await CancellationScope.nonCancellable(() =>
        condition(() => {
          const events = readRunEvents(stream);
          return open.every((runId) => events.some((event) => isTerminalEventOf(event, runId)));
        }, MEMBER_END_GRACE),
      );
      const events = readRunEvents(stream);
      state.endOpenMemberRuns(RunStatus.cancelled, (runId) => cancelledContent(events, runId));
    }
    transition();
    if (options.storeEvents) state.storeEvents(readRunEvents(stream));
    await CancellationScope.nonCancellable(() => forwarder.drain());
    const output = state.snapshot();
    upsertSearchAttributes([{ key: kernStatusKey, value: output.status }]);
    // A completed run's output is the workflow result; a cancelled or failed execution has no result, so its
    // output goes to the memo.
    if (output.status !== RunStatus.completed) upsertMemo({ [FINAL_OUTPUT_MEMO]: output });
    return output;
  };

  try {
    if (input.cancelledBeforeStart) {
      await sleep(CANCEL_BEFORE_START_GRACE);
      return await finish(() => state.cancel(CANCELLED_BEFORE_START));
    }
    state.start();
    upsertSearchAttributes([{ key: kernStatusKey, value: RunStatus.running }]);
    await body({ state, eventContext });
    return await finish(() => state.complete());
  } catch (err) {
    if (isCancellation(err)) {
      const reason = input.cancelledBeforeStart ? CANCELLED_BEFORE_START : 'cancelled';
      await finish(() => state.cancel(reason, partialContent(err)));
      throw err;
    }
    const error = toRunError(err);
    await finish(() => state.fail(error));
    throw ApplicationFailure.create({ message: error.message, type: error.type, nonRetryable: true });
  }
}

/**
 * Runs tool calls side by side and waits for all of them, so a cancel or failure never leaves one running; then
 * rethrows the first failure, if any.
 */
export async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
