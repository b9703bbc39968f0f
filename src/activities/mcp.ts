import { CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpServerConfig } from '../define/contracts';
import { KernError, ToolArgumentsInvalid } from '../shared/errors';
import { DEFAULT_MAX_TOOL_RESULT_CHARS, truncateText } from '../shared/limits';
import type { ToolCallInput, ToolCallResult } from '../shared/model-call';
import type { McpToolSource, ToolSpec } from '../shared/specs';
import { whileHeartbeating } from './heartbeats';

/**
 * MCP servers' tools as kern tools, on the worker: one MCP client per server, connected on first use and again after
 * its transport closes (a stdio server that exits, an HTTP server that restarts). A run lists the tools it is offered
 * with the `listMcpTools` activity when it starts (so its history records them); each call is an `executeTool`
 * activity like any tool's: heartbeated, retried on a new connection when the transport fails, cancelled with the
 * run (the SDK sends the server `notifications/cancelled`), its result bounded.
 */

/** How long a server's tool list is kept before it is listed again: a server's new tools show within this time. */
export const MCP_TOOL_LIST_TTL_MS = 5 * 60 * 1000;

/** The longest an MCP call may take (the tool activity's own bound is 5 minutes); progress notifications extend it. */
const MCP_CALL_TIMEOUT_MS = 5 * 60 * 1000;

