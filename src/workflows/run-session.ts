import { ApplicationFailure, CancellationScope, proxyActivities } from '@temporalio/workflow';
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
  type SessionState,
} from '../shared/sessions';
import { componentOf, historyRunsOf, type RunInput } from '../shared/specs';
import { contentText } from '../shared/text';

const { readSession, writeSession } = proxyActivities<KernActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

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
  const context = await readSession({
    sessionId: input.sessionId,
    request: { kind: input.kind, componentId: componentOf(input).id, numHistoryRuns: historyRunsOf(input) },
  });
  state.joinSession(historyMessages(context.turns), mergeSessionState(context.sessionState, input.sessionState));
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
    ...(changes ? { changes } : {}),
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    at: new Date().toISOString(),
  };
}

/**
 * Writes a completed run to its session; returns once the session has applied it. Not cancellable: once the run's
 * work is done, its write lands whole or the run fails.
 */
export async function writeRunSession(input: RunInput, request: CloseSessionRequest): Promise<void> {
  await CancellationScope.nonCancellable(() => writeSession({ sessionId: input.sessionId, request }));
}
