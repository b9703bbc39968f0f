import { randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ForkRefused, InvalidInputError, SessionIdInUseError, SessionUnavailable } from '../shared/errors';
import type { RunKind } from '../shared/kinds';
import { sessionContextQuery, sessionQuery, updateSessionUpdate } from '../shared/messages';
import type { AnyRunOutput } from '../shared/run-output';
import { kernComponentIdKey, kernUserIdKey } from '../shared/search-attributes';
import {
  SESSION_MEMO,
  SESSION_WORKFLOW_TYPE,
  neverWritten,
  sessionWorkflowOptions,
  type SessionMemo,
  type SessionWorkflow,
} from '../shared/session-workflow';
import {
  SESSION_TURNS_KEPT,
  newSession,
  sessionUpdateProblem,
  workflowIdForSession,
  type SessionState,
  type SessionTurn,
  type UpdateSessionRequest,
} from '../shared/sessions';
import {
  countExecutions,
  listPage,
  listRuns,
  pageLimit,
  runsQuery,
  sessionIdOfWorkflow,
  sessionsQuery,
  skipped,
  visibilityString,
  type SessionListFilter,
} from './listing';
import { QUERY_TIMEOUT_MS, type TemporalAccess } from './temporal-access';

/**
 * Reading sessions: listed and described from Temporal's server alone (visibility and each session's workflow
 * description), their state from the session's workflow, by query (a worker answers it).
 */

/** A session as a listing shows it. */
export interface SessionInfo {
  sessionId: string;
  /** The start of the input of the run that created the session (as the framework names sessions). */
  name?: string;
  /** The component whose run created the session. */
  componentId?: string;
  userId?: string;
  /** Its top-level runs (members and steps are counted in their parent's). */
  runCount: number;
  createdAt: string;
  /** When its newest run started or ended; `createdAt` while it has none. */
  updatedAt: string;
}

/** One page of sessions, newest first. */
export interface SessionPage {
  sessions: SessionInfo[];
  nextPageToken?: string;
}

/** A session as {@link KernClient.getSession} reads it. */
export interface Session {
  sessionId: string;
  /** The start of the input of the run that created the session, or the name it was given. */
  name?: string;
  /** What `updateSession` or `createSession` gave it. */
  metadata?: Record<string, unknown>;
  /** The component whose run created the session. */
  componentId?: string;
  userId?: string;
  /** The state as it stands: what completed runs and their tools left in it. */
  sessionState: SessionState;
  /** Its newest top-level runs, at most 100, oldest first. */
  runs: AnyRunOutput[];
  createdAt: string;
  updatedAt: string;
}

