import { RunEventsUnavailable, RunNotFound } from '../shared/errors';
import { isTerminalEventOf, type AnyRunEvent } from '../shared/events';
import { runEventsQuery } from '../shared/messages';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import { recordOfExecution } from '../shared/saved-runs';
import { getRunOutput } from './run-outputs';
import { QUERY_TIMEOUT_MS, type TemporalAccess } from './temporal-access';

/**
 * Reading a run's event stream by query, from any process: live while it runs, replayed by a worker (or read from
 * its stored events) after it has ended. A query costs the run's history nothing, however many read it and however
 * long; a poll by update (the stream's own subscription) would write about five events each time.
 */

/** How long reading a closed run's events may wait for a worker to replay it. */
const EVENTS_QUERY_TIMEOUT_MS = 30_000;

/** How often a subscription asks for a run's new events while they come (the live window is 80 ms). */
const STREAM_QUERY_INTERVAL_MS = 20;

/** How long a run (or a new subscription) is asked at that rate after its last events. */
const STREAM_QUIET_AFTER_MS = 1_000;

/** How often, at most, it asks while the run is quiet (it doubles the interval from the above up to this). */
const STREAM_QUERY_QUIET_INTERVAL_MS = 400;

/** How often a subscription to a quiet run looks whether the run has closed without a last event (terminated). */
const STREAM_DESCRIBE_INTERVAL_MS = 2_000;

/** Where a subscription starts, and what ends it early. */
export interface SubscribeOptions {
  /** The first event's index (default 0). */
  fromIndex?: number;
  /** Ends the subscription (not the run) when it aborts: no read of the run follows. */
  signal?: AbortSignal;
  /** Called after each read of the run, once its events have been taken: the first call ends what was there to read. */
  afterRead?: () => void;
}

/** See {@link KernClient.subscribe}. */
export async function* subscribe(
  access: TemporalAccess,
  runId: string,
  options: SubscribeOptions = {},
): AsyncGenerator<AnyRunEvent, void> {
  const { signal } = options;
  let next = options.fromIndex ?? 0;
  if (signal?.aborted) return;
  let description = await access.describeRun(runId);
  if (!recordOfExecution(description)) throw new RunNotFound(runId);
  // Asked often while events come, less often while the run is quiet; a quiet run is described now and then, to see
  // whether it has closed.
  let interval = STREAM_QUERY_INTERVAL_MS;
  let describedAt = Date.now();
  let eventsAt = Date.now();
  while (description?.status.name === 'RUNNING') {
    if (signal?.aborted) return;
    const events = await queryEvents(access, runId, next);
    for (const event of events) {
      next = (event.eventIndex ?? next) + 1;
      yield event;
      if (isTerminalEventOf(event, runId)) return;
    }
    options.afterRead?.();
    if (events.length > 0) eventsAt = Date.now();
    // Quiet for a moment (a tool runs, the model thinks, the run is paused): ask less and less often.
    interval =
      Date.now() - eventsAt < STREAM_QUIET_AFTER_MS
        ? STREAM_QUERY_INTERVAL_MS
        : Math.min(interval * 2, STREAM_QUERY_QUIET_INTERVAL_MS);
    if (!(await pause(interval, signal))) return;
    if (events.length === 0 && Date.now() - describedAt >= STREAM_DESCRIBE_INTERVAL_MS) {
      description = await access.describeRun(runId);
      describedAt = Date.now();
    }
  }
  if (signal?.aborted) return;
  yield* await recordedEvents(access, runId, next);
  options.afterRead?.();
}

/** Waits `ms`; false when `signal` aborted first (at once, not at the end of the wait). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (elapsed: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      resolve(elapsed);
    };
    const aborted = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

/** See {@link KernClient.eventsSoFar}. */
export async function eventsSoFar(
  access: TemporalAccess,
  runId: string,
  fromIndex = 0,
): Promise<{ output: AnyRunOutput; events: AnyRunEvent[] } | null> {
  const output = await getRunOutput(access, runId);
  if (!output) return null;
  if (isTerminalStatus(output.status)) {
    return { output, events: await recordedEvents(access, runId, fromIndex, output) };
  }
  if (output.status === RunStatus.pending) return { output, events: [] };
  return { output, events: await queryEvents(access, runId, fromIndex) };
}

/** A running run's events from `fromIndex` on, by query; none when no worker answers in time. */
function queryEvents(access: TemporalAccess, runId: string, fromIndex: number): Promise<AnyRunEvent[]> {
  const handle = access.runHandle(runId);
  return access.queryWithin(
    QUERY_TIMEOUT_MS,
    () => handle.query(runEventsQuery, fromIndex),
    () => [],
  );
}

/**
 * A closed run's events from `fromIndex` on: from its output when it kept them (read here unless given), else
 * replayed by a worker.
 */
async function recordedEvents(
  access: TemporalAccess,
  runId: string,
  fromIndex: number,
  output: AnyRunOutput | null | undefined = undefined,
): Promise<AnyRunEvent[]> {
  output ??= await getRunOutput(access, runId);
  if (output?.events) return output.events.filter((event) => (event.eventIndex ?? 0) >= fromIndex);
  // The query answers a page at a time (about a megabyte): read up to the run's last event (or an empty page, for a
  // run that ended without one: terminated).
  const handle = access.runHandle(runId);
  const unavailable = (err: unknown): never => {
    throw new RunEventsUnavailable(runId, err);
  };
  const events: AnyRunEvent[] = [];
  for (let next = fromIndex; ;) {
    const from = next;
    const page = await access.queryWithin(
      EVENTS_QUERY_TIMEOUT_MS,
      () => handle.query(runEventsQuery, from),
      unavailable,
    );
    events.push(...page);
    const last = page[page.length - 1];
    if (!last || isTerminalEventOf(last, runId)) return events;
    next = (last.eventIndex ?? next) + 1;
  }
}