/** An MCP server's transport failed (it exited, or did not answer): retried, on a new connection. */
export class McpServerUnavailable extends KernError {
  constructor(server: string, cause: unknown) {
    super(`MCP server '${server}' is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      retryable: true,
    });
  }
}

/**
 * The MCP SDK's client, loaded when a worker first connects to an MCP server: its schemas take about 150 ms to load,
 * which a worker with no MCP server should not spend at every start.
 */
function mcpSdk() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    ...(require('@modelcontextprotocol/sdk/client/index.js') as typeof import('@modelcontextprotocol/sdk/client/index.js')),
    ...(require('@modelcontextprotocol/sdk/client/stdio.js') as typeof import('@modelcontextprotocol/sdk/client/stdio.js')),
    ...(require('@modelcontextprotocol/sdk/client/streamableHttp.js') as typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js')),
    ...(require('@modelcontextprotocol/sdk/types.js') as typeof import('@modelcontextprotocol/sdk/types.js')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export class McpConnections {
  private readonly clients = new Map<string, Promise<Client>>();
  /**
   * Aborted when a connection is lost for good. The Streamable HTTP transport tries to resume a dropped stream and,
   * when that fails, reports it to `onerror` without failing the requests it carried: their calls end here instead.
   */
  private readonly lost = new WeakMap<Client, AbortController>();
  private readonly lists = new Map<string, { at: number; tools: ListedTool[] }>();

  constructor(private readonly servers: Readonly<Record<string, McpServerConfig>>) {}

  /** The tools `sources` offer, as tool specs (JSON schemas from the servers), in the servers' order. */
  async listTools(sources: McpToolSource[]): Promise<ToolSpec[]> {
    const specs: ToolSpec[] = [];
    for (const source of sources) {
      const confirm = new Set(source.requiresConfirmation ?? []);
      for (const tool of await this.toolsOf(source.server)) {
        if (source.include && !source.include.includes(tool.name)) continue;
        if (source.exclude?.includes(tool.name)) continue;
        specs.push({
          name: tool.name,
          description: tool.description ?? '',
          // The schema as the server gave it, less its `$schema` dialect, which model APIs do not take.
          parameters: withoutDialect(tool.inputSchema),
          mcpServer: source.server,
          ...(confirm.has(tool.name) ? { needs: 'confirmation' as const } : {}),
        });
      }
    }
    return specs;
  }

  /** Calls a tool; an error the tool reports goes back to the model, as a kern tool's does. */
  async callTool(input: ToolCallInput & { mcpServer: string }): Promise<ToolCallResult> {
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(input.arguments || '{}') as Record<string, unknown>;
    } catch {
      throw new ToolArgumentsInvalid(input.toolName, `arguments are not JSON: ${input.arguments.slice(0, 200)}`);
    }
    const cancelled = Context.current().cancellationSignal;
    const client = await this.connect(input.mcpServer);
    const signal = AbortSignal.any([cancelled, this.lost.get(client)!.signal]);
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await whileHeartbeating(() =>
        client.callTool({ name: input.toolName, arguments: args }, undefined, {
          signal,
          timeout: MCP_CALL_TIMEOUT_MS,
          resetTimeoutOnProgress: true,
          onprogress: () => undefined,
        }),
      );
    } catch (err) {
      if (cancelled.aborted) throw new CancelledFailure(`MCP tool '${input.toolName}' was cancelled`);
      // The server answered with an error (unknown tool, invalid arguments): the model is told, as for a kern tool.
      // A closed connection or a server that stopped answering is the transport's failure, retried.
      const { McpError, ErrorCode } = mcpSdk();
      const transportFailed =
        signal.aborted ||
        !(err instanceof McpError) ||
        err.code === ErrorCode.ConnectionClosed ||
        err.code === ErrorCode.RequestTimeout;
      if (!transportFailed) return { content: `Error: ${err.message}`, isError: true, args };
      this.forget(input.mcpServer, client);
      throw new McpServerUnavailable(input.mcpServer, err);
    }
    const content = Array.isArray(result.content) ? result.content : [];
    const text = content
      .map((part: { type: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : JSON.stringify(part)))
      .join('\n');
    const why = `tool results are limited to ${DEFAULT_MAX_TOOL_RESULT_CHARS} characters`;
    return {
      content: truncateText(result.isError ? `Error: ${text}` : text, DEFAULT_MAX_TOOL_RESULT_CHARS, why),
      isError: result.isError === true,
      args,
    };
  }

  /** Closes every connection (stdio servers exit). */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(async (client) => (await client.catch(() => undefined))?.close()));
  }

  private async toolsOf(server: string): Promise<ListedTool[]> {
    const cached = this.lists.get(server);
    if (cached && Date.now() - cached.at < MCP_TOOL_LIST_TTL_MS) return cached.tools;
    const client = await this.connect(server);
    let tools: ListedTool[];
    try {
      tools = (await client.listTools()).tools as ListedTool[];
    } catch (err) {
      this.forget(server, client);
      throw new McpServerUnavailable(server, err);
    }
    this.lists.set(server, { at: Date.now(), tools });
    return tools;
  }

  private connect(server: string): Promise<Client> {
    const existing = this.clients.get(server);
    if (existing) return existing;
    const config = this.servers[server];
    // Retried: in a rolling deploy, a worker whose app has the server takes the call.
    if (!config) return Promise.reject(new McpServerUnavailable(server, 'this worker has no MCP server by that name'));
    const connecting = (async () => {
      const { Client, StdioClientTransport, StreamableHTTPClientTransport, getDefaultEnvironment } = mcpSdk();
      const client = new Client({ name: 'kern', version: '1' });
      const transport =
        'command' in config
          ? new StdioClientTransport({
              command: config.command,
              ...(config.args ? { args: config.args } : {}),
              env: { ...getDefaultEnvironment(), ...config.env },
              ...(config.cwd ? { cwd: config.cwd } : {}),
              stderr: 'ignore',
            })
          : new StreamableHTTPClientTransport(new URL(config.url), {
              ...(config.headers ? { requestInit: { headers: config.headers } } : {}),
            });
      const lost = new AbortController();
      this.lost.set(client, lost);
      client.onclose = () => {
        lost.abort();
        if (this.clients.get(server) === connecting) this.clients.delete(server);
      };
      client.onerror = (err) => {
        if (/Maximum reconnection attempts/.test(err.message)) lost.abort(err);
      };
      try {
        await client.connect(transport);
      } catch (err) {
        throw new McpServerUnavailable(server, err);
      }
      return client;
    })();
    connecting.catch(() => this.clients.delete(server));
    this.clients.set(server, connecting);
    return connecting;
  }

  private forget(server: string, client: Client): void {
    this.clients.delete(server);
    this.lists.delete(server);
    void client.close().catch(() => undefined);
  }
}

function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema'));
}
