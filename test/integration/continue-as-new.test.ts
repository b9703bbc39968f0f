import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { z } from 'zod';
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
  Team,
  TeamRunEvent,
  Workflow,
  WorkflowRunEvent,
  defineApp,
  defineTool,
  type AnyRunEvent,
  type RunOutput,
  type StepInput,
  type StepOutput,
  type TeamRunOutput,
  type Tool,
  type WorkflowStep,
} from 'kern';
import { createServer } from 'kern/server';
import { startLocalTemporal } from 'kern/testing';
import { workflowIdForRun } from '../../src/shared/ids';
import { deleteRowsTool } from '../fixtures/confirmed-tools';
import { remember } from '../fixtures/session-tools';
import { collect, installTestRuntime, startHarness, type Harness } from '../support/harness';
import { postForm, readFrames } from '../support/http';

/**
 * Runs whose history grows past what Temporal suggests continue as new, and nothing a caller sees changes. These run
 * on a Temporal server of their own that suggests it after 60 events (its default is 4,096), so a run of a dozen tool
 * rounds spans several executions; side by side, each with its own prompts.
 */

const SUGGEST_AFTER_EVENTS = 60;

/** How many times the tool ran, by fleet (each test launches its own: the tests run side by side). */
const launches = new Map<string, number>();
const launch = defineTool({
  name: 'launch_rocket',
  description: 'Launch one rocket.',
  parameters: z.object({ round: z.number(), fleet: z.string() }),
  execute: async ({ round, fleet }) => {
    launches.set(fleet, (launches.get(fleet) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return `rocket ${round} is away`;
  },
});
const fetchPage = defineTool({
  name: 'fetch_page',
  description: 'Fetch one page of 20 KB.',
  parameters: z.object({ page: z.number() }),
  execute: ({ page }) => `page ${page} `.padEnd(20_000, 'x'),
});
const ran: string[] = [];
const deleteRows = deleteRowsTool(ran);

// Step functions of the workflows below, counting their calls by function and workflow input (the tests' prompts).
const stepCalls = new Map<string, number>();
const tally = (fn: string, { input }: StepInput) => {
  const count = (stepCalls.get(`${fn} ${input}`) ?? 0) + 1;
  stepCalls.set(`${fn} ${input}`, count);
  return count;
};
const callsOf = (fn: string, input: string) => stepCalls.get(`${fn} ${input}`) ?? 0;
async function fuel(input: StepInput) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return `fuelled ${tally('fuel', input)}`;
}
async function clearSkies(input: StepInput) {
  tally('clearSkies', input);
  return true;
}
async function launchStage(input: StepInput) {
  return `stage ${tally('launchStage', input)} away`;
}
async function holdStage(input: StepInput) {
  return `held ${tally('holdStage', input)}`;
}
/** Every third stage is reported by an agent, the others logged. */
async function pickReport(input: StepInput) {
  tally('pickReport', input);
  const stage = Number(/stage (\d+)/.exec(input.previousStepContent ?? '')?.[1]);
  return stage % 3 === 0 ? 'Reporter' : 'Log';
}
async function logStage(input: StepInput) {
  tally('logStage', input);
  return `logged: ${input.previousStepContent}`;
}
async function afterEightOrbits(_outputs: StepOutput[], iteration: number) {
  return iteration >= 8;
}
async function telemetry(input: StepInput) {
  return `telemetry ${tally('telemetry', input)}`;
}
async function weather(input: StepInput) {
  return `weather ${tally('weather', input)}`;
}
async function summarize(input: StepInput) {
  tally('summarize', input);
  return `after ${Object.keys(input.previousStepOutputs).sort().join(', ')}`;
}

/** Eight orbits of five step calls each (an agent's run among them every third), then a parallel check and a summary. */
const orbitSteps = (reporter: Agent): WorkflowStep[] => [
  new Loop({
    name: 'Orbits',
    maxIterations: 10,
    endCondition: afterEightOrbits,
    steps: [
      new Step({ name: 'Fuel', executor: fuel }),
      new Condition({
        name: 'Clear?',
        evaluator: clearSkies,
        steps: [new Step({ name: 'Launch', executor: launchStage })],
        elseSteps: [new Step({ name: 'Hold', executor: holdStage })],
      }),
      new Router({
        name: 'Route',
        selector: pickReport,
        choices: [new Step({ name: 'Log', executor: logStage }), new Step({ name: 'Reporter', agent: reporter })],
      }),
    ],
  }),
  new Parallel({
    name: 'Checks',
    steps: [new Step({ name: 'Telemetry', executor: telemetry }), new Step({ name: 'Weather', executor: weather })],
  }),
  new Step({ name: 'Summary', executor: summarize }),
];
/** Refuels up to a hundred times: long enough to be cancelled. */
const endlessSteps = (): WorkflowStep[] => [
  new Loop({ name: 'Endless', maxIterations: 100, steps: [new Step({ name: 'Fuel', executor: fuel })] }),
];

let temporal: TestWorkflowEnvironment;
let h: Harness;
beforeAll(async () => {
  installTestRuntime();
  temporal = await startLocalTemporal({
    dynamicConfig: {
      'limit.historyCount.suggestContinueAsNew': SUGGEST_AFTER_EVENTS,
      // Temporal starts a run's next execution at least 1 s after the last one started, by default: these last less.
      'history.workflowIdReuseMinimalInterval': '0s',
    },
  });
  // The worker registers the step functions these workflows name (registration runs nothing, needs no client).
  const workflows = [
    new Workflow({ name: 'Orbits', steps: orbitSteps(new Agent({ name: 'Reporter', model })) }),
    new Workflow({ name: 'Endless', steps: endlessSteps() }),
  ];
  h = await startHarness(defineApp({ tools: [launch, fetchPage, deleteRows, remember], workflows }), temporal.address);
}, 120_000);
afterAll(async () => {
  await h?.close();
  await temporal?.teardown();
});

const model = new OpenAIResponses({ id: 'gpt-test' });
const launcher = (tools: Tool[] = [launch]) =>
  new Agent({ name: 'Launcher', model, tools, maxToolRounds: 100, client: h.client });
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });
const rounds = (from: number, count: number, fleet = 'any') =>
  Array.from({ length: count }, (_, i) => call('launch_rocket', { round: from + i, fleet }));

