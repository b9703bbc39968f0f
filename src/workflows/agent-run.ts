import type { AgentRunInput } from '../shared/specs';
import type { AnyRunOutput, RunOutput } from '../shared/run-output';
import { runActivityTool, runModelLoop, systemInstructions } from './model-loop';
import { runLifecycle, settleAll } from './run-lifecycle';
import { RunState } from './run-state';

export { runOutputQuery, runEventsQuery, FINAL_OUTPUT_MEMO } from './messages';

/**
 * One agent run: model → tools → model … until the model answers without tool calls. Polled with the `runOutput`
 * query; its events go to the workflow stream's `events` topic; cancelled by Temporal cancellation.
 */
export async function agentRun(input: AgentRunInput): Promise<RunOutput> {
  const agent = input.agent;
  const output: AnyRunOutput = await runLifecycle(
    input,
    { storeEvents: agent.storeEvents },
    (publish, now) => new RunState(input, publish, now),
    ({ state, eventContext }) =>
      runModelLoop(input, state, {
        model: agent.model,
        instructions: systemInstructions(agent),
        tools: agent.tools,
        maxToolRounds: agent.maxToolRounds,
        eventContext,
        async runToolCalls(calls) {
          // Tool calls of one model turn are independent, so they run side by side; results keep the model's order.
          await settleAll(calls.map((call) => runActivityTool(input, state, call)));
          return false;
        },
      }),
  );
  return output as RunOutput;
}
