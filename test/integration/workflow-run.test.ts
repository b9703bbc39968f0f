import { randomUUID } from 'node:crypto';
import {
  Agent,
  Condition,
  Loop,
  OpenAIResponses,
  Parallel,
  RunEvent,
  RunStatus,
  Router,
  Step,
  Steps,
  Workflow,
  WorkflowRunEvent,
  defineApp,
  type AnyRunEvent,
  type StepInput,
  type StepOutput,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { startHarness, type Harness } from '../support/harness';

// Step functions: plain named functions, registered on the worker through the app.
const calls: Record<string, number> = {};
const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);

async function shout(input: StepInput) {
  count('shout');
  return `${(input.previousStepContent ?? input.input).toUpperCase()}!`;
}
async function describeInput(input: StepInput) {
  return `input=${input.input}; previous=${input.previousStepContent}; earlier=${Object.keys(input.previousStepOutputs).join(',')}`;
}
async function flaky() {
  if (count('flaky') === 1) throw new Error('first attempt fails');
  return 'second attempt worked';
}
async function alwaysFails(): Promise<string> {
  throw new Error('this step always fails');
}
async function slowStep() {
  count('slowStep');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return 'slow';
}
async function mustNotRun() {
  count('mustNotRun');
  return 'ran';
}
async function isLong(input: StepInput) {
  return input.input.length > 20;
}
async function pickWriter() {
  return 'Write';
}
async function stopAfterTwo(_outputs: StepOutput[], iteration: number) {
  return iteration >= 2;
}
async function branchA() {
  return 'A';
}
async function branchB() {
  return 'B';
}

let h: Harness;
const model = new OpenAIResponses({ id: 'gpt-test' });
const agent = (name: string) => new Agent({ name, model, client: h.client });
const workflowOf = (steps: ConstructorParameters<typeof Workflow>[0]['steps'], name = 'Test Workflow') =>
  new Workflow({ name, steps, client: h.client });
// What the worker registers: the step functions these workflows name (registration runs nothing, needs no client).
const registered = (steps: ConstructorParameters<typeof Workflow>[0]['steps']) =>
  new Workflow({ name: 'Registered', steps });

const workflows = () => [
  registered([new Step({ name: 'Shout', executor: shout }), new Step({ name: 'Describe', executor: describeInput })]),
  registered([new Step({ name: 'Flaky', executor: flaky, maxRetries: 1 })]),
  registered([new Step({ name: 'Fails', executor: alwaysFails })]),
  registered([new Step({ name: 'Slow', executor: slowStep }), new Step({ name: 'After', executor: mustNotRun })]),
  registered([new Condition({ name: 'Long?', evaluator: isLong, steps: [], elseSteps: [] })]),
  registered([new Router({ name: 'Route', selector: pickWriter, choices: [] })]),
  registered([new Loop({ name: 'Loop', steps: [], endCondition: stopAfterTwo })]),
  registered([
    new Parallel({
      name: 'Both',
      steps: [new Step({ name: 'A', executor: branchA }), new Step({ name: 'B', executor: branchB })],
    }),
  ]),
];

beforeAll(async () => {
  h = await startHarness(defineApp({ workflows: workflows() }));
});
afterAll(() => h.close());

const stepNames = (outputs: StepOutput[] | undefined): string[] => (outputs ?? []).map((output) => output.stepName);

test('a step sequence: each step gets the input, the previous content and the earlier outputs', async () => {
  const wf = workflowOf([
    new Step({ name: 'Shout', executor: shout }),
    new Step({ name: 'Describe', executor: describeInput }),
  ]);
  const run = await wf.run('hello', { background: true });
  expect(run.status).toBe(RunStatus.pending);
  expect(run.hasCompleted()).toBe(false);
  const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error);

  expect(output).toMatchObject({
    status: RunStatus.completed,
    workflowId: 'test-workflow',
    content: 'input=hello; previous=HELLO!; earlier=Shout',
  });
  const result = await wf.getRun(run.runId);
  expect(result?.hasCompleted()).toBe(true);
  expect(result?.stepResults.map((step) => [step.stepName, step.content, step.success])).toEqual([
    ['Shout', 'HELLO!', true],
    ['Describe', 'input=hello; previous=HELLO!; earlier=Shout', true],
  ]);
  expect((await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).describe()).type).toBe('workflowRun');
});

