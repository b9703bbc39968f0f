import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { z } from 'zod';
import {
  Agent,
  Condition,
  KernClient,
  OpenAIResponses,
  RunEvent,
  RunStatus,
  Team,
  Workflow,
  defineApp,
  defineTool,
  type AgentRunInput,
  type AnyRunEvent,
  type StepInput,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { RUN_RECORD_MEMO, runRecordOf } from '../../src/shared/run-record';
import { runSearchAttributes } from '../../src/shared/search-attributes';
import { RUN_INPUT_VERSION } from '../../src/shared/specs';
import { startHarness, type Harness } from '../support/harness';

/** What an operator sees of kern's runs in the Temporal UI: summaries, details, search attributes, identities. */

const getWeather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => `Sunny in ${city}`,
});
const sendEmail = defineTool({
  name: 'send_email',
  description: 'Send an email.',
  parameters: z.object({ to: z.string() }),
  requiresConfirmation: true,
  execute: ({ to }) => `sent to ${to}`,
});
function isShort({ previousStepContent }: StepInput) {
  return (previousStepContent ?? '').length < 1000;
}

let h: Harness;
const model = new OpenAIResponses({ id: 'gpt-test' });
const writerOn = (client?: KernClient) => new Agent({ name: 'Writer', model, tools: [getWeather], client });
const writer = () => writerOn(h.client);
const team = () => new Team({ name: 'Research Team', model, members: [writer()], client: h.client });
const content = (client?: KernClient) =>
  new Workflow({
    name: 'Content',
    steps: [new Condition({ name: 'Check', evaluator: isShort, steps: [writerOn(client)] })],
    client,
  });

beforeAll(async () => {
  h = await startHarness(defineApp({ tools: [getWeather, sendEmail], workflows: [content()] }));
});
afterAll(() => h.close());

const handleOf = (runId: string) => h.client.temporal.workflow.getHandle(workflowIdForRun(runId));
const historyOf = async (runId: string) => (await handleOf(runId).fetchHistory()).events ?? [];
const text = (payload: Payload | null | undefined) =>
  payload ? defaultPayloadConverter.fromPayload<string>(payload as Payload) : undefined;
/** The summaries of a run's activities and timers, in the order they were scheduled. */
const summariesOf = (events: temporal.api.history.v1.IHistoryEvent[]) =>
  events.flatMap((event) =>
    event.activityTaskScheduledEventAttributes || event.timerStartedEventAttributes
      ? [text(event.userMetadata?.summary as Payload | undefined)]
      : [],
  );
const delegateTo = (memberId: string, task: string) => ({
  toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: memberId, task } }],
});

test('model and tool activities say whose turn they are: leader or member, turn number, model', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`plan ${id}`, delegateTo('writer', `weather ${id}`), { text: 'Done.' })
    .replyWhen(
      `weather ${id}`,
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      { text: 'Sunny.' },
    );
  const output = await team().run(`plan ${id}`);
  expect(output.status).toBe(RunStatus.completed);

  expect(summariesOf(await historyOf(output.runId))).toEqual([
    'Research Team leader · turn 1 · gpt-test',
    'Research Team leader · turn 2 · gpt-test',
  ]);
  expect(summariesOf(await historyOf(output.memberResponses[0]!.runId))).toEqual([
    'Writer, member of Research Team · turn 1 · gpt-test',
    'Writer, member of Research Team · tool get_weather',
    'Writer, member of Research Team · turn 2 · gpt-test',
  ]);
});

test('session reads and writes say which session and what they do', async () => {
  const id = randomUUID();
  h.model.replyWhen(`remember ${id}`, { text: 'Noted.' });
  const agent = new Agent({ name: 'Keeper', model, addHistoryToContext: true, client: h.client });
  const output = await agent.run(`remember ${id}`, { sessionId: `session-${id}` });
  expect(output.status).toBe(RunStatus.completed);
  expect(summariesOf(await historyOf(output.runId))).toEqual([
    `session session-${id} · read its earlier turns and state`,
    'Keeper · turn 1 · gpt-test',
    `session session-${id} · write this run's turn and state`,
  ]);
});

