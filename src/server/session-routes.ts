import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Session, SessionInfo, SessionListFilter } from '../client/kern-client';
import { ListedKey, RunKey } from '../client/run-options';
import { RUN_KIND_LIST, isRunKind, type RunKind } from '../shared/kinds';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import { callerIn, ownedBy, startedAs } from './auth';
import type { Catalog } from './catalog';
import type { ServerDeps } from './deps';
import { BadRequest, InvalidRequest, NotFound, invalidFields } from './http-errors';
import { optionalInteger, readBodyFields, rejectUnknownFields } from './run-request';
import { wireRunPreview, wireSessionRun, type WireObject } from './wire';

/** The most runs `GET /sessions/{id}/runs` answers with: the session's newest, oldest first. */
const MAX_SESSION_RUNS = 1_000;

/** The most sessions one page of `GET /sessions` holds (the framework sets no bound; every session costs reads). */
const MAX_PAGE_LIMIT = 100;

/** A session ordering the framework's client may ask for, and kern can honour: visibility lists newest first. */
const HONOURED_SORT = { sort_by: ['created_at', 'updated_at'], sort_order: ['desc'] } as const;

/** What a session route knows besides its request: the app (whose components give sessions their type) and Temporal. */
interface SessionRoute {
  catalog: Catalog;
  connect: () => Promise<ServerDeps>;
}

/**
 * The framework's session routes: `GET /sessions` (paged, of one type or all), `GET /sessions/{id}`,
 * `GET /sessions/{id}/runs` and `GET /sessions/{id}/runs/{run_id}`, with the bodies its schemas give (`null` fields left out, as there). Sessions and their
 * runs come from Temporal visibility; a session's state (on `/sessions/{id}`) from its workflow, which a worker
 * answers for. `db_id` and `table` name the framework's databases; kern has one store, so they change nothing.
 */
export function sessionRoutes(catalog: Catalog, connect: () => Promise<ServerDeps>): Hono {
  const route: SessionRoute = { catalog, connect };
  return new Hono()
    .get('/', (c) => listSessions(c, route))
    .get('/:sessionId', (c) => getSession(c, route))
    .get('/:sessionId/runs', (c) => listSessionRuns(c, route, wireSessionRun))
    .get('/:sessionId/run-previews', (c) => listSessionRuns(c, route, wireRunPreview))
    .get('/:sessionId/runs/:runId', (c) => getSessionRun(c, route))
    .post('/', (c) => createSession(c, route))
    .post('/:sessionId/rename', (c) => changeSession(c, route, RenameRequest))
    .patch('/:sessionId', (c) => changeSession(c, route, UpdateRequest))
    .delete('/', (c) => deleteSessions(c, route))
    .delete('/:sessionId', async (c) => {
      await deleteOwnSession(c, route, c.req.param('sessionId') ?? '');
      return c.body(null, 204);
    });
}

