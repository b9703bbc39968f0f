import { z } from 'zod';
import {
  Agent,
  OpenAIResponses,
  Step,
  Team,
  TeamRunEvent,
  Workflow,
  WorkflowRunEvent,
  RequirementAnswersInvalid,
  RunEvent,
  RunNotFound,
  RunNotPaused,
  RunStatus,
  defineApp,
  defineTool,
  type AnyRunEvent,
  type RunOutput,
  type TeamRunOutput,
  type WorkflowRunOutput,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { eventually, startHarness, type Harness } from '../support/harness';

/** What the tools did, by call, so a test sees whether a tool ran and with what. */
const sent: Array<Record<string, unknown>> = [];

const sendEmail = defineTool({
  name: 'send_email',
  description: 'Send an email.',
  parameters: z.object({ to: z.string(), subject: z.string() }),
  requiresConfirmation: true,
  execute: (args) => {
    sent.push({ tool: 'send_email', ...args });
    return `sent to ${args.to}`;
  },
});

const bookFlight = defineTool({
  name: 'book_flight',
  description: 'Book a flight to a city.',
  parameters: z.object({ city: z.string() }),
  requiresUserInput: true,
  userInputFields: z.object({
    passenger: z.string().min(2).describe('Who flies'),
    seats: z.number().int().min(1).max(9).describe('How many seats'),
  }),
  execute: (args) => {
    sent.push({ tool: 'book_flight', ...args });
    return `booked ${args.seats} seat(s) to ${args.city} for ${args.passenger}`;
  },
});

const lookUpCrm = defineTool({
  name: 'look_up_crm',
  description: 'Look a customer up in the CRM (the caller runs it).',
  parameters: z.object({ customer: z.string() }),
  externalExecution: true,
});

const clock = defineTool({
  name: 'clock',
  description: 'The time.',
  parameters: z.object({}),
  execute: () => {
    sent.push({ tool: 'clock' });
    return '12:00';
  },
});

let h: Harness;
const model = new OpenAIResponses({ id: 'gpt-test' });
const assistant = (options: { pauseTimeout?: string | number } = {}) =>
  new Agent({
    name: 'Assistant',
    model,
    tools: [sendEmail, bookFlight, lookUpCrm, clock],
    client: h.client,
    ...options,
  });
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });

/** The tool results the model was sent in its last request for `text`, as `[tool output]`. */
function toolOutputsSent(text: string): string[] {
  const requests = h.model.requestsFor(text);
  const input = requests.at(-1)!.body.input as Array<{ type?: string; output?: string }>;
  return input.filter((item) => item.type === 'function_call_output').map((item) => String(item.output));
}

async function paused(runId: string): Promise<RunOutput> {
  const output = (await h.waitForStatus(runId, RunStatus.paused)) as RunOutput;
  expect(output.requirements?.length).toBeGreaterThan(0);
  return output;
}

beforeAll(async () => {
  h = await startHarness(defineApp({ tools: [sendEmail, bookFlight, lookUpCrm, clock] }));
});
afterAll(() => h.close());
beforeEach(() => {
  sent.length = 0;
});

