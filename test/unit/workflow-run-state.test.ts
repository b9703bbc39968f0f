import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ContinueAsNew } from '@temporalio/workflow';
import {
  RunStatus,
  WorkflowRunEvent,
  type MemberSpec,
  type RunOutput,
  type StepInput,
  type StepSpec,
  type WorkflowRunInput,
} from 'kern';
import type { StepFunctionCall, StepFunctionResult } from '../../src/shared/step-functions';
import { RUN_INPUT_VERSION, type RunContinuation } from '../../src/shared/specs';
import { StepRunner, type StepCalls } from '../../src/workflows/step-runner';
import { WorkflowRunState } from '../../src/workflows/workflow-run-state';
import { MemoryLog, steppingClock } from '../support/memory-log';

const input: WorkflowRunInput = {
  version: RUN_INPUT_VERSION,
  kind: 'workflow',
  runId: 'wf-run-1',
  sessionId: 'session-1',
  input: 'AI trends',
  workflow: { kind: 'workflow', id: 'content', name: 'Content', steps: [] },
  createdAt: '2026-01-01T00:00:00.000Z',
};

type StepFunction = (call: Omit<StepFunctionCall, 'runId'>) => StepFunctionResult | Promise<StepFunctionResult>;

/**
 * The step runner on a workflow run's state, with its Temporal calls answered in memory: step functions by name,
 * agent and team steps by a child that answers with its task.
 */
function runnerWith(
  functions: Record<string, StepFunction>,
  child?: (task: string) => Promise<string>,
  execution: {
    input?: WorkflowRunInput;
    log?: MemoryLog;
    beforeStep?: StepCalls['beforeStep'];
    /** Every child's task so far, counting them across executions for their run ids. */
    children?: string[];
  } = {},
) {
  const log = execution.log ?? new MemoryLog();
  const runInput = execution.input ?? input;
  const state = new WorkflowRunState(runInput, log, steppingClock());
  const calls = {
    functions: [] as Array<Omit<StepFunctionCall, 'runId'> & { attempts: number }>,
    tasks: [] as string[],
  };
  const stepCalls: StepCalls = {
    ...(execution.beforeStep ? { beforeStep: execution.beforeStep } : {}),
    async runFunction(call, attempts) {
      calls.functions.push({ ...call, attempts });
      const fn = functions[call.name];
      if (!fn) throw new Error(`no function ${call.name}`);
      return fn(call);
    },
    runChild(member: MemberSpec, task: string) {
      calls.tasks.push(task);
      const children = execution.children ?? calls.tasks;
      if (children !== calls.tasks) children.push(task);
      const runId = `child-${children.length}`;
      const output = (child ?? (async (t: string) => `answer to: ${t}`))(task).then((content): RunOutput => ({
        kind: 'agent',
        runId,
        sessionId: 'session-1',
        agentId: member.id,
        agentName: 'Writer',
        status: RunStatus.completed,
        content,
        input: task,
        model: 'gpt-test',
        messages: [],
        tools: [],
        metrics: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      }));
      return { runId, output };
    },
  };
  const runner = new StepRunner(runInput.input, state, stepCalls, runInput.continued?.steps);
  return { runner, state, log, calls };
}

const executor =
  (content: (stepInput: StepInput) => string | null, success = true): StepFunction =>
  ({ stepInput }) => ({ role: 'executor', content: content(stepInput), success });
const verdict =
  (value: boolean): StepFunction =>
  () => ({ role: 'evaluator', verdict: value });
const step = (name: string, fn = name, extra: Partial<StepSpec & { type: 'step' }> = {}): StepSpec => ({
  type: 'step',
  name,
  executor: fn,
  ...extra,
});
const writer: StepSpec = {
  type: 'step',
  name: 'Write',
  component: {
    kind: 'agent',
    id: 'writer',
    name: 'Writer',
    instructions: [],
    model: { provider: 'openai-responses', id: 'gpt-test' },
    tools: [],
    maxToolRounds: 3,
  },
};

