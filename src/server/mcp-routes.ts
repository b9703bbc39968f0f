import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Hono } from 'hono';
import { z } from 'zod';
import { RUN_KINDS, RUN_KIND_LIST, type RunKind } from '../shared/kinds';

/**
 * kern's agents, teams and workflows as an MCP server (Streamable HTTP at `/mcp`), with the tools the framework's
 * server offers there: `get_agentos_config`, `run_agent`, `run_team`, `run_workflow`, `continue_run`, `cancel_run`,
 * `get_sessions`, `get_session_runs`, and kern's `get_run`.
 *
 * Each tool is a request to the server's own HTTP routes, made with the MCP request's credentials: who may do what,
 * whose runs and sessions a caller sees, and every answer's shape are the routes' own, and a run started here is a kern
 * run like any other (it survives the MCP client going away, and the server's restart). The server keeps no MCP
 * session (stateless mode), so several servers can answer one client behind a load balancer.
 */

type Rest = (
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown>,
  signal?: AbortSignal,
) => Promise<unknown>;
type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A route's refusal, as an MCP tool error: the route's `detail` (its problems, for a 422). */
class RouteRefused extends Error {}

/** The headers of the MCP request that say who is asking; forwarded to the routes each tool calls. */
const CREDENTIALS = ['authorization', 'cookie'];

/** How `/mcp` is served (`createServer({ mcp })`). */
export interface McpOptions {
  /**
   * How long a run tool (`run_agent`, …, `continue_run`) waits for its run to end or pause before it answers with the
   * run as it stands (`RUNNING`, and its `run_id` for `get_run`): below MCP clients' own timeouts (the SDK's is
   * 60 s). Default 45 s.
   */
  maxWaitMs?: number;
}

const DEFAULT_MAX_WAIT_MS = 45_000;

/** The most JSON-RPC messages one POST may carry: a batch of tool calls is that many runs. */
const MAX_BATCH = 10;

/** The answer at the MCP route: `app` is the server's Hono app, whose routes the tools call. */
export function mcpRoutes(app: Hono, version: string, options: McpOptions = {}): Hono {
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const routes = new Hono();
  // Stateless: no stream of server-sent messages to open (GET) and no session to end (DELETE).
  routes.on(['GET', 'DELETE'], '/', (c) =>
    c.json({ detail: 'This MCP server is stateless: send JSON-RPC requests with POST' }, 405, { allow: 'POST' }),
  );
  routes.post('/', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(
        { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON' }, id: null },
        400,
      );
    }
    if (Array.isArray(body) && body.length > MAX_BATCH) {
      const message = `A batch holds at most ${MAX_BATCH} messages`;
      return c.json({ jsonrpc: '2.0', error: { code: -32600, message }, id: null }, 400);
    }
    const credentials = new Headers();
    for (const name of CREDENTIALS) {
      const value = c.req.header(name);
      if (value !== undefined) credentials.set(name, value);
    }
    const gone = c.req.raw.signal;
    const rest: Rest = async (method, path, body, signal) => {
      const headers = new Headers(credentials);
      if (body) headers.set('content-type', 'application/json');
      const response = await app.request(path, {
        method,
        headers,
        ...(body ? { body: JSON.stringify(body) } : {}),
        // The wait was cut short, or the MCP client went away: stop waiting (the run goes on; `get_run` finds it).
        signal: signal ? AbortSignal.any([signal, gone]) : gone,
      });
      const answer = (await response.json()) as unknown;
      if (!response.ok) throw new RouteRefused(refusalText(answer, response.status));
      return answer;
    };
    const { McpServer, WebStandardStreamableHTTPServerTransport } = mcpServerSdk();
    const server = new McpServer({ name: 'kern', version }, { capabilities: { tools: {} } });
    registerTools(server, rest, maxWaitMs);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, { parsedBody: body });
  });
  return routes;
}

/**
 * A run tool's wait: the route's answer when the run ends or pauses within `maxWaitMs`, else the run as it stands then
 * (read with `GET …/runs/{run_id}`), so that no call outlasts the client's timeout. (A client's cancel of the call does
 * not reach this server, which keeps no MCP session: the bound, or the connection dropping, ends the wait.)
 */
async function bounded(
  rest: Rest,
  maxWaitMs: number,
  wait: (signal: AbortSignal) => Promise<unknown>,
  runNow: string,
): Promise<unknown> {
  const cutShort = new AbortController();
  const timer = setTimeout(() => cutShort.abort(), maxWaitMs);
  try {
    return await wait(cutShort.signal);
  } catch (err) {
    if (!cutShort.signal.aborted) throw err;
    return rest('GET', runNow);
  } finally {
    clearTimeout(timer);
  }
}

