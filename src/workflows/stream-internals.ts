import type { Payload } from '@temporalio/workflow';
import type { PollInput, PollResult, PublishInput, WorkflowStream } from '@temporalio/workflow-streams/workflow';

/**
 * The one place kern reaches past the public API of `@temporalio/workflow-streams` (1.23.0, pinned), into three
 * private members of `WorkflowStream`:
 * - `log`, the decoded entries, so the run's stream is read without decoding every entry on every read;
 * - `onPublish`, the publish signal's handler, which kern wraps to drop deltas of a superseded model call attempt;
 * - `onPoll`, the poll update's handler, which kern wraps to answer polls outside the run's cancellation.
 * Each accessor answers `undefined` when the member is gone, and `RunStream` then falls back (and logs a warning);
 * `test/integration/stream-internals.test.ts` runs the accessors on the pinned package in a real workflow and fails when
 * any is missing, so an upgrade cannot switch them off silently. Public hooks for these would let this file go: the
 * package has none yet.
 */

/** One entry of the stream's log, as the package keeps it. */
export interface StreamLogEntry {
  topic: string;
  payload: Payload;
}

/** The private members kern uses, by name. */
type Internals = {
  log?: StreamLogEntry[];
  onPublish?: (input: PublishInput) => void;
  onPoll?: (input: PollInput) => Promise<PollResult>;
};

function internals(stream: WorkflowStream): Internals {
  return stream as unknown as Internals;
}

/** The stream's log, decoded, live (the package appends to it); `undefined` when the package keeps it otherwise. */
export function streamLog(stream: WorkflowStream): StreamLogEntry[] | undefined {
  const log = internals(stream).log;
  return Array.isArray(log) ? log : undefined;
}

/** The stream's own handler of its publish signal, bound to it; `undefined` when it is gone. */
export function streamPublishHandler(stream: WorkflowStream): ((input: PublishInput) => void) | undefined {
  const handler = internals(stream).onPublish;
  return typeof handler === 'function' ? handler.bind(stream) : undefined;
}

/** The stream's own handler of its poll update, bound to it; `undefined` when it is gone. */
export function streamPollHandler(stream: WorkflowStream): ((input: PollInput) => Promise<PollResult>) | undefined {
  const handler = internals(stream).onPoll;
  return typeof handler === 'function' ? handler.bind(stream) : undefined;
}

/** The private members this file uses that `stream` lacks: empty with the pinned package. */
export function missingStreamInternals(stream: WorkflowStream): string[] {
  return [
    ...(streamLog(stream) ? [] : ['log']),
    ...(streamPublishHandler(stream) ? [] : ['onPublish']),
    ...(streamPollHandler(stream) ? [] : ['onPoll']),
  ];
}