describe('WorkflowRunState', () => {
  test('goes PENDING → RUNNING → COMPLETED; the last top-level step that succeeded gives the content', () => {
    const log = new MemoryLog();
    const state = new WorkflowRunState(input, log, steppingClock());
    const research = step('Research');
    state.start();
    state.stepStarted(research);
    state.stepFinished(
      research,
      { stepName: 'Research', stepType: 'step', content: 'facts', success: true, status: RunStatus.completed },
      true,
    );
    state.stepStarted(research);
    state.stepFinished(
      research,
      { stepName: 'Research', stepType: 'step', content: null, success: false, status: RunStatus.error },
      true,
    );
    state.complete();

    expect(log.names()).toEqual([
      WorkflowRunEvent.workflowStarted,
      WorkflowRunEvent.stepStarted,
      WorkflowRunEvent.stepCompleted,
      WorkflowRunEvent.stepStarted,
      WorkflowRunEvent.stepError,
      WorkflowRunEvent.workflowCompleted,
    ]);
    expect(log.events.every((event) => event.kind === 'workflow' && event.runId === 'wf-run-1')).toBe(true);
    const output = state.snapshot();
    expect(output).toMatchObject({
      kind: 'workflow',
      workflowId: 'content',
      status: RunStatus.completed,
      content: 'facts',
    });
    expect(output.stepResults.map((result) => result.success)).toEqual([true, false]);
  });

  test('a cancel and a failure are terminal, with their events', () => {
    const log = new MemoryLog();
    const state = new WorkflowRunState(input, log, steppingClock());
    state.cancel('cancelled before the run started');
    expect(state.status).toBe(RunStatus.cancelled);
    expect(() => state.fail({ type: 'X', message: 'late' })).toThrow('already CANCELLED');
    expect(log.events).toEqual([
      expect.objectContaining({
        event: WorkflowRunEvent.workflowCancelled,
        reason: 'cancelled before the run started',
      }),
    ]);
  });
});

