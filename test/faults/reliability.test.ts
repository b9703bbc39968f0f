import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import {
  Agent,
  OpenAIResponses,
  RunEvent,
  RunStatus,
  Team,
  defineApp,
  defineTool,
  type AnyRunEvent,
  type AnyRunOutput,
  type Tool,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { eventually, startHarness, type Harness, type WorkerTuning } from '../support/harness';
import { UPDATES_PER_RUN_LIMIT } from '../support/global-setup';
import { historyText } from '../support/history-text';

/** Faults and hostile inputs: each test injects the fault for real, against the real server and worker. */

const TWO_MB = 2 * 1024 * 1024;
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

const bigPage = defineTool({
  name: 'fetch_page',
  description: 'Fetches a page.',
  parameters: z.object({ size: z.number() }),
  execute: ({ size }) => 'x'.repeat(size),
});
const dump = defineTool({
  name: 'fetch_dump',
  description: 'Fetches a data dump.',
  parameters: z.object({ size: z.number() }),
  maxResultChars: 500_000,
  execute: ({ size }) => 'y'.repeat(size),
});
/** How many times the tool ran, by fleet: tests run side by side, each launching its own. */
const launches = new Map<string, number>();
const launchesOf = (fleet: string) => launches.get(fleet) ?? 0;
const launchRocket = defineTool({
  name: 'launch_rocket',
  description: 'Launches a rocket.',
  parameters: z.object({ fleet: z.string() }),
  execute: ({ fleet }) => {
    launches.set(fleet, launchesOf(fleet) + 1);
    return 'launched';
  },
});
const toolCalls: Array<{ tool: string; aborted: boolean; finished: boolean }> = [];
const waitForAbort = defineTool({
  name: 'wait_for_approval',
  description: 'Waits for an approval.',
  parameters: z.object({}),
  execute: (_args, { signal }) => {
    const call = { tool: 'wait_for_approval', aborted: false, finished: false };
    toolCalls.push(call);
    return new Promise((_resolve, reject) =>
      signal.addEventListener('abort', () => {
        call.aborted = true;
        reject(new Error('stopped'));
      }),
    );
  },
});
const ignoreAbort = defineTool({
  name: 'slow_report',
  description: 'Builds a slow report.',
  parameters: z.object({}),
  execute: async () => {
    const call = { tool: 'slow_report', aborted: false, finished: false };
    toolCalls.push(call);
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    call.finished = true;
    return 'report';
  },
});

const controlDump = defineTool({
  name: 'fetch_controls',
  description: 'Fetches a block of control characters.',
  parameters: z.object({ size: z.number() }),
  execute: ({ size }) => '\u0001'.repeat(size),
});
const app = defineApp({ tools: [bigPage, dump, launchRocket, waitForAbort, ignoreAbort, controlDump] });
const tuning: WorkerTuning = { modelIdleTimeout: 2_000 };

let h: Harness;
beforeAll(async () => {
  h = await startHarness(app);
  await h.stopWorker();
  await h.startWorker(app, tuning);
});
afterAll(() => h.close());

/**
 * The run of the 200-round test, started first: its 201 model calls, one after another, take twenty seconds, which
 * pass while the tests before it run. Nothing it asserts depends on timing. The 300-run test runs alone after it.
 */
let manyRounds: ReturnType<typeof launchManyRounds>;
async function launchManyRounds() {
  const fleet = randomUUID();
  const prompt = `many rounds ${fleet}`;
  const rounds = Array.from({ length: 200 }, (_, i) => call('launch_rocket', { round: i, fleet }));
  h.model.replyWhen(prompt, ...rounds, { text: 'All 200 rockets are away.' });
  const output = await agentWith([launchRocket], 200).run(prompt);
  return { fleet, prompt, output };
}
beforeAll(() => {
  manyRounds = launchManyRounds();
  // Awaited by its test; a failure here is that test's.
  manyRounds.catch(() => undefined);
});

const model = new OpenAIResponses({ id: 'gpt-test' });
const agentWith = (tools: Tool[], maxToolRounds = 10, harness = h) =>
  new Agent({ name: 'Reliable Agent', model, tools, maxToolRounds, client: harness.client });
const call = (name: string, args: unknown = {}) => ({ toolCalls: [{ name, arguments: args }] });
const handleOf = (runId: string, harness = h) => harness.client.temporal.workflow.getHandle(workflowIdForRun(runId));
const temporalStatus = async (runId: string) => (await handleOf(runId).describe()).status.name;
const kernStatusAttribute = async (runId: string) =>
  (await handleOf(runId).describe()).searchAttributes.KernStatus?.[0];

describe('payloads and history stay within Temporal limits', () => {
  test.concurrent(
    'a tool returning 5 MB: the model and the output get its first 100,000 characters and a note',
    async () => {
      const prompt = `huge page ${randomUUID()}`;
      h.model.replyWhen(prompt, call('fetch_page', { size: 5_000_000 }), { text: 'Read the start of it.' });
      const output = await agentWith([bigPage]).run(prompt);

      expect(output).toMatchObject({ status: RunStatus.completed, content: 'Read the start of it.' });
      const result = output.tools[0]!.result!;
      expect(result.startsWith('x'.repeat(100_000))).toBe(true);
      expect(result).toContain('[kern cut 4900000 more characters: tool results are limited to 100000 characters');
      expect(JSON.stringify(h.model.requestsFor(prompt)[1]!.body)).toContain('[kern cut 4900000 more characters');
      expect(bytesOf(output)).toBeLessThan(TWO_MB);
    },
  );

  test.concurrent(
    'results adding up past one request: the run ends ERROR RunTooLarge through kern, not wedged',
    async () => {
      const prompt = `four dumps ${randomUUID()}`;
      const dumpCall = call('fetch_dump', { size: 400_000 });
      h.model.replyWhen(prompt, dumpCall, dumpCall, dumpCall, dumpCall, { text: 'never asked' });
      const output = await agentWith([dump]).run(prompt);

      expect(output.status).toBe(RunStatus.error);
      expect(output.error).toEqual({
        type: 'RunTooLarge',
        message: expect.stringMatching(/the conversation has grown to 1\.\d MB, over the 1\.5 MB kern sends/),
      });
      // Four answers with tool calls; the fifth request, at 1.6 MB, was never sent.
      expect(h.model.requestsFor(prompt)).toHaveLength(4);
      expect(output.tools).toHaveLength(4);
      expect(bytesOf(output)).toBeLessThan(TWO_MB);
      expect(await temporalStatus(output.runId)).toBe('FAILED');
      expect(await kernStatusAttribute(output.runId)).toBe('ERROR');
      expect(await h.client.getRunOutput(output.runId)).toMatchObject({ status: RunStatus.error });
    },
  );

  test.concurrent(
    'cancelling a run whose output is past 2 MB keeps each tool result once and ends CANCELLED',
    async () => {
      const prompt = `three dumps ${randomUUID()}`;
      const dumpCall = call('fetch_dump', { size: 400_000 });
      h.model.replyWhen(prompt, dumpCall, dumpCall, dumpCall, { text: 'Summing up', tokenDelayMs: 20, hang: true });
      const agent = agentWith([dump]);
      const run = await agent.run(prompt, { background: true });
      await h.model.waitFor(() => h.model.requestsFor(prompt).length === 4, 30_000);
      expect(await agent.cancelRun(run.runId)).toBe(true);

      const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error);
      expect(output.status).toBe(RunStatus.cancelled);
      expect(output.tools.map((tool) => tool.result?.length)).toEqual([400_000, 400_000, 400_000]);
      const toolMessages = output.messages.filter((message) => message.role === 'tool');
      expect(toolMessages.map((message) => message.content)).toEqual(
        Array(3).fill(expect.stringContaining("this result is the matching entry of the run's tools")),
      );
      expect(bytesOf(output)).toBeLessThan(TWO_MB);
      expect(await temporalStatus(run.runId)).toBe('CANCELLED');
    },
  );
});

