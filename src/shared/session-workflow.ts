import { kernComponentIdKey, kernSessionIdKey, kernUserIdKey } from './search-attributes';
import { MAX_SESSION_NAME_CHARS, workflowIdForSession, type SessionSnapshot } from './sessions';

/** Workflow type of a session's entity workflow. */
export const SESSION_WORKFLOW_TYPE = 'kernSession';

/** The session's workflow as its starters see it: its input is the session, carried across continue-as-new. */
export type SessionWorkflow = (session: SessionSnapshot) => Promise<void>;

/**
 * The start delay the client gives a session's workflow. Until something writes to the session, its workflow runs no
 * workflow task at all: it is a row in visibility (listed, counted) and one event of history, costing no worker
 * anything. The first write (update-with-start) dispatches its first workflow task at once; a session nothing writes
 * to for ten years then wakes and waits, as any session does.
 */
export const SESSION_START_DELAY = '3650 days';

/**
 * True for a session's workflow that has never run (still in its start delay, nothing written to it): its history is
 * the start event alone. Such a session holds its fresh state, and cannot answer a query.
 */
export function neverWritten(description: { historyLength: number }): boolean {
  return description.historyLength <= 1;
}

/** Memo key of what a listing shows of a session without asking a worker: {@link SessionMemo}. */
export const SESSION_MEMO = 'kernSession';

/** The session's memo: when it was created, and its name (the start of its first run's input). */
export interface SessionMemo {
  createdAt: string;
  name?: string;
  /** What `updateSession` (the framework's `PATCH /sessions/{id}`) gave it. */
  metadata?: Record<string, unknown>;
}

/**
 * How a session's workflow is started, by the client beside a run or by the first write to it: its id, search
 * attributes (`KernSessionId`, `KernUserId`, and `KernComponentId` of the component whose run created it), its memo and
 * labels.
 * No `KernKind` and no `KernStatus`, so the visibility queries for runs never match a session.
 */
export function sessionWorkflowOptions(
  session: SessionSnapshot,
  taskQueue: string,
  creator: { componentId?: string; input?: string } = {},
) {
  const { componentId, input } = creator;
  const memo: SessionMemo = {
    createdAt: session.createdAt,
    ...(input !== undefined ? { name: input.slice(0, MAX_SESSION_NAME_CHARS) } : {}),
  };
  return {
    workflowId: workflowIdForSession(session.sessionId),
    taskQueue,
    args: [session] as [SessionSnapshot],
    typedSearchAttributes: [
      { key: kernSessionIdKey, value: session.sessionId },
      ...(session.userId !== undefined ? [{ key: kernUserIdKey, value: session.userId }] : []),
      ...(componentId !== undefined ? [{ key: kernComponentIdKey, value: componentId }] : []),
    ],
    memo: { [SESSION_MEMO]: memo },
    staticSummary: `session ${session.sessionId}`,
    staticDetails:
      'The state and remembered turns of a kern session. Its runs read it when they start and write to it when ' +
      'they complete; it waits for them without holding anything on a worker.',
  };
}
