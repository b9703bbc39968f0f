import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import type { AnyRunOutput, Message } from '../shared/run-output';
import {
  MAX_SESSION_STATE_BYTES,
  historyMessages,
  mergeSessionState,
  sessionStateBytes,
  sessionStateChanges,
  sessionTurn,
  type CloseSessionRequest,
  type SessionContext,
  type SessionState,
} from '../shared/sessions';
import { componentOf, historyRunsOf, type RunInput } from '../shared/specs';
import { contentText } from '../shared/text';
import { hasPatch } from './patches';

/**
 * How many times, of at most 20 s each, a run tries to read its session or to write to it before it ends `ERROR`
 * (`SessionReadFailed`, `SessionWriteFailed`): a healthy session answers in milliseconds, and one whose workflow
 * cannot run never does. Attempts are counted, not time from scheduling, so a worker whose slots are all busy with
 * long model calls does not make a healthy session look broken.
 */
const SESSION_CALL_ATTEMPTS = 3;
const SESSION_CALL_DESCRIPTION = `in ${SESSION_CALL_ATTEMPTS} attempts of 20 s`;

const sessionActivityOptions: ActivityOptions = {
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: SESSION_CALL_ATTEMPTS },
};
const { readSession, writeSession } = proxyActivities<KernActivities>(sessionActivityOptions);

/**
 * Runs started before this patch went on to `COMPLETED` when their cancel came during their session write; they
 * replay so.
 */
const CANCEL_ENDS_SESSION_WRITE = 'kern-cancel-ends-session-write';

/** What a run took from its session when it started: the state it started from, to tell its own changes apart. */
export interface RunSessionStart {
  /** The state as read from the session (or given by the parent run), before the run's seed and tools changed it. */
  baseline: SessionState;
}

/** How a run's state takes what its session gave it. */
export interface SessionAwareState {
  joinSession(history: Message[], sessionState: SessionState | undefined): void;
}

/**
 * True for a run that reads its session when it starts: a top-level run that may use it (`readSession`, decided by the
 * client). Only such a run awaits {@link readRunSession}; every other run joins with {@link joinRunSession}, without
 * yielding, so its commands keep the order that runs recorded before sessions existed replay with.
 */
export function readsSession(input: RunInput): boolean {
  return input.parentRunId === undefined && input.readSession === true;
}

/** Reads the run's earlier turns and the session state; the state it was given is merged over it. */
export async function readRunSession(input: RunInput, state: SessionAwareState): Promise<RunSessionStart> {
  let context: SessionContext;
  try {
    context = await readSession.executeWithOptions(
      { ...sessionActivityOptions, summary: `session ${input.sessionId} · read its earlier turns and state` },
      [
        {
          sessionId: input.sessionId,
          request: { kind: input.kind, componentId: componentOf(input).id, numHistoryRuns: historyRunsOf(input) },
        },
      ],
    );
  } catch (err) {
    throw isCancellation(err) ? err : sessionCallFailure(err, input, 'read');
  }
  // A fork starts from the conversation it was forked from, which holds the history that run had.
  const history = input.seed ? [] : historyMessages(context.turns);
  state.joinSession(history, mergeSessionState(context.sessionState, input.sessionState));
  return { baseline: context.sessionState };
}

/**
 * Joins a run that does not read its session: it starts from the state it was given. A member or step run is given
 * the state its parent run had when it started it, and never reads the session itself.
 */
export function joinRunSession(input: RunInput, state: SessionAwareState): RunSessionStart {
  state.joinSession([], input.sessionState);
  return { baseline: input.parentRunId !== undefined ? (input.sessionState ?? {}) : {} };
}

/**
 * What a completed top-level run writes to its session: its turn (when its component keeps history) and what it
 * changed in the session state; `undefined` when it has nothing to write (then the run does not yield here either).
 */
export function sessionWriteOf(
  input: RunInput,
  start: RunSessionStart,
  output: AnyRunOutput,
): CloseSessionRequest | undefined {
  if (input.parentRunId !== undefined) return undefined;
  const numHistoryRuns = historyRunsOf(input);
  const changes = output.sessionState ? sessionStateChanges(start.baseline, output.sessionState) : undefined;
  if (numHistoryRuns === 0 && !changes) return undefined;
  if (output.sessionState && sessionStateBytes(output.sessionState) > MAX_SESSION_STATE_BYTES) {
    throw ApplicationFailure.create({
      type: 'SessionStateTooLarge',
      message: `the session state is larger than ${MAX_SESSION_STATE_BYTES} bytes as JSON; it was not kept`,
      nonRetryable: true,
    });
  }
  const turn =
    numHistoryRuns > 0
      ? sessionTurn({
          runId: input.runId,
          kind: input.kind,
          componentId: componentOf(input).id,
          input: input.input,
          content: contentText(output.content),
          createdAt: input.createdAt,
        })
      : undefined;
  return {
    runId: input.runId,
    ...(turn ? { turn } : {}),
    ...(turn && input.seed?.replacesTurn ? { replacesRunId: input.seed.fromRunId } : {}),
    ...(changes ? { changes } : {}),
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    at: new Date().toISOString(),
  };
}

/**
 * Writes a completed run to its session; returns once the session has applied it. The write itself is never cut
 * short: it lands whole, or not at all. A cancel that comes while it is under way ends the run at once (`CANCELLED`,
 * with its whole answer), as `cancelRun` said: the write goes on by itself, and the session may take the run's turn.
 * A session that cannot take the write ({@link SESSION_CALL_ATTEMPTS} attempts) fails the run with `SessionWriteFailed`.
 */
export async function writeRunSession(input: RunInput, request: CloseSessionRequest): Promise<void> {
  const summary = `session ${input.sessionId} · write this run's turn and state`;
  const write = CancellationScope.nonCancellable(() =>
    writeSession.executeWithOptions({ ...sessionActivityOptions, summary }, [{ sessionId: input.sessionId, request }]),
  );
  // Heard below, or not at all when the cancel ends the run first.
  write.catch(() => undefined);
  try {
    await Promise.race([write, CancellationScope.current().cancelRequested]);
  } catch (err) {
    if (isCancellation(err)) {
      if (hasPatch(CANCEL_ENDS_SESSION_WRITE)) throw err;
      return await writeOrFail(write, input);
    }
    throw sessionCallFailure(err, input, 'write');
  }
}

async function writeOrFail(write: Promise<void>, input: RunInput): Promise<void> {
  try {
    await write;
  } catch (err) {
    throw sessionCallFailure(err, input, 'write');
  }
}

/** A refusal of the session's (its validator's) as it is; anything else (timed out, unreachable) names the session. */
function sessionCallFailure(err: unknown, input: RunInput, call: 'read' | 'write'): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) return err;
  const why = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
  return ApplicationFailure.create({
    type: call === 'read' ? 'SessionReadFailed' : 'SessionWriteFailed',
    message:
      call === 'read'
        ? `the run could not read its session ${input.sessionId} ${SESSION_CALL_DESCRIPTION}: ${why}`
        : `the run's answer could not be written to its session ${input.sessionId} ${SESSION_CALL_DESCRIPTION}: ${why}`,
    nonRetryable: true,
  });
}