describe('cancel races for one run id', () => {
  /** Every execution under a run's workflow id (the run, and the record of a cancel made before it started). */
  /**
   * The executions under a run's workflow id, once visibility shows none running: a run reports CANCELLED from its
   * state a moment before its execution closes, and visibility follows the close by a moment more.
   */
  /**
   * The run id's rows in the Temporal UI, once the run's own row is listed and none is running (or once `ready` says
   * so): visibility lists a row a moment after its execution starts, and drops a deleted one in the background.
   */
  async function executionsOf(
    runId: string,
    ready = (executions: { type: string; status: string }[]) =>
      executions.some((execution) => execution.type === 'agentRun') &&
      executions.every((execution) => execution.status !== 'RUNNING'),
    withinMs?: number,
  ) {
    const list = async () => {
      const executions = [];
      for await (const execution of h.client.temporal.workflow.list({
        query: `WorkflowId = '${workflowIdForRun(runId)}'`,
      })) {
        executions.push({ type: execution.type, status: execution.status.name });
      }
      return executions;
    };
    return eventually(list, ready, withinMs);
  }

  test.concurrent(
    'cancelRun and run with the same id at once: the run ends CANCELLED, and neither call throws',
    async () => {
      const agent = agentWith([]);
      for (let i = 0; i < 10; i++) {
        const runId = randomUUID();
        // A slow answer (1.5 s), so that only a lost cancel, not a slow one, lets the run complete; a cancelled run
        // does not wait for it.
        h.model.replyWhen(`at once ${runId}`, { text: 'Too late to stop me.', tokenDelayMs: 300 });
        // Alternate which call is sent first.
        const cancel = () => agent.cancelRun(runId);
        const start = () => agent.run(`at once ${runId}`, { background: true, runId });
        const calls = await Promise.allSettled(i % 2 === 0 ? [cancel(), start()] : [start(), cancel()]);
        expect(calls.map((call) => call.status)).toEqual(['fulfilled', 'fulfilled']);
        expect((await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error)).status).toBe(
          RunStatus.cancelled,
        );
        const runs = (await executionsOf(runId)).filter((execution) => execution.type === 'agentRun');
        expect(runs).toEqual([{ type: 'agentRun', status: 'CANCELLED' }]);
      }
    },
  );

  test.concurrent(
    'two runs with one id after a recorded cancel: one run, CANCELLED without a model call; the other is refused',
    async () => {
      const agent = agentWith([]);
      for (let i = 0; i < 5; i++) {
        const runId = randomUUID();
        expect(await agent.cancelRun(runId)).toBe(false);
        const starts = await Promise.allSettled([
          agent.run(`twice ${runId}`, { background: true, runId }),
          agent.run(`twice ${runId}`, { background: true, runId }),
        ]);
        const refused = starts.flatMap((start) => (start.status === 'rejected' ? [start.reason as Error] : []));
        expect(refused.map((err) => err.name)).toEqual(['RunIdInUseError']);
        expect((await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error)).status).toBe(
          RunStatus.cancelled,
        );
        const runs = (await executionsOf(runId)).filter((execution) => execution.type === 'agentRun');
        expect(runs).toEqual([{ type: 'agentRun', status: 'CANCELLED' }]);
        expect(h.model.requestsFor(`twice ${runId}`)).toHaveLength(0);
      }
    },
  );

  test.concurrent(
    'a process killed while it records a cancel before start leaves the record open; a run started later with that id closes it and ends CANCELLED without a model call',
    async () => {
      const runId = randomUUID();
      // The recorder dies (SIGKILL) as it sends the request that would close its record.
      const recorder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/cancel-recorder.ts', runId], {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, TEMPORAL_ADDRESS: process.env.KERN_TEST_TEMPORAL_ADDRESS, KERN_TASK_QUEUE: h.taskQueue },
        stdio: 'ignore',
      });
      expect(await new Promise((resolve) => recorder.once('exit', (_code, signal) => resolve(signal)))).toBe('SIGKILL');
      const record = await handleOf(runId).describe();
      expect({ type: record.type, status: record.status.name }).toEqual({
        type: 'kernCancelIntent',
        status: 'RUNNING',
      });
      // Not open for good, even if no run ever starts with the id.
      expect(Number(record.raw.executionConfig?.workflowExecutionTimeout?.seconds)).toBe(60);

      const prompt = `after a dead recorder ${runId}`;
      const started = await agentWith([]).run(prompt, { background: true, runId });
      expect(started.status).toBe(RunStatus.pending);
      expect((await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error)).status).toBe(
        RunStatus.cancelled,
      );
      expect(h.model.requestsFor(prompt)).toHaveLength(0);
      // The record is deleted once the run has replaced it: Temporal deletes in the background, once the record's close
      // is acknowledged, and the acknowledgement waits for every earlier task of the shard, so under the other tests'
      // load it can take well over the 1 s ack interval (once over 20 s in CI). Then the run is the id's only row.
      const alone = (executions: { type: string; status: string }[]) =>
        executions.length === 1 && executions[0]!.type === 'agentRun' && executions[0]!.status !== 'RUNNING';
      expect(await executionsOf(runId, alone, 90_000)).toEqual([{ type: 'agentRun', status: 'CANCELLED' }]);
    },
    150_000,
  );

  test.concurrent(
    'cancelRun on a run as it finishes never throws: true or false, and the run ends in one final state',
    async () => {
      const agent = agentWith([]);
      for (let i = 0; i < 5; i++) {
        const prompt = `finishing ${randomUUID()}`;
        h.model.replyWhen(prompt, { text: 'Quick.' });
        const run = await agent.run(prompt, { background: true });
        const answers: boolean[] = [];
        // Cancel over and over while the run starts, answers and closes: some calls find it running, some find it
        // closed, and some find it running and then closed before the cancel request lands.
        while (
          (await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).describe()).status.name === 'RUNNING'
        ) {
          answers.push(...(await Promise.all([agent.cancelRun(run.runId), agent.cancelRun(run.runId)])));
        }
        expect(await agent.cancelRun(run.runId)).toBe(false);
        const output = await h.client.getRunOutput(run.runId);
        expect([RunStatus.cancelled, RunStatus.completed]).toContain(output?.status);
        if (answers.includes(true) && output?.status === RunStatus.completed) {
          // Asked to cancel only once it was finishing: it kept its whole answer.
          expect(output.content).toBe('Quick.');
        }
      }
    },
  );
});

