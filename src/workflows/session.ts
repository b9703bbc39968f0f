import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  MAX_SESSION_STATE_BYTES,
  MAX_SESSION_TURNS_BYTES,
  SESSION_FORMAT_VERSION,
  SESSION_TURNS_KEPT,
  SESSION_WRITES_REMEMBERED,
  applySessionStateChanges,
  boundTurnBytes,
  keepTurnsWithin,
  sessionStateBytes,
  sessionUpdateProblem,
  type CloseSessionRequest,
  type SessionContext,
  type SessionContextRequest,
  type SessionSnapshot,
  type UpdateSessionRequest,
} from '../shared/sessions';
import { closeSessionUpdate, sessionContextQuery, sessionQuery, updateSessionUpdate } from '../shared/messages';
import { SESSION_MEMO, type SessionMemo } from '../shared/session-workflow';

/**
 * Continue-as-new once the session's history has this many events (about a hundred writes) or bytes, far below
 * Temporal's 51,200 events and 50 MB. What is carried over weighs at most about 1.3 MB as JSON: turns of up to 1 MB
 * together (`MAX_SESSION_TURNS_BYTES`), 256 KB of state, and the run ids of the latest writes.
 */
const CONTINUE_AS_NEW_AFTER_EVENTS = 500;
const CONTINUE_AS_NEW_AFTER_BYTES = 8 * 1024 * 1024;

/**
 * One session: its state and the turns its runs remember (see `shared/sessions.ts`). Runs read it by query and write
 * to it by update, which Temporal applies one at a time, in order; an update returns once the session has applied
 * it. It waits without timers and holds nothing on a worker while idle, and continues as new before its history
 * grows large.
 */
export async function kernSession(carried: SessionSnapshot): Promise<void> {
  if (carried.version > SESSION_FORMAT_VERSION) {
    // Fails the workflow task, not the session: a worker of the kern version that wrote it takes it up.
    throw new Error(
      `kern cannot read session format ${carried.version}; this worker reads up to ${SESSION_FORMAT_VERSION}`,
    );
  }
  const session: SessionSnapshot = carried;

  setHandler(sessionQuery, () => ({
    sessionId: session.sessionId,
    ...(session.userId !== undefined ? { userId: session.userId } : {}),
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    sessionState: session.sessionState,
  }));

  setHandler(sessionContextQuery, (request: SessionContextRequest): SessionContext => {
    const own = session.turns.filter((turn) => turn.componentId === request.componentId && turn.kind === request.kind);
    return {
      turns: request.numHistoryRuns > 0 ? own.slice(-request.numHistoryRuns) : [],
      sessionState: session.sessionState,
    };
  });

  setHandler(
    closeSessionUpdate,
    (request: CloseSessionRequest) => {
      // A run's write is taken once: a retry after it landed (across continue-as-new too) changes nothing.
      if (tookWriteOf(session, request.runId)) return;
      session.userId ??= request.userId;
      session.sessionState = applySessionStateChanges(session.sessionState, request.changes);
      if (request.turn) {
        // Bounded here too, in bytes, whoever wrote it: a session must always fit in its continue-as-new.
        const kept = session.turns.filter((turn) => turn.runId !== request.replacesRunId);
        const turns = [...kept, boundTurnBytes(request.turn)].slice(-SESSION_TURNS_KEPT);
        session.turns = keepTurnsWithin(turns, MAX_SESSION_TURNS_BYTES);
      }
      session.writtenBy = [...(session.writtenBy ?? []), request.runId].slice(-SESSION_WRITES_REMEMBERED);
      session.updatedAt = request.at;
    },
    {
      // Refused before it is written to history: the run that sent it ends ERROR, and the session is unchanged.
      validator(request: CloseSessionRequest) {
        // A write already taken is taken again as a no-op, whatever the state has become since.
        if (tookWriteOf(session, request.runId)) return;
        const bytes = sessionStateBytes(applySessionStateChanges(session.sessionState, request.changes));
        if (bytes > MAX_SESSION_STATE_BYTES) {
          throw ApplicationFailure.create({
            type: 'SessionStateTooLarge',
            message: `the session state would be ${bytes} bytes as JSON; the limit is ${MAX_SESSION_STATE_BYTES}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(
    updateSessionUpdate,
    (request: UpdateSessionRequest) => {
      if (request.name !== undefined || request.metadata !== undefined) {
        // In the memo, so that listings show them with no worker; the memo carries over a continue-as-new.
        const memo = workflowInfo().memo?.[SESSION_MEMO] as SessionMemo | undefined;
        upsertMemo({
          [SESSION_MEMO]: {
            ...memo,
            ...(request.name !== undefined ? { name: request.name } : {}),
            ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
          },
        });
      }
      if (request.sessionState !== undefined) session.sessionState = request.sessionState;
      session.updatedAt = request.at;
    },
    {
      // Refused before it is written to history: the session is unchanged, and the caller is told why.
      validator(request: UpdateSessionRequest) {
        const problem = sessionUpdateProblem(request);
        if (problem !== undefined) {
          throw ApplicationFailure.create({ type: 'SessionUpdateInvalid', message: problem, nonRetryable: true });
        }
      },
    },
  );

  await condition(() => {
    const info = workflowInfo();
    return (
      info.historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS ||
      info.historySize >= CONTINUE_AS_NEW_AFTER_BYTES ||
      info.continueAsNewSuggested
    );
  });
  await condition(allHandlersFinished);
  await continueAsNew<typeof kernSession>(session);
}

/** True when the session has already taken the write of this run (its turn, or its id among the latest writes). */
function tookWriteOf(session: SessionSnapshot, runId: string): boolean {
  return session.writtenBy?.includes(runId) === true || session.turns.some((turn) => turn.runId === runId);
}