/** The executions of a run's workflow, oldest first, as Temporal lists them. */
async function executionsOf(runId: string) {
  const found: Array<{ status: string; historyLength: number; startTime: Date; runId: string }> = [];
  const query = `WorkflowId = '${workflowIdForRun(runId)}'`;
  for await (const execution of h.client.temporal.workflow.list({ query })) {
    found.push({
      status: execution.status.name,
      historyLength: execution.historyLength,
      startTime: execution.startTime,
      runId: execution.runId,
    });
  }
  return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

/** The size of the input an execution of a run started with, as its history holds it. */
async function inputBytesOf(runId: string, executionRunId: string): Promise<number> {
  // Its first event alone: the whole history is past what one gRPC message carries.
  const { history } = await h.client.temporal.workflowService.getWorkflowExecutionHistory({
    namespace: h.client.temporal.options.namespace,
    execution: { workflowId: workflowIdForRun(runId), runId: executionRunId },
    maximumPageSize: 1,
  });
  const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  return started?.input?.payloads?.[0]?.data?.length ?? 0;
}

/** Waits until the run has continued as new at least `times` times. */
async function continued(runId: string, times: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const executions = await executionsOf(runId);
    if (executions.filter((e) => e.status === 'CONTINUED_AS_NEW').length >= times) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} has not continued as new ${times} times`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test.concurrent(
  'a run of 30 tool rounds continues as new several times and completes as one run',
  async () => {
    const prompt = `thirty launches ${randomUUID()}`;
    h.model.replyWhen(prompt, ...rounds(1, 30, prompt), { text: 'All 30 rockets are away.' });
    const agent = launcher();
    const output = (await agent.run(prompt)) as RunOutput;

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'All 30 rockets are away.' });
    expect(output.tools.map((tool) => tool.result)).toEqual(
      Array.from({ length: 30 }, (_, i) => `rocket ${i + 1} is away`),
    );
    // Each tool ran once, each model turn was asked once, and the last one saw the whole conversation.
    expect(launches.get(prompt)).toBe(30);
    const requests = h.model.requestsFor(prompt);
    expect(requests).toHaveLength(31);
    expect(JSON.stringify(requests[30]!.body)).toContain('rocket 1 is away');
    expect(output.metrics.inputTokens).toBeGreaterThan(0);
    expect(output.messages.filter((message) => message.role === 'tool')).toHaveLength(30);

    // Temporal shows a chain: the earlier executions continued as new, the last completed; each stayed short.
    const executions = await executionsOf(output.runId);
    expect(executions.length).toBeGreaterThanOrEqual(4);
    expect(executions.slice(0, -1).every((e) => e.status === 'CONTINUED_AS_NEW')).toBe(true);
    expect(executions.at(-1)!.status).toBe('COMPLETED');
    expect(Math.max(...executions.map((e) => e.historyLength))).toBeLessThan(SUGGEST_AFTER_EVENTS + 30);

    // Polls, listings and the stream see one run: its output, listed once, its events once each, in order.
    expect(await h.client.getRunOutput(output.runId)).toEqual(output);
    const listed = await h.client.listRuns({ sessionId: output.sessionId });
    expect(listed.runs.map((run) => run.runId)).toEqual([output.runId]);
    // The Temporal UI's query for one row per run (docs/temporal.md).
    const rows: string[] = [];
    const oneRowPerRun = `ParentWorkflowId is null AND KernKind is not null AND ExecutionStatus != 'ContinuedAsNew'`;
    const query = `${oneRowPerRun} AND KernSessionId = '${output.sessionId}'`;
    for await (const execution of h.client.temporal.workflow.list({ query })) rows.push(execution.status.name);
    expect(rows).toEqual(['COMPLETED']);
    const described = await h.client.temporal.workflow.getHandle(workflowIdForRun(output.runId)).describe();
    expect(described.searchAttributes.KernStatus).toEqual([RunStatus.completed]);
    const events = await collect(agent.subscribe(output.runId));
    expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, i) => i));
    expect(events.filter((event) => event.event === RunEvent.runStarted)).toHaveLength(1);
    expect(events.filter((event) => event.event === RunEvent.toolCallCompleted)).toHaveLength(30);
    expect(events.at(-1)).toMatchObject({ event: RunEvent.runCompleted, content: 'All 30 rockets are away.' });
  },
  120_000,
);

test.concurrent(
  'a stream read across the executions, and one resumed after a disconnect, get every event once',
  async () => {
    const prompt = `streamed launches ${randomUUID()}`;
    h.model.replyWhen(prompt, ...rounds(1, 20), { text: 'Twenty away, streamed.', tokenDelayMs: 5 });
    const agent = launcher();
    const run = await agent.run(prompt, { background: true });

    // One subscriber stays to the end; another drops after the first few events, and resumes once the run has
    // continued as new.
    const whole = collect(agent.subscribe(run.runId));
    const first = await collect(agent.subscribe(run.runId), (event) => event.event === RunEvent.toolCallCompleted);
    await continued(run.runId, 2);
    const rest = await collect(agent.subscribe(run.runId, { fromIndex: first.at(-1)!.eventIndex! + 1 }));

    const all = await whole;
    expect(all.map((event) => event.eventIndex)).toEqual(all.map((_, i) => i));
    expect([...first, ...rest]).toEqual(all);
    expect(all.filter((event) => event.event === RunEvent.toolCallCompleted)).toHaveLength(20);
    expect(all.at(-1)).toMatchObject({ event: RunEvent.runCompleted, content: 'Twenty away, streamed.' });
  },
  120_000,
);

test.concurrent(
  'a stream too large to carry whole: the next execution carries its latest events, indexes going on',
  async () => {
    const prompt = `thirty pages ${randomUUID()}`;
    const pages = Array.from({ length: 30 }, (_, i) => call('fetch_page', { page: i }));
    h.model.replyWhen(prompt, ...pages, { text: 'Read all 30 pages.' });
    const agent = launcher([fetchPage]);
    const run = await agent.run(prompt, { background: true });
    const live = await collect(agent.subscribe(run.runId));

    const output = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Read all 30 pages.' });
    expect(output.tools.map((tool) => [tool.result?.split(' ', 2).join(' '), tool.result?.length])).toEqual(
      Array.from({ length: 30 }, (_, i) => [`page ${i}`, 20_000]),
    );
    // Read as it went, the stream had every event once.
    expect(live.map((event) => event.eventIndex)).toEqual(live.map((_, i) => i));
    expect(live.filter((event) => event.event === RunEvent.toolCallCompleted)).toHaveLength(30);
    // Past 1.5 MB in all, the run carried only its latest events: read afterwards, the stream starts at the oldest
    // of them, with the same indexes, and ends as the live one did.
    const later = await collect(agent.subscribe(run.runId));
    expect(later[0]!.eventIndex).toBeGreaterThan(0);
    expect(later).toEqual(live.slice(later[0]!.eventIndex));
  },
  120_000,
);

test.concurrent(
  'a 480 KB input with no payload store: the run carries it into each execution and completes',
  async () => {
    const prompt = `large input ${randomUUID()} ${'z'.repeat(480_000)}`;
    h.model.replyWhen(prompt.slice(0, 50), ...rounds(1, 12), { text: 'Twelve away over a large input.' });
    const output = (await launcher().run(prompt)) as RunOutput;

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Twelve away over a large input.' });
    expect(output.tools).toHaveLength(12);
    const executions = await executionsOf(output.runId);
    expect(executions.length).toBeGreaterThanOrEqual(2);
    // Each later execution started from its carried state, the input in it three times, within one 1.5 MB payload.
    const inputs = await Promise.all(executions.slice(1).map((e) => inputBytesOf(output.runId, e.runId)));
    for (const bytes of inputs) expect(bytes).toBeGreaterThan(3 * 480_000);
    for (const bytes of inputs) expect(bytes).toBeLessThanOrEqual(1536 * 1024);
  },
  120_000,
);

test.concurrent(
  "a 520 KB input with no payload store cannot continue as new: it ends RunTooLarge at kern's bound, saying why",
  async () => {
    // Its input is in its state three times besides its events (input, output, conversation): past one payload. It
    // goes on in its execution, and ends through kern's finish before Temporal would terminate it.
    const prompt = `too large ${randomUUID()} ${'z'.repeat(520_000)}`;
    h.model.replyWhen(prompt.slice(0, 50), ...rounds(1, 120));
    const output = await launcher().run(prompt);

    expect(output.status).toBe(RunStatus.error);
    expect(output.error).toEqual({
      type: 'RunTooLarge',
      message: expect.stringMatching(
        /^the run's Temporal history has reached .* and it could not continue as new: its state is \d\.\d MB without its events, over the 1\.5 MB of one payload; keep large payloads outside history/,
      ),
    });
    const executions = await executionsOf(output.runId);
    expect(executions.map((execution) => execution.status)).toEqual(['FAILED']);
    const { historySize } = await h.client.temporal.workflow.getHandle(workflowIdForRun(output.runId)).describe();
    expect(historySize).toBeGreaterThan(40 * 1024 * 1024);
    expect(historySize).toBeLessThan(50 * 1024 * 1024);
    expect(output.tools.length).toBeGreaterThan(50);
  },
  120_000,
);

test.concurrent(
  'over HTTP: a stream dropped before a continue-as-new resumes after it with exactly the rest',
  async () => {
    const prompt = `http launches ${randomUUID()}`;
    h.model.replyWhen(prompt, ...rounds(1, 20), { text: 'Twenty away, over HTTP.' });
    const server = createServer({ app: defineApp({ agents: [launcher()] }), client: h.client });
    const { url: base } = await server.listen({ port: 0 });
    try {
      const first = await readFrames(
        await postForm(`${base}/agents/launcher/runs`, { message: prompt, stream: 'true', background: 'true' }),
        5,
      );
      expect(first.map((frame) => frame.json.event_index)).toEqual([0, 1, 2, 3, 4]);
      const runId = first[0]!.json.run_id as string;
      await continued(runId, 2);

      const resumed = await readFrames(
        await postForm(`${base}/agents/launcher/runs/${runId}/resume`, { last_event_index: '4' }),
      );
      const events = resumed.filter((frame) => frame.id !== undefined);
      expect(events.map((frame) => frame.json.event_index)).toEqual(events.map((_, i) => 5 + i));
      expect(events.at(-1)!.event).toBe('RunCompleted');
      const all = [...first, ...events];
      expect(all.filter((frame) => frame.event === 'ToolCallCompleted')).toHaveLength(20);
      const polled = await fetch(`${base}/agents/launcher/runs/${runId}`);
      expect(await polled.json()).toMatchObject({
        run_id: runId,
        status: 'COMPLETED',
        content: 'Twenty away, over HTTP.',
      });
    } finally {
      await server.close();
    }
  },
  120_000,
);

test.concurrent(
  'a cancel after the run has continued as new ends it CANCELLED, with no model call after it',
  async () => {
    const prompt = `endless launches ${randomUUID()}`;
    h.model.replyWhen(prompt, ...rounds(1, 80));
    const agent = launcher();
    const run = await agent.run(prompt, { background: true });
    await continued(run.runId, 2);

    expect(await h.client.cancelRun(run.runId, { reason: 'enough rockets' })).toBe(true);
    const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error, RunStatus.completed);
    expect(output.status).toBe(RunStatus.cancelled);
    const asked = h.model.requestsFor(prompt).length;
    expect(asked).toBeLessThan(80);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.model.requestsFor(prompt)).toHaveLength(asked);

    const executions = await executionsOf(run.runId);
    expect(executions.at(-1)!.status).toBe('CANCELLED');
    const described = await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).describe();
    expect(described.searchAttributes.KernStatus).toEqual([RunStatus.cancelled]);
    // Cancelling it again: it has ended.
    expect(await agent.cancelRun(run.runId)).toBe(false);
  },
  120_000,
);

test.concurrent(
  'pauses before and after a continue-as-new are answered as in one execution; the session gets its changes',
  async () => {
    const prompt = `paused launches ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      call('delete_rows', { table: 'before' }),
      call('remember', { key: 'launched', value: 'yes' }),
      ...rounds(1, 12),
      call('delete_rows', { table: 'after' }),
      { text: 'Deleted twice, launched twelve.' },
    );
    const agent = launcher([launch, deleteRows, remember]);
    const run = await agent.run(prompt, { background: true, sessionId: `cn-session-${randomUUID()}` });

    const answer = async () => {
      const paused = await h.waitForStatus(run.runId, RunStatus.paused);
      const [requirement] = paused.requirements!;
      await agent.continueRun(run.runId, { requirements: [{ id: requirement!.id, confirmation: true }] });
      return requirement!;
    };
    const before = await answer();
    const after = await answer();
    expect(after.id).not.toBe(before.id);
    expect(after.toolExecution.toolArgs).toEqual({ table: 'after' });

    const output = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Deleted twice, launched twelve.' });
    expect(ran.filter((entry) => entry === 'delete before' || entry === 'delete after')).toEqual([
      'delete before',
      'delete after',
    ]);
    expect(output.requirements).toBeUndefined();
    expect((await executionsOf(run.runId)).length).toBeGreaterThanOrEqual(2);
    // The state a tool changed in the first execution reached the session when the run ended.
    expect((await h.client.getSession(output.sessionId))?.sessionState).toEqual({ launched: 'yes' });
  },
  120_000,
);