describe('an agent run pauses for a person', () => {
  test('a confirmed call runs the tool, and the model answers from its result without being asked again for the paused turn', async () => {
    h.model.replyWhen('Email Ada', call('send_email', { to: 'ada@example.com', subject: 'Hi' }), {
      text: 'Done: the email went out.',
    });
    const agent = assistant();
    const run = await agent.run('Email Ada', { background: true });
    const pausedOutput = await paused(run.runId);
    expect(pausedOutput.status).toBe(RunStatus.paused);
    const [requirement] = pausedOutput.requirements!;
    expect(requirement).toMatchObject({
      runId: run.runId,
      needs: 'confirmation',
      toolExecution: { toolName: 'send_email', toolArgs: { to: 'ada@example.com', subject: 'Hi' } },
    });
    expect(pausedOutput.tools).toEqual([
      expect.objectContaining({ toolName: 'send_email', requiresConfirmation: true }),
    ]);
    // Nothing ran yet, and the model was asked once.
    expect(sent).toEqual([]);
    expect(h.model.requestsFor('Email Ada')).toHaveLength(1);

    const continued = await agent.continueRun(run.runId, {
      requirements: [{ id: requirement!.id, confirmation: true }],
    });
    expect([RunStatus.running, RunStatus.completed]).toContain(continued.status);
    const done = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(done.status).toBe(RunStatus.completed);
    expect(done.content).toBe('Done: the email went out.');
    expect(sent).toEqual([{ tool: 'send_email', to: 'ada@example.com', subject: 'Hi' }]);
    expect(h.model.requestsFor('Email Ada')).toHaveLength(2);
    expect(toolOutputsSent('Email Ada')).toEqual(['sent to ada@example.com']);
    expect(done.tools).toEqual([
      expect.objectContaining({ toolName: 'send_email', confirmed: true, result: 'sent to ada@example.com' }),
    ]);
    expect(done.requirements).toBeUndefined();

    // The run's events: paused, then continued, then the tool and the answer.
    const names: string[] = [];
    for await (const event of h.client.subscribe(run.runId)) names.push(event.event);
    const from = names.indexOf(RunEvent.runPaused);
    expect(names.slice(from, from + 4)).toEqual([
      RunEvent.runPaused,
      RunEvent.runContinued,
      RunEvent.toolCallStarted,
      RunEvent.toolCallCompleted,
    ]);
    expect(names.at(-1)).toBe(RunEvent.runCompleted);
  });

  test('a refused call does not run; the model gets the note as the tool result', async () => {
    h.model.replyWhen('Email Bob', call('send_email', { to: 'bob@example.com', subject: 'Yo' }), {
      text: 'Understood, I did not send it.',
    });
    const agent = assistant();
    const run = await agent.run('Email Bob', { background: true });
    const [requirement] = (await paused(run.runId)).requirements!;
    await agent.continueRun(run.runId, {
      requirements: [{ id: requirement!.id, confirmation: false, confirmationNote: 'Bob is on holiday' }],
    });
    const done = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(done.status).toBe(RunStatus.completed);
    expect(sent).toEqual([]);
    expect(toolOutputsSent('Email Bob')).toEqual(['Bob is on holiday']);
    expect(done.tools[0]).toMatchObject({
      confirmed: false,
      confirmationNote: 'Bob is on holiday',
      toolCallError: true,
    });
  });

  test('answers that keep failing their checks end the run ERROR before it could no longer be continued', async () => {
    h.model.replyWhen('Book Oslo', call('book_flight', { city: 'Oslo' }), { text: 'Booked.' });
    const agent = assistant();
    const run = await agent.run('Book Oslo', { background: true });
    const [requirement] = (await paused(run.runId)).requirements!;
    // Each failed check is an update Temporal accepted; past 2,000 the run could never be continued.
    for (let i = 0; i < 100; i++) {
      await expect(
        agent.continueRun(run.runId, {
          requirements: [{ id: requirement!.id, userInput: { passenger: 'A', seats: 40 } }],
        }),
      ).rejects.toThrow(RequirementAnswersInvalid);
    }
    const ended = await h.client.waitForRun(run.runId);
    expect(ended.status).toBe(RunStatus.error);
    expect(ended.error).toMatchObject({
      type: 'TooManyInvalidAnswers',
      message: expect.stringContaining("failed their tools' checks 100 times"),
    });
    expect(sent).toEqual([]);
  });

  test('user input is checked by the zod schema: invalid input is refused and changes nothing, valid input runs the tool with it', async () => {
    h.model.replyWhen('Book Paris', call('book_flight', { city: 'Paris' }), { text: 'Booked.' });
    const agent = assistant();
    const run = await agent.run('Book Paris', { background: true });
    const [requirement] = (await paused(run.runId)).requirements!;
    expect(requirement).toMatchObject({
      needs: 'userInput',
      userInputSchema: [
        { name: 'passenger', fieldType: 'str', description: 'Who flies' },
        { name: 'seats', fieldType: 'int', description: 'How many seats' },
      ],
    });
    const id = requirement!.id;
    await expect(
      agent.continueRun(run.runId, { requirements: [{ id, userInput: { passenger: 'A', seats: 40 } }] }),
    ).rejects.toThrow(RequirementAnswersInvalid);
    await expect(agent.continueRun(run.runId, { requirements: [{ id, confirmation: true }] })).rejects.toThrow(
      /needs userInput/,
    );
    const still = await h.client.getRunOutput(run.runId);
    expect(still?.status).toBe(RunStatus.paused);
    expect(still?.requirements?.map((r) => r.id)).toEqual([id]);
    expect(sent).toEqual([]);

    await agent.continueRun(run.runId, { requirements: [{ id, userInput: { passenger: 'Ada Lovelace', seats: 2 } }] });
    const done = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(done.status).toBe(RunStatus.completed);
    expect(sent).toEqual([{ tool: 'book_flight', city: 'Paris', passenger: 'Ada Lovelace', seats: 2 }]);
    expect(toolOutputsSent('Book Paris')).toEqual(['booked 2 seat(s) to Paris for Ada Lovelace']);
    expect(done.tools[0]).toMatchObject({
      answered: true,
      userInputSchema: [expect.objectContaining({ name: 'passenger', value: 'Ada Lovelace' }), expect.anything()],
    });
  });

  test('an external tool: the caller hands in the result; other tools of the turn run first', async () => {
    h.model.replyWhen(
      'Who is ACME',
      {
        toolCalls: [
          { name: 'look_up_crm', arguments: { customer: 'ACME' } },
          { name: 'clock', arguments: {} },
        ],
      },
      { text: 'ACME is a gold customer.' },
    );
    const agent = assistant();
    const run = await agent.run('Who is ACME', { background: true });
    const output = await paused(run.runId);
    // The ordinary tool of the turn has run; the external one waits.
    expect(sent).toEqual([{ tool: 'clock' }]);
    expect(output.requirements!.map((r) => r.needs)).toEqual(['externalExecution']);
    await agent.continueRun(run.runId, {
      requirements: [{ id: output.requirements![0]!.id, externalExecutionResult: 'ACME: gold tier since 2019' }],
    });
    const done = (await h.client.waitForRun(run.runId)) as RunOutput;
    expect(done.content).toBe('ACME is a gold customer.');
    expect(toolOutputsSent('Who is ACME').sort()).toEqual(['12:00', 'ACME: gold tier since 2019']);
  });

  test('continue is refused, with nothing changed, for an unknown run, a running or finished run, a second time, and for answers that do not fit', async () => {
    const agent = assistant();
    await expect(agent.continueRun('no-such-run', { requirements: [] })).rejects.toThrow(RunNotFound);

    h.model.replyWhen('Email Cy', call('send_email', { to: 'cy@example.com', subject: 'S' }), {
      text: 'Sent to Cy.',
      tokenDelayMs: 400,
    });
    const run = await agent.run('Email Cy', { background: true });
    const [requirement] = (await paused(run.runId)).requirements!;
    const id = requirement!.id;
    await expect(agent.continueRun(run.runId, { requirements: [] })).rejects.toThrow(/no answers/);
    await expect(
      agent.continueRun(run.runId, { requirements: [{ id: 'made-up', confirmation: true }] }),
    ).rejects.toThrow(/unknown requirement 'made-up'/);
    await expect(
      agent.continueRun(run.runId, {
        requirements: [
          { id, confirmation: true },
          { id, confirmation: false },
        ],
      }),
    ).rejects.toThrow(/answered twice/);
    await expect(
      agent.continueRun(run.runId, {
        requirements: [{ id, confirmation: false, confirmationNote: 'x'.repeat(100_001) }],
      }),
    ).rejects.toThrow(/over 100000 characters/);

    // Two continues at once: one is taken, the other refused.
    const both = await Promise.allSettled([
      agent.continueRun(run.runId, { requirements: [{ id, confirmation: true }] }),
      agent.continueRun(run.runId, { requirements: [{ id, confirmation: true }] }),
    ]);
    expect(both.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(RunNotPaused);

    // While it runs (the answer streams slowly), and after it ended.
    await h.waitForStatus(run.runId, RunStatus.running, RunStatus.completed);
    await expect(agent.continueRun(run.runId, { requirements: [{ id, confirmation: true }] })).rejects.toThrow(
      RunNotPaused,
    );
    const done = await h.client.waitForRun(run.runId);
    expect(done.status).toBe(RunStatus.completed);
    await expect(agent.continueRun(run.runId, { requirements: [{ id, confirmation: true }] })).rejects.toThrow(
      /is not paused: it is COMPLETED/,
    );
    expect(sent).toEqual([{ tool: 'send_email', to: 'cy@example.com', subject: 'S' }]);
  });

  test('cancel while paused ends the run CANCELLED without running the tool', async () => {
    h.model.replyWhen('Email Dee', call('send_email', { to: 'dee@example.com', subject: 'S' }));
    const agent = assistant();
    const run = await agent.run('Email Dee', { background: true });
    await paused(run.runId);
    expect(await agent.cancelRun(run.runId)).toBe(true);
    const done = await h.client.waitForRun(run.runId);
    expect(done.status).toBe(RunStatus.cancelled);
    expect(done.requirements).toBeUndefined();
    expect(sent).toEqual([]);
    const description = await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).describe();
    expect(description.status.name).toBe('CANCELLED');
  });

  test('pauseTimeout ends a run nobody answered ERROR, with a clear message', async () => {
    h.model.replyWhen('Email Eve', call('send_email', { to: 'eve@example.com', subject: 'S' }));
    const agent = assistant({ pauseTimeout: '1 second' });
    const run = await agent.run('Email Eve', { background: true });
    const done = await h.client.waitForRun(run.runId);
    expect(done.status).toBe(RunStatus.error);
    expect(done.error).toEqual({
      type: 'PauseTimedOut',
      message: "nobody answered the run's requirements within its pauseTimeout (1000 ms)",
    });
    expect(sent).toEqual([]);
  });

  test('continueRun with stream: true streams the rest of the run, from RunContinued to the end', async () => {
    h.model.replyWhen('Email Fay', call('send_email', { to: 'fay@example.com', subject: 'S' }), {
      text: 'Fay has it.',
    });
    const agent = assistant();
    const events: AnyRunEvent[] = [];
    for await (const event of agent.run('Email Fay', { stream: true })) {
      events.push(event);
      if (event.event === RunEvent.runPaused) break;
    }
    // A foreground stream that stops at the pause leaves the run waiting (it is not cancelled).
    const pausedEvent = events.at(-1)!;
    expect(pausedEvent.event).toBe(RunEvent.runPaused);
    const runId = pausedEvent.runId;
    const output = await paused(runId);
    const rest: AnyRunEvent[] = [];
    for await (const event of agent.continueRun(runId, {
      requirements: [{ id: output.requirements![0]!.id, confirmation: true }],
      stream: true,
    })) {
      rest.push(event);
    }
    expect(rest[0]!.event).toBe(RunEvent.runContinued);
    expect(rest[0]!.eventIndex).toBe(pausedEvent.eventIndex! + 1);
    expect(rest.at(-1)).toMatchObject({ event: RunEvent.runCompleted, content: 'Fay has it.' });
  });
});