test('every run has a summary and markdown details: kind, component, model, session, user, parent link', async () => {
  const id = randomUUID();
  h.model.replyWhen(`story ${id}`, delegateTo('writer', `write ${id}`), { text: 'Told.' });
  const output = await team().run(`story ${id}`, { sessionId: `session-${id}`, userId: 'ada' });
  const teamRun = await handleOf(output.runId).describe();
  expect(await teamRun.staticSummary()).toBe(`Research Team: story ${id}`);
  const teamDetails = await teamRun.staticDetails();
  expect(teamDetails).toContain('**Research Team**: team `research-team` on model `gpt-test`');
  expect(teamDetails).toContain(`- session: \`session-${id}\``);
  expect(teamDetails).toContain('- user: `ada`');

  const member = await handleOf(output.memberResponses[0]!.runId).describe();
  expect(await member.staticSummary()).toBe(`Writer, member of Research Team: write ${id}`);
  expect(await member.staticDetails()).toContain(
    `- parent run: [kern-run-${output.runId}](/namespaces/default/workflows/kern-run-${output.runId}), member of Research Team`,
  );
});

test('a pause shows in the history as a labelled wait, and the continue that ends it as an update', async () => {
  const id = randomUUID();
  h.model.replyWhen(
    `email ${id}`,
    { toolCalls: [{ name: 'send_email', arguments: { to: 'ada' } }] },
    { text: 'Sent.' },
  );
  const agent = new Agent({ name: 'Mailer', model, tools: [sendEmail], client: h.client });
  const run = await agent.run(`email ${id}`, { background: true });
  const paused = await h.waitForStatus(run.runId, RunStatus.paused);
  const during = await historyOf(run.runId);
  // A pause with no pauseTimeout: the label says the year of the timer is no deadline.
  expect(summariesOf(during).at(-1)).toBe('paused: waiting for a person (send_email), with no time limit');
  expect(during.filter((event) => event.timerCanceledEventAttributes)).toEqual([]);

  await agent.continueRun(run.runId, { requirements: [{ id: paused.requirements![0]!.id, confirmation: true }] });
  expect((await h.waitForStatus(run.runId, RunStatus.completed)).status).toBe(RunStatus.completed);
  const after = await historyOf(run.runId);
  const accepted = after.findIndex(
    (event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'continueRun',
  );
  const cancelledWait = after.findIndex((event) => event.timerCanceledEventAttributes);
  expect(accepted).toBeGreaterThan(0);
  expect(cancelledWait).toBeGreaterThan(accepted);
  expect(summariesOf(after).at(-2)).toBe('Mailer · tool send_email');
});

test('function steps are labelled with their workflow and role', async () => {
  const id = randomUUID();
  h.model.replyWhen(`trends ${id}`, { text: 'Short.' });
  const output = await content(h.client).run(`trends ${id}`);
  expect(output.status).toBe(RunStatus.completed);
  expect(summariesOf(await historyOf(output.runId))).toEqual(['Content · evaluator isShort']);
  const step = output.stepResults[0]!.steps![0]!;
  expect(await (await handleOf(step.runId!).describe()).staticSummary()).toBe(
    `Writer, step Writer of Content: trends ${id}`,
  );
});

test('a cancel before the start is recorded with its status, kind and component', async () => {
  const runId = randomUUID();
  expect(await writer().cancelRun(runId)).toBe(false);
  const marker = await handleOf(runId).describe();
  expect(marker.searchAttributes).toMatchObject({
    KernStatus: ['CANCELLED'],
    KernKind: ['agent'],
    KernComponentId: ['writer'],
  });
  expect(await marker.staticSummary()).toBe(`cancel of run ${runId}, requested before it started`);
});

test("a cancel's reason given before the start is the cause of the run's own cancel request", async () => {
  const runId = randomUUID();
  const intent = { kind: 'agent' as const, componentId: 'writer' };
  expect(await h.client.cancelRun(runId, { intent, reason: 'the customer left' })).toBe(false);
  await writer().run('never asked', { background: true, runId });
  expect((await h.waitForStatus(runId, RunStatus.cancelled)).status).toBe(RunStatus.cancelled);
  const requested = (await historyOf(runId)).find((event) => event.workflowExecutionCancelRequestedEventAttributes);
  expect(requested?.workflowExecutionCancelRequestedEventAttributes?.cause).toBe(
    'cancelled before it started: the customer left',
  );
});

test('a run cancelled before it started waits for the cancel request on a labelled timer', async () => {
  // What a starter leaves when it dies between starting the run (with the flag) and sending the cancel request.
  const input: AgentRunInput = {
    version: RUN_INPUT_VERSION,
    kind: 'agent',
    runId: randomUUID(),
    sessionId: randomUUID(),
    input: 'never runs',
    createdAt: new Date().toISOString(),
    agent: writer().spec(),
    cancelledBeforeStart: true,
  };
  const record = runRecordOf(input);
  const handle = await h.client.temporal.workflow.start('agentRun', {
    taskQueue: h.taskQueue,
    workflowId: workflowIdForRun(input.runId),
    args: [input],
    memo: { [RUN_RECORD_MEMO]: record },
    typedSearchAttributes: runSearchAttributes(record),
  });
  const deadline = Date.now() + 15_000;
  while (!(await historyOf(input.runId)).some((event) => event.timerStartedEventAttributes)) {
    if (Date.now() > deadline) throw new Error('the run started no timer');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(summariesOf(await historyOf(input.runId))).toEqual([
    'cancelled before it started: waiting for the cancel request, then ending canceled',
  ]);
  await handle.cancel();
  expect((await h.waitForStatus(input.runId, RunStatus.cancelled)).status).toBe(RunStatus.cancelled);
  expect(h.model.requestsFor('never runs')).toHaveLength(0);
});

test("the cancel request carries the kern client's identity", async () => {
  const prompt = `slow ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
  const run = await writer().run(prompt, { background: true });
  await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1);
  await writer().cancelRun(run.runId);
  await h.waitForStatus(run.runId, RunStatus.cancelled);
  const requested = (await historyOf(run.runId)).find((event) => event.workflowExecutionCancelRequestedEventAttributes);
  expect(requested?.workflowExecutionCancelRequestedEventAttributes?.identity).toBe(`kern client @ ${hostname()}`);
});

test('a subscriber reading when the run is cancelled gets its last events, and its reads are not in the history', async () => {
  const prompt = `endless ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: 'Once upon a time there was a long story', tokenDelayMs: 30, hang: true });
  const run = await writer().run(prompt, { background: true });
  const seen: AnyRunEvent[] = [];
  const subscriber = (async () => {
    for await (const event of h.client.subscribe(run.runId)) seen.push(event);
  })();
  await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await writer().cancelRun(run.runId);
  await subscriber;

  expect(seen.at(-1)).toMatchObject({ event: RunEvent.runCancelled });
  const events = await historyOf(run.runId);
  // Subscribers read by query: no poll (accepted, completed or failed) shows in the run's history.
  const polls = events.filter(
    (event) =>
      event.workflowExecutionUpdateAcceptedEventAttributes || event.workflowExecutionUpdateCompletedEventAttributes,
  );
  expect(polls).toEqual([]);
});