/** What a route's error answer says: its `detail`, or each field problem of a 422. */
function refusalText(answer: unknown, status: number): string {
  const detail = (answer as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((problem: { loc?: unknown[]; msg?: string }) => `${(problem.loc ?? []).slice(1).join('.')}: ${problem.msg}`)
      .join('; ');
  }
  return `the request failed (HTTP ${status})`;
}

/** An id that is one segment of a route's path: not empty, not `.` or `..` (which a URL would resolve away). */
const id = () => z.string().regex(/^(?!\.{1,2}$)[^\s]+$/, 'an id: no spaces, not . or ..');

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
const RUNS = { readOnlyHint: false, destructiveHint: true, openWorldHint: true } as const;

const message = z.string().describe('The request or message to send to the agent, team, or workflow.');
const userId = z
  .string()
  .optional()
  .describe('Optional user ID to associate with the run. Authenticated deployments use the caller’s identity.');
const sessionId = id()
  .optional()
  .describe('Existing session ID to continue the same conversation. Omit to start a new session.');
const background = z
  .boolean()
  .optional()
  .describe(
    'Start the run and answer at once with its run_id (status PENDING); read it later with get_run. Default: wait ' +
      'for the run to end or pause.',
  );
/** The component a run belongs to: one of `agent_id`, `team_id`, `workflow_id`, as the run tools' results carry. */
const owner = {
  agent_id: id().optional().describe('ID of the agent that owns the run.'),
  team_id: id().optional().describe('ID of the team that owns the run.'),
  workflow_id: id().optional().describe('ID of the workflow that owns the run.'),
};

/**
 * The MCP SDK's server, loaded at the first MCP request: its schemas take about 120 ms to load, which a server (and
 * every backend that imports `kern/server`) should not spend at start for a route it may never be asked.
 */