describe('tools', () => {
  test.concurrent('a tool the agent does not declare never runs, even though the worker has it', async () => {
    const fleet = randomUUID();
    const prompt = `rogue ${fleet}`;
    h.model.replyWhen(prompt, call('launch_rocket', { fleet }), { text: 'I cannot launch anything.' });
    const output = await agentWith([bigPage]).run(prompt);

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'I cannot launch anything.' });
    expect(launchesOf(fleet)).toBe(0);
    expect(output.tools[0]).toMatchObject({ toolName: 'launch_rocket', toolCallError: true });
    expect(JSON.stringify(h.model.requestsFor(prompt)[1]!.body)).toContain(
      "there is no tool named 'launch_rocket' here; the tools are: fetch_page",
    );
  });

  test.concurrent("a member's burst of large events reaches its team in batches Temporal takes", async () => {
    const prompt = `bursting member ${randomUUID()}`;
    const task = `read the control blocks ${randomUUID()}`;
    // Four results of 100,000 control characters in one turn: 600 KB each as JSON, 2.4 MB in one burst.
    const read = { name: 'fetch_controls', arguments: { size: 100_000 } };
    h.model.replyWhen(prompt, call('delegate_task_to_member', { member_id: 'reader', task }), { text: 'Done.' });
    h.model.replyWhen(task, { toolCalls: [read, read, read, read] }, { text: 'Read them.' });
    const reader = new Agent({ name: 'Reader', model, tools: [controlDump], client: h.client });
    const team = new Team({ name: 'Bursting', model, members: [reader], client: h.client });
    const started = await team.run(prompt, { background: true });
    const output = await h.waitForStatus(started.runId, RunStatus.completed, RunStatus.error);

    expect(output.status).toBe(RunStatus.completed);
    const { events } = (await h.client.eventsSoFar(started.runId))!;
    const memberResults = events.filter(
      (event) => event.event === RunEvent.toolCallCompleted && event.runId !== started.runId,
    );
    expect(memberResults).toHaveLength(4);
  });

  test.concurrent('a coordinate-mode leader cannot call the broadcast tool', async () => {
    const prompt = `broadcast anyway ${randomUUID()}`;
    h.model.replyWhen(prompt, call('delegate_task_to_all_members', { task: 'everyone, go' }), { text: 'Done alone.' });
    const member = (name: string) => new Agent({ name, model, client: h.client });
    const team = new Team({ name: 'Coordinated', model, members: [member('A'), member('B')], client: h.client });
    const output = await team.run(prompt);

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Done alone.', memberResponses: [] });
    expect(output.tools[0]).toMatchObject({ toolName: 'delegate_task_to_all_members', toolCallError: true });
  });

  test.concurrent(
    'a cancel reaches a running tool through its signal, and the run does not wait for a tool that ignores it',
    async () => {
      for (const [tool, name] of [
        [waitForAbort, 'wait_for_approval'],
        [ignoreAbort, 'slow_report'],
      ] as const) {
        const prompt = `cancel ${name} ${randomUUID()}`;
        h.model.replyWhen(prompt, call(name));
        const agent = agentWith([tool]);
        const run = await agent.run(prompt, { background: true });
        const before = toolCalls.length;
        await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1);
        for (let i = 0; i < 100 && toolCalls.length === before; i++) await new Promise((r) => setTimeout(r, 50));
        const started = toolCalls[before]!;
        expect(await agent.cancelRun(run.runId)).toBe(true);

        const output: AnyRunOutput = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error);
        expect(output.status).toBe(RunStatus.cancelled);
        if (name === 'wait_for_approval') expect(started.aborted).toBe(true);
        else expect(started.finished).toBe(false);
      }
    },
  );
});

