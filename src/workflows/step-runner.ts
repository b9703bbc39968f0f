import { ContinueAsNew, isCancellation } from '@temporalio/workflow';
import { StepFailed, UnknownRoute, toApplicationFailure } from '../shared/errors';
import type { RunOutput, StepOutput, TeamRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { contentText } from '../shared/text';
import type { StepFunctionCall, StepFunctionResult, StepInput } from '../shared/step-functions';
import type { MemberSpec, StepSpec, StepsProgress } from '../shared/specs';
import { toRunError } from './run-errors';
import { settleAll } from './settle-all';
import type { WorkflowRunState } from './workflow-run-state';
import { unreachable } from '../shared/never';

type Step<T extends StepSpec['type']> = StepSpec & { type: T };

/** What the step runner asks of Temporal: named functions run as activities, agent and team steps as child runs. */
export interface StepCalls {
  /**
   * Called before each step: may hand the run over to its next execution (continue as new) when it is `idle`, or
   * throw to end the run (a history near Temporal's limits), whatever the step allows.
   */
  beforeStep?(at: StepAt): void | Promise<void>;
  /** Runs a step function on a worker, at most `attempts` times (retrying what it throws). */
  runFunction(call: Omit<StepFunctionCall, 'runId'>, attempts: number): Promise<StepFunctionResult>;
  /** Starts an agent or team step as a child run: its run id at once, its output (or failure) when it ends. */
  runChild(
    member: MemberSpec,
    task: string,
    step: Step<'step'>,
  ): { runId: string; output: Promise<RunOutput | TeamRunOutput> };
}

/** Where a step is about to start. */
export interface StepAt {
  /** The step's name. */
  step: string;
  /**
   * Nothing else of the run is in flight: no other step runs beside it (it is not inside a `Parallel`), so the run's
   * state is whole in {@link StepRunner.progress}.
   */
  idle: boolean;
}

/**
 * What the steps of one workflow run share while they run.
 *
 * A run that continued as new (`StepsProgress`) runs its steps again from the first: a step that finished in an
 * earlier execution gives its recorded output (a top-level one from the output's `stepResults`), a decision its
 * recorded result, and a composite step or loop iteration that had started publishes no started event again, until the
 * run reaches the step it handed over at, which runs as in one execution.
 */
export class StepRunner {
  /** Every step output so far, by step name, for the next steps' `StepInput`. */
  private readonly outputs: Record<string, StepOutput>;
  /** What a running step has so far (its inner steps' outputs, its child run id), kept if it ends by a failure. */
  private readonly partial = new Map<StepSpec, Pick<StepOutput, 'steps' | 'runId'>>();
  /** The inner steps that finished and the decisions taken, inside composite steps still running, by position. */
  private readonly finished: Record<string, StepOutput>;
  private readonly decided: Record<string, StepFunctionResult>;
  /** When each running step and loop iteration started (ISO), by position. */
  private readonly started: Record<string, string>;
  /** What had started in an earlier execution: its started events are out. */
  private readonly startedBefore: ReadonlySet<string>;
  /** How many `Parallel` steps are running (their branches side by side). */
  private parallels = 0;

  constructor(
    /** The workflow run's input text, which every step gets. */
    private readonly workflowInput: string,
    private readonly state: WorkflowRunState,
    private readonly calls: StepCalls,
    /** Where the steps stood when the run's last execution continued as new. */
    resumed?: StepsProgress,
  ) {
    this.outputs = { ...resumed?.outputs };
    this.finished = { ...resumed?.finished };
    this.decided = { ...resumed?.decided };
    this.started = { ...resumed?.started };
    this.startedBefore = new Set(Object.keys(this.started));
  }

  /** Where the steps stand, for the run's next execution; whole only where no step is in flight. */
  progress(): StepsProgress {
    return { finished: this.finished, decided: this.decided, started: this.started, outputs: this.outputs };
  }

  /** Runs steps one after another, each getting the previous one's output; returns their outputs (`into`). */
  async runSequence(
    steps: StepSpec[],
    previous: StepOutput | undefined,
    topLevel = false,
    results: StepOutput[] = [],
    within = '',
  ): Promise<StepOutput[]> {
    const start = results.length;
    for (const [index, step] of steps.entries()) {
      const at = positionOf(within, index);
      // Finished in an earlier execution of this run: recorded there, events published there.
      const done = topLevel ? this.state.finishedStep(index) : this.finished[at];
      results.push(
        done ??
          (await this.settled(
            step,
            () => this.runStep(step, results.length > start ? results.at(-1) : previous, topLevel, at),
            results,
          )),
      );
    }
    return results.slice(start);
  }

  /** Runs a step; if it ends by a failure or cancel, its recorded output still goes into `into` before it throws. */
  private async settled(
    step: StepSpec,
    run: () => Promise<StepOutput>,
    into: StepOutput[],
    at = into.length,
  ): Promise<StepOutput> {
    try {
      return await run();
    } catch (err) {
      const recorded = this.outputs[step.name];
      if (recorded) into[at] = recorded;
      throw err;
    }
  }

  /**
   * Runs one step and records its output. A failed step fails the workflow unless it may be skipped; a cancelled
   * one is recorded `CANCELLED` and the cancel goes on up.
   */
  private async runStep(
    step: StepSpec,
    previous: StepOutput | undefined,
    topLevel: boolean,
    at: string,
  ): Promise<StepOutput> {
    // A run that continues as new here ends this execution (only when due, so earlier runs replay without yielding).
    const handingOver = this.calls.beforeStep?.({ step: step.name, idle: this.parallels === 0 });
    if (handingOver) await handingOver;
    const startedAt = (this.started[at] ??= new Date().toISOString());
    const mayFail = step.type === 'step' && step.skipOnFailure === true;
    this.partial.delete(step);
    let output: StepOutput;
    try {
      output = await this.execute(step, previous, at);
    } catch (err) {
      // Not an end: the run goes on in its next execution.
      if (err instanceof ContinueAsNew) throw err;
      const cancelled = isCancellation(err);
      output = {
        ...this.stepBase(step),
        ...this.partial.get(step),
        success: false,
        status: cancelled ? RunStatus.cancelled : RunStatus.error,
        ...(cancelled ? {} : { error: toRunError(err) }),
        ...(mayFail && !cancelled ? { skipped: true } : {}),
      };
      this.record(step, output, topLevel, at, startedAt);
      if (cancelled || !mayFail) throw err;
      return output;
    }
    if (!output.success && mayFail) output.skipped = true;
    this.record(step, output, topLevel, at, startedAt);
    if (!output.success && !mayFail) {
      throw toApplicationFailure(new StepFailed(step.name, output.error?.message ?? 'it reported no success'));
    }
    return output;
  }

  private execute(step: StepSpec, previous: StepOutput | undefined, at: string): Promise<StepOutput> {
    switch (step.type) {
      case 'step':
        return this.runSingle(step, previous);
      case 'steps':
        return this.runGroup(step, previous, at);
      case 'parallel':
        return this.runParallel(step, previous, at);
      case 'condition':
        return this.runCondition(step, previous, at);
      case 'loop':
        return this.runLoop(step, previous, at);
      case 'router':
        return this.runRouter(step, previous, at);
      default:
        return unreachable(step, 'step');
    }
  }

  private async runSingle(step: Step<'step'>, previous: StepOutput | undefined): Promise<StepOutput> {
    this.state.stepStarted(step);
    if (step.executor) {
      const result = await this.call(step.executor, 'executor', previous, {}, (step.maxRetries ?? 0) + 1);
      if (result.role !== 'executor') throw new Error('unreachable: executor result');
      return { ...this.stepBase(step), content: result.content, success: result.success, status: RunStatus.completed };
    }
    if (!step.component) throw new Error(`step '${step.name}' has no agent, team or executor`);
    const child = this.calls.runChild(step.component, stepMessage(this.workflowInput, previous), step);
    this.partial.set(step, { runId: child.runId });
    try {
      const output = await child.output;
      return {
        ...this.stepBase(step),
        runId: child.runId,
        // A structured answer (an `outputSchema` agent's) goes on to the next step as its JSON text.
        content: output.content === null ? null : contentText(output.content),
        success: true,
        status: output.status,
      };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const error = toRunError(err);
      return { ...this.stepBase(step), runId: child.runId, success: false, status: RunStatus.error, error };
    }
  }

  private async runGroup(step: Step<'steps'>, previous: StepOutput | undefined, at: string): Promise<StepOutput> {
    this.compositeStarted(step, at);
    return this.composite(step, await this.runSequence(step.steps, previous, false, this.children(step), at));
  }

  /** A run does not continue as new inside a `Parallel` (its branches are in flight side by side), only around it. */
  private async runParallel(step: Step<'parallel'>, previous: StepOutput | undefined, at: string): Promise<StepOutput> {
    this.compositeStarted(step, at);
    const results = this.children(step);
    // Every branch settles before a failure or cancel goes on up, so none is left running.
    this.parallels++;
    try {
      await settleAll(
        step.steps.map(async (branch, index) => {
          const branchAt = positionOf(at, index);
          results[index] = await this.settled(
            branch,
            () => this.runStep(branch, previous, false, branchAt),
            results,
            index,
          );
        }),
      );
    } finally {
      this.parallels--;
    }
    const content = results.map((result) => `## ${result.stepName}\n${result.content ?? ''}`).join('\n\n');
    return { ...this.composite(step, results), content };
  }

  private async runCondition(
    step: Step<'condition'>,
    previous: StepOutput | undefined,
    at: string,
  ): Promise<StepOutput> {
    const result = (this.decided[`${at}:evaluator`] ??= await this.call(step.evaluator, 'evaluator', previous));
    const verdict = result.role === 'evaluator' && result.verdict;
    this.compositeStarted(step, at, { conditionResult: verdict });
    const branch = verdict ? step.steps : (step.elseSteps ?? []);
    return this.composite(step, await this.runSequence(branch, previous, false, this.children(step), at));
  }

  private async runLoop(step: Step<'loop'>, previous: StepOutput | undefined, at: string): Promise<StepOutput> {
    this.compositeStarted(step, at);
    const all = this.children(step);
    let last = previous;
    for (let iteration = 1; iteration <= step.maxIterations; iteration++) {
      const iterationAt = `${at}#${iteration}`;
      if (!this.startedBefore.has(iterationAt)) this.state.loopIterationStarted(step, iteration);
      this.started[iterationAt] ??= new Date().toISOString();
      const outputs = await this.runSequence(step.steps, last, false, all, iterationAt);
      last = outputs.at(-1) ?? last;
      const done =
        step.endCondition !== undefined &&
        (this.decided[`${iterationAt}:endCondition`] ??= await this.call(step.endCondition, 'endCondition', last, {
          iterationOutputs: outputs,
          iteration,
        }));
      const shouldContinue = !(done && done.role === 'endCondition' && done.verdict) && iteration < step.maxIterations;
      // Published already if the next iteration had started in an earlier execution.
      if (!this.startedBefore.has(`${at}#${iteration + 1}`)) {
        this.state.loopIterationCompleted(step, iteration, shouldContinue);
      }
      if (!shouldContinue) break;
    }
    return this.composite(step, all);
  }

  private async runRouter(step: Step<'router'>, previous: StepOutput | undefined, at: string): Promise<StepOutput> {
    const result = (this.decided[`${at}:selector`] ??= await this.call(step.selector, 'selector', previous));
    const selected = result.role === 'selector' ? result.selected : [];
    const choices = selected.map((name) => {
      const choice = step.choices.find((candidate) => candidate.name === name);
      if (!choice) {
        const names = step.choices.map((candidate) => candidate.name);
        throw toApplicationFailure(new UnknownRoute(step.name, name, names));
      }
      return choice;
    });
    this.compositeStarted(step, at, { selectedSteps: selected });
    return this.composite(step, await this.runSequence(choices, previous, false, this.children(step), at));
  }

  /** Publishes a composite step's started event, unless it was published in an earlier execution of the run. */
  private compositeStarted(step: StepSpec, at: string, detail?: Parameters<WorkflowRunState['stepStarted']>[1]): void {
    if (!this.startedBefore.has(at)) this.state.stepStarted(step, detail);
  }

  /** The list a composite step's inner outputs go into, kept for its output even if it ends by a failure. */
  private children(step: StepSpec): StepOutput[] {
    const steps: StepOutput[] = [];
    this.partial.set(step, { steps });
    return steps;
  }

  /** Runs a step function; evaluators, selectors and end conditions decide the path, so they get one attempt. */
  private call(
    name: string,
    role: StepFunctionCall['role'],
    previous: StepOutput | undefined,
    extra: Pick<StepFunctionCall, 'iterationOutputs' | 'iteration'> = {},
    attempts = 1,
  ): Promise<StepFunctionResult> {
    return this.calls.runFunction({ name, role, stepInput: this.stepInput(previous), ...extra }, attempts);
  }

  private stepInput(previous: StepOutput | undefined): StepInput {
    return {
      input: this.workflowInput,
      previousStepContent: previous?.content ?? null,
      previousStepOutputs: { ...this.outputs },
    };
  }

  private stepBase(step: StepSpec): Pick<StepOutput, 'stepName' | 'stepType' | 'content'> {
    return { stepName: step.name, stepType: step.type, content: null };
  }

  /** A composite step's output: its last step's content, success when each of its steps succeeded or was skipped. */
  private composite(step: StepSpec, steps: StepOutput[]): StepOutput {
    return {
      ...this.stepBase(step),
      content: steps.at(-1)?.content ?? null,
      success: steps.every((output) => output.success || output.skipped === true),
      status: RunStatus.completed,
      steps,
    };
  }

  private record(step: StepSpec, output: StepOutput, topLevel: boolean, at: string, startedAt: string): void {
    output.metrics = { duration: (new Date().getTime() - new Date(startedAt).getTime()) / 1000 };
    this.outputs[step.name] = output;
    delete this.started[at];
    // What ran inside a composite step is in its output now; a top-level step's output is in `stepResults`.
    if (step.type !== 'step') this.forgetWithin(at);
    if (!topLevel) this.finished[at] = output;
    this.state.stepFinished(step, output, topLevel);
  }

  private forgetWithin(at: string): void {
    const inside = (position: string) => position.startsWith(`${at}/`) || position.startsWith(`${at}#`);
    for (const positions of [this.finished, this.decided, this.started]) {
      for (const position of Object.keys(positions))
        if (inside(position) || position.startsWith(`${at}:`)) delete positions[position];
    }
  }
}

/** The position of a step among its siblings (see `StepsProgress`). */
function positionOf(within: string, index: number): string {
  return within === '' ? `${index}` : `${within}/${index}`;
}

/** What an agent or team step is asked: the workflow's input, and the previous step's output if there is one. */
function stepMessage(input: string, previous: StepOutput | undefined): string {
  if (!previous?.content) return input;
  return `${input}\n\nOutput of the previous step (${previous.stepName}):\n${previous.content}`;
}
