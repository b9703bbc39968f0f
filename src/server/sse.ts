import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { isTerminalEventOf, pauseRequirementsOf, type AnyRunEvent } from '../shared/events';
import type { ServerDeps } from './deps';
import { publicError } from './http-errors';
import { pythonJson, wireEvent } from './wire';

/** Server-sent events as the framework's server sends them: a run's events, and its meta frames. */

/**
 * A run's events from `fromIndex` as SSE, until it ends or pauses for a person. A plain stream belongs to its request:
 * when the client goes away before the end, the run is cancelled (as the framework's server does). A background
 * stream only loses a viewer; the run goes on, and `/resume` picks it up. Only the client leaving cancels: a stream
 * that fails on the server's side ends with an `error` frame and leaves the run going.
 */
export function streamRun(
  c: Context,
  { client, feeds }: Pick<ServerDeps, 'client' | 'feeds'>,
  runId: string,
  fromIndex: number,
  background: boolean,
): Response {
  return sse(c, async (stream, signal) => {
    let ended = false;
    if (!background) {
      stream.onAbort(() => {
        if (!ended) {
          const reason = "cancelled: the HTTP client of its stream went away (kern's HTTP API)";
          void client.cancelRun(runId, { reason }).catch(() => undefined);
        }
      });
    }
    for await (const event of feeds.follow(runId, fromIndex, signal)) {
      ended = isTerminalEventOf(event, runId);
      // A run that pauses ends this response, as there: it waits for a person, and `…/continue` streams the rest.
      const paused = event.runId === runId && pauseRequirementsOf(event) !== undefined;
      await writeEvent(stream, event, background);
      if (paused) {
        ended = true;
        return;
      }
    }
  });
}

/**
 * An SSE response (`text/event-stream; charset=utf-8`, as the framework sends it). `signal` aborts when the client
 * disconnects or the response ends. A failure after the headers are sent becomes an `error` frame (the status line is
 * already out) that says no more than a 5xx body would.
 */
export function sse(c: Context, write: (stream: SSEStreamingApi, signal: AbortSignal) => Promise<void>): Response {
  const response = streamSSE(c, async (stream) => {
    const left = new AbortController();
    stream.onAbort(() => left.abort());
    try {
      await write(stream, left.signal);
    } catch (err) {
      if (!stream.aborted) {
        const { detail, errorId } = publicError(err, `stream of ${c.req.method} ${c.req.path}`);
        const frame = { event: 'error', error: detail, ...(errorId ? { error_id: errorId } : {}) };
        await stream.writeSSE({ event: 'error', data: pythonJson(frame) });
      }
    } finally {
      left.abort();
    }
  });
  response.headers.set('content-type', 'text/event-stream; charset=utf-8');
  return response;
}

/** One run event as an SSE frame; resumable streams carry `event_index` and an `id:` line. */
export async function writeEvent(stream: SSEStreamingApi, event: AnyRunEvent, resumable: boolean): Promise<void> {
  await stream.writeSSE({
    event: event.event,
    data: JSON.stringify(wireEvent(event, { withIndex: resumable })),
    ...(resumable && event.eventIndex !== undefined ? { id: String(event.eventIndex) } : {}),
  });
}
