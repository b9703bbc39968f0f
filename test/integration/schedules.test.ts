import {
  Agent,
  InvalidInputError,
  OpenAIResponses,
  RunStatus,
  ScheduleIdInUseError,
  RunEvent,
  ScheduleNotFound,
  Step,
  Team,
  Workflow,
  defineApp,
  type AnyRunEvent,
  type AnyRunOutput,
} from 'kern';
import { eventually, startHarness, type Harness } from '../support/harness';

const model = new OpenAIResponses({ id: 'gpt-test' });
const reporter = new Agent({ name: 'Reporter', model, instructions: 'Report briefly.' });
const writer = new Agent({ name: 'Writer', model });
const desk = new Team({ name: 'Desk', model, members: [writer] });
const app = defineApp({ agents: [reporter], teams: [desk] });

let h: Harness;
beforeAll(async () => {
  h = await startHarness(app);
});
afterAll(() => h.close());

const agent = () => new Agent({ name: 'Reporter', model, instructions: 'Report briefly.', client: h.client });
const uniqueId = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

/** The schedule's runs from visibility, oldest first, once `count` of them are there. */
async function runsOf(scheduleId: string, count: number): Promise<AnyRunOutput[]> {
  const page = await eventually(
    () => h.client.listRuns({ scheduleId }),
    (found) => found.runs.length >= count,
  );
  return [...page.runs].reverse();
}