function mcpServerSdk() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    ...(require('@modelcontextprotocol/sdk/server/mcp.js') as typeof import('@modelcontextprotocol/sdk/server/mcp.js')),
    ...(require('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js') as typeof import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

function registerTools(server: McpServer, rest: Rest, maxWaitMs: number): void {
  server.registerTool(
    'get_agentos_config',
    {
      title: 'Get kern Configuration',
      description:
        'Discover this server: the agents, teams, and workflows available to run (with their ids and descriptions). ' +
        'Call this first to learn what you can operate.',
      annotations: { ...READ_ONLY, idempotentHint: true },
    },
    async () => {
      const config = (await rest('GET', '/config')) as Record<string, unknown>;
      const brief = (list: unknown) =>
        (list as Array<Record<string, unknown>>).map(({ id, name, description }) => ({ id, name, description }));
      return structured({
        os_id: config.os_id,
        description: config.description,
        agents: brief(config.agents),
        teams: brief(config.teams),
        workflows: brief(config.workflows),
      });
    },
  );

  for (const kind of RUN_KIND_LIST) {
    const idField = `${kind}_id`;
    server.registerTool(
      `run_${kind}`,
      {
        title: `Run ${kind[0]!.toUpperCase()}${kind.slice(1)}`,
        description:
          `Run ${kind === 'agent' ? 'an agent' : `a ${kind}`} with a message and get its response. If the result ` +
          'status is PAUSED, resolve the returned requirements and call continue_run. The run goes on if this call ' +
          'is cancelled or the connection drops: its run_id (in the first progress notification, when asked for) ' +
          'reads it with get_run.',
        inputSchema: {
          [idField]: id().describe(`ID of the ${kind} to run, returned by get_agentos_config.`),
          message,
          user_id: userId,
          session_id: sessionId,
          background,
        },
        annotations: RUNS,
      },
      async (args: Record<string, unknown>, extra: Extra) => {
        const runId = randomUUID();
        const componentId = String(args[idField]);
        // Before the start, so a client that loses the call still has the id (a refused start answers an error).
        await progress(extra, `Starting run ${runId}`);
        const start = (signal?: AbortSignal) =>
          rest(
            'POST',
            `/${RUN_KINDS[kind].route}/${encodeURIComponent(componentId)}/runs`,
            {
              message: args.message,
              run_id: runId,
              stream: false,
              background: args.background === true,
              ...optional({ user_id: args.user_id, session_id: args.session_id }),
            },
            signal,
          );
        const answer =
          args.background === true
            ? await start()
            : await bounded(rest, maxWaitMs, start, runPath(kind, componentId, runId));
        return runResult(kind, componentId, answer);
      },
    );
  }

  server.registerTool(
    'get_run',
    {
      title: 'Get Run',
      description:
        'Read a run by its run_id: its status (PENDING, RUNNING, COMPLETED, PAUSED, CANCELLED, ERROR) and, once it ' +
        'has one, its response. Name the component that owns it (agent_id, team_id or workflow_id).',
      inputSchema: {
        run_id: id().describe('ID of the run, returned by a run tool.'),
        session_id: id().optional().describe('ID of the session containing the run.'),
        ...owner,
      },
      annotations: { ...READ_ONLY, idempotentHint: true },
    },
    async (args) => {
      const [kind, componentId] = ownerOf(args);
      const query = args.session_id ? `?session_id=${encodeURIComponent(args.session_id)}` : '';
      const answer = await rest('GET', `${runPath(kind, componentId, args.run_id)}${query}`);
      return runResult(kind, componentId, answer);
    },
  );

  server.registerTool(
    'continue_run',
    {
      title: 'Continue Paused Run',
      description:
        'Resume a PAUSED run after resolving its requirements (human-in-the-loop). The paused result carries the ' +
        'run_id, session_id, owning component id, and the unresolved requirements.',
      inputSchema: {
        run_id: id().describe('ID of the paused run, returned in the PAUSED result.'),
        session_id: id().describe('ID of the session containing the paused run, returned in the PAUSED result.'),
        ...owner,
        requirements: z
          .array(z.record(z.string(), z.unknown()))
          .optional()
          .describe(
            'Copy the requirements from the PAUSED result and fill in each requested resolution, such as ' +
              'confirmation=true.',
          ),
        user_id: userId,
        background,
      },
      annotations: RUNS,
    },
    async (args) => {
      const [kind, componentId] = ownerOf(args);
      // Without answers, the HTTP route would fork an ended run: this tool only resumes a paused one, as the framework's.
      if (!args.requirements?.length) {
        throw new RouteRefused('continue_run needs the requirements of the PAUSED result, each with its resolution');
      }
      const path = runPath(kind, componentId, args.run_id);
      const resume = (signal?: AbortSignal) =>
        rest(
          'POST',
          `${path}/continue`,
          {
            session_id: args.session_id,
            requirements: JSON.stringify(args.requirements),
            stream: false,
            background: args.background === true,
            ...optional({ user_id: args.user_id }),
          },
          signal,
        );
      const answer = args.background === true ? await resume() : await bounded(rest, maxWaitMs, resume, path);
      return runResult(kind, componentId, answer);
    },
  );

  server.registerTool(
    'cancel_run',
    {
      title: 'Cancel Run',
      description:
        'Request cancellation of a run. Irreversible: the run stops and is marked CANCELLED (if it has not started ' +
        'yet, the cancel is recorded and applied when it does).',
      inputSchema: {
        run_id: id().describe('ID of the run to cancel, returned by a run tool or get_session_runs.'),
        session_id: id().optional().describe('ID of the session containing the run.'),
        ...owner,
      },
      annotations: { ...RUNS, idempotentHint: true },
    },
    async (args) => {
      const [kind, componentId] = ownerOf(args);
      const path = runPath(kind, componentId, args.run_id);
      const { cancelled } = (await rest('POST', `${path}/cancel`)) as { cancelled: boolean };
      if (cancelled) return text(`Run ${args.run_id} cancellation requested`);
      // Not running: ended, or not started yet (the route recorded the cancel), or another's (not found, as an unknown
      // one: nothing is said of it, and its id is taken).
      const run = (await rest('GET', path).catch((err: unknown) => {
        if (err instanceof RouteRefused) return null;
        throw err;
      })) as { status: string } | null;
      return text(
        run
          ? `Run ${args.run_id} has already ended (${run.status}): nothing to cancel`
          : `Run ${args.run_id} is not running: nothing to cancel now. A run of this ${kind} started later with ` +
              'this id ends CANCELLED.',
      );
    },
  );

  server.registerTool(
    'get_sessions',
    {
      title: 'List Sessions',
      description:
        'List past sessions (conversations), newest first. Use a returned session_id with the run tools to ' +
        'continue that conversation, or with get_session_runs to read its history.',
      inputSchema: {
        session_type: z
          .enum(['agent', 'team', 'workflow'])
          .optional()
          .describe('Type of component that created the sessions. Defaults to agent.'),
        component_id: id().optional().describe('Only return sessions created by this agent, team, or workflow.'),
        user_id: z.string().optional().describe('Only return sessions belonging to this user.'),
        limit: z.number().int().min(1).optional().describe('Maximum number of sessions to return per page.'),
        page: z.number().int().min(1).optional().describe('One-based page number to return.'),
        sort_by: z
          .enum(['created_at', 'updated_at'])
          .optional()
          .describe('Timestamp sessions are sorted by, newest first.'),
      },
      annotations: READ_ONLY,
    },
    async (args) => {
      const query = new URLSearchParams({ type: args.session_type ?? 'agent' });
      for (const [key, value] of Object.entries(args)) {
        if (key !== 'session_type' && value !== undefined) query.set(key, String(value));
      }
      return structured((await rest('GET', `/sessions?${query}`)) as Record<string, unknown>);
    },
  );

  server.registerTool(
    'get_session_runs',
    {
      title: 'Read Session History',
      description:
        'Read a session’s conversation history: each run’s input and response content with its run_id, status, and ' +
        'timestamp, oldest first. With run_id, that run with its full details.',
      inputSchema: {
        session_id: id().describe('ID of the session to read, returned by get_sessions or a run result.'),
        run_id: id().optional().describe('Return this run with its full stored details.'),
        session_type: z.enum(['agent', 'team', 'workflow']).optional().describe('Type of session to read.'),
      },
      annotations: READ_ONLY,
    },
    async (args) => {
      const session = `/sessions/${encodeURIComponent(args.session_id)}`;
      const query = args.session_type ? `?type=${args.session_type}` : '';
      if (args.run_id !== undefined) {
        const run = await rest('GET', `${session}/runs/${encodeURIComponent(args.run_id)}${query}`);
        return structured({ result: [run] });
      }
      const runs = (await rest('GET', `${session}/runs${query}`)) as Array<Record<string, unknown>>;
      return structured({ result: runs.map(historyOf) });
    },
  );
}

/** The fields of a session's run that a history shows (the framework's), not its transcript. */
const HISTORY_FIELDS = ['run_id', 'run_input', 'content', 'status', 'created_at', 'agent_id', 'team_id', 'workflow_id'];

function historyOf(run: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(HISTORY_FIELDS.filter((key) => run[key] != null).map((key) => [key, run[key]]));
}

/**
 * A run tool's result, as the framework's: the answer as text, and `structuredContent` with the run's ids, status,
 * answer, owning component, and, when paused, the requirements `continue_run` answers.
 */
function runResult(kind: RunKind, componentId: string, answer: unknown): CallToolResult {
  const run = answer as Record<string, unknown>;
  const status = String(run.status);
  const requirements = status === 'PAUSED' ? (run.requirements ?? run.step_requirements) : undefined;
  const answerText =
    typeof run.content === 'string' ? run.content : run.content == null ? '' : JSON.stringify(run.content);
  const said =
    answerText ||
    (status === 'PENDING'
      ? `Run ${String(run.run_id)} started in the background: read it with get_run.`
      : status === 'RUNNING'
        ? `Run ${String(run.run_id)} is still running: read it with get_run.`
        : status === 'PAUSED'
          ? `Run paused: ${Array.isArray(requirements) ? requirements.length : 0} requirement(s) awaiting resolution.`
          : `Run ${String(run.run_id)} is ${status}.`);
  return {
    content: [{ type: 'text', text: said }],
    structuredContent: {
      run_id: run.run_id,
      session_id: run.session_id,
      status,
      content: said,
      [`${kind}_id`]: componentId,
      ...(requirements !== undefined ? { requirements } : {}),
    },
  };
}

/** The run's component named by exactly one of `agent_id`, `team_id`, `workflow_id`; else a tool error saying so. */
function ownerOf(args: Partial<Record<'agent_id' | 'team_id' | 'workflow_id', string>>): [RunKind, string] {
  const named = RUN_KIND_LIST.filter((kind) => args[`${kind}_id`] !== undefined);
  if (named.length !== 1) {
    throw new RouteRefused('Name the component that owns the run: exactly one of agent_id, team_id, workflow_id');
  }
  const kind = named[0]!;
  return [kind, args[`${kind}_id`]!];
}

function runPath(kind: RunKind, componentId: string, runId: string): string {
  return `/${RUN_KINDS[kind].route}/${encodeURIComponent(componentId)}/runs/${encodeURIComponent(runId)}`;
}

/** A progress notification, when the client asked for them (by sending a progress token). */
async function progress(extra: Extra, note: string): Promise<void> {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return;
  await extra.sendNotification({
    method: 'notifications/progress',
    params: { progressToken, progress: 0, message: note },
  });
}

function structured(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

function text(said: string): CallToolResult {
  return { content: [{ type: 'text', text: said }] };
}

function optional(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
