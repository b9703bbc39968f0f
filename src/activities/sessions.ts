import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  newSession,
  workflowIdForSession,
  type CloseSessionRequest,
  type SessionCall,
  type SessionContext,
  type SessionContextRequest,
} from '../shared/sessions';
import { closeSessionUpdate, sessionContextQuery } from '../shared/messages';
import {
  SESSION_WORKFLOW_TYPE,
  neverWritten,
  sessionWorkflowOptions,
  type SessionWorkflow,
} from '../shared/session-workflow';

const EMPTY_CONTEXT: SessionContext = { turns: [], sessionState: {} };

/**
 * The activities through which runs reach their session's workflow: a query to read it when a run starts, an update
 * (starting the session if it does not exist yet) when a run completes.
 */
export function createSessionActivities() {
  return {
    /** The earlier turns and state a run starts with; a session that does not exist yet has none. */
    async readSession(call: SessionCall<SessionContextRequest>): Promise<SessionContext> {
      const handle = Context.current().client.workflow.getHandle(workflowIdForSession(call.sessionId));
      try {
        return await withinAttempt(handle.query(sessionContextQuery, call.request));
      } catch (err) {
        // No session, or one nothing has written to yet (its workflow has not run, so it cannot answer): both empty.
        if (err instanceof WorkflowNotFoundError || neverWritten(await handle.describe())) return EMPTY_CONTEXT;
        throw err;
      }
    },

    /** Writes a completed run's turn and state changes; returns once the session has applied them. */
    async writeSession(call: SessionCall<CloseSessionRequest>): Promise<void> {
      const activity = Context.current();
      const { sessionId, request } = call;
      const start = new WithStartWorkflowOperation<SessionWorkflow>(SESSION_WORKFLOW_TYPE, {
        ...sessionWorkflowOptions(newSession(sessionId, request.at, request.userId), activity.info.taskQueue),
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      try {
        const update = activity.client.workflow.executeUpdateWithStart(closeSessionUpdate, {
          args: [request],
          startWorkflowOperation: start,
          // Temporal takes an update id once per execution; the session remembers run ids across executions.
          updateId: `close-${request.runId}`,
        });
        await withinAttempt(update);
      } catch (err) {
        // The session refused the write (its validator): not retried, the run ends ERROR with the session's reason.
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
          throw ApplicationFailure.create({
            type: err.cause.type ?? 'SessionWriteRefused',
            message: err.cause.message,
            nonRetryable: true,
          });
        }
        throw err;
      }
    },
  };
}

/**
 * `call`, given up when the attempt's time is over or the worker shuts down: Temporal times the attempt out on its
 * side, but only the activity itself can stop waiting on a session that cannot answer, and free its slot.
 */
async function withinAttempt<T>(call: Promise<T>): Promise<T> {
  const activity = Context.current();
  call.catch(() => undefined);
  const timedOut = activity.sleep(activity.info.startToCloseTimeoutMs).then(() => {
    throw new Error(`the session did not answer within ${activity.info.startToCloseTimeoutMs} ms`);
  });
  timedOut.catch(() => undefined);
  return Promise.race([call, activity.cancelled, timedOut]);
}
