import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
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

/** The answer at the MCP route: `app` is the server's Hono app, whose routes the tools call. */
export function mcpRoutes(app: Hono, version: string): Hono {
  const routes = new Hono();
  routes.all('/', async (c) => {
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
        // The MCP client cancelled the call, or went away: stop waiting (a run goes on; `get_run` finds it).
        signal: signal ? AbortSignal.any([signal, gone]) : gone,
      });
      const answer = (await response.json()) as unknown;
      if (!response.ok) throw new RouteRefused(refusalText(answer, response.status));
      return answer;
    };
    const server = new McpServer({ name: 'kern', version }, { capabilities: { tools: {} } });
    registerTools(server, rest);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  return routes;
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

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
const RUNS = { readOnlyHint: false, destructiveHint: true, openWorldHint: true } as const;

const message = z.string().describe('The request or message to send to the agent, team, or workflow.');
const userId = z
  .string()
  .optional()
  .describe('Optional user ID to associate with the run. Authenticated deployments use the caller’s identity.');
const sessionId = z
  .string()
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
  agent_id: z.string().optional().describe('ID of the agent that owns the run.'),
  team_id: z.string().optional().describe('ID of the team that owns the run.'),
  workflow_id: z.string().optional().describe('ID of the workflow that owns the run.'),
};

function registerTools(server: McpServer, rest: Rest): void {
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
          [idField]: z.string().describe(`ID of the ${kind} to run, returned by get_agentos_config.`),
          message,
          user_id: userId,
          session_id: sessionId,
          background,
        },
        annotations: RUNS,
      },
      async (args: Record<string, unknown>, extra: Extra) => {
        const runId = randomUUID();
        await progress(extra, `Run ${runId} started`);
        const answer = await rest(
          'POST',
          `/${RUN_KINDS[kind].route}/${encodeURIComponent(String(args[idField]))}/runs`,
          {
            message: args.message,
            run_id: runId,
            stream: false,
            background: args.background === true,
            ...optional({ user_id: args.user_id, session_id: args.session_id }),
          },
          extra.signal,
        );
        return runResult(kind, String(args[idField]), answer);
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
        run_id: z.string().describe('ID of the run, returned by a run tool.'),
        session_id: z.string().optional().describe('ID of the session containing the run.'),
        ...owner,
      },
      annotations: { ...READ_ONLY, idempotentHint: true },
    },
    async (args, extra) => {
      const [kind, componentId] = ownerOf(args);
      const query = args.session_id ? `?session_id=${encodeURIComponent(args.session_id)}` : '';
      const answer = await rest('GET', `${runPath(kind, componentId, args.run_id)}${query}`, undefined, extra.signal);
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
        run_id: z.string().describe('ID of the paused run, returned in the PAUSED result.'),
        session_id: z.string().describe('ID of the session containing the paused run, returned in the PAUSED result.'),
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
    async (args, extra) => {
      const [kind, componentId] = ownerOf(args);
      const answer = await rest(
        'POST',
        `${runPath(kind, componentId, args.run_id)}/continue`,
        {
          session_id: args.session_id,
          requirements: JSON.stringify(args.requirements ?? []),
          stream: false,
          background: args.background === true,
        },
        extra.signal,
      );
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
        run_id: z.string().describe('ID of the run to cancel, returned by a run tool or get_session_runs.'),
        session_id: z.string().optional().describe('ID of the session containing the run.'),
        ...owner,
      },
      annotations: { ...RUNS, idempotentHint: true },
    },
    async (args) => {
      const [kind, componentId] = ownerOf(args);
      const path = runPath(kind, componentId, args.run_id);
      const { cancelled } = (await rest('POST', `${path}/cancel`)) as { cancelled: boolean };
      if (cancelled) return text(`Run ${args.run_id} cancellation requested`);
      // Not running: ended, or not started yet (then the route recorded the cancel), or another's (then it is not
      // found, as an unknown one).
      const run = (await rest('GET', path).catch((err: unknown) => {
        if (err instanceof RouteRefused) return null;
        throw err;
      })) as { status: string } | null;
      return text(
        run
          ? `Run ${args.run_id} has already ended (${run.status}): nothing to cancel`
          : `Run ${args.run_id} has not started: its cancel is recorded, and a run started with this id ends CANCELLED`,
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
        component_id: z.string().optional().describe('Only return sessions created by this agent, team, or workflow.'),
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
        session_id: z.string().describe('ID of the session to read, returned by get_sessions or a run result.'),
        run_id: z.string().optional().describe('Return this run with its full stored details.'),
        session_type: z.enum(['agent', 'team', 'workflow']).optional().describe('Type of session to read.'),
      },
      annotations: READ_ONLY,
    },
    async (args) => {
      const session = `/sessions/${encodeURIComponent(args.session_id)}`;
      const query = args.session_type ? `?type=${args.session_type}` : '';
      if (args.run_id !== undefined) {
        const run = await rest('GET', `${session}/runs/${encodeURIComponent(args.run_id)}${query}`);
        return structured({ runs: [run] });
      }
      const runs = (await rest('GET', `${session}/runs${query}`)) as Array<Record<string, unknown>>;
      return structured({ runs: runs.map(historyOf) });
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