/** `GET /sessions`: a page of sessions, of one type (`?type=`), component or user, newest first. */
async function listSessions(c: Context, { catalog, connect }: SessionRoute): Promise<Response> {
  const type = sessionType(c);
  const limit = optionalInteger(c.req.query('limit'), ['query', 'limit']) ?? 20;
  const page = optionalInteger(c.req.query('page'), ['query', 'page']) ?? 1;
  if (limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw problem('limit', `Input should be between 1 and ${MAX_PAGE_LIMIT}`, c.req.query('limit'));
  }
  if (page < 0) throw problem('page', 'Input should be greater than or equal to 0', c.req.query('page'));
  for (const [field, honoured] of Object.entries(HONOURED_SORT)) {
    const value = c.req.query(field);
    if (value !== undefined && !(honoured as readonly string[]).includes(value)) {
      throw problem(field, `kern lists sessions newest first; ${field} may be ${honoured.join(' or ')}`, value);
    }
  }
  if (c.req.query('session_name') !== undefined) {
    throw problem('session_name', 'filtering sessions by name is not supported by kern', c.req.query('session_name'));
  }
  // Bound to a user (JWT): that user's sessions, whatever `user_id` says.
  const userId = callerIn(c).owner ?? listedKey(c, 'user_id');
  const componentId = c.req.query('component_id') || undefined;
  // Sessions of a type are those whose first run was one of this server's components of that kind.
  const ids = type === undefined ? undefined : catalog.ids(type);
  const componentIds =
    ids === undefined ? componentId : ids.filter((id) => componentId === undefined || id === componentId);
  const meta = (totalCount: number) => ({
    page,
    limit,
    total_pages: Math.ceil(totalCount / limit),
    total_count: totalCount,
  });
  if (Array.isArray(componentIds) && componentIds.length === 0) return c.json({ data: [], meta: meta(0) });
  const { client } = await connect();
  const filter: SessionListFilter = {
    ...(componentIds !== undefined ? { componentId: componentIds } : {}),
    ...(userId !== undefined ? { userId } : {}),
    limit,
  };
  const [totalCount, { sessions }] = await Promise.all([
    client.countSessions(filter),
    client.listSessions({ ...filter, offset: (Math.max(page, 1) - 1) * limit }),
  ]);
  return c.json({
    data: sessions.map((session) => wireSession(session, kindOf(catalog, session.componentId))),
    meta: meta(totalCount),
  });
}

/** `GET /sessions/{id}`: a session with its state and conversation, or 404. */
async function getSession(c: Context, { catalog, connect }: SessionRoute): Promise<Response> {
  const type = sessionType(c);
  const { client } = await connect();
  const sessionId = c.req.param('sessionId') ?? '';
  const caller = callerIn(c);
  // Bound to a user: whose it is comes from visibility first, so another user's session costs no worker a query
  // and answers as one that does not exist.
  const readable =
    ListedKey.safeParse(sessionId).success &&
    (caller.owner === undefined || ownedBy(caller, await client.getSessionInfo(sessionId)));
  const session = readable ? await client.getSession(sessionId) : null;
  const kind = kindOf(catalog, session?.componentId) ?? session?.runs[0]?.kind;
  if (!session || !ownedBy(caller, session) || (type !== undefined && kind !== type)) {
    const typed = type === undefined ? '' : `${type[0]!.toUpperCase()}${type.slice(1)} `;
    throw new NotFound(`${typed}Session with id '${sessionId}' not found`);
  }
  return c.json(wireSessionDetail(session, kind));
}

/**
 * `GET /sessions/{id}/runs?status=&created_after=&created_before=`: the session's runs, oldest first; and
 * `GET /sessions/{id}/run-previews`, the same runs as the framework's short previews (what a sidebar polls).
 */
