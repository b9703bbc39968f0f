import { kernComponentIdKey, kernSessionIdKey, kernUserIdKey } from './search-attributes';
import { workflowIdForSession, type SessionSnapshot } from './sessions';

/** Workflow type of a session's entity workflow. */
export const SESSION_WORKFLOW_TYPE = 'kernSession';

/** Memo key of what a listing shows of a session without asking a worker: {@link SessionMemo}. */
export const SESSION_MEMO = 'kernSession';

/** The session's memo: when it was created, and its name (the start of its first run's input). */
export interface SessionMemo {
  createdAt: string;
  name?: string;
}

/** How much of the first run's input a session's name keeps. */
const SESSION_NAME_CHARS = 1_000;

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
    ...(input !== undefined ? { name: input.slice(0, SESSION_NAME_CHARS) } : {}),
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
