// The worker's workflowsPath: every workflow type kern runs. Sandbox code only (see DESIGN.md §1).
export { agentRun } from './agent-run';
export { teamRun } from './team-run';
export { workflowRun } from './workflow-run';
export { kernSession } from './session';