describe('viewers', () => {
  test.concurrent(
    'fifteen viewers of one run in one process (past the 10 concurrent updates Temporal takes) all get every event, and a foreground stream is not cancelled',
    async () => {
      const prompt = `crowd ${randomUUID()}`;
      const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
      h.model.replyWhen(prompt, { text, tokenDelayMs: 50 });
      const agent = agentWith([]);
      const events = agent.run(prompt, { stream: true });
      const iterator = events[Symbol.asyncIterator]();
      const first = await iterator.next();
      const runId = (first.value as AnyRunEvent).runId;
      const read = async (stream: AsyncIterable<AnyRunEvent>) => {
        const seen: AnyRunEvent[] = [];
        for await (const event of stream) seen.push(event);
        return seen;
      };
      const viewers = Array.from({ length: 14 }, () => read(h.client.subscribe(runId)));
      const starter = read({ [Symbol.asyncIterator]: () => iterator });
      const [own, ...others] = await Promise.all([starter, ...viewers]);

      const content = (seen: AnyRunEvent[]) =>
        seen.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : [])).join('');
      expect(own.at(-1)?.event).toBe(RunEvent.runCompleted);
      expect(content(own)).toBe(text);
      for (const seen of others) {
        expect(seen.map((event) => event.eventIndex)).toEqual(seen.map((_, index) => index));
        expect(seen.at(-1)?.event).toBe(RunEvent.runCompleted);
        expect(content(seen)).toBe(text);
      }
      expect(await h.client.getRunOutput(runId)).toMatchObject({ status: RunStatus.completed, content: text });
    },
  );

  test.concurrent(
    `a viewer reads a stream longer than Temporal's limit of updates per run, by query, with no update in its history`,
    async () => {
      // Tiny batch windows: one delta per word, more than the run could take polls by update. On a worker of its own,
      // so that the other tests' runs keep theirs.
      const own = await startHarness(app);
      try {
        await own.stopWorker();
        await own.startWorker(app, { ...tuning, streamBatchWindows: { live: 2, background: 2 } });
        const prompt = `marathon ${randomUUID()}`;
        const words = UPDATES_PER_RUN_LIMIT * 3;
        const text = Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
        own.model.replyWhen(prompt, { text, tokenDelayMs: 10 });
        const seen: AnyRunEvent[] = [];
        for await (const event of agentWith([], 10, own).run(prompt, { stream: true })) seen.push(event);

        expect(seen.at(-1)?.event).toBe(RunEvent.runCompleted);
        expect(seen.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : [])).join('')).toBe(
          text,
        );
        expect(seen.map((event) => event.eventIndex)).toEqual(seen.map((_, index) => index));
        const runId = seen[0]!.runId;
        expect(await own.client.getRunOutput(runId)).toMatchObject({ status: RunStatus.completed, content: text });
        // The stream went on past the limit: more events than the run could take polls by update; it took none.
        expect(seen.length).toBeGreaterThan(UPDATES_PER_RUN_LIMIT);
        const history = await handleOf(runId, own).fetchHistory();
        const polls = history.events?.filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes);
        expect(polls).toHaveLength(0);
      } finally {
        await own.close();
      }
    },
    90_000,
  );
});

