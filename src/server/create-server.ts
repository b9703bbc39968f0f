import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve, upgradeWebSocket } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { WebSocketServer } from 'ws';
import { resolveConnection, type ConnectionSettings } from '../client/connection-settings';
import { KernClient } from '../client/kern-client';
import type { KernApp } from '../define/app';
import { loadApp } from '../define/app';
import { TemporalUnreachable } from '../shared/errors';
import { RUN_KINDS, RUN_KIND_LIST, type RunKind } from '../shared/kinds';
import { Catalog } from './catalog';
import type { ServerDeps } from './deps';
import { authenticate, callerIn, jwtVerifier, type JwtOptions } from './auth';
import { isLoopback, refuseCrossSite } from './guards';
import { approvalRoutes } from './approval-routes';
import { NotFound, errorAnswer } from './http-errors';
import { notProvidedRoutes } from './not-provided';
import { RunFeeds } from './run-feeds';
import { runRoutes } from './run-routes';
import { scheduleRoutes } from './schedule-routes';
import { sessionRoutes } from './session-routes';
import { codecRoutes } from './codec-routes';
import { mcpRoutes, type McpOptions } from './mcp-routes';
import { payloadSettingsFromEnv, type PayloadSettings } from '../client/data-converter';
import { DEFAULT_WEB_SOCKET_LIMITS, workflowSocket, type WebSocketLimits } from './workflow-socket';

/** How {@link createServer} is set up. Unset fields come from the environment, then from the defaults. */
export interface ServerOptions {
  /** The app (from `defineApp`), or the path of a module whose default export is one. */
  app: KernApp | string;
  /** The kern client runs are started with; default: one the server connects from the environment (and closes). */
  client?: KernClient;
  /** Where that client connects, over the environment and Temporal's config file (`--address`, `--profile`, …). */
  temporal?: ConnectionSettings;
  /**
   * The bearer token every route but `/`, `/health` and `/ready` requires; default `OS_SECURITY_KEY` (the framework's
   * variable, so a deployment that sets it is never left open), then `KERN_SECURITY_KEY`. Unset: no auth.
   */
  securityKey?: string;
  /**
   * JWT authentication and authorization, as the framework's server does it (see {@link JwtOptions}); default: from
   * `JWT_VERIFICATION_KEY` or `JWT_JWKS_FILE` when set. With JWT, the security key is not used.
   */
  jwt?: JwtOptions;
  /** Origins allowed by CORS; default `KERN_CORS_ORIGINS` (comma-separated), else none (no CORS headers). */
  corsOrigins?: string[];
  /** The largest request body, in bytes (default 1 MiB); a larger one gets 413 before it is read whole. */
  maxBodyBytes?: number;
  /**
   * Listen on an address other machines reach although no authentication is configured: anyone who reaches it can
   * then run the app's agents at your cost and read every conversation. Off: `listen` refuses to. Logged as a warning
   * on every start. (`kern serve --allow-unauthenticated`.)
   */
  allowUnauthenticated?: boolean;
  /** Bounds of the WebSocket at `/workflows/ws`; see {@link WebSocketLimits}. */
  webSocket?: Partial<WebSocketLimits>;
  /**
   * Payloads encrypted and large ones kept outside history (docs/payloads.md), for the client the server connects and
   * for its codec server (`/codec/decode`, `/codec/encode`, served when either is set); default from the environment.
   */
  payloads?: PayloadSettings;
  /**
   * Serve the app over MCP at `/mcp` (Streamable HTTP), with the same authentication and scopes as the HTTP routes
   * (docs/mcp.md), and how (see {@link McpOptions}); default true. `false` (`kern serve --no-mcp`): not served.
   */
  mcp?: boolean | McpOptions;
}