test.concurrent(
  "a team's leader continues as new between its delegations; every member run is kept once",
  async () => {
    const id = randomUUID();
    const member = new Agent({ name: 'Scout', role: 'Looks things up.', model, client: h.client });
    const team = new Team({ name: 'Scouting Team', model, members: [member], client: h.client });
    const tasks = Array.from({ length: 8 }, (_, i) => `scout area ${i} ${id}`);
    for (const task of tasks) h.model.replyWhen(task, { text: `area ${task.split(' ')[2]} is clear` });
    h.model.replyWhen(
      `scout everything ${id}`,
      ...tasks.map((task) => ({
        toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'scout', task } }],
      })),
      { text: 'Every area is clear.' },
    );
    const output = (await team.run(`scout everything ${id}`)) as TeamRunOutput;

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Every area is clear.' });
    expect(output.memberResponses.map((response) => [response.status, response.content])).toEqual(
      tasks.map((_, i) => [RunStatus.completed, `area ${i} is clear`]),
    );
    const executions = await executionsOf(output.runId);
    expect(executions.length).toBeGreaterThanOrEqual(2);
    const events = await collect(team.subscribe(output.runId));
    expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, i) => i));
    const memberEnds = events.filter((event) => event.event === RunEvent.runCompleted);
    expect(new Set(memberEnds.map((event) => event.runId)).size).toBe(8);
    expect(memberEnds).toHaveLength(8);
    expect(events.filter((event) => event.event === TeamRunEvent.runCompleted)).toHaveLength(1);
  },
  120_000,
);

