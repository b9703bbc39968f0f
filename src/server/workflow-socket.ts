import type { WSContext, WSEvents } from 'hono/ws';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { KernClient } from '../client/kern-client';
import { ListedKey, RunKey } from '../client/run-options';
import type { AnyRunEvent } from '../shared/events';
import type { Catalog } from './catalog';
import { resumeRun } from './run-events';
import { allows, ownedBy, refuseOthersSession, startedAs, type Caller, type JwtVerifier } from './auth';
import { HttpProblem, publicError } from './http-errors';
import type { RunFeeds } from './run-feeds';
import { pythonJson, wireEvent, type WireObject } from './wire';

/** The messages a client sends on `/workflows/ws`, keyed on `action`. */
const SocketMessage = z.object({ action: z.string() }).passthrough();

const StartWorkflow = z.object({
  workflow_id: z.string().min(1),
  message: z.string().min(1),
  session_id: ListedKey.optional(),
  user_id: ListedKey.optional(),
  run_id: RunKey.optional(),
});

const Reconnect = z.object({
  run_id: z.string().min(1),
  workflow_id: z.string().optional(),
  last_event_index: z.number().int().nullish(),
});

/** What one `/workflows/ws` socket, and all of them together, may cost the server. */
export interface WebSocketLimits {
  /** The largest message a client may send, in bytes (default 1 MiB); a larger one closes its socket (1009). */
  maxMessageBytes: number;
  /** The largest message before the socket has authenticated (default 8 KiB, room for a token); closes it (1009). */
  maxUnauthenticatedMessageBytes: number;
  /** How long a socket may stay unauthenticated when authentication is on (default 10 s); then it is closed (1008). */
  authTimeoutMs: number;
  /** Open sockets in this server process (default 1,000); past that an upgrade gets 503 with `Retry-After`. */
  maxSockets: number;
  /** Runs one socket follows at once, started or reconnected (default 20); past that, an `error` message. */
  maxRunsPerSocket: number;
  /** What the server holds unsent for a client that does not read (default 8 MiB); past that its connection is cut. */
  maxBufferedBytes: number;
}

/** The longest `setTimeout` Node keeps (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_WEB_SOCKET_LIMITS: WebSocketLimits = {
  maxMessageBytes: 1024 * 1024,
  maxUnauthenticatedMessageBytes: 8 * 1024,
  authTimeoutMs: 10_000,
  maxSockets: 1_000,
  maxRunsPerSocket: 20,
  maxBufferedBytes: 8 * 1024 * 1024,
};

/**
 * `/workflows/ws`, as the framework's server speaks it: a `connected` greeting, `authenticate` when a security key is
 * set, `ping` → `pong`, `start-workflow` (a background run whose events follow on the socket), and `reconnect` to a
 * run by id from `last_event_index` (also after the run has ended, from any server process). Meta messages are flat
 * JSON; the events of a run started on the socket come SSE-framed, those of a reconnect as flat JSON, as there.
 */
