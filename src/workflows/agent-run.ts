import type { RunOutput } from '../shared/run-output';
import type { AgentRunInput } from '../shared/specs';
import { AgentRunState } from './model-run-state';
import { mcpToolsOf, runActivityTool, runModelLoop, systemInstructions } from './model-loop';
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
  return runLifecycle(input, stream, state, async (gate, handOff) => {
    // Only a run whose agent has MCP servers yields here: other runs keep the commands they recorded before. A run
    // that continued as new offers the tools its servers listed when it started.
    const mcpTools =
      input.continued?.mcpTools ?? (agent.mcp?.length ? await mcpToolsOf(agent, agent.tools, label) : []);
    const tools = [...agent.tools, ...mcpTools];
    const mcpServerOf = new Map(tools.map((tool) => [tool.name, tool.mcpServer]));
    await runModelLoop(input, state, {
      gate,
      handOff: (progress) => handOff({ ...progress, mcpTools }),
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
