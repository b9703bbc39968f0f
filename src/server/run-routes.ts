import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { KernClient } from '../client/kern-client';
import { RunKey } from '../client/run-options';
import { RunIdInUseError, RunNotPaused } from '../shared/errors';
import { isTerminalEventOf, pauseRequirementsOf, type AnyRunEvent } from '../shared/events';
import { mayPause } from '../shared/specs';
import { componentIdentityOf, type AnyRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { NOT_FOUND_DETAIL, RUN_KIND_OF, type Catalog, type RouteKind } from './catalog';
import { answersOf, parseContinueRequest } from './continue-request';
import { resumeRun, type ResumeItem } from './run-events';
import type { RunFeeds } from './run-feeds';
import { InvalidRequest, optionalInteger, parseRunRequest, readBodyFields } from './run-request';
import { pythonJson, wireEvent, wireOutput } from './wire';

/** What the routes use; the client connects on first use, so creating the server never waits for Temporal. */
export interface ServerDeps {
  client: KernClient;
  catalog: Catalog;
  feeds: RunFeeds;
}

const RUN_STATUSES = new Set<string>(Object.values(RunStatus));

/** The run routes of one kind of component (`/agents/:id/runs…`, and the same for teams and workflows). */
export function runRoutes(kind: RouteKind, catalog: Catalog, connect: () => Promise<ServerDeps>): Hono {
  const routes = new Hono();

  /** The component named in the path, or the framework's 404. */
  const componentOf = (c: Context) => {
    const component = catalog.find(kind, c.req.param('componentId') ?? '');
    if (!component) throw new NotFound(NOT_FOUND_DETAIL[kind]);
    return component;
  };
  /** True when the output is a run of the component in the path (and of the session, when one is given). */
  const owns = (c: Context, output: AnyRunOutput, sessionId?: string) =>
    output.kind === RUN_KIND_OF[kind] &&
    componentIdentityOf(output).id === c.req.param('componentId') &&
    (sessionId === undefined || sessionId === '' || output.sessionId === sessionId);

  routes.post('/:componentId/runs', async (c) => {
    const component = componentOf(c);
    const request = parseRunRequest(await readBodyFields(c));
    const { client, feeds } = await connect();
    const runInput = component.runInputFor(request.message, {
      background: request.background,
      stream: request.stream,
      ...(request.run_id !== undefined ? { runId: request.run_id } : {}),
      ...(request.session_id !== undefined ? { sessionId: request.session_id } : {}),
      ...(request.user_id !== undefined ? { userId: request.user_id } : {}),
      ...(request.session_state !== undefined ? { sessionState: request.session_state } : {}),
      ...(request.output_schema !== undefined ? { outputSchema: request.output_schema } : {}),
    });
    const { runId, sessionId } = runInput;
    try {
      await client.startRun(runInput);
    } catch (err) {
      if (err instanceof RunIdInUseError) return c.json({ detail: err.message }, 409);
      throw err;
    }
    if (!request.stream) {
      if (request.background) return c.json({ run_id: runId, session_id: sessionId, status: RunStatus.pending }, 202);
      // A run that pauses for a person is answered then, `PAUSED`, as there.
      const output = mayPause(runInput) ? await client.waitForRunOrPause(runId) : await client.waitForRun(runId);
      return c.json(wireOutput(output));
    }
    return streamRun(c, { client, feeds }, runId, 0, request.background);
  });

  routes.post('/:componentId/runs/:runId/continue', async (c) => {
    componentOf(c);
    const request = parseContinueRequest(await readBodyFields(c));
    const { client, feeds } = await connect();
    const runId = validRunId(c);
    const output = runId === undefined ? null : await client.getRunOutput(runId);
    if (!runId || !output || !owns(c, output, request.sessionId)) throw new NotFound('Run not found');
    if (output.status !== RunStatus.paused || !output.requirements) {
      throw new RunNotPaused(runId, `it is ${output.status}`);
    }
    const { fromIndex } = await client.continueRun(runId, { requirements: answersOf(request, output.requirements) });
    if (request.stream) return streamRun(c, { client, feeds }, runId, fromIndex, request.background);
    if (request.background) {
      return c.json({ run_id: runId, session_id: output.sessionId, status: RunStatus.pending }, 202);
    }
    return c.json(wireOutput(await client.waitForRunOrPause(runId)));
  });

  routes.get('/:componentId/runs', async (c) => {
    const component = componentOf(c);
    const { client } = await connect();
    const status = c.req.query('status');
    if (status !== undefined && !RUN_STATUSES.has(status)) {
      throw new InvalidRequest([
        {
          type: 'enum',
          loc: ['query', 'status'],
          msg: `Input should be ${[...RUN_STATUSES].map((s) => `'${s}'`).join(', ')}`,
          input: status,
        },
      ]);
    }
    const limit = optionalInteger(c.req.query('limit'), ['query', 'limit']);
    const sessionId = c.req.query('session_id') || undefined;
    const { runs } = await client.listRuns({
      kind: component.kind,
      componentId: component.id,
      ...(sessionId ? { sessionId } : {}),
      ...(status ? { status: status as RunStatus } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return c.json(runs.map(wireOutput));
  });

  routes.get('/:componentId/runs/:runId', async (c) => {
    componentOf(c);
    const { client } = await connect();
    const runId = validRunId(c);
    const output = runId === undefined ? null : await client.getRunOutput(runId);
    if (!output || !owns(c, output, c.req.query('session_id'))) throw new NotFound('Run not found');
    return c.json(wireOutput(output));
  });

  routes.post('/:componentId/runs/:runId/cancel', async (c) => {
    const component = componentOf(c);
    const { client } = await connect();
    const runId = validRunId(c);
    if (runId === undefined) return c.json({ cancelled: false });
    const output = await client.peekRun(runId);
    // A run of another component is not this route's to cancel; an unknown id records the cancel (before start).
    if (output && !owns(c, output)) return c.json({ cancelled: false });
    return c.json({
      cancelled: await client.cancelRun(runId, { intent: { kind: component.kind, componentId: component.id } }),
    });
  });

  const resume = async (c: Context, lastEventIndex: number | undefined, sessionId: string | undefined) => {
    componentOf(c);
    const deps = await connect();
    const runId = c.req.param('runId') ?? '';
    return sse(c, async (stream, signal) => {
      const items: AsyncIterable<ResumeItem> | ResumeItem[] = RunKey.safeParse(runId).success
        ? resumeRun(deps, {
            runId,
            lastEventIndex,
            owns: (output) => owns(c, output, sessionId),
            kindWord: RUN_KIND_OF[kind],
            signal,
          })
        : [{ meta: { event: 'error', error: `Run ${runId} not found in buffer or database` } }];
      for await (const item of items) {
        if ('meta' in item) {
          await stream.writeSSE({ event: String(item.meta.event), data: pythonJson(item.meta) });
        } else {
          await writeEvent(stream, item.event, true);
        }
      }
    });
  };

  routes.post('/:componentId/runs/:runId/resume', async (c) => {
    const fields = await readBodyFields(c);
    return await resume(
      c,
      optionalInteger(fields.last_event_index, ['body', 'last_event_index']),
      typeof fields.session_id === 'string' ? fields.session_id : undefined,
    );
  });

  // For a browser's EventSource, which reconnects by itself with the last `id:` it saw in `Last-Event-ID`.
  routes.get('/:componentId/runs/:runId/events', async (c) => {
    const lastEventId = c.req.header('last-event-id') ?? c.req.query('last_event_index');
    return await resume(c, optionalInteger(lastEventId, ['header', 'last-event-id']), c.req.query('session_id'));
  });

  return routes;
}

/**
 * A run's events from `fromIndex` as SSE, until it ends or pauses for a person. A plain stream belongs to its request:
 * when the client goes away before the end, the run is cancelled (as the framework's server does). A background
 * stream only loses a viewer; the run goes on, and `/resume` picks it up. Only the client leaving cancels: a stream
 * that fails on the server's side ends with an `error` frame and leaves the run going.
 */
function streamRun(
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
        if (!ended) void client.cancelRun(runId).catch(() => undefined);
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

/** The run id in the path, or `undefined` for one no run can have (too long, spaces around it, control characters). */
function validRunId(c: Context): string | undefined {
  const runId = c.req.param('runId') ?? '';
  return RunKey.safeParse(runId).success ? runId : undefined;
}

/** A 404 with the framework's `{"detail": …}` body. */
export class NotFound extends Error {}

/**
 * An SSE response (`text/event-stream; charset=utf-8`, as the framework sends it). `signal` aborts when the client
 * disconnects or the response ends. A failure after the headers are sent becomes an `error` frame: the status line is already out.
 */
function sse(c: Context, write: (stream: SSEStreamingApi, signal: AbortSignal) => Promise<void>): Response {
  const response = streamSSE(c, async (stream) => {
    const left = new AbortController();
    stream.onAbort(() => left.abort());
    try {
      await write(stream, left.signal);
    } catch (err) {
      if (!stream.aborted) {
        const message = err instanceof Error ? err.message : String(err);
        await stream.writeSSE({ event: 'error', data: pythonJson({ event: 'error', error: message }) });
      }
    } finally {
      left.abort();
    }
  });
  response.headers.set('content-type', 'text/event-stream; charset=utf-8');
  return response;
}

/** One run event as an SSE frame; resumable streams carry `event_index` and an `id:` line. */
async function writeEvent(stream: SSEStreamingApi, event: AnyRunEvent, resumable: boolean): Promise<void> {
  await stream.writeSSE({
    event: event.event,
    data: JSON.stringify(wireEvent(event, { withIndex: resumable })),
    ...(resumable && event.eventIndex !== undefined ? { id: String(event.eventIndex) } : {}),
  });
}