test('agent and team steps run as child workflows, given as Step or directly', async () => {
  const id = randomUUID();
  h.model
    .replyWhen((request) => request.userText.startsWith(`plan ${id}`) && !request.userText.includes('previous step'), {
      text: 'Research notes.',
    })
    .replyWhen((request) => request.userText.includes('Output of the previous step (Research):'), { text: 'A plan.' });
  const wf = workflowOf([new Step({ name: 'Research', agent: agent('Researcher') }), agent('Planner')]);
  const output = await wf.run(`plan ${id}`);

  expect(output).toMatchObject({ status: RunStatus.completed, content: 'A plan.' });
  expect(stepNames(output.stepResults)).toEqual(['Research', 'Planner']);
  const child = await h.client.getRunOutput(output.stepResults[0]!.runId!);
  expect(child).toMatchObject({ agentId: 'researcher', parentRunId: output.runId, content: 'Research notes.' });
});

test('Parallel inside a Loop, ended by its end condition; Condition with else steps; Router', async () => {
  const wf = workflowOf(
    [
      new Loop({
        name: 'Refine',
        maxIterations: 5,
        endCondition: stopAfterTwo,
        steps: [
          new Parallel({
            name: 'Both',
            steps: [new Step({ name: 'A', executor: branchA }), new Step({ name: 'B', executor: branchB })],
          }),
        ],
      }),
      new Condition({
        name: 'Long?',
        evaluator: isLong,
        steps: [new Step({ name: 'Shout', executor: shout })],
        elseSteps: [
          new Steps({ name: 'Short path', steps: [new Step({ name: 'Describe', executor: describeInput })] }),
        ],
      }),
      new Router({
        name: 'Route',
        selector: pickWriter,
        choices: [new Step({ name: 'Read', executor: mustNotRun }), new Step({ name: 'Write', executor: shout })],
      }),
    ],
    'Nested Workflow',
  );
  const before = calls.mustNotRun ?? 0;
  const output = await wf.run('short');
  expect(output.status).toBe(RunStatus.completed);

  const [loop, condition, router] = output.stepResults;
  expect(loop).toMatchObject({ stepType: 'loop', success: true });
  expect(stepNames(loop!.steps)).toEqual(['Both', 'Both']); // two iterations, then the end condition said stop
  expect(loop!.steps![0]!.content).toBe('## A\nA\n\n## B\nB');
  expect(condition).toMatchObject({ stepType: 'condition', content: expect.stringContaining('input=short') });
  expect(stepNames(condition!.steps)).toEqual(['Short path']);
  expect(router).toMatchObject({ stepType: 'router', content: expect.stringMatching(/!$/) });
  expect(stepNames(router!.steps)).toEqual(['Write']);
  expect(calls.mustNotRun ?? 0).toBe(before);
});

test('a function step that fails is retried as it allows, then succeeds', async () => {
  const output = await workflowOf([new Step({ name: 'Flaky', executor: flaky, maxRetries: 1 })]).run('go');
  expect(output).toMatchObject({ status: RunStatus.completed, content: 'second attempt worked' });
  expect(calls.flaky).toBe(2);
});

test('skipOnFailure records the failed step and goes on; without it the workflow ends ERROR', async () => {
  const skipping = workflowOf([
    new Step({ name: 'Fails', executor: alwaysFails, skipOnFailure: true }),
    new Step({ name: 'Shout', executor: shout }),
  ]);
  const skipped = await skipping.run('onwards');
  expect(skipped.status).toBe(RunStatus.completed);
  expect(skipped.stepResults[0]).toMatchObject({
    stepName: 'Fails',
    success: false,
    skipped: true,
    error: { type: 'StepFunctionFailed', message: expect.stringContaining('this step always fails') },
  });
  expect(skipped.content).toBe('ONWARDS!');

  const failing = await workflowOf([new Step({ name: 'Fails', executor: alwaysFails })]).run('stop');
  expect(failing.status).toBe(RunStatus.error);
  expect(failing.error?.message).toContain('this step always fails');
  expect(failing.hasCompleted()).toBe(true);
});

