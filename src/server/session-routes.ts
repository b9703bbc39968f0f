import { Hono, type Context } from 'hono';
import type { Session, SessionInfo, SessionListFilter } from '../client/kern-client';
import { ListedKey } from '../client/run-options';
import type { AnyRunOutput } from '../shared/run-output';
import { RUN_KIND_OF, type Catalog, type RouteKind } from './catalog';
import { InvalidRequest, optionalInteger } from './run-request';
import type { ServerDeps } from './run-routes';
import { NotFound } from './run-routes';
import { wireOutput, type WireObject } from './wire';

/** The framework's session types (`?type=`), and the route kind whose components each lists. */
const ROUTE_KIND_OF_TYPE: Readonly<Record<string, RouteKind>> = {
  agent: 'agents',
  team: 'teams',
  workflow: 'workflows',
};

/** The most runs `GET /sessions/{id}/runs` answers with: the session's newest, oldest first. */
const MAX_SESSION_RUNS = 1_000;

/**
 * The framework's session routes: `GET /sessions` (paged, of one type), `GET /sessions/{id}` and
 * `GET /sessions/{id}/runs`. Sessions and their runs come from Temporal visibility; a session's state (on
 * `/sessions/{id}`) from its workflow, which a worker answers for.
 */
export function sessionRoutes(catalog: Catalog, connect: () => Promise<ServerDeps>): Hono {
  const routes = new Hono();

  routes.get('/', async (c) => {
    const type = c.req.query('type') ?? 'agent';
    const kind = ROUTE_KIND_OF_TYPE[type];
    if (!kind) {
      throw new InvalidRequest([
        { type: 'enum', loc: ['query', 'type'], msg: "Input should be 'agent', 'team' or 'workflow'", input: type },
      ]);
    }
    const limit = optionalInteger(c.req.query('limit'), ['query', 'limit']) ?? 20;
    const page = optionalInteger(c.req.query('page'), ['query', 'page']) ?? 1;
    if (limit < 1 || limit > 100) throw problem('limit', 'Input should be between 1 and 100', limit);
    if (page < 1) throw problem('page', 'Input should be greater than or equal to 1', page);
    const userId = listedKey(c, 'user_id');
    const componentId = c.req.query('component_id') || undefined;
    // Sessions of this type are those whose first run was one of this server's components of the kind.
    const ids = catalog.ids(kind).filter((id) => componentId === undefined || id === componentId);
    const meta = (totalCount: number) => ({
      page,
      limit,
      total_pages: Math.ceil(totalCount / limit),
      total_count: totalCount,
    });
    if (ids.length === 0) return c.json({ data: [], meta: meta(0) });
    const { client } = await connect();
    const filter: SessionListFilter = { componentId: ids, ...(userId !== undefined ? { userId } : {}), limit };
    const [totalCount, sessions] = await Promise.all([
      client.countSessions(filter),
      sessionsPage(client, filter, page),
    ]);
    return c.json({ data: sessions.map((session) => wireSession(session, RUN_KIND_OF[kind])), meta: meta(totalCount) });
  });

  routes.get('/:sessionId', async (c) => {
    const { client } = await connect();
    const session = await client.getSession(c.req.param('sessionId'));
    if (!session) throw new NotFound(sessionNotFound(c));
    return c.json(wireSessionDetail(session));
  });

  routes.get('/:sessionId/runs', async (c) => {
    const { client } = await connect();
    const sessionId = c.req.param('sessionId');
    if (!(await client.getSessionInfo(sessionId))) throw new NotFound(sessionNotFound(c));
    const runs: AnyRunOutput[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.listRuns({ sessionId, limit: 100, ...(pageToken ? { pageToken } : {}) });
      runs.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken && runs.length < MAX_SESSION_RUNS);
    return c.json(runs.slice(0, MAX_SESSION_RUNS).reverse().map(wireOutput));
  });

  return routes;
}

/** Page `page` (from 1) of the sessions `filter` lists: visibility pages by token, so the earlier ones are read too. */
async function sessionsPage(client: ServerDeps['client'], filter: SessionListFilter, page: number) {
  let pageToken: string | undefined;
  for (let n = 1; ; n++) {
    const found = await client.listSessions({ ...filter, ...(pageToken ? { pageToken } : {}) });
    if (n === page) return found.sessions;
    if (!found.nextPageToken) return [];
    pageToken = found.nextPageToken;
  }
}

/** A session as the framework lists it (`SessionSchema`), with kern's `user_id`, component id and `run_count`. */
function wireSession(session: SessionInfo, kind: string): WireObject {
  return {
    session_id: session.sessionId,
    session_name: session.name ?? session.sessionId,
    // Reading each session's state asks a worker; `GET /sessions/{id}` has it.
    session_state: null,
    ...(session.userId !== undefined ? { user_id: session.userId } : {}),
    ...(session.componentId !== undefined ? { [`${kind}_id`]: session.componentId } : {}),
    run_count: session.runCount,
    created_at: isoSeconds(session.createdAt),
    updated_at: isoSeconds(session.updatedAt),
  };
}

/** A session as the framework's `GET /sessions/{id}` answers, its conversation as `chat_history`. */
function wireSessionDetail(session: Session): WireObject {
  const first = session.runs[0];
  const chatHistory = session.runs.flatMap((run): WireObject[] => [
    { role: 'user', content: run.input },
    ...(run.content !== null ? [{ role: 'assistant', content: run.content }] : []),
  ]);
  return {
    session_id: session.sessionId,
    session_name: session.name ?? session.sessionId,
    user_id: session.userId ?? null,
    session_state: session.sessionState as WireObject,
    ...(first && session.componentId !== undefined ? { [`${first.kind}_id`]: session.componentId } : {}),
    total_tokens: session.runs.reduce((sum, run) => sum + run.metrics.totalTokens, 0),
    chat_history: chatHistory,
    created_at: isoSeconds(session.createdAt),
    updated_at: isoSeconds(session.updatedAt),
  };
}

/** `2026-11-21T11:46:18Z`: the framework's datetimes, whole seconds in UTC. */
function isoSeconds(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

function sessionNotFound(c: Context): string {
  return `Session with id '${c.req.param('sessionId')}' not found`;
}

/** An optional id query field that visibility can match, or the framework's 422. */
function listedKey(c: Context, name: string): string | undefined {
  const value = c.req.query(name) || undefined;
  if (value === undefined) return undefined;
  const parsed = ListedKey.safeParse(value);
  if (!parsed.success) throw problem(name, parsed.error.issues[0]?.message ?? 'invalid', value);
  return value;
}

function problem(name: string, msg: string, input: unknown): InvalidRequest {
  return new InvalidRequest([
    { type: 'value_error', loc: ['query', name], msg, input: typeof input === 'string' ? input : null },
  ]);
}