async function listSessionRuns(
  c: Context,
  { connect }: SessionRoute,
  wire: (run: AnyRunOutput) => WireObject,
): Promise<Response> {
  const sessionId = c.req.param('sessionId') ?? '';
  const statuses = c.req.queries('status')?.map((status) => status.toUpperCase());
  const known = new Set<string>(Object.values(RunStatus));
  const unknown = statuses?.filter((status) => !known.has(status)) ?? [];
  if (unknown.length > 0) {
    // The framework answers an unknown status with 400 and this detail.
    const valid = [...known].sort().map((status) => `'${status}'`);
    const listed = unknown.sort().map((status) => `'${status}'`);
    return c.json(
      { detail: `Invalid status value(s) [${listed.join(', ')}]; expected one of [${valid.join(', ')}]` },
      400,
    );
  }
  const after = optionalInteger(c.req.query('created_after'), ['query', 'created_after']);
  const before = optionalInteger(c.req.query('created_before'), ['query', 'created_before']);
  const { client } = await connect();
  const session = ListedKey.safeParse(sessionId).success ? await client.getSessionInfo(sessionId) : null;
  if (!session || !ownedBy(callerIn(c), session)) {
    throw new NotFound(`Session with ID ${sessionId} not found`);
  }
  const runs: AnyRunOutput[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.listRuns({ sessionId, limit: 100, ...(pageToken ? { pageToken } : {}) });
    runs.push(...page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken && runs.length < MAX_SESSION_RUNS);
  // Visibility follows a run's start by a moment: a session whose first run has just started has none listed yet. It
  // is not found until then, rather than found empty (the framework's chat UI would show an empty conversation).
  if (runs.length === 0) throw new NotFound(`Session with ID ${sessionId} not found`);
  // Oldest first, a team's members before the team, as the framework keeps them in the session. A member's run is
  // there once it has ended, as the framework records it; until then its team's run stands for it (the framework's
  // chat UI shows each listed run as a turn, and would show a member still answering as one that never ends).
  const listed = runs
    .slice(0, MAX_SESSION_RUNS)
    .reverse()
    .flatMap(withMembers)
    .filter((run) => statuses !== undefined || run.parentRunId === undefined || isTerminalStatus(run.status));
  const wanted = listed.filter((run) => {
    const created = Date.parse(run.createdAt) / 1000;
    return (
      (statuses === undefined || statuses.includes(run.status)) &&
      (after === undefined || created >= after) &&
      (before === undefined || created <= before)
    );
  });
  return c.json(wanted.map(wire));
}

/** A run, after its members' runs (theirs too) when it is a team's. */
function withMembers(run: AnyRunOutput): AnyRunOutput[] {
  return run.kind === 'team' ? [...run.memberResponses.flatMap(withMembers), run] : [run];
}

/** `GET /sessions/{id}/runs/{run_id}`: one run of the session (a member's or a step's too), or the framework's 404s. */
async function getSessionRun(c: Context, { connect }: SessionRoute): Promise<Response> {
  const sessionId = c.req.param('sessionId') ?? '';
  const runId = c.req.param('runId') ?? '';
  const { client } = await connect();
  const session = ListedKey.safeParse(sessionId).success ? await client.getSessionInfo(sessionId) : null;
  if (!session || !ownedBy(callerIn(c), session)) {
    throw new NotFound(`Session with ID ${sessionId} not found`);
  }
  const output = RunKey.safeParse(runId).success ? await client.getRunOutput(runId) : null;
  if (!output || output.sessionId !== sessionId) {
    throw new NotFound(`Run with ID ${runId} not found in session ${sessionId}`);
  }
  return c.json(wireSessionRun(output));
}

/** A JSON object field of a session body: a session's state or metadata. */
const JsonObject = z.record(z.string(), z.unknown());

/** The framework's `POST /sessions` body (`CreateSessionRequest`). */
const CreateRequest = z.object({
  session_id: ListedKey.nullish(),
  session_name: z.string().nullish(),
  session_state: JsonObject.nullish(),
  metadata: JsonObject.nullish(),
  user_id: ListedKey.nullish(),
  agent_id: ListedKey.nullish(),
  team_id: ListedKey.nullish(),
  workflow_id: ListedKey.nullish(),
});

/** The framework's rename body: the new name, required. */
const RenameRequest = z.object({ session_name: z.string() });

/** The framework's `PATCH /sessions/{id}` body (`UpdateSessionRequest`), but `summary`: kern keeps no summaries. */
const UpdateRequest = z.object({
  session_name: z.string().nullish(),
  session_state: JsonObject.nullish(),
  metadata: JsonObject.nullish(),
});

const UNSUPPORTED_SESSION_FIELDS = { summary: 'kern keeps no session summaries' };

/**
 * A session body's fields, checked against `schema`: the framework's 422 list for what is missing or wrong. A field
 * sent as `null` is one not sent, as the framework's client sends every field of its request models.
 */
async function sessionBody<T extends z.ZodObject>(c: Context, schema: T): Promise<NonNullFields<z.infer<T>>> {
  const given = await readBodyFields(c);
  const fields = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== null));
  rejectUnknownFields(fields, schema.shape, UNSUPPORTED_SESSION_FIELDS);
  const parsed = schema.safeParse(fields);
  if (parsed.success) return parsed.data as NonNullFields<z.infer<T>>;
  throw invalidFields(parsed.error.issues, 'body', fields);
}

/** A body's fields with `null` taken as absent. */
type NonNullFields<T> = { [K in keyof T]: Exclude<T[K], null> };

