import { CancellationScope, condition } from '@temporalio/workflow';
import { isTerminalEventOf } from '../shared/events';
import type { TeamRunOutput } from '../shared/run-output';
import type { TeamRunInput } from '../shared/specs';
import { delegate, delegationTool, isDelegation, leaderGuidance } from './delegation';
import { mcpToolsOf, runActivityTool, runModelLoop, runWorkflowTool, systemInstructions } from './model-loop';
import { modelRunLabel } from '../shared/run-labels';
import { runInputOf } from './run-input';
import { endsByCancel } from './run-errors';
import { runLifecycle } from './run-lifecycle';
import { RunStream } from './run-stream';
import { settleAll } from './settle-all';
import { TeamRunState } from './team-run-state';

/** How long a cancelled team waits for its cancelled members' last events (their partial answers). */
const MEMBER_END_GRACE = '5 seconds';

/**
 * One team run: the leader's model loop, with a delegation tool whose calls run members as child workflows.
 * In `route` mode the first member answer is the team's answer.
 */
export async function teamRun(saved: TeamRunInput): Promise<TeamRunOutput> {
  const input = runInputOf(saved, 'team');
  const stream = new RunStream(input);
  const state = new TeamRunState(input, stream);
  const team = input.team;
  const label = modelRunLabel(input);
  return runLifecycle(input, stream, state, async (gate, handOff) => {
    const own = [...team.tools, delegationTool(team)];
    // Only a run whose leader has MCP servers yields here: other runs keep the commands they recorded before. A run
    // that continued as new offers the tools its servers listed when it started.
    const mcpTools = input.continued?.mcpTools ?? (team.mcp?.length ? await mcpToolsOf(team, own, label) : []);
    const tools = [...own, ...mcpTools];
    const mcpServerOf = new Map(tools.map((tool) => [tool.name, tool.mcpServer]));
    try {
      await runModelLoop(input, state, {
        gate,
        // At the top of a turn the members the leader delegated to have ended (their tool calls waited for them);
        // a member still open would be left behind, so the run would not hand over then.
        handOff: async (progress) =>
          state.openMemberRunIds().length === 0 ? handOff({ ...progress, mcpTools }) : undefined,
        pauseTimeoutMs: team.pauseTimeoutMs,
        outputSchema: input.outputSchema ?? team.outputSchema,
        label,
        model: team.model,
        instructions: systemInstructions(team, leaderGuidance(team)),
        tools,
        maxToolRounds: team.maxToolRounds,
        async runToolCalls(calls) {
          let routedAnswer: string | undefined;
          await settleAll(
            calls.map(async (call) => {
              if (!isDelegation(call)) {
                return runActivityTool(input, state, call, label, { mcpServer: mcpServerOf.get(call.name) });
              }
              const result = await runWorkflowTool(state, call, () => delegate(input, state, call));
              if (team.mode === 'route' && !result.isError) routedAnswer ??= result.content;
            }),
          );
          if (routedAnswer === undefined) return false;
          state.answer(routedAnswer);
          return true;
        },
      });
    } catch (err) {
      if (endsByCancel(err)) await settleCancelledMembers(stream, state);
      throw err;
    }
  });
}

/**
 * A cancelled team's members were cancelled with it. Their last events (with their partial answers) come by signal;
 * once they are in, or after a grace period, the members that have not ended are recorded `CANCELLED`.
 */
async function settleCancelledMembers(stream: RunStream, state: TeamRunState): Promise<void> {
  const open = state.openMemberRunIds();
  if (open.length === 0) return;
  await CancellationScope.nonCancellable(() =>
    condition(
      () => {
        const events = stream.read();
        return open.every((runId) => events.some((event) => isTerminalEventOf(event, runId)));
      },
      MEMBER_END_GRACE,
      { summary: 'waiting for the cancelled members to report their partial answers' },
    ),
  );
  state.cancelOpenMembers();
}