/** kern's HTTP server: mount {@link KernServer.fetch} in any fetch-style server, or {@link KernServer.listen}. */
export interface KernServer {
  /** The Hono app: `app.route('/kern', server.app)` mounts it in another Hono app. */
  readonly app: Hono;
  /** The request handler, for any server that speaks the Fetch API (the WebSocket needs {@link listen}). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /**
   * Listens on `port` (default 7777; 0 picks a free one) at `hostname` (default `127.0.0.1`: this machine only), with
   * the WebSocket route. Refuses an address other machines reach when no authentication is configured, unless
   * {@link ServerOptions.allowUnauthenticated}.
   */
  listen(options?: { port?: number; hostname?: string }): Promise<{ url: string; server: Server }>;
  /** Stops listening, ends live streams and closes the client the server opened. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** kern's version, as the MCP server introduces itself (unknown when a bundler left package.json behind). */
function kernVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/**
 * An HTTP server for the app's agents, teams and workflows that speaks the Python framework's AgentOS API, so clients
 * written for that server work unchanged. It keeps no state another process needs: several can serve one Temporal
 * namespace behind a load balancer. See docs/http-api.md for every route.
 */
export function createServer(options: ServerOptions): KernServer {
  const catalog = new Catalog(typeof options.app === 'string' ? loadApp(options.app) : options.app);
  const securityKey =
    options.securityKey ?? (process.env.OS_SECURITY_KEY || process.env.KERN_SECURITY_KEY || undefined);
  const corsOrigins =
    options.corsOrigins ??
    process.env.KERN_CORS_ORIGINS?.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
  const webSocketLimits = { ...DEFAULT_WEB_SOCKET_LIMITS, ...options.webSocket };
  const payloads = options.payloads ?? payloadSettingsFromEnv();
  const checkToken = (token: string) => securityKey !== undefined && sameText(token, securityKey);

  // Creating the server never waits for Temporal: the first request that needs it connects. A failed connection is
  // not kept, so the server recovers by itself once Temporal is back; meanwhile such requests get 503.
  let deps: Promise<ServerDeps> | undefined;
  let ownedClient: KernClient | undefined;
  const connect = (): Promise<ServerDeps> => {
    deps ??= (
      options.client ? Promise.resolve(options.client) : KernClient.connect({ ...options.temporal, payloads })
    ).then(
      (client) => {
        if (!options.client) ownedClient = client;
        return { client, catalog, feeds: new RunFeeds(client) };
      },
      (err: unknown) => {
        deps = undefined;
        throw err instanceof TemporalUnreachable
          ? err
          : new TemporalUnreachable(resolveConnection(options.temporal).address, err);
      },
    );
    return deps;
  };

  let listening: Server | undefined;
  let webSockets: WebSocketServer | undefined;
  const app = new Hono();
  // No CORS unless origins are configured: a web page elsewhere cannot start, read or cancel runs here.
  if (corsOrigins && corsOrigins.length > 0) app.use('*', cors({ origin: corsOrigins }));
  // Open to anyone who reaches it (loopback, no auth): then only to loopback names (see `refuseCrossSite`).
  let loopbackNamesOnly = false;
  app.use(
    '*',
    refuseCrossSite(corsOrigins ?? [], () => loopbackNamesOnly),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      // The rest of the body is never read, so the connection cannot carry another request: close it.
      onError: (c) => c.json({ detail: 'Request body too large' }, 413, { connection: 'close' }),
    }),
  );
  // Who is asking: a verified JWT (when configured), else the security key (when set), else anyone.
  const verifying = jwtVerifier(options.jwt);
  const authenticating = verifying.then((verifier) => authenticate(verifier, securityKey ? checkToken : undefined));
  // A key that does not load is said by `listen`, and by every request (a 500 whose log says why).
  authenticating.catch(() => undefined);
  app.use('*', async (c, next) => (await authenticating)(c, next));

  const startedAt = new Date().toISOString();
  const mcp = options.mcp ?? true;
  const mcpOptions = typeof mcp === 'object' ? mcp : {};
  app.get('/', (c) => c.json({ name: 'kern', health: '/health', config: '/config', ...(mcp ? { mcp: '/mcp' } : {}) }));
  app.get('/health', (c) => c.json({ status: 'ok', instantiated_at: startedAt }));
  // Readiness, for an orchestrator: 200 once Temporal answers, 503 while it does not.
  app.get('/ready', async (c) => {
    const { client } = await connect();
    const connection = client.temporal.connection;
    try {
      // A call any Temporal frontend answers at once; a client given from outside may have no health service.
      await connection.withDeadline(Date.now() + 2_000, () => client.temporal.workflowService.getSystemInfo({}));
    } catch (err) {
      throw new TemporalUnreachable(resolveConnection(options.temporal).address, err);
    }
    return c.json({ status: 'ready' });
  });
  app.get('/config', (c) => c.json(catalog.config(callerIn(c))));
  app.get(
    '/workflows/ws',
    async (c, next) => {
      if ((webSockets?.clients.size ?? 0) < webSocketLimits.maxSockets) return next();
      return c.json({ detail: 'Too many WebSocket connections; try again later' }, 503, { 'retry-after': '5' });
    },
    upgradeWebSocket(async () =>
      workflowSocket({
        ...(await connect()),
        verifier: await verifying,
        checkKey: securityKey !== undefined ? checkToken : undefined,
        limits: webSocketLimits,
      }),
    ),
  );
  for (const kind of RUN_KIND_LIST) {
    const route = `/${RUN_KINDS[kind].route}`;
    app.get(route, (c) => c.json(catalog.list(kind, callerIn(c))));
    app.get(`${route}/:componentId`, (c) => describeComponent(c, catalog, kind));
    app.route(route, runRoutes(kind, catalog, connect));
  }

  app.route('/sessions', sessionRoutes(catalog, connect));
  app.route('/schedules', scheduleRoutes(catalog, connect));
  app.route('/approvals', approvalRoutes(connect));
  const codec = codecRoutes(payloads);
  if (codec) app.route('/codec', codec);
  if (mcp) app.route('/mcp', mcpRoutes(app, kernVersion(), mcpOptions));
  app.route('/', notProvidedRoutes());

  app.notFound((c) => c.json({ detail: 'Not Found' }, 404));
  app.onError(errorAnswer);

  return {
    app,
    fetch: (request) => app.fetch(request),
    async listen({ port = 7777, hostname = '127.0.0.1' } = {}) {
      const verifier = await verifying;
      if (!isLoopback(hostname) && securityKey === undefined && verifier === undefined) {
        if (!options.allowUnauthenticated) throw new OpenServerRefused(hostname);
        console.warn(
          `kern server: WARNING: listening on ${hostname} with no authentication: anyone who can reach it can run ` +
            "this app's agents and read every conversation. Set OS_SECURITY_KEY before exposing the server.",
        );
      }
      loopbackNamesOnly = isLoopback(hostname) && securityKey === undefined && verifier === undefined;
      webSockets = new WebSocketServer({ noServer: true, maxPayload: webSocketLimits.maxMessageBytes });
      const server = await new Promise<Server>((resolve) => {
        const started = serve({ fetch: app.fetch, port, hostname, websocket: { server: webSockets! } }, () =>
          resolve(started as Server),
        );
      });
      listening = server;
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${host}:${address.port}`, server };
    },
    async close() {
      (await deps?.catch(() => undefined))?.feeds.close();
      for (const socket of webSockets?.clients ?? []) socket.terminate();
      webSockets?.close();
      if (listening) {
        listening.closeAllConnections();
        await new Promise<void>((resolve) => listening!.close(() => resolve()));
      }
      await ownedClient?.close();
    },
  };
}

/** `GET /{kind}/{id}`: a component as the framework describes it, or its 404. */
function describeComponent(c: Context, catalog: Catalog, kind: RunKind): Response {
  const found = catalog.describe(kind, c.req.param('componentId') ?? '');
  if (!found) throw new NotFound(RUN_KINDS[kind].notFound);
  return c.json(found);
}

/** `listen` on an address other machines reach, with no authentication configured and no explicit opt-in. */
export class OpenServerRefused extends Error {
  override readonly name = 'OpenServerRefused';
  constructor(readonly hostname: string) {
    super(
      `refusing to listen on ${hostname} with no authentication: anyone who can reach it could run the app's agents ` +
        'at your cost and read every conversation. Set OS_SECURITY_KEY (bearer auth) or JWT_VERIFICATION_KEY ' +
        '(JWT), listen on 127.0.0.1 ' +
        '(the default), or, to serve it openly anyway, pass --allow-unauthenticated (allowUnauthenticated: true)',
    );
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
