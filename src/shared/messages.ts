import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AnyRunEvent } from './events';
import type { ContinueRequest } from './requirements';
import type { AnyRunOutput } from './run-output';
import type {
  CloseSessionRequest,
  SessionContext,
  SessionContextRequest,
  SessionSummary,
  UpdateSessionRequest,
} from './sessions';

/**
 * The messages of kern's workflows (queries, signals, updates) and the memo keys they leave: one definition each,
 * which the workflows' handlers, the client and the session activities all import. They sit here, with the other
 * contracts, rather than beside their workflows, so that nothing outside the sandbox imports workflow code.
 */

/** The run's output as it stands: status, content so far (also mid-answer), messages, tools, metrics. */
export const runOutputQuery = defineQuery<AnyRunOutput>('runOutput');

/** The run's events from an index on. Also answers after the run has closed (the worker replays it). */
export const runEventsQuery = defineQuery<AnyRunEvent[], [number]>('runEvents');

/**
 * Sent just before a cancel by a caller who wants the exact answer so far (`cancelRun(runId, { exactPartial: true })`):
 * the run then waits for its model call to report it (within a heartbeat interval) before it ends `CANCELLED`.
 */
export const exactPartialOnCancelSignal = defineSignal('kernExactPartialOnCancel');

/** Memo key under which a run that ends `CANCELLED` or `ERROR` leaves its output, readable with no worker. */
export const FINAL_OUTPUT_MEMO = 'kernOutput';

/** What a run reads from its session when it starts: the earlier turns it asked for, and the session state. */
export const sessionContextQuery = defineQuery<SessionContext, [SessionContextRequest]>('sessionContext');

/** A completed run writes its turn and its state changes to its session. */
export const closeSessionUpdate = defineUpdate<void, [CloseSessionRequest]>('closeSessionRun');

/** Renames a session, replaces its metadata or its state (`KernClient.updateSession`). */
export const updateSessionUpdate = defineUpdate<void, [UpdateSessionRequest]>('updateSession');

/** What a session holds but its turns: its state, user, and when it was created and last written. */
export const sessionQuery = defineQuery<SessionSummary>('session');

/**
 * Answers what a paused run waits for (`KernClient.continueRun`). Refused, with nothing changed, when the run is not
 * waiting or the answers do not fit; resolves once the run has taken them.
 */
export const continueRunUpdate = defineUpdate<void, [ContinueRequest]>('continueRun');

/** Memo key of what a `PAUSED` run waits for, readable with no worker; removed when it goes on. */
export const PAUSE_MEMO = 'kernPause';