test('cancel during a parallel block: every branch is cancelled, no child left running', async () => {
  const id = randomUUID();
  h.model.replyWhen(
    `parallel ${id}`,
    { text: 'Branch working', tokenDelayMs: 20, hang: true },
    {
      text: 'Branch working',
      tokenDelayMs: 20,
      hang: true,
    },
  );
  const wf = workflowOf([new Parallel({ name: 'Branches', steps: [agent('Left'), agent('Right')] })]);
  const run = await wf.run(`parallel ${id}`, { background: true });
  await h.model.waitFor(() => h.model.requestsFor(`parallel ${id}`).length === 2);

  expect(await wf.cancelRun(run.runId)).toBe(true);
  const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error);
  expect(output.status).toBe(RunStatus.cancelled);
  await h.model.waitFor(() => h.model.requestsFor(`parallel ${id}`).every((request) => request.aborted));
  const result = await wf.getRun(run.runId);
  expect(result?.hasCompleted()).toBe(true);
  const branches = result!.stepResults[0]!.steps!;
  expect(branches.map((branch) => branch.status)).toEqual([RunStatus.cancelled, RunStatus.cancelled]);
  for (const branch of branches) {
    const child = await h.client.temporal.workflow.getHandle(workflowIdForRun(branch.runId!)).describe();
    expect(child.status.name).toBe('CANCELLED');
  }
});

test('cancel between steps: the rest of the workflow does not run', async () => {
  const before = calls.mustNotRun ?? 0;
  const wf = workflowOf([
    new Step({ name: 'Slow', executor: slowStep }),
    new Step({ name: 'After', executor: mustNotRun }),
  ]);
  const run = await wf.run('go', { background: true });
  await h.waitForStatus(run.runId, RunStatus.running);
  expect(await wf.cancelRun(run.runId)).toBe(true);
  const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed);
  expect(output.status).toBe(RunStatus.cancelled);
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // longer than the slow step
  expect(calls.mustNotRun ?? 0).toBe(before);
});

test('cancel-before-start of a workflow run id, and polling finished runs with no worker', async () => {
  const runId = randomUUID();
  const wf = workflowOf([new Step({ name: 'Shout', executor: shout })]);
  expect(await wf.cancelRun(runId)).toBe(false);
  const before = calls.shout ?? 0;
  await wf.run('never', { background: true, runId });
  expect((await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed)).status).toBe(RunStatus.cancelled);
  expect(calls.shout ?? 0).toBe(before);

  const done = await wf.run('recorded');
  await h.stopWorker();
  try {
    const cancelled = await wf.getRun(runId);
    expect(cancelled?.status).toBe(RunStatus.cancelled);
    expect(cancelled?.hasCompleted()).toBe(true);
    const completed = await wf.getRun(done.runId);
    expect(completed).toMatchObject({ status: RunStatus.completed, content: 'RECORDED!' });
    expect(completed?.hasCompleted()).toBe(true);
    expect(await wf.getRun(`unknown-${randomUUID()}`)).toBeNull();
  } finally {
    await h.startWorker();
  }
});

test('a step function the worker does not have ends the run ERROR with a clear message', async () => {
  async function unregistered() {
    return 'never';
  }
  const output = await workflowOf([new Step({ name: 'Missing', executor: unregistered })]).run('go');
  expect(output.status).toBe(RunStatus.error);
  expect(output.error?.message).toContain("step function 'unregistered' is not registered on this worker");
});

test("a workflow's stream: its own events and its steps' runs, ending with one WorkflowCompleted", async () => {
  const id = randomUUID();
  h.model.replyWhen(`streamed ${id}`, { text: 'An agent answer in words', tokenDelayMs: 10 });
  const wf = workflowOf([
    new Parallel({
      name: 'Both',
      steps: [new Step({ name: 'A', executor: branchA }), new Step({ name: 'B', executor: branchB })],
    }),
    new Step({ name: 'Summarize', agent: agent('Summarizer') }),
  ]);
  const events: AnyRunEvent[] = [];
  for await (const event of wf.run(`streamed ${id}`, { stream: true })) events.push(event);

  const runId = events[0]!.runId;
  const own = events.filter((event) => event.runId === runId).map((event) => event.event);
  expect(own[0]).toBe(WorkflowRunEvent.workflowStarted);
  expect(own[1]).toBe(WorkflowRunEvent.parallelExecutionStarted);
  expect(own.filter((name) => name === WorkflowRunEvent.stepCompleted)).toHaveLength(3);
  expect(own.at(-2)).toBe(WorkflowRunEvent.stepCompleted);
  expect(own.at(-1)).toBe(WorkflowRunEvent.workflowCompleted);
  expect(own.indexOf(WorkflowRunEvent.parallelExecutionCompleted)).toBeLessThan(
    own.lastIndexOf(WorkflowRunEvent.stepStarted),
  );
  const agentContent = events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
  expect(agentContent.join('')).toBe('An agent answer in words');
  expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, index) => index));
  expect(events.at(-1)).toMatchObject({
    event: WorkflowRunEvent.workflowCompleted,
    content: 'An agent answer in words',
  });
});