/** See {@link KernClient.listSessions}. */
export async function listSessions(access: TemporalAccess, filter: SessionListFilter = {}): Promise<SessionPage> {
  const { limit, pageToken, offset, ...match } = filter;
  const query = sessionsQuery(match);
  const token = await skipped(access, query, offset, pageToken);
  if (token === null) return { sessions: [] };
  const page = await access.visibility(() => listPage(access.temporal, query, pageLimit(limit), token));
  const sessionIds = page.executions.flatMap((execution) => sessionIdOfWorkflow(execution.workflowId) ?? []);
  const sessions = await Promise.all(sessionIds.map((sessionId) => getSessionInfo(access, sessionId)));
  return {
    sessions: sessions.filter((session): session is SessionInfo => session !== null),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** See {@link KernClient.countSessions}. */
export function countSessions(
  access: TemporalAccess,
  filter: Omit<SessionListFilter, 'limit' | 'pageToken' | 'offset'> = {},
): Promise<number> {
  return access.visibility(() => countExecutions(access.temporal, sessionsQuery(filter)));
}

/** See {@link KernClient.getSessionInfo}. */
export async function getSessionInfo(access: TemporalAccess, sessionId: string): Promise<SessionInfo | null> {
  const handle = access.temporal.workflow.getHandle(workflowIdForSession(sessionId));
  const runs = runsQuery({ sessionId });
  let description: WorkflowExecutionDescription;
  let runCount: number;
  let newest: Awaited<ReturnType<typeof listPage>>;
  try {
    [description, runCount, newest] = await Promise.all([
      handle.describe(),
      countExecutions(access.temporal, runs),
      listPage(access.temporal, runs, 1, undefined),
    ]);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw access.unreachableOr(err);
  }
  if (deleted(description)) return null;
  const lastRun = newest.executions[0];
  const lastUsed = lastRun?.closeTime ?? lastRun?.startTime;
  const { createdAt, ...record } = sessionRecordOf(sessionId, description);
  return {
    ...record,
    runCount,
    createdAt,
    updatedAt: lastUsed && lastUsed.toISOString() > createdAt ? lastUsed.toISOString() : createdAt,
  };
}

/** See {@link KernClient.getSession}. */
export async function getSession(access: TemporalAccess, sessionId: string): Promise<Session | null> {
  const handle = access.temporal.workflow.getHandle(workflowIdForSession(sessionId));
  let description: WorkflowExecutionDescription;
  let runs: AnyRunOutput[];
  try {
    [description, { runs }] = await Promise.all([handle.describe(), listRuns(access, { sessionId, limit: 100 })]);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw access.unreachableOr(err);
  }
  if (deleted(description)) return null;
  const record = sessionRecordOf(sessionId, description);
  // A session nothing has written to has not run, so it cannot answer a query: it holds its fresh state.
  const summary = neverWritten(description)
    ? { createdAt: record.createdAt, updatedAt: record.createdAt, sessionState: {}, userId: record.userId }
    : await access.queryWithin(
        QUERY_TIMEOUT_MS,
        () => handle.query(sessionQuery),
        (err) => {
          throw access.unreachableOr(err, () => new SessionUnavailable(sessionId, err));
        },
      );
  runs.reverse();
  const updatedAt = [summary.updatedAt, ...runs.map((run) => run.updatedAt)].sort().at(-1) ?? summary.createdAt;
  return {
    ...record,
    ...(summary.userId !== undefined ? { userId: summary.userId } : {}),
    sessionState: summary.sessionState,
    runs,
    createdAt: summary.createdAt,
    updatedAt,
  };
}

/**
 * True for a session that {@link deleteSession} has deleted: its workflow is closed (a session's workflow runs for as
 * long as the session exists), and Temporal has yet to remove it.
 */
function deleted(description: WorkflowExecutionDescription): boolean {
  return description.status.name !== 'RUNNING';
}

/** The description of a session's workflow, or `undefined` when there is no such session (or it was deleted). */
async function describeLiveSession(
  access: TemporalAccess,
  sessionId: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    const description = await access.temporal.workflow.getHandle(workflowIdForSession(sessionId)).describe();
    return deleted(description) ? undefined : description;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw access.unreachableOr(err);
  }
}

/** How many executions {@link deleteSession} deletes at once. */
const DELETES_AT_ONCE = 8;

/** See {@link KernClient.deleteSession}. */
export async function deleteSession(access: TemporalAccess, sessionId: string): Promise<boolean> {
  // Whether there is a session to delete: its workflow's description says, with no listing or count.
  if (!(await describeLiveSession(access, sessionId))) return false;
  const ofSession = `KernSessionId = ${visibilityString(sessionId)}`;
  const executions = async (query: string) => {
    const found: Array<{ workflowId: string; runId: string }> = [];
    for await (const execution of access.temporal.workflow.list({ query })) {
      found.push({ workflowId: execution.workflowId, runId: execution.runId });
    }
    return found;
  };
  const remove = async (found: Array<{ workflowId: string; runId: string }>) => {
    for (let i = 0; i < found.length; i += DELETES_AT_ONCE) {
      await Promise.all(
        found.slice(i, i + DELETES_AT_ONCE).map(async (workflowExecution) => {
          try {
            await access.temporal.workflowService.deleteWorkflowExecution({
              namespace: access.temporal.options.namespace,
              workflowExecution,
            });
          } catch (err) {
            // NOT_FOUND: deleted already, by Temporal or by another delete of this session.
            if ((err as { code?: number }).code !== 5) throw err;
          }
        }),
      );
    }
  };
  try {
    // Runs first (their members, steps and recorded cancels too): one still going is stopped, so none writes the
    // session back once it is gone. Then the session's own workflow, and the executions of its chain.
    await remove(await executions(`${ofSession} AND WorkflowType != ${visibilityString(SESSION_WORKFLOW_TYPE)}`));
    await remove(await executions(`${ofSession} AND WorkflowType = ${visibilityString(SESSION_WORKFLOW_TYPE)}`));
  } catch (err) {
    throw access.unreachableOr(err);
  }
  return true;
}

/** What a session is given by {@link KernClient.updateSession}: each field given replaces what it had. */
export interface SessionChanges {
  name?: string;
  /** The whole state: it replaces the one the session has (runs merge theirs key by key). */
  sessionState?: SessionState;
  metadata?: Record<string, unknown>;
}

/** See {@link KernClient.updateSession}. */
export async function updateSession(
  access: TemporalAccess,
  sessionId: string,
  changes: SessionChanges,
): Promise<Session | null> {
  const request: UpdateSessionRequest = { ...changes, at: new Date().toISOString() };
  const problem = sessionUpdateProblem(request);
  if (problem !== undefined) throw new InvalidInputError(problem);
  const info = await getSessionInfo(access, sessionId);
  if (info === null) return null;
  // With start, as a run's write: a session nothing has written to yet runs its first workflow task for it.
  const start = new WithStartWorkflowOperation<SessionWorkflow>(SESSION_WORKFLOW_TYPE, {
    ...sessionWorkflowOptions(newSession(sessionId, info.createdAt, info.userId), access.taskQueue, {
      componentId: info.componentId,
      input: info.name,
    }),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    await access.temporal.workflow.executeUpdateWithStart(updateSessionUpdate, {
      args: [request],
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new InvalidInputError(err.cause?.message ?? err.message);
    throw access.unreachableOr(err);
  }
  return getSession(access, sessionId);
}

/** A session as {@link KernClient.createSession} makes it, before any run. */
export interface NewSession extends SessionChanges {
  /** Its id; one is made when absent. */
  sessionId?: string;
  userId?: string;
  /** The agent, team or workflow it is for: what listings filter sessions by. */
  componentId?: string;
}

/** See {@link KernClient.createSession}; a fork's session starts with the turns it copied. */
export async function createSession(
  access: TemporalAccess,
  created: NewSession,
  turns: SessionTurn[] = [],
): Promise<Session> {
  const { sessionId = randomUUID(), userId, componentId, name, sessionState, metadata } = created;
  const at = new Date().toISOString();
  const problem = sessionUpdateProblem({ name, sessionState, metadata, at });
  if (problem !== undefined) throw new InvalidInputError(problem);
  const session = { ...newSession(sessionId, at, userId), turns, ...(sessionState ? { sessionState } : {}) };
  const options = sessionWorkflowOptions(session, access.taskQueue, { componentId, input: name });
  try {
    // No start delay: a session made before its runs holds what it was given, and answers for it at once.
    await access.temporal.workflow.start(SESSION_WORKFLOW_TYPE, {
      ...options,
      memo: { [SESSION_MEMO]: { ...(options.memo[SESSION_MEMO] as SessionMemo), ...(metadata ? { metadata } : {}) } },
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new SessionIdInUseError(sessionId);
    throw access.unreachableOr(err);
  }
  return (await getSession(access, sessionId)) ?? unreachableSession(sessionId);
}

function unreachableSession(sessionId: string): never {
  throw new Error(`session ${sessionId} was created but cannot be read back`);
}

/** What a session's workflow description says of it: its name, first component, user and creation time. */
function sessionRecordOf(sessionId: string, description: WorkflowExecutionDescription) {
  const memo = description.memo?.[SESSION_MEMO] as Partial<SessionMemo> | undefined;
  const componentId = description.typedSearchAttributes.get(kernComponentIdKey);
  const userId = description.typedSearchAttributes.get(kernUserIdKey);
  return {
    sessionId,
    ...(memo?.name !== undefined ? { name: memo.name } : {}),
    ...(memo?.metadata !== undefined ? { metadata: memo.metadata } : {}),
    ...(componentId !== undefined ? { componentId } : {}),
    ...(userId !== undefined ? { userId } : {}),
    createdAt: memo?.createdAt ?? description.startTime.toISOString(),
  };
}

/** Which runs of a session a fork copies: those of one agent or team, and who the new session is for. */
export interface SessionFork {
  kind: RunKind;
  componentId: string;
  /** The new session's user; by default the source's. */
  userId?: string;
}

/** See {@link KernClient.forkSession}. */
export async function forkSession(
  access: TemporalAccess,
  sessionId: string,
  fork: SessionFork,
): Promise<Session | null> {
  const description = await describeLiveSession(access, sessionId);
  if (!description) return null;
  const handle = access.temporal.workflow.getHandle<SessionWorkflow>(workflowIdForSession(sessionId));
  const request = { kind: fork.kind, componentId: fork.componentId, numHistoryRuns: SESSION_TURNS_KEPT };
  const source = neverWritten(description)
    ? { turns: [], sessionState: {} }
    : await access.queryWithin(
        QUERY_TIMEOUT_MS,
        () => handle.query(sessionContextQuery, request),
        (err) => {
          throw access.unreachableOr(err, () => new SessionUnavailable(sessionId, err));
        },
      );
  if (source.turns.length === 0) {
    throw new ForkRefused(`session ${sessionId} has no finished runs of ${fork.kind} '${fork.componentId}' to copy`);
  }
  const { name, metadata, userId } = sessionRecordOf(sessionId, description);
  const forkUserId = fork.userId ?? userId;
  return createSession(
    access,
    {
      componentId: fork.componentId,
      sessionState: source.sessionState,
      ...(name !== undefined ? { name } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      ...(forkUserId !== undefined ? { userId: forkUserId } : {}),
    },
    source.turns,
  );
}