// Not side by side with other tests: 300 runs at once load the worker and the server, and the tests on model faults
// time their cancels against a model's stream.
describe('load', () => {
  test('200 tool rounds in one run: every call runs once, the answer comes after the last, history stays small', async () => {
    // Started before the other tests (see launchManyRounds).
    const { fleet, prompt, output } = await manyRounds;

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'All 200 rockets are away.' });
    expect(output.tools).toHaveLength(200);
    expect(launchesOf(fleet)).toBe(200);
    expect(h.model.requestsFor(prompt)).toHaveLength(201);
    const { historyLength, historySize } = await handleOf(output.runId).describe();
    expect(historyLength).toBeLessThan(40_000);
    expect(historySize).toBeLessThan(40 * 1024 * 1024);
  }, 120_000);

  // Alone: nothing else runs meanwhile.
  test('300 runs started at once on one worker all complete, each with its own answer', async () => {
    const agent = agentWith([]);
    const prompts = Array.from({ length: 300 }, (_, i) => `crowd ${i} ${randomUUID()}`);
    // A model call that Temporal retries under this load is answered the same again (one full-suite run had some).
    const answerTo = (prompt: string) => ({ text: `Answer to ${prompt.split(' ')[1]}.` });
    for (const prompt of prompts) h.model.replyWhen(prompt, answerTo(prompt), answerTo(prompt), answerTo(prompt));
    const runs = await Promise.all(prompts.map((prompt) => agent.run(prompt, { background: true })));
    const outputs = await Promise.all(runs.map((run) => h.client.waitForRun(run.runId)));

    expect(outputs.map((output) => output.status)).toEqual(prompts.map(() => RunStatus.completed));
    expect(outputs.map((output) => output.content)).toEqual(
      prompts.map((prompt) => `Answer to ${prompt.split(' ')[1]}.`),
    );
  }, 180_000);
});