describe('StepRunner', () => {
  test('runs steps in order: each gets the input, the previous content and every earlier output', async () => {
    const { runner, state, calls } = runnerWith({
      research: executor(({ input: topic }) => `facts about ${topic}`),
      outline: executor(({ previousStepContent }) => `outline of ${previousStepContent}`),
    });
    const results = await runner.runSequence(
      [step('Research', 'research'), step('Outline', 'outline')],
      undefined,
      true,
    );

    expect(results.map((result) => result.content)).toEqual([
      'facts about AI trends',
      'outline of facts about AI trends',
    ]);
    expect(calls.functions[1]!.stepInput.previousStepOutputs).toEqual({
      Research: expect.objectContaining({ content: 'facts about AI trends', success: true }),
    });
    expect(calls.functions.map((call) => [call.role, call.attempts])).toEqual([
      ['executor', 1],
      ['executor', 1],
    ]);
    state.complete();
    expect(state.snapshot().content).toBe('outline of facts about AI trends');
  });

  test('an agent step is asked the input and the previous output, and records its child run', async () => {
    const { runner, calls } = runnerWith({ research: executor(() => 'three facts') });
    const [, written] = await runner.runSequence([step('Research', 'research'), writer], undefined, true);
    expect(calls.tasks).toEqual(['AI trends\n\nOutput of the previous step (Research):\nthree facts']);
    expect(written).toMatchObject({ stepName: 'Write', runId: 'child-1', status: RunStatus.completed, success: true });
  });

  test('a failing child run fails its step with the child error', async () => {
    const { runner } = runnerWith({}, () => Promise.reject(new Error('the writer broke')));
    await expect(runner.runSequence([writer], undefined, true)).rejects.toMatchObject({ type: 'StepFailed' });
  });

  test('parallel steps all run; the content joins theirs under their names', async () => {
    const { runner, log } = runnerWith({ a: executor(() => 'A'), b: executor(() => 'B') });
    const [parallel] = await runner.runSequence(
      [{ type: 'parallel', name: 'Both', steps: [step('First', 'a'), step('Second', 'b')] }],
      undefined,
      true,
    );
    expect(parallel!.content).toBe('## First\nA\n\n## Second\nB');
    expect(parallel!.steps!.map((inner) => inner.stepName)).toEqual(['First', 'Second']);
    expect(log.names()[0]).toBe(WorkflowRunEvent.parallelExecutionStarted);
    expect(log.names().at(-1)).toBe(WorkflowRunEvent.parallelExecutionCompleted);
  });

  test('a condition runs its steps or its else steps; evaluators get one attempt', async () => {
    const branches = {
      type: 'condition' as const,
      name: 'Check',
      evaluator: 'check',
      steps: [step('Yes', 'yes')],
      elseSteps: [step('No', 'no')],
    };
    for (const [value, expected] of [
      [true, 'yes'],
      [false, 'no'],
    ] as const) {
      const { runner, calls, log } = runnerWith({
        check: verdict(value),
        yes: executor(() => 'yes'),
        no: executor(() => 'no'),
      });
      const [result] = await runner.runSequence([branches], undefined, true);
      expect(result!.content).toBe(expected);
      expect(calls.functions[0]).toMatchObject({ role: 'evaluator', attempts: 1 });
      expect(log.events[0]).toMatchObject({
        event: WorkflowRunEvent.conditionExecutionStarted,
        conditionResult: value,
      });
    }
  });

  test('a loop runs until its end condition says stop, at most maxIterations times', async () => {
    let drafts = 0;
    const { runner, calls } = runnerWith({
      draft: executor(() => `draft ${++drafts}`),
      goodEnough: ({ iteration }) => ({ role: 'endCondition', verdict: iteration === 2 }),
    });
    const [loop] = await runner.runSequence(
      [{ type: 'loop', name: 'Refine', steps: [step('Draft', 'draft')], maxIterations: 5, endCondition: 'goodEnough' }],
      undefined,
      true,
    );
    expect(loop!.steps!.map((inner) => inner.content)).toEqual(['draft 1', 'draft 2']);
    expect(calls.functions.filter((call) => call.role === 'endCondition').map((call) => call.iteration)).toEqual([
      1, 2,
    ]);

    const capped = runnerWith({ draft: executor(() => 'again') });
    const [limited] = await capped.runner.runSequence(
      [{ type: 'loop', name: 'Refine', steps: [step('Draft', 'draft')], maxIterations: 3 }],
      undefined,
      true,
    );
    expect(limited!.steps).toHaveLength(3);
  });

  test('a router runs the chosen steps in the order chosen, and refuses a choice it does not have', async () => {
    const router = (selected: string[]) =>
      runnerWith({
        choose: () => ({ role: 'selector', selected }),
        a: executor(() => 'A'),
        b: executor(() => 'B'),
      });
    const choices = {
      type: 'router' as const,
      name: 'Pick',
      selector: 'choose',
      choices: [step('A', 'a'), step('B', 'b')],
    };
    const [picked] = await router(['B', 'A']).runner.runSequence([choices], undefined, true);
    expect(picked!.steps!.map((inner) => inner.stepName)).toEqual(['B', 'A']);
    await expect(router(['C']).runner.runSequence([choices], undefined, true)).rejects.toMatchObject({
      type: 'UnknownRoute',
    });
  });

  test('a failed step fails the run unless it may be skipped; retries are the step function’s attempts', async () => {
    const failing = executor(() => null, false);
    const skipped = runnerWith({ flaky: failing, after: executor(() => 'after') });
    const results = await skipped.runner.runSequence(
      [step('Flaky', 'flaky', { skipOnFailure: true, maxRetries: 2 }), step('After', 'after')],
      undefined,
      true,
    );
    expect(results.map((result) => [result.stepName, result.success, result.skipped])).toEqual([
      ['Flaky', false, true],
      ['After', true, undefined],
    ]);
    expect(skipped.calls.functions[0]!.attempts).toBe(3);

    const strict = runnerWith({ flaky: failing, after: executor(() => 'after') });
    const error = await strict.runner
      .runSequence([step('Flaky', 'flaky'), step('After', 'after')], undefined, true)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'StepFailed', message: expect.stringContaining("step 'Flaky' failed") });
    expect(strict.calls.functions.map((call) => call.name)).toEqual(['flaky']);
    expect(strict.state.snapshot().stepResults).toEqual([
      expect.objectContaining({ stepName: 'Flaky', success: false }),
    ]);
  });

  test('a cancel during a parallel block records every branch, the cancelled one CANCELLED, and goes on up', async () => {
    const { runner, state } = runnerWith({
      quick: executor(() => 'done'),
      slow: async () => {
        throw new CancelledFailure('cancelled');
      },
    });
    await expect(
      runner.runSequence(
        [{ type: 'parallel', name: 'Both', steps: [step('Quick', 'quick'), step('Slow', 'slow')] }],
        undefined,
        true,
      ),
    ).rejects.toBeInstanceOf(CancelledFailure);
    const [parallel] = state.snapshot().stepResults;
    expect(parallel!.steps!.map((inner) => [inner.stepName, inner.status])).toEqual([
      ['Quick', RunStatus.completed],
      ['Slow', RunStatus.cancelled],
    ]);
  });
});

