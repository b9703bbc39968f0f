import { InvalidInputError } from '../shared/errors';
import type { WorkflowRunOutput } from '../shared/run-output';
import { isTerminalStatus, type RunStatus } from '../shared/run-status';
import type { RunInputBase, WorkflowRunInput, WorkflowSpec } from '../shared/specs';
import { Component } from './component';
import type { ComponentOptions } from './component-options';
import type { EndCondition, StepFunction, Tool } from './contracts';
import { functionsOf, specsOf, toolsOf, type WorkflowStep } from './steps';

/** How a workflow is defined. */
export interface WorkflowOptions extends ComponentOptions {
  description?: string;
  /** Steps in order: `Step`, `Steps`, `Parallel`, `Condition`, `Loop`, `Router`, or an agent or team directly. */
  steps: WorkflowStep[];
  /** Keep every event (steps' runs included) on the run's final output (`events`). */
  storeEvents?: boolean;
}

/** What a workflow run's output adds to its data: `hasCompleted()`, a method (so JSON and equality ignore it). */
class RunCompletion {
  declare readonly status: RunStatus;

  /** True for every terminal status: `COMPLETED`, `CANCELLED` and `ERROR` (so polling loops end after a cancel). */
  hasCompleted(): boolean {
    return isTerminalStatus(this.status);
  }
}

/** A workflow run's output, with `hasCompleted()`. */
export type WorkflowRunResult = WorkflowRunOutput & RunCompletion;

/**
 * A workflow of steps. Each `run` is a Temporal workflow (`workflowRun`); agent and team steps are child workflows,
 * and function steps, evaluators, selectors and end conditions run as activities on a worker whose app lists this
 * workflow (`defineApp({ workflows })`).
 */
export class Workflow extends Component<'workflow', WorkflowRunResult> {
  readonly kind = 'workflow';
  private readonly options: WorkflowOptions;
  private resolvedSpec: WorkflowSpec | undefined;

  constructor(options: WorkflowOptions) {
    super(options);
    if (!options.steps?.length) throw new InvalidInputError(`workflow '${options.name}' needs at least one step`);
    this.options = options;
  }

  /** The workflow as plain data, as its runs carry it. */
  spec(): WorkflowSpec {
    const { description, storeEvents, steps } = this.options;
    this.resolvedSpec ??= {
      kind: 'workflow',
      id: this.id,
      name: this.name,
      ...(description !== undefined ? { description } : {}),
      steps: specsOf(steps),
      ...(storeEvents ? { storeEvents } : {}),
    };
    return this.resolvedSpec;
  }

  /** A run's output, or `null` when there is no such run of this workflow. */
  getRun(runId: string): Promise<WorkflowRunResult | null> {
    return this.getRunOutput({ runId });
  }

  allTools(): Tool[] {
    return toolsOf(this.options.steps);
  }

  /** The named functions its steps run, for the worker to register. */
  stepFunctions(): Map<string, StepFunction | EndCondition> {
    return functionsOf(this.options.steps);
  }

  protected runInput(base: RunInputBase): WorkflowRunInput {
    return { ...base, kind: 'workflow', workflow: this.spec() };
  }

  protected present(output: WorkflowRunOutput): WorkflowRunResult {
    return Object.assign(new RunCompletion(), output);
  }
}
