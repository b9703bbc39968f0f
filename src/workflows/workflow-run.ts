import { proxyActivities, setCurrentDetails, type ActivityOptions } from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import { StepFunctionFailed } from '../shared/errors';
import type { WorkflowRunOutput } from '../shared/run-output';
import type { WorkflowRunInput } from '../shared/specs';
import { childRunInput, childSessionChanges, runChild } from './child-runs';
import { checkHistoryBudget } from './run-bounds';
import { runInputOf } from './run-input';
import { toRunError } from './run-errors';
import { continuationDue } from './run-continuation';
import { runLifecycle } from './run-lifecycle';
import { RunStream } from './run-stream';
import { StepRunner, type StepCalls } from './step-runner';
import { WorkflowRunState } from './workflow-run-state';
import { hasPatch } from './patches';

/**
 * Step functions heartbeat while they run, so a lost worker is noticed in seconds; a lost worker, a timeout or a
 * worker that lacks the function is retried here. What the function itself throws is not: the workflow calls it
 * again as its step allows (`maxRetries`), so only the user's failures count against that.
 */
const functionActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/** Runs recorded before the change above retried everything a function threw, as its step allowed. */
const STEP_FUNCTION_ATTEMPTS = 'kern-step-function-attempts';
const legacyFunctionActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '500 milliseconds', maximumAttempts: 1 },
};

const { runStepFunction } = proxyActivities<KernActivities>(functionActivityOptions);

/**
 * One workflow run: its steps in order (agent and team steps as child workflows, function steps, evaluators,
 * selectors and end conditions as activities). Its content is the last step's content. A run whose history grows long
 * continues as new before a step (see `StepRunner`).
 */
export async function workflowRun(saved: WorkflowRunInput): Promise<WorkflowRunOutput> {
  const input = runInputOf(saved, 'workflow');
  const stream = new RunStream(input);
  const state = new WorkflowRunState(input, stream);
  const name = input.workflow.name;
  const calls: StepCalls = {
    async runFunction(call, attempts) {
      const what = `${call.role} ${call.name}`;
      setCurrentDetails(`${name}: running ${what}`);
      const args = [{ runId: input.runId, ...call }] as const;
      if (!hasPatch(STEP_FUNCTION_ATTEMPTS)) {
        const retry = { ...legacyFunctionActivityOptions.retry, maximumAttempts: attempts };
        return runStepFunction.executeWithOptions(
          { ...legacyFunctionActivityOptions, retry, summary: `${name} · ${what}` },
          [...args],
        );
      }
      for (let attempt = 1; ; attempt++) {
        const summary = `${name} · ${what}${attempt > 1 ? ` · attempt ${attempt} of ${attempts}` : ''}`;
        try {
          return await runStepFunction.executeWithOptions({ ...functionActivityOptions, summary }, [...args]);
        } catch (err) {
          if (attempt >= attempts || toRunError(err).type !== StepFunctionFailed.name) throw err;
        }
      }
    },
    runChild(member, task, step) {
      const childInput = childRunInput(input, member, task, `step ${step.name} of ${name}`, state.sessionState);
      setCurrentDetails(`${name}: waiting on step ${step.name}`);
      const output = runChild(childInput).then((childOutput) => {
        state.changeSessionState(childSessionChanges(childInput, childOutput));
        return childOutput;
      });
      return { runId: childInput.runId, output };
    },
  };
  return runLifecycle(input, stream, state, async (_gate, handOff) => {
    const runner: StepRunner = new StepRunner(
      input.input,
      state,
      {
        ...calls,
        // Before each step: continue as new when due and nothing else is in flight; end the run near Temporal's limits.
        beforeStep: ({ step, idle }) =>
          idle && continuationDue('workflow')
            ? handOff({ steps: runner.progress(), step }).then(checkHistoryBudget)
            : checkHistoryBudget(),
      },
      input.continued?.steps,
    );
    await runner.runSequence(input.workflow.steps, undefined, true);
  });
}