describe('StepRunner across continue-as-new', () => {
  // Loops, groups, conditions, routers, a parallel block, function and agent steps: each decision depends on what ran.
  const functions: Record<string, StepFunction> = {
    research: executor(() => 'facts'),
    draft: executor(({ previousStepContent }) => `${previousStepContent} +draft`),
    trim: executor(({ previousStepContent }) => `${previousStepContent} +trim`),
    pad: executor(({ previousStepContent }) => `${previousStepContent} +pad`),
    polish: executor(({ previousStepContent }) => `${previousStepContent} +polish`),
    isLong: ({ stepInput }) => ({ role: 'evaluator', verdict: (stepInput.previousStepContent ?? '').length % 2 === 0 }),
    pick: ({ stepInput }) => ({
      role: 'selector',
      selected: (stepInput.previousStepContent ?? '').includes('+trim') ? ['Write', 'Polish'] : ['Polish'],
    }),
    enough: ({ iteration }) => ({ role: 'endCondition', verdict: iteration === 3 }),
    a: executor(() => 'A'),
    b: executor(() => 'B'),
    review: executor(({ previousStepOutputs }) => `review of ${Object.keys(previousStepOutputs).sort().join(',')}`),
  };
  const steps: StepSpec[] = [
    step('Research', 'research'),
    {
      type: 'loop',
      name: 'Refine',
      maxIterations: 5,
      endCondition: 'enough',
      steps: [
        {
          type: 'steps',
          name: 'Draft and check',
          steps: [
            step('Draft', 'draft'),
            {
              type: 'condition',
              name: 'Long?',
              evaluator: 'isLong',
              steps: [step('Trim', 'trim')],
              elseSteps: [step('Pad', 'pad')],
            },
          ],
        },
        { type: 'router', name: 'Route', selector: 'pick', choices: [step('Polish', 'polish'), writer] },
      ],
    },
    { type: 'parallel', name: 'Both', steps: [step('A', 'a'), step('B', 'b')] },
    step('Review', 'review'),
  ];
  /** What a run shows, without the times (each execution here has a clock of its own). */
  const timeless = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, (key, field: unknown) =>
        ['createdAt', 'updatedAt', 'duration'].includes(key) ? undefined : field,
      ),
    );

  test('a run that continues as new before every step it can goes on where it stood: the same events, output and calls as in one execution', async () => {
    const whole = runnerWith(functions);
    whole.state.start();
    await whole.runner.runSequence(steps, undefined, true);
    whole.state.complete();

    // Each execution makes one call (a step function, a decision or a child), then hands over before the next step it
    // may (not inside the parallel block).
    const log = new MemoryLog();
    const functionCalls: unknown[] = [];
    const tasks: string[] = [];
    let continued: RunContinuation | undefined;
    let executions = 0;
    for (;;) {
      executions++;
      const execution = runnerWith(functions, undefined, {
        log,
        children: tasks,
        ...(continued ? { input: { ...input, continued } } : {}),
        beforeStep: ({ idle }) => {
          if (!idle || execution.calls.functions.length + execution.calls.tasks.length === 0) return;
          continued = handOver();
          throw new ContinueAsNew({});
        },
      });
      // As it goes into the next execution's input: JSON. The stream is this test's log, which goes on.
      const handOver = (): RunContinuation =>
        JSON.parse(
          JSON.stringify({ executions, ...execution.state.carried(), steps: execution.runner.progress() }),
        ) as RunContinuation;
      if (executions === 1) execution.state.start();
      const ended = await execution.runner.runSequence(steps, undefined, true).then(
        () => 'completed',
        (err: unknown) => {
          if (err instanceof ContinueAsNew) return 'continued';
          throw err;
        },
      );
      functionCalls.push(...execution.calls.functions);
      if (ended === 'completed') {
        execution.state.complete();
        expect(timeless(execution.state.snapshot())).toEqual(timeless(whole.state.snapshot()));
        break;
      }
    }

    // A hand-over before each step outside the parallel block: at the top level and in each loop iteration.
    expect(executions).toBeGreaterThan(15);
    expect(timeless(log.events)).toEqual(timeless(whole.log.events));
    expect(timeless(functionCalls)).toEqual(timeless(whole.calls.functions));
    expect(tasks).toEqual(whole.calls.tasks);
    expect(whole.calls.tasks.length).toBeGreaterThan(0);
  });
});
