import { Hono, type Context } from 'hono';
import { ListedKey, RunKey } from '../client/run-options';
import { RunIdInUseError, RunNotPaused } from '../shared/errors';
import { checkpointIndexes, outputAtBoundary } from '../shared/forks';
import { RUN_KINDS, type RunKind } from '../shared/kinds';
import { mayPause, type RunInput } from '../shared/specs';
import { componentIdentityOf, type AnyRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { callerIn, ownedBy, refuseOthersSession, startedAs } from './auth';
import type { Catalog } from './catalog';
import { answersOf, parseContinueRequest } from './continue-request';
import type { ServerDeps } from './deps';
import { idempotencyKeyIn, idempotentIds } from './idempotency';
import { BadRequest, InvalidRequest, NotFound } from './http-errors';
import { resumeRun, type ResumeItem } from './run-events';
import { optionalInteger, parseRunRequest, readBodyFields } from './run-request';
import { sse, streamRun, writeEvent } from './sse';
import { pythonJson, wireCheckpoint, wireOutput } from './wire';

/** What a run route knows besides its request: the kind of component it serves, the app, and Temporal. */
interface RunRoute {
  kind: RunKind;
  catalog: Catalog;
  connect: () => Promise<ServerDeps>;
}

const RUN_STATUSES = new Set<string>(Object.values(RunStatus));

/** The run routes of one kind of component (`/agents/:id/runs…`, and the same for teams and workflows). */
export function runRoutes(kind: RunKind, catalog: Catalog, connect: () => Promise<ServerDeps>): Hono {
  const route: RunRoute = { kind, catalog, connect };
  const routes = new Hono();
  // Agents and teams answer from a model's conversation, which a fork starts from; the framework's workflows have no
  // checkpoints either.
  if (kind !== 'workflow') {
    routes
      .get('/:componentId/runs/:runId/checkpoints', (c) => listCheckpoints(c, route))
      .get('/:componentId/runs/:runId/checkpoints/:messageIndex', (c) => getCheckpoint(c, route));
  }
  // As the framework's: sessions are forked from an agent's routes only.
  if (kind === 'agent') routes.post('/:componentId/sessions/:sessionId/fork', (c) => forkSession(c, route));
  return (
    routes
      .post('/:componentId/runs', (c) => startRun(c, route))
      .post('/:componentId/runs/:runId/continue', (c) => continueOrFork(c, route))
      .get('/:componentId/runs', (c) => listRuns(c, route))
      .get('/:componentId/runs/:runId', (c) => getRun(c, route))
      .post('/:componentId/runs/:runId/cancel', (c) => cancelRun(c, route))
      .post('/:componentId/runs/:runId/resume', async (c) => {
        const fields = await readBodyFields(c);
        const lastEventIndex = optionalInteger(fields.last_event_index, ['body', 'last_event_index']);
        return resume(c, route, lastEventIndex, typeof fields.session_id === 'string' ? fields.session_id : undefined);
      })
      // For a browser's EventSource, which reconnects by itself with the last `id:` it saw in `Last-Event-ID`.
      .get('/:componentId/runs/:runId/events', (c) => {
        const lastEventId = c.req.header('last-event-id') ?? c.req.query('last_event_index');
        const lastEventIndex = optionalInteger(lastEventId, ['header', 'last-event-id']);
        return resume(c, route, lastEventIndex, c.req.query('session_id'));
      })
  );
}

/** `POST /{kind}/{id}/runs`: starts a run; answers at once (background), with its stream, or with its output. */
async function startRun(c: Context, route: RunRoute): Promise<Response> {
  const component = componentIn(c, route);
  const request = parseRunRequest(await readBodyFields(c));
  const { client, feeds } = await route.connect();
  const caller = callerIn(c);
  const identity = startedAs(caller, { userId: request.user_id, sessionId: request.session_id });
  await refuseOthersSession(client, caller, identity.sessionId);
  const key = request.run_id === undefined ? idempotencyKeyIn(c) : undefined;
  const ids = key === undefined ? undefined : idempotentIds(route.kind, component.id, identity.userId, key);
  const runInput = component.runInputFor(request.message, {
    background: request.background,
    stream: request.stream,
    ...(request.run_id !== undefined ? { runId: request.run_id } : {}),
    ...(ids ? { runId: ids.runId, sessionId: identity.sessionId ?? ids.sessionId } : {}),
    ...identity,
    ...(request.session_state !== undefined ? { sessionState: request.session_state } : {}),
    ...(request.output_schema !== undefined ? { outputSchema: request.output_schema } : {}),
  });
  const { runId } = runInput;
  let { sessionId } = runInput;
  try {
    await client.startRun(runInput);
  } catch (err) {
    if (key === undefined || !(err instanceof RunIdInUseError)) throw err;
    // A retry: the run the first request started answers it, if the request is the same.
    const first = await client.peekRun(runId);
    const same =
      first !== null &&
      first.kind === route.kind &&
      componentIdentityOf(first).id === component.id &&
      first.userId === runInput.userId &&
      first.input === runInput.input &&
      first.sessionId === runInput.sessionId;
    if (!same) {
      throw new InvalidRequest([
        {
          type: 'value_error',
          loc: ['header', 'idempotency-key'],
          msg: 'this Idempotency-Key was used for another request; use a new key for a new request',
          input: key,
        },
      ]);
    }
    sessionId = first.sessionId;
  }
  return answerStart(c, { client, feeds }, { ...runInput, sessionId }, request);
}

/**
 * `POST …/runs/{run_id}/continue`: answers what a paused run waits for, then answers as a start, from where it paused.
 * A fork (`fork`, `regenerate`, `continue_from`), or a continue without answers of an agent's or team's run that has
 * ended (the framework forks those too), starts a new run from the run's conversation instead, and answers as a start
 * of it.
 */
async function continueOrFork(c: Context, route: RunRoute): Promise<Response> {
  const component = componentIn(c, route);
  const request = parseContinueRequest(await readBodyFields(c));
  const { client, feeds } = await route.connect();
  const runId = runIdIn(c);
  const output = runId === undefined ? null : await client.getRunOutput(runId);
  if (!runId || !output || !owns(c, route, output, request.sessionId)) throw new NotFound('Run not found');
  // A continue that carries answers is for a paused run: sent again after the run went on (a retry, a second
  // click), it is refused rather than made into a second answer.
  const answers = request.tools.length + request.requirements.length > 0;
  const ended = output.status === RunStatus.completed || output.status === RunStatus.error;
  if (request.fork || (route.kind !== 'workflow' && ended && !answers)) {
    const { stream, background } = request;
    const runInput = component.forkInputFor(output, { ...(request.fork ?? request.forkFields), stream, background });
    await client.startRun(runInput);
    return answerStart(c, { client, feeds }, runInput, request);
  }
  if (output.status !== RunStatus.paused || !output.requirements) {
    throw new RunNotPaused(runId, `it is ${output.status}`);
  }
  if (request.forkFields.input !== undefined) {
    throw new BadRequest('a paused run goes on with the answers to what it waits for; new input needs fork=true');
  }
  const { fromIndex } = await client.continueRun(runId, { requirements: answersOf(request, output.requirements) });
  if (request.stream) return streamRun(c, { client, feeds }, runId, fromIndex, request.background);
  if (request.background) {
    return c.json({ run_id: runId, session_id: output.sessionId, status: RunStatus.pending }, 202);
  }
  return c.json(wireOutput(await client.waitForRunOrPause(runId, { signal: c.req.raw.signal })));
}

/** How a start is answered: at once (background), with the run's stream, or with its output when it ends or pauses. */
async function answerStart(
  c: Context,
  deps: Pick<ServerDeps, 'client' | 'feeds'>,
  runInput: RunInput,
  request: { stream: boolean; background: boolean },
): Promise<Response> {
  const { runId, sessionId } = runInput;
  if (request.stream) return streamRun(c, deps, runId, 0, request.background);
  if (request.background) return c.json({ run_id: runId, session_id: sessionId, status: RunStatus.pending }, 202);
  // A run that pauses for a person is answered then, `PAUSED`, as there.
  // A client that goes away stops the wait, not the run (as there): the answer has no one to go to.
  const wait = { signal: c.req.raw.signal };
  const output = mayPause(runInput)
    ? await deps.client.waitForRunOrPause(runId, wait)
    : await deps.client.waitForRun(runId, wait);
  return c.json(wireOutput(output));
}

/** `GET /{kind}/{id}/runs?session_id=&status=&limit=`: the component's runs, newest first. */
async function listRuns(c: Context, route: RunRoute): Promise<Response> {
  const component = componentIn(c, route);
  const { client } = await route.connect();
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
  const { owner } = callerIn(c);
  const { runs } = await client.listRuns({
    kind: component.kind,
    componentId: component.id,
    ...(owner !== undefined ? { userId: owner } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(status ? { status: status as RunStatus } : {}),
    ...(limit !== undefined ? { limit } : {}),
  });
  return c.json(runs.map(wireOutput));
}

/** `GET /{kind}/{id}/runs/{run_id}`: one run's output, or 404. */
async function getRun(c: Context, route: RunRoute): Promise<Response> {
  componentIn(c, route);
  const { client } = await route.connect();
  const runId = runIdIn(c);
  const output = runId === undefined ? null : await client.getRunOutput(runId);
  if (!output || !owns(c, route, output, c.req.query('session_id'))) throw new NotFound('Run not found');
  return c.json(wireOutput(output));
}

/** `GET …/runs/{run_id}/checkpoints?session_id=`: the message boundaries of a run to fork from. */
async function listCheckpoints(c: Context, route: RunRoute): Promise<Response> {
  const output = await checkpointedRun(c, route);
  const checkpoints = checkpointIndexes(output).map((index, ordinal) =>
    wireCheckpoint(output, index, index === output.messages.length ? 'end' : 'checkpoint', String(ordinal + 1)),
  );
  return c.json({ run_id: output.runId, session_id: output.sessionId, checkpoints });
}

/** `GET …/runs/{run_id}/checkpoints/{message_index}?session_id=`: the run as it stood at that boundary. */
async function getCheckpoint(c: Context, route: RunRoute): Promise<Response> {
  const output = await checkpointedRun(c, route);
  const text = c.req.param('messageIndex') ?? '';
  const messageIndex = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(messageIndex)) {
    throw new InvalidRequest([
      {
        type: 'int_parsing',
        loc: ['path', 'message_index'],
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        input: text,
      },
    ]);
  }
  if (messageIndex < 0 || messageIndex > output.messages.length) {
    throw new BadRequest(`message_index must be between 0 and ${output.messages.length}`);
  }
  const known = checkpointIndexes(output).indexOf(messageIndex);
  return c.json({
    checkpoint: wireCheckpoint(output, messageIndex, 'snapshot', known < 0 ? null : String(known + 1)),
    snapshot: wireOutput(outputAtBoundary(output, messageIndex)),
  });
}

/** The run a checkpoint route names, in the session its required `session_id` names; else the framework's 404. */
async function checkpointedRun(c: Context, route: RunRoute): Promise<AnyRunOutput> {
  componentIn(c, route);
  const sessionId = c.req.query('session_id');
  if (sessionId === undefined) {
    throw new InvalidRequest([{ type: 'missing', loc: ['query', 'session_id'], msg: 'Field required', input: null }]);
  }
  const { client } = await route.connect();
  const runId = runIdIn(c);
  const output = runId === undefined ? null : await client.getRunOutput(runId);
  if (!output || !owns(c, route, output, sessionId) || output.sessionId !== sessionId) {
    throw new NotFound('Run not found');
  }
  return output;
}

/**
 * `POST /agents/{id}/sessions/{session_id}/fork`: a new session that holds a copy of what the agent's runs left in the
 * session (see `KernClient.forkSession`), for the caller.
 */
async function forkSession(c: Context, route: RunRoute): Promise<Response> {
  const component = componentIn(c, route);
  const { client } = await route.connect();
  const sessionId = c.req.param('sessionId') ?? '';
  const caller = callerIn(c);
  const source = ListedKey.safeParse(sessionId).success ? await client.getSessionInfo(sessionId) : null;
  if (!source || !ownedBy(caller, source)) throw new NotFound('Session not found');
  const userId = caller.owner ?? source.userId;
  const fork = await client.forkSession(sessionId, {
    kind: route.kind,
    componentId: component.id,
    ...(userId !== undefined ? { userId } : {}),
  });
  if (!fork) throw new NotFound('Session not found');
  return c.json({ session_id: fork.sessionId, forked_from_session_id: sessionId });
}

/** `POST …/runs/{run_id}/cancel`: cancels a pending or running run, or records the cancel of one not yet started. */
async function cancelRun(c: Context, route: RunRoute): Promise<Response> {
  const component = componentIn(c, route);
  const { client } = await route.connect();
  const runId = runIdIn(c);
  if (runId === undefined) return c.json({ cancelled: false });
  const output = await client.peekRun(runId);
  // A run of another component (or user) is not this route's to cancel; an unknown id records the cancel (before
  // start). Both answer `false`, so the answer says nothing of other users' runs.
  if (output && !owns(c, route, output)) return c.json({ cancelled: false });
  const intent = { kind: route.kind, componentId: component.id };
  const { userId } = callerIn(c);
  const reason = `cancelled over kern's HTTP API${userId !== undefined ? ` by user ${userId}` : ''}`;
  return c.json({ cancelled: await client.cancelRun(runId, { intent, reason }) });
}

/** `…/resume` and `…/events`: a run's events after `lastEventIndex`, with the framework's meta frames. */
async function resume(
  c: Context,
  route: RunRoute,
  lastEventIndex: number | undefined,
  sessionId: string | undefined,
): Promise<Response> {
  componentIn(c, route);
  const deps = await route.connect();
  const runId = c.req.param('runId') ?? '';
  return sse(c, async (stream, signal) => {
    const items: AsyncIterable<ResumeItem> | ResumeItem[] = RunKey.safeParse(runId).success
      ? resumeRun(deps, {
          runId,
          lastEventIndex,
          owns: (output) => owns(c, route, output, sessionId),
          kindWord: route.kind,
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
}

/** The component named in the path, or the framework's 404. */
function componentIn(c: Context, route: RunRoute) {
  const component = route.catalog.find(route.kind, c.req.param('componentId') ?? '');
  if (!component) throw new NotFound(RUN_KINDS[route.kind].notFound);
  return component;
}

/**
 * True when the output is a run of the component in the path (and of the session, when one is given) that the
 * caller may see (under JWT, the caller's own).
 */
function owns(c: Context, route: RunRoute, output: AnyRunOutput, sessionId?: string): boolean {
  return (
    output.kind === route.kind &&
    ownedBy(callerIn(c), output) &&
    componentIdentityOf(output).id === c.req.param('componentId') &&
    (sessionId === undefined || sessionId === '' || output.sessionId === sessionId)
  );
}

/** The run id in the path, or `undefined` for one no run can have (too long, spaces around it, control characters). */
function runIdIn(c: Context): string | undefined {
  const runId = c.req.param('runId') ?? '';
  return RunKey.safeParse(runId).success ? runId : undefined;
}