describe('a pause lives in Temporal, not in a worker', () => {
  test('a worker stopped while the run is paused, and a new one started, changes nothing: the run is still paused (also with no worker) and continues', async () => {
    h.model.replyWhen('Email Hal', call('send_email', { to: 'hal@example.com', subject: 'S' }), {
      text: 'Hal has it.',
    });
    const agent = assistant();
    const run = await agent.run('Email Hal', { background: true });
    const [requirement] = (await paused(run.runId)).requirements!;
    await h.stopWorker();
    try {
      // With no worker to ask, a poll still says PAUSED and what the run waits for (from Temporal alone).
      const offline = await h.client.getRunOutput(run.runId);
      expect(offline).toMatchObject({ status: RunStatus.paused, requirements: [{ id: requirement!.id }] });
    } finally {
      await h.startWorker();
    }
    await agent.continueRun(run.runId, { requirements: [{ id: requirement!.id, confirmation: true }] });
    const done = await h.client.waitForRun(run.runId);
    expect(done).toMatchObject({ status: RunStatus.completed, content: 'Hal has it.' });
    expect(sent).toEqual([{ tool: 'send_email', to: 'hal@example.com', subject: 'S' }]);
  });

  test('paused runs are listed by status from visibility (an approvals inbox), and leave the list once continued', async () => {
    h.model.replyWhen('Email Ivy', call('send_email', { to: 'ivy@example.com', subject: 'S' }), { text: 'ok' });
    const agent = new Agent({ name: 'Inbox Agent', model, tools: [sendEmail], client: h.client });
    const run = await agent.run('Email Ivy', { background: true, userId: 'ivy-approver' });
    await paused(run.runId);
    const inbox = () => h.client.listRuns({ status: RunStatus.paused, componentId: 'inbox-agent' });
    const listed = await eventually(inbox, (page) => page.runs.length === 1);
    expect(listed.runs.map((r) => [r.runId, r.status])).toEqual([[run.runId, RunStatus.paused]]);
    expect(listed.runs[0]!.requirements![0]!.toolExecution.toolName).toBe('send_email');
    const byUser = await h.client.listRuns({ status: RunStatus.paused, userId: 'ivy-approver' });
    expect(byUser.runs.map((r) => r.runId)).toEqual([run.runId]);
    await agent.continueRun(run.runId, {
      requirements: [{ id: listed.runs[0]!.requirements![0]!.id, confirmation: true }],
    });
    await h.client.waitForRun(run.runId);
    const after = await eventually(inbox, (page) => page.runs.length === 0);
    expect(after.runs).toEqual([]);
  });
});

