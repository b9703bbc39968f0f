import { proxyActivities, setCurrentDetails, type ActivityOptions } from '@temporalio/workflow';
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
  const name = input.workflow.name;
  const calls: StepCalls = {
    runFunction(call, attempts) {
      const what = `${call.role} ${call.name}`;
      setCurrentDetails(`${name}: running ${what}`);
      return runStepFunction.executeWithOptions(
        {
          ...functionActivityOptions,
          retry: { ...functionActivityOptions.retry, maximumAttempts: attempts },
          summary: `${name} · ${what}`,
        },
        [{ runId: input.runId, ...call }],
      );
    },
    runChild(member, task, step) {
      const childInput = childRunInput(input, member, task, `step ${step.name} of ${name}`);
      setCurrentDetails(`${name}: waiting on step ${step.name}`);
      return { runId: childInput.runId, output: runChild(childInput) };
    },
  };
  return runLifecycle(input, stream, state, async () => {
    await new StepRunner(input.input, state, calls).runSequence(input.workflow.steps, undefined, true);
  });
}
