import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import type { WorkflowRunOutput } from '../shared/run-output';
import type { WorkflowRunInput } from '../shared/specs';
import { childRunInput, runChild } from './child-runs';
import { readRunInput } from '../shared/saved-runs';
import { runLifecycle } from './run-lifecycle';
import { RunStream } from './run-stream';
import { StepRunner, type StepCalls } from './step-runner';
import { WorkflowRunState } from './workflow-run-state';

const functionActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '500 milliseconds', maximumAttempts: 1 },
};

const { runStepFunction } = proxyActivities<KernActivities>(functionActivityOptions);

/**
 * One workflow run: its steps in order (agent and team steps as child workflows, function steps, evaluators,
 * selectors and end conditions as activities). Its content is the last step's content.
 */
export async function workflowRun(saved: WorkflowRunInput): Promise<WorkflowRunOutput> {
  const input = readRunInput(saved, 'workflow');
  const stream = new RunStream(input);
  const state = new WorkflowRunState(input, stream);
  const calls: StepCalls = {
    runFunction: (call, attempts) =>
      runStepFunction.executeWithOptions(
        {
          ...functionActivityOptions,
          retry: { ...functionActivityOptions.retry, maximumAttempts: attempts },
          summary: `${call.role} ${call.name}`,
        },
        [{ runId: input.runId, ...call }],
      ),
    runChild(member, task, step) {
      const childInput = childRunInput(input, member, task);
      return { runId: childInput.runId, output: runChild(childInput, `step ${step.name} of ${input.workflow.name}`) };
    },
  };
  return runLifecycle(input, stream, state, async () => {
    await new StepRunner(input.input, state, calls).runSequence(input.workflow.steps, undefined, true);
  });
}