describe('model faults', () => {
  test.concurrent(
    'a stream that goes quiet after its headers is abandoned after the idle timeout and retried',
    async () => {
      const prompt = `silent ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: '', hang: true }, { text: 'Back again.' });
      const output = await agentWith([]).run(prompt);

      expect(output).toMatchObject({ status: RunStatus.completed, content: 'Back again.' });
      const [first, second] = h.model.requestsFor(prompt);
      expect(first!.aborted).toBe(true);
      expect(second!.completed).toBe(true);
    },
  );

  test.concurrent('a 429 with Retry-After is retried no sooner than the provider asked', async () => {
    const prompt = `slow down ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      { error: { status: 429, message: 'Rate limit reached', retryAfter: 3 } },
      { text: 'Ok.' },
    );
    const output = await agentWith([]).run(prompt);

    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Ok.' });
    const [first, second] = h.model.requestsFor(prompt);
    // Without the header the first retry comes after 1 s.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(2_900);
  });

  test.concurrent("a provider's key-bearing error message is redacted before it reaches the run", async () => {
    const prompt = `leaky ${randomUUID()}`;
    const message = 'Incorrect API key provided: sk-proj-abcd1234****wxyz, and test-key-never-in-history.';
    h.model.replyWhen(prompt, { error: { status: 401, message } });
    const output = await agentWith([]).run(prompt);

    expect(output.error).toEqual({
      type: 'ModelRequestRejected',
      message: expect.stringContaining('Incorrect API key provided: sk-[redacted], and [redacted].'),
    });
    expect(historyText(await handleOf(output.runId).fetchHistory())).not.toContain('abcd1234');
  });

  // These two restart the worker and race a cancel against a stream: one at a time, after the tests above.
  test('a failure that races a cancel (a dropped stream before the cancel reached the call) ends CANCELLED', async () => {
    // A slow heartbeat keeps the cancel from reaching the model call before the provider drops the connection.
    await h.stopWorker();
    await h.startWorker(app, { ...tuning, heartbeatInterval: '10 seconds' });
    try {
      const prompt = `race ${randomUUID()}`;
      const words = 'one two three four five six seven eight nine ten';
      h.model.replyWhen(prompt, { text: words, tokenDelayMs: 150, dropAfterWords: 7 });
      const agent = agentWith([]);
      const run = await agent.run(prompt, { background: true });
      await h.model.waitFor(() => (h.model.requestsFor(prompt)[0]?.wordTimes.length ?? 0) >= 3);
      expect(await agent.cancelRun(run.runId)).toBe(true);

      const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.error);
      expect(output.status).toBe(RunStatus.cancelled);
      expect(await temporalStatus(run.runId)).toBe('CANCELLED');
      expect(await kernStatusAttribute(run.runId)).toBe('CANCELLED');
      expect(h.model.requestsFor(prompt)).toHaveLength(1);
    } finally {
      await h.stopWorker();
      await h.startWorker(app, tuning);
    }
  });

  test('with exactPartial, an answer that completes after the cancel was requested (before the cancel reached the call) ends CANCELLED, with the whole answer', async () => {
    await h.stopWorker();
    await h.startWorker(app, { ...tuning, heartbeatInterval: '10 seconds' });
    try {
      const prompt = `answer race ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: 'one two three four five six', tokenDelayMs: 150 });
      const agent = agentWith([]);
      const run = await agent.run(prompt, { background: true });
      await h.model.waitFor(() => (h.model.requestsFor(prompt)[0]?.wordTimes.length ?? 0) >= 2);
      // The run waits for its call's own report, which comes with the answer: the heartbeat is 10 s away.
      expect(await agent.cancelRun(run.runId, { exactPartial: true })).toBe(true);

      const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed);
      expect(h.model.requestsFor(prompt)[0]!.completed).toBe(true);
      expect(output).toMatchObject({ status: RunStatus.cancelled, content: 'one two three four five six' });
      expect(await temporalStatus(run.runId)).toBe('CANCELLED');
      expect(await kernStatusAttribute(run.runId)).toBe('CANCELLED');
    } finally {
      await h.stopWorker();
      await h.startWorker(app, tuning);
    }
  });
});