test.concurrent(
  'a team cancelled while its member has continued as new: the member run is cancelled with it',
  async () => {
    const id = randomUUID();
    const member = new Agent({
      name: 'Rocketeer',
      role: 'Launches rockets.',
      model,
      tools: [launch],
      maxToolRounds: 100,
      client: h.client,
    });
    const team = new Team({ name: 'Launch Team', model, members: [member], client: h.client });
    h.model.replyWhen(`launch them all ${id}`, {
      toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'rocketeer', task: `launch ${id}` } }],
    });
    h.model.replyWhen(`launch ${id}`, ...rounds(1, 80));
    const run = await team.run(`launch them all ${id}`, { background: true });
    const memberRunId = await (async () => {
      for (;;) {
        const output = (await h.client.getRunOutput(run.runId)) as TeamRunOutput | null;
        const started = output?.memberResponses[0]?.runId;
        if (started) return started;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await continued(memberRunId, 2);

    expect(await team.cancelRun(run.runId)).toBe(true);
    const output = (await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error)) as TeamRunOutput;
    expect(output.status).toBe(RunStatus.cancelled);
    expect(output.memberResponses[0]).toMatchObject({ runId: memberRunId, status: RunStatus.cancelled });
    const memberOutput = await h.waitForStatus(memberRunId, RunStatus.cancelled, RunStatus.error, RunStatus.completed);
    expect(memberOutput.status).toBe(RunStatus.cancelled);
    expect((await executionsOf(memberRunId)).at(-1)!.status).toBe('CANCELLED');
    const asked = h.model.requestsFor(`launch ${id}`).length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.model.requestsFor(`launch ${id}`)).toHaveLength(asked);
    // The member's events reached the team's stream from each of its executions: the numbering of its batches went
    // on across them, so the team's stream dropped none as a repeat.
    const memberEvents = await collect(h.client.subscribe(memberRunId));
    const teamEvents = await collect(team.subscribe(run.runId));
    const launchesIn = (events: AnyRunEvent[]) =>
      events.filter((event) => event.runId === memberRunId && event.event === RunEvent.toolCallCompleted).length;
    expect(launchesIn(memberEvents)).toBeGreaterThan(5);
    expect(launchesIn(teamEvents)).toBe(launchesIn(memberEvents));
  },
  120_000,
);