test("the saved queries of docs/temporal.md find what they say: top-level runs, a component's failed runs, a run's children", async () => {
  const id = randomUUID();
  h.model.replyWhen(`query ${id}`, delegateTo('writer', `child ${id}`), { text: 'Listed.' });
  const output = await team().run(`query ${id}`, { sessionId: `session-${id}` });
  const listed = async (query: string) => {
    const ids: string[] = [];
    for await (const execution of h.client.temporal.workflow.list({ query })) ids.push(execution.workflowId);
    return ids;
  };
  const session = `KernSessionId = 'session-${id}'`;
  const until = async (query: string, expected: string[]) => {
    const deadline = Date.now() + 15_000;
    let ids = await listed(query);
    // Visibility follows the run's last search attribute update by a moment.
    while (JSON.stringify(ids.sort()) !== JSON.stringify([...expected].sort()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ids = await listed(query);
    }
    return ids;
  };
  const teamRun = workflowIdForRun(output.runId);
  const memberRun = workflowIdForRun(output.memberResponses[0]!.runId);
  expect(await until(`ParentWorkflowId is null AND KernKind is not null AND ${session}`, [teamRun])).toEqual([teamRun]);
  expect(await until(`KernParentRunId = '${output.runId}'`, [memberRun])).toEqual([memberRun]);
  expect(await until(`KernComponentId = 'writer' AND KernStatus = 'COMPLETED' AND ${session}`, [memberRun])).toEqual([
    memberRun,
  ]);
  expect(await listed(`KernComponentId = 'research-team' AND KernStatus = 'ERROR' AND ${session}`)).toEqual([]);
});
