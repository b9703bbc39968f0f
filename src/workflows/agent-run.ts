import type { RunOutput } from '../shared/run-output';
import { ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import type { AgentRunInput, AgentSpec, ToolSpec } from '../shared/specs';
import { AgentRunState } from './model-run-state';
import { runActivityTool, runModelLoop, systemInstructions } from './model-loop';
import { modelRunLabel } from '../shared/run-labels';
import { runInputOf } from './run-input';
import { runLifecycle } from './run-lifecycle';
import { RunStream } from './run-stream';
import { settleAll } from './settle-all';

/**
 * One agent run: model → tools → model … until the model answers without tool calls. Polled with the `runOutput`
 * query; its events go to the workflow stream's `events` topic; cancelled by Temporal cancellation.
 */
export async function agentRun(saved: AgentRunInput): Promise<RunOutput> {
  const input = runInputOf(saved, 'agent');
  const stream = new RunStream(input);
  const state = new AgentRunState(input, stream);
  const agent = input.agent;
  const label = modelRunLabel(input);
  return runLifecycle(input, stream, state, async (gate) => {
    // Only a run whose agent has MCP servers yields here: other runs keep the commands they recorded before.
    const tools = agent.mcp?.length ? [...agent.tools, ...(await mcpToolsOf(agent, label))] : agent.tools;
    const mcpServerOf = new Map(tools.map((tool) => [tool.name, tool.mcpServer]));
    await runModelLoop(input, state, {
      gate,
      pauseTimeoutMs: agent.pauseTimeoutMs,
      outputSchema: input.outputSchema ?? agent.outputSchema,
      label,
      model: agent.model,
      instructions: systemInstructions(agent),
      tools,
      maxToolRounds: agent.maxToolRounds,
      async runToolCalls(calls) {
        // Tool calls of one model turn are independent, so they run side by side; results keep the model's order.
        await settleAll(
          calls.map((call) => runActivityTool(input, state, call, label, { mcpServer: mcpServerOf.get(call.name) })),
        );
        return false;
      },
    });
  });
}

const mcpListOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
};
const { listMcpTools } = proxyActivities<KernActivities>(mcpListOptions);

/**
 * The tools of the agent's MCP servers, as the worker lists them when the run starts: recorded in the run's history
 * (the activity's result), so the Temporal UI shows what the model was offered, and a replay offers the same.
 */
async function mcpToolsOf(agent: AgentSpec, label: string): Promise<ToolSpec[]> {
  const sources = agent.mcp ?? [];
  const servers = sources.map((source) => source.server).join(', ');
  const listed = await listMcpTools.executeWithOptions(
    { ...mcpListOptions, summary: `${label} · list the tools of MCP ${servers}` },
    [{ sources }],
  );
  const own = new Set(agent.tools.map((tool) => tool.name));
  const clash = listed.find((tool) => own.has(tool.name) || listed.filter((t) => t.name === tool.name).length > 1);
  if (clash) {
    throw ApplicationFailure.create({
      type: 'ToolNameClash',
      message: `MCP server '${clash.mcpServer}' has a tool '${clash.name}' named as another tool of ${agent.name}: exclude one`,
      nonRetryable: true,
    });
  }
  return listed;
}
