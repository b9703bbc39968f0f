import type { KernClient } from '../client/kern-client';
import type { AnyRunEvent } from '../shared/events';
import { isTerminalStatus } from '../shared/run-status';
import type { AnyRunOutput } from '../shared/run-output';
import type { RunFeeds } from './run-feeds';
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
  const from = (lastEventIndex ?? -1) + 1;
  const soFar = await deps.client.eventsSoFar(runId, Math.max(from, 0));
  if (!soFar || !request.owns(soFar.output)) {
    yield { meta: { event: 'error', error: `Run ${runId} not found in buffer or database` } };
    return;
  }
  const { output, events } = soFar;
  const next = (events.at(-1)?.eventIndex ?? from - 1) + 1;
  if (isTerminalStatus(output.status)) {
    const total = Math.max(next, from);
    yield {
      meta: {
        event: 'replay',
        run_id: runId,
        status: output.status,
        total_events: events.length,
        total_buffered: total,
        last_event_index_requested: lastEventIndex ?? -1,
        message: `Run ${output.status}. Replaying ${events.length} missed events (of ${total} total).`,
      },
    };
    for (const event of events) yield { event };
    return;
  }
  if (events.length > 0) {
    yield {
      meta: {
        event: 'catch_up',
        run_id: runId,
        status: 'running',
        missed_events: events.length,
        current_event_count: next,
        message: `Catching up on ${events.length} missed events.`,
      },
    };
    for (const event of events) yield { event };
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
  for await (const event of deps.feeds.follow(runId, Math.max(next, from), request.signal)) yield { event };
}
