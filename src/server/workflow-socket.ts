import type { WSContext, WSEvents } from 'hono/ws';
import { z } from 'zod';
import type { KernClient } from '../client/kern-client';
import { ListedKey, RunKey } from '../client/run-options';
import { KernError } from '../shared/errors';
import type { AnyRunEvent } from '../shared/events';
import type { Catalog } from './catalog';
import { resumeRun } from './run-events';
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
  last_event_index: z.number().int().nullish(),
});

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
  securityKey: string | undefined;
  checkToken: (token: string) => boolean;
}): WSEvents {
  const { client, catalog, feeds, securityKey } = deps;
  let authenticated = securityKey === undefined;
  const left = new AbortController();
  const send = (ws: WSContext, message: WireObject) => {
    if (!left.signal.aborted) ws.send(pythonJson(message));
  };

  /** Sends a run's events from `items` until the run ends or the socket closes. Runs beside the message loop. */
  const forward = async (
    ws: WSContext,
    items: AsyncIterable<{ meta: WireObject } | { event: AnyRunEvent }>,
    sse: boolean,
  ) => {
    try {
      for await (const item of items) {
        if (left.signal.aborted) return;
        if ('meta' in item) send(ws, item.meta);
        else if (sse)
          ws.send(`event: ${item.event.event}\ndata: ${pythonJson(wireEvent(item.event, { withIndex: true }))}\n\n`);
        else ws.send(pythonJson(wireEvent(item.event, { withIndex: true })));
      }
    } catch (err) {
      send(ws, { event: 'error', error: err instanceof Error ? err.message : String(err) });
    }
  };

  const startWorkflow = async (ws: WSContext, message: Record<string, unknown>) => {
    const parsed = StartWorkflow.safeParse(message);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? 'message');
      return send(ws, { event: 'error', error: `${field} is required and must be valid` });
    }
    const workflow = catalog.find('workflow', parsed.data.workflow_id);
    if (!workflow) {
      return send(ws, { event: 'error', error: `Workflow ${parsed.data.workflow_id} not found` });
    }
    const runInput = workflow.runInputFor(parsed.data.message, {
      background: true,
      stream: true,
      ...(parsed.data.run_id ? { runId: parsed.data.run_id } : {}),
      ...(parsed.data.session_id ? { sessionId: parsed.data.session_id } : {}),
      ...(parsed.data.user_id ? { userId: parsed.data.user_id } : {}),
    });
    await client.startRun(runInput);
    void forward(ws, eventsOf(feeds.follow(runInput.runId, 0, left.signal)), true);
  };

  const reconnect = (ws: WSContext, message: Record<string, unknown>) => {
    const parsed = Reconnect.safeParse(message);
    if (!parsed.success) return send(ws, { event: 'error', error: 'run_id is required for subscription' });
    const { run_id: runId, last_event_index: lastEventIndex } = parsed.data;
    const items = resumeRun(
      { client, feeds },
      {
        runId,
        lastEventIndex: lastEventIndex ?? undefined,
        owns: (output) => output.kind === 'workflow',
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
    },
    onMessage(event, ws) {
      void handle(String(event.data), ws);
    },
    onClose() {
      // The socket's runs go on; only its viewers of them stop.
      left.abort();
    },
  };

  async function handle(text: string, ws: WSContext): Promise<void> {
    let message: z.infer<typeof SocketMessage>;
    try {
      message = SocketMessage.parse(JSON.parse(text));
    } catch {
      return send(ws, { event: 'error', error: 'Invalid message: expected a JSON object with an action' });
    }
    if (message.action === 'authenticate') {
      if (authenticated && securityKey === undefined) {
        return send(ws, { event: 'authenticated', message: 'Authentication is not required on this server.' });
      }
      authenticated = typeof message.token === 'string' && deps.checkToken(message.token);
      return authenticated
        ? send(ws, { event: 'authenticated', message: 'Authentication successful. You can now send commands.' })
        : send(ws, { event: 'auth_error', error: 'Invalid token' });
    }
    if (!authenticated) {
      return send(ws, {
        event: 'auth_required',
        error: 'Authentication required. Send authenticate action with valid bearer token.',
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
      send(ws, { event: 'error', error: err instanceof KernError ? err.message : 'Internal server error' });
    }
  }
}

async function* eventsOf(events: AsyncIterable<AnyRunEvent>): AsyncGenerator<{ event: AnyRunEvent }, void> {
  for await (const event of events) yield { event };
}