test.concurrent(
  'a workflow run whose steps span several executions completes as one run: each step once, each event once',
  async () => {
    const prompt = `orbit ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Stage 3 reported.' }, { text: 'Stage 6 reported.' });
    const reporter = new Agent({ name: 'Reporter', model, client: h.client });
    const wf = new Workflow({ name: 'Orbits', steps: orbitSteps(reporter), client: h.client });
    const run = await wf.run(prompt, { background: true });
    const live = collect(h.client.subscribe(run.runId));
    const output = await h.client.waitForRun(run.runId);

    // The summary saw every step's output, by name, the ones from earlier executions among them.
    const everyStep = 'Checks, Clear?, Fuel, Launch, Log, Orbits, Reporter, Route, Telemetry, Weather';
    expect(output).toMatchObject({ status: RunStatus.completed, content: `after ${everyStep}` });
    if (output.kind !== 'workflow') throw new Error(`a workflow's output, not ${output.kind}`);
    const [orbits, checks] = output.stepResults;
    expect(output.stepResults.map((step) => step.stepName)).toEqual(['Orbits', 'Checks', 'Summary']);
    expect(orbits!.steps!.map((step) => step.stepName)).toEqual(
      Array.from({ length: 8 }, () => ['Fuel', 'Clear?', 'Route']).flat(),
    );
    const routes = orbits!.steps!.filter((step) => step.stepName === 'Route');
    expect(routes.map((route) => route.content)).toEqual(
      Array.from({ length: 8 }, (_, i) =>
        (i + 1) % 3 === 0 ? `Stage ${i + 1} reported.` : `logged: stage ${i + 1} away`,
      ),
    );
    expect(checks!.content).toBe('## Telemetry\ntelemetry 1\n\n## Weather\nweather 1');
    // Every step function was called once per orbit (the else branch never), each agent step ran once.
    expect(
      ['fuel', 'clearSkies', 'launchStage', 'holdStage', 'pickReport', 'logStage', 'telemetry', 'summarize'].map((fn) =>
        callsOf(fn, prompt),
      ),
    ).toEqual([8, 8, 8, 0, 8, 6, 1, 1]);
    expect(h.model.requestsFor(prompt)).toHaveLength(2);
    const reports = routes.flatMap((route) => route.steps ?? []).filter((step) => step.stepName === 'Reporter');
    expect(new Set(reports.map((report) => report.runId)).size).toBe(2);

    // Temporal shows a chain of executions; the run's output is the same read from any of them.
    const executions = await executionsOf(output.runId);
    expect(executions.length).toBeGreaterThanOrEqual(3);
    expect(executions.slice(0, -1).every((e) => e.status === 'CONTINUED_AS_NEW')).toBe(true);
    expect(executions.at(-1)!.status).toBe('COMPLETED');
    expect(await h.client.getRunOutput(output.runId)).toEqual(output);
    const server = createServer({ app: defineApp({ workflows: [wf] }), client: h.client });
    const { url: base } = await server.listen({ port: 0 });
    try {
      const polled = await fetch(`${base}/workflows/orbits/runs/${output.runId}`);
      expect(await polled.json()).toMatchObject({
        run_id: output.runId,
        status: 'COMPLETED',
        content: `after ${everyStep}`,
      });
    } finally {
      await server.close();
    }

    // Read live across the executions and read afterwards: every event once, in order, none published twice.
    const events = await live;
    expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, i) => i));
    expect(await collect(h.client.subscribe(output.runId))).toEqual(events);
    const named = (name: string) => events.filter((event) => event.event === name);
    expect(named(WorkflowRunEvent.workflowStarted)).toHaveLength(1);
    expect(named(WorkflowRunEvent.loopExecutionStarted)).toHaveLength(1);
    expect(
      named(WorkflowRunEvent.loopIterationStarted).map((event) => 'iteration' in event && event.iteration),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const fuelled = named(WorkflowRunEvent.stepCompleted).filter(
      (event) => 'stepName' in event && event.stepName === 'Fuel',
    );
    expect(fuelled).toHaveLength(8);
    expect(named(WorkflowRunEvent.parallelExecutionStarted)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ event: WorkflowRunEvent.workflowCompleted });
  },
  120_000,
);

test.concurrent(
  'a workflow run cancelled after it continued as new ends CANCELLED, with no step after the cancel',
  async () => {
    const prompt = `endless orbit ${randomUUID()}`;
    const wf = new Workflow({ name: 'Endless', steps: endlessSteps(), client: h.client });
    const run = await wf.run(prompt, { background: true });
    await continued(run.runId, 2);

    expect(await wf.cancelRun(run.runId)).toBe(true);
    const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error, RunStatus.completed);
    expect(output.status).toBe(RunStatus.cancelled);
    const fuelled = callsOf('fuel', prompt);
    expect(fuelled).toBeLessThan(100);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(callsOf('fuel', prompt)).toBe(fuelled);

    expect((await executionsOf(run.runId)).at(-1)!.status).toBe('CANCELLED');
    const events = await collect(h.client.subscribe(run.runId));
    expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)).toMatchObject({ event: WorkflowRunEvent.workflowCancelled });
    expect(await wf.cancelRun(run.runId)).toBe(false);
  },
  120_000,
);