describe('scheduled runs', () => {
  test('a schedule at a short interval fires twice; each firing is a normal run with its own id and output', async () => {
    const id = uniqueId('digest');
    h.model.replyWhen('Write the digest', { text: 'Digest one.' }, { text: 'Digest two.' });
    const schedule = await agent().schedule({ id, interval: '2 seconds', input: 'Write the digest' });
    try {
      const runs = await runsOf(id, 2);
      await schedule.pause('enough for the test');
      const [first, second] = await Promise.all(
        runs.slice(0, 2).map((run) => h.waitForStatus(run.runId, RunStatus.completed)),
      );
      // Each run's id is the schedule's id and the firing's time, and its record says so after it ends.
      expect(first!.runId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
      expect(second!.runId).not.toBe(first!.runId);
      expect([first!.content, second!.content]).toEqual(['Digest one.', 'Digest two.']);
      expect(first).toMatchObject({ kind: 'agent', agentId: 'reporter', input: 'Write the digest' });
      // Both runs are in the schedule's session; each run's createdAt is when it started, not the schedule's.
      expect(first!.sessionId).toBe(`schedule-${id}`);
      expect(second!.sessionId).toBe(first!.sessionId);
      expect(Date.parse(second!.createdAt)).toBeGreaterThan(Date.parse(first!.createdAt));
      // The model was asked once per run, with the schedule's input.
      expect(h.model.requestsFor('Write the digest').length).toBeGreaterThanOrEqual(2);

      const info = await schedule.describe();
      expect(info).toMatchObject({
        scheduleId: id,
        kind: 'agent',
        componentId: 'reporter',
        input: 'Write the digest',
        interval: { everyMs: 2000, offsetMs: 0 },
        overlap: 'skip',
        paused: true,
        note: 'enough for the test',
      });
      expect(info.runCount).toBeGreaterThanOrEqual(2);
      expect(info.recentRuns.map((run) => run.runId)).toEqual(expect.arrayContaining([first!.runId, second!.runId]));
    } finally {
      await schedule.delete();
    }
  });

  test('pause stops firing, trigger fires once anyway, resume goes on, delete leaves the runs', async () => {
    const id = uniqueId('nightly');
    const schedule = await agent().schedule({ id, cron: '0 3 * * *', input: 'Nightly report', paused: true });
    const paused = await schedule.describe();
    expect(paused).toMatchObject({ paused: true, cron: ['0 3 * * *'], timezone: 'UTC' });
    expect(paused.nextRunAt.length).toBeGreaterThan(0);
    expect(new Date(paused.nextRunAt[0]!).getUTCHours()).toBe(3);

    h.model.replyWhen('Nightly report', { text: 'All quiet.' });
    await schedule.trigger();
    const [run] = await runsOf(id, 1);
    expect((await h.waitForStatus(run!.runId, RunStatus.completed)).content).toBe('All quiet.');

    await schedule.resume();
    expect((await schedule.describe()).paused).toBe(false);
    expect((await h.client.listSchedules()).find((s) => s.scheduleId === id)).toMatchObject({
      componentName: 'Reporter',
      paused: false,
    });

    await schedule.delete();
    await expect(schedule.describe()).rejects.toThrow(ScheduleNotFound);
    await expect(schedule.pause()).rejects.toThrow(ScheduleNotFound);
    expect((await h.client.listSchedules()).some((s) => s.scheduleId === id)).toBe(false);
    // The run it started is still there.
    expect((await h.client.getRunOutput(run!.runId))?.status).toBe(RunStatus.completed);
  });

  test("a scheduled run is cancelled like any other, and overlap 'skip' starts nothing while one runs", async () => {
    const id = uniqueId('slow');
    h.model.replyWhen('Slow report', { text: 'Working on it', hang: true });
    const schedule = await agent().schedule({ id, cron: '0 3 * * *', input: 'Slow report', paused: true });
    try {
      await schedule.trigger();
      const [run] = await runsOf(id, 1);
      await h.waitForStatus(run!.runId, RunStatus.running);
      // It streams like any run: a subscriber from another caller sees its content, then its cancel.
      const events: AnyRunEvent[] = [];
      const streamed = (async () => {
        for await (const event of h.client.subscribe(run!.runId)) events.push(event);
      })();
      // A second firing while the first runs is skipped: nothing new starts.
      await schedule.trigger();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await schedule.describe()).runningRunIds).toEqual([run!.runId]);
      expect(await h.client.cancelRun(run!.runId)).toBe(true);
      const cancelled = await h.waitForStatus(run!.runId, RunStatus.cancelled);
      expect(cancelled.content).toBe('Working on it');
      await streamed;
      expect(events[0]).toMatchObject({ event: RunEvent.runStarted, runId: run!.runId });
      expect(events.at(-1)).toMatchObject({ event: RunEvent.runCancelled, runId: run!.runId });
      expect((await h.client.listRuns({ scheduleId: id })).runs).toHaveLength(1);
    } finally {
      await schedule.delete();
    }
  });

  test('bad schedules are refused with a clear error, and nothing is created', async () => {
    const id = uniqueId('dup');
    await expect(agent().schedule({ id, input: 'x' })).rejects.toThrow(/give `cron` or `interval`/);
    await expect(agent().schedule({ id: 'has space', interval: '1 hour', input: 'x' })).rejects.toThrow(
      InvalidInputError,
    );
    await expect(agent().schedule({ id, interval: '10 ms', input: 'x' })).rejects.toThrow(/at least 1000 ms/);
    // Temporal's server reads cron expressions and time zones; what it refuses is an InvalidInputError here.
    await expect(agent().schedule({ id, cron: 'now and then', input: 'x' })).rejects.toThrow(InvalidInputError);
    await expect(agent().schedule({ id, cron: '0 9 * * *', timezone: 'Mars/Olympus', input: 'x' })).rejects.toThrow(
      InvalidInputError,
    );
    await expect(agent().schedule({ id, interval: '1 hour', input: '' })).rejects.toThrow(/non-empty/);
    await expect(
      agent().schedule({ id, interval: '1 hour', input: 'x', overlap: 'terminateOther' as never }),
    ).rejects.toThrow(/overlap must be one of/);
    await expect(h.client.schedule(id).describe()).rejects.toThrow(ScheduleNotFound);

    const schedule = await agent().schedule({ id, interval: '1 hour', input: 'x', paused: true });
    try {
      await expect(agent().schedule({ id, interval: '2 hours', input: 'y' })).rejects.toThrow(ScheduleIdInUseError);
      expect((await schedule.describe()).interval?.everyMs).toBe(3_600_000);
    } finally {
      await schedule.delete();
    }
  });

  test('a workflow schedule starts workflow runs, step by step', async () => {
    const id = uniqueId('steps');
    const workflow = new Workflow({
      name: 'Brief Steps',
      steps: [new Step({ name: 'Draft', agent: new Agent({ name: 'Drafter', model, client: h.client }) })],
      client: h.client,
    });
    h.model.replyWhen((request) => request.lastUserText.startsWith('Step brief'), { text: 'Drafted.' });
    const schedule = await workflow.schedule({ id, cron: '0 3 * * *', input: 'Step brief', paused: true });
    try {
      await schedule.trigger();
      const [run] = await runsOf(id, 1);
      const output = await h.waitForStatus(run!.runId, RunStatus.completed);
      expect(output).toMatchObject({ kind: 'workflow', workflowId: 'brief-steps', content: 'Drafted.' });
    } finally {
      await schedule.delete();
    }
  });

  test('a team schedule starts team runs, with their members', async () => {
    const id = uniqueId('team');
    const team = new Team({ name: 'Desk', model, members: [writer], client: h.client });
    h.model.replyWhen('Desk brief', { text: 'Brief done.' });
    const schedule = await team.schedule({ id, cron: '0 3 * * *', input: 'Desk brief', paused: true });
    try {
      await schedule.trigger();
      const [run] = await runsOf(id, 1);
      const output = await h.waitForStatus(run!.runId, RunStatus.completed);
      expect(output).toMatchObject({ kind: 'team', teamId: 'desk', content: 'Brief done.' });
    } finally {
      await schedule.delete();
    }
  });
});
