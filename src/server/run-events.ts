import type { KernClient } from '../client/kern-client';
import type { AnyRunEvent } from '../shared/events';
import { isTerminalStatus } from '../shared/run-status';
import type { AnyRunOutput } from '../shared/run-output';
import { CAUGHT_UP, type RunFeeds } from './run-feeds';
import type { WireObject } from './wire';

/** What a resumed stream sends, in order: meta frames (no index) and run events. */
export type ResumeItem = { meta: WireObject } | { event: AnyRunEvent };

/**
 * The frames of a resumed stream, as the framework's `/resume` sends them: for a run that has ended, a `replay` meta
 * frame and the events after `lastEventIndex`; for a live one, `catch_up` and the missed events (when there are any),
 * `subscribed`, then live events until the run ends. For an unknown run (or one `owns` rejects), one `error` frame.
 * Unlike the framework, this works from any server process and after the run has ended: the events come from
 * Temporal, not from a buffer in the process that started the run.
 */
export async function* resumeRun(
  deps: { client: KernClient; feeds: RunFeeds },
  request: {
    runId: string;
    lastEventIndex: number | undefined;
    owns: (output: AnyRunOutput) => boolean;
    /** "agent", "team" or "workflow", for the `subscribed` message. */
    kindWord: string;
    signal: AbortSignal;
  },
): AsyncGenerator<ResumeItem, void> {
  const { runId, lastEventIndex } = request;
  const from = Math.max((lastEventIndex ?? -1) + 1, 0);
  // Who the run is and whether it is live come from Temporal's server alone: a hundred viewers joining a run must
  // not send it a hundred queries, which its worker answers one at a time, ahead of the run's own work.
  const run = await deps.client.peekRun(runId);
  if (!run || !request.owns(run)) {
    yield { meta: { event: 'error', error: `Run ${runId} not found in buffer or database` } };
    return;
  }
  if (isTerminalStatus(run.status)) {
    const ended = await deps.client.eventsSoFar(runId, from);
    const events = ended?.events ?? [];
    const status = ended?.output.status ?? run.status;
    const total = Math.max((events.at(-1)?.eventIndex ?? from - 1) + 1, from);
    yield {
      meta: {
        event: 'replay',
        run_id: runId,
        status,
        total_events: events.length,
        total_buffered: total,
        last_event_index_requested: lastEventIndex ?? -1,
        message: `Run ${status}. Replaying ${events.length} missed events (of ${total} total).`,
      },
    };
    for (const event of events) yield { event };
    return;
  }
  // Joining a live run sends it no query of its own: the missed events are those this process already holds (when
  // others here watch the run), or those the shared feed's first read brings. Then `subscribed`, and the rest.
  const missed: AnyRunEvent[] = [];
  let joined = false;
  for await (const item of deps.feeds.join(runId, from, request.signal)) {
    if (joined) {
      yield { event: item as AnyRunEvent };
      continue;
    }
    if (item !== CAUGHT_UP) {
      missed.push(item);
      continue;
    }
    joined = true;
    const next = (missed.at(-1)?.eventIndex ?? from - 1) + 1;
    if (missed.length > 0) {
      yield {
        meta: {
          event: 'catch_up',
          run_id: runId,
          status: 'running',
          missed_events: missed.length,
          current_event_count: next,
          message: `Catching up on ${missed.length} missed events.`,
        },
      };
      for (const event of missed) yield { event };
    }
    yield {
      meta: {
        event: 'subscribed',
        run_id: runId,
        status: 'running',
        current_event_count: next,
        message: `Subscribed to ${request.kindWord} run. Receiving live events.`,
      },
    };
  }
}
