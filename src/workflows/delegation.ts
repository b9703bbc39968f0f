import { CancellationScope, isCancellation, setCurrentDetails } from '@temporalio/workflow';
import type { ToolCallResult } from '../shared/model-call';
import type { ToolCall } from '../shared/run-output';
import { modelRunLabel } from '../shared/run-labels';
import { RunStatus } from '../shared/run-status';
import type { MemberSpec, TeamRunInput, TeamSpec, ToolSpec } from '../shared/specs';
import { DELEGATE_TO_ALL, DELEGATE_TO_MEMBER, parseToolArguments } from '../shared/tool-calls';
import { childRunInput, childSessionChanges, runChild } from './child-runs';
import { contentText } from '../shared/text';
import { toRunError } from './run-errors';
import type { TeamRunState } from './team-run-state';

const taskParameter = { type: 'string', description: 'What to do, with everything needed to do it.' };

/** The delegation tool the leader's model gets, for the team's mode. */
export function delegationTool(team: TeamSpec): ToolSpec {
  if (team.mode === 'broadcast') {
    return {
      name: DELEGATE_TO_ALL,
      description: "Gives a task to every member of the team at once and returns each member's answer.",
      parameters: {
        type: 'object',
        properties: { task: taskParameter },
        required: ['task'],
        additionalProperties: false,
      },
    };
  }
  return {
    name: DELEGATE_TO_MEMBER,
    description: "Gives a task to one member of the team and returns the member's answer.",
    parameters: {
      type: 'object',
      properties: {
        member_id: {
          type: 'string',
          enum: team.members.map((member) => member.id),
          description: 'The id of the member.',
        },
        task: taskParameter,
      },
      required: ['member_id', 'task'],
      additionalProperties: false,
    },
  };
}

/** What the leader is told about its team, before the team's own instructions. */
export function leaderGuidance(team: TeamSpec): string[] {
  const members = team.members.map((member) => {
    const about = member.role ?? member.description;
    return `- ${member.id}: ${member.name}${about ? ` (${about})` : ''}`;
  });
  const how = {
    coordinate: `Delegate tasks to members with ${DELEGATE_TO_MEMBER}, then answer the user from their answers.`,
    route: `Pick the one member best suited to the request and delegate it with ${DELEGATE_TO_MEMBER}; that member's answer is the team's answer.`,
    broadcast: `Give the task to every member at once with ${DELEGATE_TO_ALL}, then combine their answers.`,
  }[team.mode];
  return [`You lead the team "${team.name}". Its members:`, ...members, how];
}

export function isDelegation(call: ToolCall): boolean {
  return call.name === DELEGATE_TO_MEMBER || call.name === DELEGATE_TO_ALL;
}

/**
 * Answers a delegation call: each member's task is a child run (`agentRun` or `teamRun`) with a new run id and
 * the team's run as its parent. A member that fails or is cancelled on its own is reported to the leader as a tool
 * error; a cancel of the team cancels its members with it.
 */
export async function delegate(input: TeamRunInput, state: TeamRunState, call: ToolCall): Promise<ToolCallResult> {
  const args = parseToolArguments(call.arguments);
  const task = typeof args.task === 'string' ? args.task.trim() : '';
  if (!task) return { content: 'Error: the delegation needs a non-empty task', isError: true, args };
  if (call.name === DELEGATE_TO_ALL) {
    const results = await Promise.all(input.team.members.map((member) => runMember(input, state, member, task)));
    const combined = results.map((result, i) => `## ${input.team.members[i]!.name}\n${result.content}`);
    return { content: combined.join('\n\n'), isError: results.every((result) => result.isError), args };
  }
  const member = input.team.members.find((candidate) => candidate.id === args.member_id);
  if (!member) {
    const ids = input.team.members.map((candidate) => candidate.id).join(', ');
    return {
      content: `Error: unknown member '${String(args.member_id)}'; the members are: ${ids}`,
      isError: true,
      args,
    };
  }
  return { ...(await runMember(input, state, member, task)), args };
}

async function runMember(
  input: TeamRunInput,
  state: TeamRunState,
  member: MemberSpec,
  task: string,
): Promise<{ content: string; isError: boolean }> {
  const memberInput = childRunInput(input, member, task, `member of ${input.team.name}`, state.sessionState);
  setCurrentDetails(`${modelRunLabel(input)}: waiting on ${member.name}`);
  try {
    const output = await runChild(memberInput, () => state.memberStarted(memberInput));
    state.changeSessionState(childSessionChanges(memberInput, output));
    state.memberEnded(output);
    return { content: contentText(output.content), isError: false };
  } catch (err) {
    // The team itself is being cancelled: its members end with it (the team settles them before it ends).
    if (CancellationScope.current().consideredCancelled) throw err;
    const cancelled = isCancellation(err);
    const error = toRunError(err);
    state.memberStopped(memberInput, cancelled ? RunStatus.cancelled : RunStatus.error, cancelled ? undefined : error);
    const what = cancelled ? 'was cancelled' : `failed: ${error.message}`;
    return { content: `Error: ${member.name} ${what}`, isError: true };
  }
}