export function workflowSocket(deps: {
  client: KernClient;
  catalog: Catalog;
  feeds: RunFeeds;
  /** Verifies JWTs, when the server has them; then a socket authenticates with a token and acts as its user. */
  verifier: JwtVerifier | undefined;
  /** Checks the security key, when the server has one (and no JWT). */
  checkKey: ((token: string) => boolean) | undefined;
  limits: WebSocketLimits;
}): WSEvents {
  const { client, catalog, feeds, verifier, checkKey, limits } = deps;
  const requiresAuth = verifier !== undefined || checkKey !== undefined;
  let authenticated = !requiresAuth;
  let caller: Caller = {};
  let handled = Promise.resolve();
  let authTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let following = 0;
  const left = new AbortController();
  const close = (ws: WSContext, code: number, reason: string) => {
    left.abort();
    ws.close(code, reason);
  };
  /** Sends unless the socket has closed; a client that leaves too much unread (`ws` counts it) is dropped instead. */
  const sendText = (ws: WSContext, text: string) => {
    if (left.signal.aborted) return;
    const raw = ws.raw as WebSocket | undefined;
    if ((raw?.bufferedAmount ?? 0) + Buffer.byteLength(text) > limits.maxBufferedBytes) {
      // A close frame would wait behind what the client does not read: the connection is cut instead.
      left.abort();
      return raw?.terminate();
    }
    ws.send(text);
  };
  const send = (ws: WSContext, message: WireObject) => sendText(ws, pythonJson(message));

  /** Sends a run's events from `items` until the run ends or the socket closes. Runs beside the message loop. */
  const forward = async (
    ws: WSContext,
    items: AsyncIterable<{ meta: WireObject } | { event: AnyRunEvent }>,
    sse: boolean,
  ) => {
    following += 1;
    try {
      for await (const item of items) {
        if (left.signal.aborted) return;
        if ('meta' in item) send(ws, item.meta);
        else if (sse)
          sendText(
            ws,
            `event: ${item.event.event}\ndata: ${pythonJson(wireEvent(item.event, { withIndex: true }))}\n\n`,
          );
        else sendText(ws, pythonJson(wireEvent(item.event, { withIndex: true })));
      }
    } catch (err) {
      sendError(ws, err, 'a followed run');
    } finally {
      following -= 1;
    }
  };
  const sendError = (ws: WSContext, err: unknown, doing: string) => {
    const { detail, errorId } = publicError(err, `WebSocket /workflows/ws, ${doing}`);
    send(ws, { event: 'error', error: detail, ...(errorId ? { error_id: errorId } : {}) });
  };
  /** Refuses a run past the socket's cap, with an `error` message; true when it may be followed. */
  const mayFollow = (ws: WSContext): boolean => {
    if (following < limits.maxRunsPerSocket) return true;
    send(ws, {
      event: 'error',
      error: `This socket already follows ${limits.maxRunsPerSocket} runs; open another, or wait for one to end`,
    });
    return false;
  };

  const startWorkflow = async (ws: WSContext, message: Record<string, unknown>) => {
    const parsed = StartWorkflow.safeParse(message);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? 'message');
      return send(ws, { event: 'error', error: `${field} is required and must be valid` });
    }
    const workflow = catalog.find('workflow', parsed.data.workflow_id);
    if (!allows(caller, 'workflows', 'run', parsed.data.workflow_id)) {
      return send(ws, { event: 'error', error: 'Insufficient permissions to run this workflow' });
    }
    if (!workflow) {
      return send(ws, { event: 'error', error: `Workflow ${parsed.data.workflow_id} not found` });
    }
    if (!mayFollow(ws)) return;
    const identity = startedAs(caller, { userId: parsed.data.user_id, sessionId: parsed.data.session_id });
    await refuseOthersSession(client, caller, identity.sessionId);
    const runInput = workflow.runInputFor(parsed.data.message, {
      background: true,
      stream: true,
      ...(parsed.data.run_id ? { runId: parsed.data.run_id } : {}),
      ...identity,
    });
    await client.startRun(runInput);
    void forward(ws, eventsOf(feeds.follow(runInput.runId, 0, left.signal)), true);
  };

  const reconnect = (ws: WSContext, message: Record<string, unknown>) => {
    const parsed = Reconnect.safeParse(message);
    if (!parsed.success) return send(ws, { event: 'error', error: 'run_id is required for subscription' });
    if (parsed.data.workflow_id !== undefined && !allows(caller, 'workflows', 'run', parsed.data.workflow_id)) {
      return send(ws, { event: 'error', error: 'Insufficient permissions to reconnect to this workflow' });
    }
    if (!mayFollow(ws)) return;
    const { run_id: runId, last_event_index: lastEventIndex } = parsed.data;
    const items = resumeRun(
      { client, feeds },
      {
        runId,
        lastEventIndex: lastEventIndex ?? undefined,
        // Another user's run, or one of a workflow the caller may not run, is not found.
        owns: (output) =>
          output.kind === 'workflow' &&
          ownedBy(caller, output) &&
          allows(caller, 'workflows', 'run', output.workflowId),
        kindWord: 'workflow',
        signal: left.signal,
      },
    );
    void forward(ws, items, false);
  };

  return {
    onOpen(_event, ws) {
      send(ws, {
        event: 'connected',
        message: authenticated ? 'Connected to AgentOS.' : 'Connected to AgentOS. Please authenticate to continue.',
        requires_auth: !authenticated,
      });
      if (!authenticated) {
        authTimer = setTimeout(() => close(ws, 1008, 'authentication timeout'), limits.authTimeoutMs);
      }
    },
    onMessage(event, ws) {
      // One message at a time, in the order sent: a start sent right after `authenticate` runs as its user.
      handled = handled.then(() => handle(event.data, ws)).catch((err: unknown) => sendError(ws, err, 'a message'));
    },
    onClose() {
      // The socket's runs go on; only its viewers of them stop.
      clearTimeout(authTimer);
      clearTimeout(expiryTimer);
      left.abort();
    },
  };

  /** `authenticate`: a JWT (as on HTTP, without `Bearer`) when the server has JWT, else the security key. */
  async function authenticate(ws: WSContext, token: unknown): Promise<void> {
    if (!requiresAuth) {
      return send(ws, { event: 'authenticated', message: 'Authentication is not required on this server.' });
    }
    if (typeof token !== 'string' || token === '') return send(ws, { event: 'auth_error', error: 'Token is required' });
    // A failed authentication undoes an earlier one: the socket acts for no one until it authenticates again.
    authenticated = false;
    caller = {};
    clearTimeout(expiryTimer);
    if (verifier) {
      try {
        caller = await verifier.verify(token);
      } catch (err) {
        const detail = err instanceof HttpProblem ? String(err.detail) : 'Invalid token';
        const type = detail === 'Token has expired' ? 'expired' : 'invalid_token';
        return send(ws, { event: 'auth_error', error: detail, error_type: type });
      }
      // The socket lives no longer than its token.
      const untilExpiry = Math.min(Math.max(caller.expiresAt! - Date.now(), 0), MAX_TIMER_MS);
      expiryTimer = setTimeout(() => close(ws, 1008, 'token expired'), untilExpiry);
    } else if (!checkKey!(token)) {
      return send(ws, { event: 'auth_error', error: 'Invalid token' });
    }
    authenticated = true;
    clearTimeout(authTimer);
    send(ws, { event: 'authenticated', message: 'Authentication successful. You can now send commands.' });
    if (verifier) {
      send(ws, { event: 'authenticated', message: 'JWT authentication successful.', user_id: caller.userId ?? null });
    }
  }

  async function handle(data: unknown, ws: WSContext): Promise<void> {
    if (left.signal.aborted) return;
    // The protocol is text: a binary frame is refused unread.
    if (typeof data !== 'string') return close(ws, 1003, 'binary messages are not accepted');
    const text = data;
    // Nothing is parsed before authentication but a message small enough to be `authenticate`.
    if (!authenticated && Buffer.byteLength(text) > limits.maxUnauthenticatedMessageBytes) {
      return close(ws, 1009, 'message too big before authentication');
    }
    let message: z.infer<typeof SocketMessage>;
    try {
      message = SocketMessage.parse(JSON.parse(text));
    } catch {
      return send(ws, { event: 'error', error: 'Invalid message: expected a JSON object with an action' });
    }
    if (message.action === 'authenticate') return authenticate(ws, message.token);
    if (!authenticated) {
      return send(ws, {
        event: 'auth_required',
        error: `Authentication required. Send authenticate action with valid ${verifier ? 'JWT' : 'bearer token'}.`,
      });
    }
    try {
      switch (message.action) {
        case 'ping':
          return send(ws, { event: 'pong' });
        case 'start-workflow':
          return await startWorkflow(ws, message);
        case 'reconnect':
          return reconnect(ws, message);
        default:
          return send(ws, { event: 'error', error: `Unknown action: ${message.action}` });
      }
    } catch (err) {
      sendError(ws, err, message.action);
    }
  }
}

async function* eventsOf(events: AsyncIterable<AnyRunEvent>): AsyncGenerator<{ event: AnyRunEvent }, void> {
  for await (const event of events) yield { event };
}
