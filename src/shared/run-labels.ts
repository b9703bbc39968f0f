import { workflowIdForRun } from './ids';
import type { RunRecord } from './run-record';
import type { AgentRunInput, TeamRunInput } from './specs';
import { oneLine } from './text';
import { unreachable } from './never';

/**
 * How kern's runs read in the Temporal UI. The workflow list shows a run's summary, and its User Metadata tab shows
 * the details (markdown).
 */

/** A run's one-line summary: its component, its role under a parent, and its input. */
export function runSummary(record: RunRecord, roleInParent?: string): string {
  return `${record.componentName}${roleInParent ? `, ${roleInParent}` : ''}: ${oneLine(record.input)}`;
}

/**
 * A run's static details: its kind, component and model, its session and user, and its parent run, linked in the
 * Temporal UI of `namespace`.
 */
export function runDetails(record: RunRecord, context: { namespace: string; roleInParent?: string }): string {
  const model = record.model ? ` on model \`${record.model}\`` : '';
  const parent = record.parentRunId && workflowIdForRun(record.parentRunId);
  return [
    `**${record.componentName}**: ${record.kind} \`${record.componentId}\`${model}`,
    '',
    // A schedule's runs share one record (see `recordOfExecution`): each one's id is its workflow id's end.
    record.scheduleId !== undefined ? `- schedule: \`${record.scheduleId}\`` : `- run id: \`${record.runId}\``,
    `- session: \`${record.sessionId}\``,
    ...(record.userId ? [`- user: \`${record.userId}\``] : []),
    ...(parent
      ? [
          `- parent run: [${parent}](/namespaces/${encodeURIComponent(context.namespace)}/workflows/${encodeURIComponent(parent)})` +
            (context.roleInParent ? `, ${context.roleInParent}` : ''),
        ]
      : []),
  ].join('\n');
}

/**
 * What a model run's activities and current details are labelled with: `Writer, member of Research Team`,
 * `Research Team leader`, `Inner Team leader, member of Outer Team`.
 */
export function modelRunLabel(input: AgentRunInput | TeamRunInput): string {
  return `${modelRunName(input)}${input.roleInParent ? `, ${input.roleInParent}` : ''}`;
}

function modelRunName(input: AgentRunInput | TeamRunInput): string {
  switch (input.kind) {
    case 'agent':
      return input.agent.name;
    case 'team':
      return `${input.team.name} leader`;
    default:
      return unreachable(input, 'run input');
  }
}
