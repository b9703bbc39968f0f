/**
 * An agent that uses an MCP server's tools: the protocol's own reference server
 * (`@modelcontextprotocol/server-everything`), which the worker starts over stdio. The run lists the server's tools
 * when it starts (an activity, so its history shows what the model was offered), and each call is an activity like
 * any tool's. How the worker reaches the server is in the app (`examples/app.ts`), never in the run.
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-mcp.ts
 */
import { Agent, OpenAIResponses, RunEvent, type McpServerConfig } from 'kern';

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
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
