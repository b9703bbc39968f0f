/**
 * MCP both ways.
 *
 * 1. An agent that uses an MCP server's tools: the protocol's own reference server
 *    (`@modelcontextprotocol/server-everything`), which the worker starts over stdio. The run lists the server's tools
 *    when it starts (an activity, so its history shows what the model was offered), and each call is an activity like
 *    any tool's. How the worker reaches the server is in the app (`examples/app.ts`), never in the run.
 * 2. An MCP client (the protocol's own SDK) running that agent through kern's server at `/mcp`: the run it starts is a
 *    kern run, which goes on if the client goes away and which it reads back by its id.
 *
 * Uses the server at KERN_SERVER_URL when set (`npx kern serve --app examples/app.ts`); otherwise starts one in this
 * process. Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-mcp.ts
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, OpenAIResponses, RunEvent, defineApp, type McpServerConfig } from 'kern';
import { createServer } from 'kern/server';

const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

/** The MCP servers of the examples' app: read by the worker, which starts this one as a child process. */
export const mcpServers: Record<string, McpServerConfig> = {
  everything: {
    command: process.execPath,
    args: [require.resolve('@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
  },
};

export const toolUser = new Agent({
  name: 'Tool User',
  model: new OpenAIResponses({ id: 'gpt-5-mini' }),
  instructions: 'Use your tools to answer.',
  mcpServers: [{ server: 'everything', include: ['echo', 'get-sum'] }],
});

export async function main(): Promise<void> {
  banner("An agent using an MCP server's tools (server-everything over stdio)");
  for await (const event of toolUser.run('Please echo "hello from kern" back to me', { stream: true })) {
    if (event.event === RunEvent.toolCallStarted) console.log(`→ MCP tool ${event.tool.toolName}`, event.tool.toolArgs);
    if (event.event === RunEvent.toolCallCompleted) console.log(`← ${event.tool.result}`);
    if (event.event === RunEvent.runCompleted) console.log(`RunCompleted: ${event.content}`);
  }
  console.log();

  banner("An MCP client running a kern agent (kern's server at /mcp)");
  const external = process.env.KERN_SERVER_URL;
  const server = external ? undefined : createServer({ app: defineApp({ agents: [toolUser], mcpServers }) });
  const base = external ?? (await server!.listen({ port: 0 })).url;
  const client = new Client({ name: 'kern-example', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    const { tools } = await client.listTools();
    console.log(`${base}/mcp offers: ${tools.map((tool) => tool.name).join(', ')}`);
    // In the background: the answer is the run's id at once, and the run goes on whatever the client does.
    const started = await client.callTool({
      name: 'run_agent',
      arguments: { agent_id: 'tool-user', message: 'Please echo "hello over MCP" back to me', background: true },
    });
    const { run_id: runId } = started.structuredContent as { run_id: string };
    console.log(`run_agent (background) → ${runId} PENDING`);
    for (;;) {
      const read = await client.callTool({ name: 'get_run', arguments: { run_id: runId, agent_id: 'tool-user' } });
      const { status, content } = read.structuredContent as { status: string; content: string };
      if (status !== 'PENDING' && status !== 'RUNNING') {
        console.log(`get_run → ${status}: ${content}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await client.close();
    await server?.close();
  }
  console.log();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