/** `POST /sessions[?type=]`: a session made before its runs, as the framework's `create_session` answers (201). */
async function createSession(c: Context, { catalog, connect }: SessionRoute): Promise<Response> {
  const type = sessionType(c) ?? 'agent';
  const body = await sessionBody(c, CreateRequest);
  const { client } = await connect();
  const caller = callerIn(c);
  const { userId } = startedAs(caller, { userId: body.user_id });
  const componentId = body.agent_id ?? body.team_id ?? body.workflow_id;
  const session = await client.createSession({
    ...(body.session_id !== undefined ? { sessionId: body.session_id } : {}),
    ...(userId !== undefined ? { userId } : {}),
    ...(componentId !== undefined ? { componentId } : {}),
    ...(body.session_name !== undefined ? { name: body.session_name } : {}),
    ...(body.session_state !== undefined ? { sessionState: body.session_state } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
  });
  return c.json(wireSessionDetail(session, kindOf(catalog, session.componentId) ?? type), 201);
}

/** `POST /sessions/{id}/rename` and `PATCH /sessions/{id}`: the session as it then is, or the framework's 404. */
async function changeSession(
  c: Context,
  { catalog, connect }: SessionRoute,
  schema: typeof RenameRequest | typeof UpdateRequest,
): Promise<Response> {
  const sessionId = c.req.param('sessionId') ?? '';
  const body: NonNullFields<z.infer<typeof UpdateRequest>> = await sessionBody(c, schema);
  const notFound = () => new NotFound(`Session with id '${sessionId}' not found`);
  if (!ListedKey.safeParse(sessionId).success) throw notFound();
  const { client } = await connect();
  if (!ownedBy(callerIn(c), await client.getSessionInfo(sessionId))) throw notFound();
  const session = await client.updateSession(sessionId, {
    ...(body.session_name !== undefined ? { name: body.session_name } : {}),
    ...(body.session_state !== undefined ? { sessionState: body.session_state } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
  });
  if (!session) throw notFound();
  const kind = kindOf(catalog, session.componentId) ?? session.runs[0]?.kind ?? sessionType(c);
  return c.json(wireSessionDetail(session, kind));
}

/**
 * Deletes a session with its runs, when it is the caller's to delete (under JWT, one of the token user's). As on the
 * framework's server, a session that does not exist, or is another user's, is left as it is and the answer is the
 * same: there is nothing of the caller's by that id.
 */
async function deleteOwnSession(c: Context, { connect }: SessionRoute, sessionId: string): Promise<void> {
  if (!ListedKey.safeParse(sessionId).success) return;
  const { client } = await connect();
  const caller = callerIn(c);
  if (caller.owner !== undefined && !ownedBy(caller, await client.getSessionInfo(sessionId))) return;
  await client.deleteSession(sessionId);
}

/** The framework's `DELETE /sessions` body: the ids, and a type for each (which kern, with one store, does not need). */
const DeleteSessionsRequest = z.object({
  session_ids: z.array(z.string()).min(1),
  session_types: z.array(z.enum(RUN_KIND_LIST)).min(1),
});

/** `DELETE /sessions`: deletes several sessions with their runs, as `DELETE /sessions/{id}` deletes one. */
async function deleteSessions(c: Context, route: SessionRoute): Promise<Response> {
  const fields = await readBodyFields(c);
  const parsed = DeleteSessionsRequest.safeParse(fields);
  if (!parsed.success) throw invalidFields(parsed.error.issues, 'body', fields);
  const { session_ids: sessionIds, session_types: sessionTypes } = parsed.data;
  if (sessionIds.length !== sessionTypes.length) {
    throw new BadRequest('Session IDs and session types must have the same length');
  }
  for (const sessionId of new Set(sessionIds)) await deleteOwnSession(c, route, sessionId);
  return c.body(null, 204);
}

/** The session's kind: that of the server's component whose run created it, if it is one of this server's. */
function kindOf(catalog: Catalog, componentId: string | undefined): RunKind | undefined {
  if (componentId === undefined) return undefined;
  return RUN_KIND_LIST.find((kind) => catalog.ids(kind).includes(componentId));
}

/**
 * A session as the framework lists it (`SessionSchema`), with kern's `run_count`. `session_state` is left out, as the
 * framework leaves out what it does not have: reading each session's state asks a worker; `GET /sessions/{id}` has it.
 */
function wireSession(session: SessionInfo, kind: RunKind | undefined): WireObject {
  return {
    session_id: session.sessionId,
    session_name: session.name ?? '',
    created_at: isoSeconds(session.createdAt),
    updated_at: isoSeconds(session.updatedAt),
    ...(kind !== undefined ? { session_type: kind } : {}),
    ...(session.userId !== undefined ? { user_id: session.userId } : {}),
    ...(kind !== undefined && session.componentId !== undefined ? { [`${kind}_id`]: session.componentId } : {}),
    run_count: session.runCount,
  };
}

/** How the framework's session schema of one type differs from the others. */
interface SessionSchema {
  /** A second key that holds the session id. */
  idAlias?: string;
  /** It has the conversation (`chat_history`) and its token count. */
  conversation: boolean;
}

/** The framework's session schemas, by type: an agent's repeats its id; a workflow's has no conversation. */
const SESSION_SCHEMAS: Readonly<Record<RunKind, SessionSchema>> = {
  agent: { idAlias: 'agent_session_id', conversation: true },
  team: { conversation: true },
  workflow: { conversation: false },
};

/**
 * A session as the framework's `GET /sessions/{id}` answers (its agent, team or workflow session schema), with the
 * conversation as `chat_history`: each run's input and answer.
 */
function wireSessionDetail(session: Session, kind: RunKind | undefined): WireObject {
  const chatHistory = session.runs.flatMap((run): WireObject[] => [
    { role: 'user', content: run.input, from_history: false },
    ...(run.content !== null ? [{ role: 'assistant', content: run.content, from_history: false }] : []),
  ]);
  const schema: SessionSchema = kind === undefined ? { conversation: true } : SESSION_SCHEMAS[kind];
  return {
    ...(session.userId !== undefined ? { user_id: session.userId } : {}),
    ...(schema.idAlias ? { [schema.idAlias]: session.sessionId } : {}),
    session_id: session.sessionId,
    session_name: session.name ?? '',
    session_state: session.sessionState as WireObject,
    ...(session.metadata !== undefined ? { metadata: session.metadata as WireObject } : {}),
    ...(kind !== undefined && session.componentId !== undefined ? { [`${kind}_id`]: session.componentId } : {}),
    ...(schema.conversation
      ? {
          total_tokens: session.runs.reduce((sum, run) => sum + run.metrics.totalTokens, 0),
          chat_history: chatHistory,
        }
      : {}),
    created_at: isoSeconds(session.createdAt),
    updated_at: isoSeconds(session.updatedAt),
  };
}

/** `?type=`: `agent`, `team` or `workflow`, or absent (every type). */
function sessionType(c: Context): RunKind | undefined {
  const type = c.req.query('type');
  if (type === undefined || type === '') return undefined;
  if (isRunKind(type)) return type;
  throw new InvalidRequest([
    { type: 'enum', loc: ['query', 'type'], msg: "Input should be 'agent', 'team' or 'workflow'", input: type },
  ]);
}

/** `2026-11-21T11:46:18Z`: the framework's datetimes, whole seconds in UTC. */
function isoSeconds(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

/** An optional id query field that visibility can match, or the framework's 422. */
function listedKey(c: Context, name: string): string | undefined {
  const value = c.req.query(name) || undefined;
  if (value === undefined) return undefined;
  const parsed = ListedKey.safeParse(value);
  if (!parsed.success) throw problem(name, parsed.error.issues[0]?.message ?? 'invalid', value);
  return value;
}

function problem(name: string, msg: string, input: string | undefined): InvalidRequest {
  return new InvalidRequest([{ type: 'value_error', loc: ['query', name], msg, input: input ?? null }]);
}