describe('teams and workflows pause when a member or a step does', () => {
  test("a member's tool pauses the team; continuing the team continues the member, and the team answers", async () => {
    h.model.replyWhen(
      (request) => request.lastUserText === 'Team: tell Gus',
      {
        toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'mailer', task: 'Mail Gus the note' } }],
      },
      { text: 'The team mailed Gus.' },
    );
    h.model.replyWhen('Mail Gus the note', call('send_email', { to: 'gus@example.com', subject: 'Note' }), {
      text: 'Mailed.',
    });
    const mailer = new Agent({ name: 'Mailer', model, tools: [sendEmail], client: h.client });
    const team = new Team({ name: 'Office', model, members: [mailer], client: h.client });
    const events: AnyRunEvent[] = [];
    const run = await team.run('Team: tell Gus', { background: true });
    const watching = (async () => {
      for await (const event of h.client.subscribe(run.runId)) events.push(event);
    })();
    const teamPaused = (await h.waitForStatus(run.runId, RunStatus.paused)) as TeamRunOutput;
    const [requirement] = teamPaused.requirements!;
    const member = teamPaused.memberResponses[0]!;
    expect(requirement).toMatchObject({
      needs: 'confirmation',
      runId: member.runId,
      memberRunId: member.runId,
      memberAgentId: 'mailer',
      memberAgentName: 'Mailer',
    });
    expect(member.status).toBe(RunStatus.paused);
    expect((await h.client.getRunOutput(member.runId))?.status).toBe(RunStatus.paused);

    const continued = await team.continueRun(run.runId, {
      requirements: [{ id: requirement!.id, confirmation: true }],
    });
    expect(continued.status).not.toBe(RunStatus.paused);
    const done = (await h.client.waitForRun(run.runId)) as TeamRunOutput;
    expect(done).toMatchObject({ status: RunStatus.completed, content: 'The team mailed Gus.' });
    expect(done.memberResponses[0]).toMatchObject({ status: RunStatus.completed, content: 'Mailed.' });
    expect(sent).toEqual([{ tool: 'send_email', to: 'gus@example.com', subject: 'Note' }]);
    await watching;
    // One subscription of the team saw the member pause, the team pause, and both go on.
    const names = events.map((event) => event.event);
    const order = [RunEvent.runPaused, TeamRunEvent.runPaused, RunEvent.runContinued, TeamRunEvent.runContinued];
    expect(order.map((name) => names.indexOf(name))).toEqual(
      [...order.map((name) => names.indexOf(name))].sort((a, b) => a - b),
    );
    expect(order.every((name) => names.includes(name))).toBe(true);
    expect(names.at(-1)).toBe(TeamRunEvent.runCompleted);
  });

  test("a team leader's own tool pauses the team run itself; run() without background returns the PAUSED output", async () => {
    h.model.replyWhen(
      (request) => request.lastUserText === 'Lead: email Lou',
      call('send_email', { to: 'lou@example.com', subject: 'S' }),
      {
        text: 'The leader emailed Lou.',
      },
    );
    const team = new Team({
      name: 'Leading Office',
      model,
      tools: [sendEmail],
      members: [new Agent({ name: 'Helper', model, client: h.client })],
      client: h.client,
    });
    const pausedTeam = await team.run('Lead: email Lou');
    expect(pausedTeam.status).toBe(RunStatus.paused);
    expect(pausedTeam.memberResponses).toEqual([]);
    const [requirement] = pausedTeam.requirements!;
    expect(requirement).toMatchObject({ runId: pausedTeam.runId, needs: 'confirmation' });
    expect(requirement!.memberRunId).toBeUndefined();
    await team.continueRun(pausedTeam.runId, { requirements: [{ id: requirement!.id, confirmation: true }] });
    const done = await h.client.waitForRun(pausedTeam.runId);
    expect(done).toMatchObject({ status: RunStatus.completed, content: 'The leader emailed Lou.' });
    expect(sent).toEqual([{ tool: 'send_email', to: 'lou@example.com', subject: 'S' }]);
  });

  test("two levels down: a workflow step's team member pauses the team and the workflow; the workflow's continue reaches it", async () => {
    h.model
      .replyWhen(
        (request) => request.lastUserText.startsWith('Nested: tell Max'),
        { toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'deep-mailer', task: 'Mail Max' } }] },
        { text: 'The office told Max.' },
      )
      .replyWhen('Mail Max', call('send_email', { to: 'max@example.com', subject: 'S' }), { text: 'Mailed Max.' });
    const office = new Team({
      name: 'Deep Office',
      model,
      members: [new Agent({ name: 'Deep Mailer', model, tools: [sendEmail], client: h.client })],
      client: h.client,
    });
    const workflow = new Workflow({
      name: 'Deep',
      steps: [new Step({ name: 'Office', team: office })],
      client: h.client,
    });
    const run = await workflow.run('Nested: tell Max', { background: true });
    const wfPaused = (await h.waitForStatus(run.runId, RunStatus.paused)) as WorkflowRunOutput;
    const [requirement] = wfPaused.requirements!;
    expect(requirement).toMatchObject({ needs: 'confirmation', memberAgentId: 'deep-mailer' });
    expect(await h.client.getRunOutput(requirement!.runId)).toMatchObject({ status: RunStatus.paused });
    await workflow.continueRun(run.runId, { requirements: [{ id: requirement!.id, confirmation: true }] });
    const done = (await h.client.waitForRun(run.runId)) as WorkflowRunOutput;
    expect(done).toMatchObject({ status: RunStatus.completed, content: 'The office told Max.' });
    expect(sent).toEqual([{ tool: 'send_email', to: 'max@example.com', subject: 'S' }]);
  });

  test('a workflow step whose agent pauses pauses the workflow; cancelling the paused workflow cancels the step', async () => {
    h.model.replyWhen('Newsletter for Jo', call('send_email', { to: 'jo@example.com', subject: 'News' }), {
      text: 'Sent the newsletter.',
    });
    const mailer = new Agent({ name: 'Step Mailer', model, tools: [sendEmail], client: h.client });
    const workflow = new Workflow({
      name: 'Newsletter',
      steps: [new Step({ name: 'Send', agent: mailer })],
      client: h.client,
    });
    const first = await workflow.run('Newsletter for Jo', { background: true });
    const wfPaused = (await h.waitForStatus(first.runId, RunStatus.paused)) as WorkflowRunOutput;
    const [requirement] = wfPaused.requirements!;
    expect(requirement).toMatchObject({ needs: 'confirmation', memberAgentId: 'step-mailer' });
    await workflow.continueRun(first.runId, { requirements: [{ id: requirement!.id, confirmation: true }] });
    const done = (await h.client.waitForRun(first.runId)) as WorkflowRunOutput;
    expect(done).toMatchObject({ status: RunStatus.completed, content: 'Sent the newsletter.' });
    const names: string[] = [];
    for await (const event of h.client.subscribe(first.runId)) names.push(event.event);
    expect(names).toEqual(
      expect.arrayContaining([WorkflowRunEvent.workflowPaused, WorkflowRunEvent.workflowContinued]),
    );

    h.model.replyWhen('Newsletter for Kim', call('send_email', { to: 'kim@example.com', subject: 'News' }));
    const second = await workflow.run('Newsletter for Kim', { background: true });
    const secondPaused = (await h.waitForStatus(second.runId, RunStatus.paused)) as WorkflowRunOutput;
    const stepRunId = secondPaused.requirements![0]!.runId;
    expect(await workflow.cancelRun(second.runId)).toBe(true);
    expect((await h.client.waitForRun(second.runId)).status).toBe(RunStatus.cancelled);
    expect((await h.waitForStatus(stepRunId, RunStatus.cancelled)).status).toBe(RunStatus.cancelled);
    expect(sent).toEqual([{ tool: 'send_email', to: 'jo@example.com', subject: 'News' }]);
  });
});
