import type { TeamRunOutput } from '../shared/run-output';
import type { TeamRunInput } from '../shared/specs';
import { delegate, delegationTool, isDelegation, leaderGuidance } from './delegation';
import { runActivityTool, runModelLoop, runWorkflowTool, systemInstructions } from './model-loop';
import { runLifecycle, settleAll } from './run-lifecycle';
import { RunState } from './run-state';

/**
 * One team run: the leader's model loop, with a delegation tool whose calls run members as child workflows.
 * In `route` mode the first member answer is the team's answer.
 */
export async function teamRun(input: TeamRunInput): Promise<TeamRunOutput> {
  const team = input.team;
  const output = await runLifecycle(
    input,
    { storeEvents: team.storeEvents },
    (publish, now) => new RunState(input, publish, now),
    (run) =>
      runModelLoop(input, run.state, {
        model: team.model,
        instructions: systemInstructions(team, leaderGuidance(team)),
        tools: [...team.tools, delegationTool(team)],
        maxToolRounds: team.maxToolRounds,
        eventContext: run.eventContext,
        async runToolCalls(calls) {
          let routedAnswer: string | undefined;
          await settleAll(
            calls.map(async (call) => {
              if (!isDelegation(call)) return runActivityTool(input, run.state, call);
              const result = await runWorkflowTool(run.state, call, () => delegate(input, run.state, call));
              if (team.mode === 'route' && !result.isError) routedAnswer ??= result.content;
            }),
          );
          if (routedAnswer === undefined) return false;
          run.state.answer(routedAnswer);
          return true;
        },
      }),
  );
  return output as TeamRunOutput;
}
