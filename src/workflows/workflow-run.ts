import type { WorkflowRunInput } from '../shared/specs';
import type { WorkflowRunOutput } from '../shared/run-output';
import { runLifecycle } from './run-lifecycle';
import { StepRunner } from './step-runner';
import { WorkflowState } from './workflow-state';

/**
 * One workflow run: its steps in order (agent and team steps as child workflows, function steps, evaluators,
 * selectors and end conditions as activities). Its content is the last step's content.
 */
export async function workflowRun(input: WorkflowRunInput): Promise<WorkflowRunOutput> {
  const output = await runLifecycle(
    input,
    { storeEvents: input.workflow.storeEvents },
    (publish, now) => new WorkflowState(input, publish, now),
    async ({ state }) => {
      await new StepRunner(input, state).runSequence(input.workflow.steps, undefined, true);
    },
  );
  return output as WorkflowRunOutput;
}
