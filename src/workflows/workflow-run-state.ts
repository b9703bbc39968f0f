import { WorkflowRunEvent, type WorkflowEventBody, type WorkflowEventSource } from '../shared/events';
import { outputFromRecordOf, runRecordOf } from '../shared/run-record';
import type { RunRequirement } from '../shared/requirements';
import type { RunError, StepOutput, WorkflowRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import type { StepSpec, WorkflowRunInput } from '../shared/specs';
import { RunState } from './run-state';
import type { RunEventLog } from './run-stream';

type CompositeType = Exclude<StepSpec['type'], 'step'>;

const compositeEvents = {
  steps: [WorkflowRunEvent.stepsExecutionStarted, WorkflowRunEvent.stepsExecutionCompleted],
  parallel: [WorkflowRunEvent.parallelExecutionStarted, WorkflowRunEvent.parallelExecutionCompleted],
  condition: [WorkflowRunEvent.conditionExecutionStarted, WorkflowRunEvent.conditionExecutionCompleted],
  loop: [WorkflowRunEvent.loopExecutionStarted, WorkflowRunEvent.loopExecutionCompleted],
  router: [WorkflowRunEvent.routerExecutionStarted, WorkflowRunEvent.routerExecutionCompleted],
} as const satisfies Record<CompositeType, readonly [string, string]>;

/**
 * The state of one workflow run: its steps' outputs (`stepResults`) and the four transitions, each publishing its
 * `Workflow…`/`Step…` event. The step runner drives it. A workflow's agent and team steps are child runs whose
 * outputs are recorded as step outputs, each settled before the workflow ends.
 */
export class WorkflowRunState extends RunState<WorkflowRunOutput> {
  /** Who this run's events come from. */
  readonly source: WorkflowEventSource;

  constructor(input: WorkflowRunInput, log: RunEventLog, now: () => Date = () => new Date()) {
    // A run that continued as new goes on with the output its last execution carried.
    const continued = input.continued;
    const output = continued
      ? (continued.output as WorkflowRunOutput)
      : outputFromRecordOf.workflow(runRecordOf(input));
    super(output, log, now, continued?.startedAt);
    const { runId, sessionId, parentRunId, workflowId, workflowName } = this.output;
    this.source = {
      kind: 'workflow',
      runId,
      sessionId,
      ...(parentRunId !== undefined ? { parentRunId } : {}),
      workflowId,
      workflowName,
    };
  }

  start(): void {
    this.transition(RunStatus.running);
    this.emit({ event: WorkflowRunEvent.workflowStarted, input: this.output.input });
  }

  stepStarted(step: StepSpec, detail: { conditionResult?: boolean; selectedSteps?: string[] } = {}): void {
    if (step.type === 'step') {
      this.emit({ event: WorkflowRunEvent.stepStarted, stepName: step.name });
      return;
    }
    const maxIterations = step.type === 'loop' ? { maxIterations: step.maxIterations } : {};
    this.emit({ event: compositeEvents[step.type][0], stepName: step.name, ...detail, ...maxIterations });
  }

  /** The output of the top-level step at `index`, if it has finished (in this execution or an earlier one). */
  finishedStep(index: number): StepOutput | undefined {
    return this.output.stepResults[index];
  }

  /** A step ended (also failed or cancelled). `topLevel` steps are the workflow's `stepResults`. */
  stepFinished(step: StepSpec, output: StepOutput, topLevel: boolean): void {
    if (topLevel) {
      this.output.stepResults.push(output);
      if (output.success) this.output.content = output.content;
    }
    if (step.type !== 'step') {
      this.emit({ event: compositeEvents[step.type][1], stepName: step.name, stepOutput: output });
    } else if (output.success || output.status === RunStatus.completed) {
      this.emit({ event: WorkflowRunEvent.stepCompleted, stepName: step.name, stepOutput: output });
    } else {
      const error = output.error ?? { type: output.status, message: `step ${step.name} ended ${output.status}` };
      this.emit({ event: WorkflowRunEvent.stepError, stepName: step.name, error });
    }
  }

  loopIterationStarted(step: StepSpec & { type: 'loop' }, iteration: number): void {
    this.emit({
      event: WorkflowRunEvent.loopIterationStarted,
      stepName: step.name,
      iteration,
      maxIterations: step.maxIterations,
    });
  }

  loopIterationCompleted(step: StepSpec & { type: 'loop' }, iteration: number, shouldContinue: boolean): void {
    this.emit({ event: WorkflowRunEvent.loopIterationCompleted, stepName: step.name, iteration, shouldContinue });
  }

  complete(): void {
    this.transition(RunStatus.completed);
    this.emit({ event: WorkflowRunEvent.workflowCompleted, content: this.output.content });
  }

  fail(error: RunError): void {
    this.output.error = error;
    this.transition(RunStatus.error);
    this.emit({ event: WorkflowRunEvent.workflowError, error, content: this.output.content });
  }

  cancel(reason: string): void {
    this.transition(RunStatus.cancelled);
    this.emit({ event: WorkflowRunEvent.workflowCancelled, reason, content: this.output.content });
  }

  protected emitPaused(requirements: RunRequirement[]): void {
    this.emit({ event: WorkflowRunEvent.workflowPaused, requirements });
  }

  protected emitContinued(): void {
    this.emit({ event: WorkflowRunEvent.workflowContinued });
  }

  private emit(body: WorkflowEventBody): void {
    this.log.publish({ ...body, ...this.source, createdAt: this.now().toISOString() });
  }
}
