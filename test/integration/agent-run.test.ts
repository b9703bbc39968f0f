import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  Agent,
  InvalidInputError,
  OpenAIChat,
  OpenAIResponses,
  RunEvent,
  RunIdInUseError,
  RunStatus,
  defineApp,
  defineTool,
  type Model,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { RUN_RECORD_MEMO, runRecordOf, type RunRecord } from '../../src/shared/run-record';
import { runSearchAttributes } from '../../src/shared/search-attributes';
import { RUN_INPUT_VERSION, type AgentRunInput } from '../../src/shared/specs';
import { eventually, startHarness, type Harness } from '../support/harness';
import { historyText } from '../support/history-text';

const weatherCalls: string[] = [];
const getWeather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => {
    weatherCalls.push(city);
    return `Sunny in ${city}`;
  },
});

let h: Harness;
const agentOn = (model: Model = new OpenAIResponses({ id: 'gpt-test' })) =>
  new Agent({ name: 'Test Agent', model, instructions: ['Be brief.'], tools: [getWeather], client: h.client });
/** The input kern would start a run of `agent` with (format version of this kern). */
const runRecordInput = (agent: Agent, input: string): AgentRunInput => ({
  version: RUN_INPUT_VERSION,
  kind: 'agent',
  runId: randomUUID(),
  sessionId: randomUUID(),
  input,
  createdAt: new Date().toISOString(),
  agent: agent.spec(),
});
const temporalStatus = async (runId: string) =>
  (await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).describe()).status.name;

beforeAll(async () => {
  h = await startHarness(defineApp({ tools: [getWeather] }));
});
afterAll(() => h.close());

describe('background runs', () => {
  test('return PENDING before any worker calls the model, then poll to COMPLETED', async () => {
    const prompt = `capital ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Paris is the capital of France.' });
    await h.stopWorker();

    const run = await agentOn().run(prompt, { background: true });
    expect(run.status).toBe(RunStatus.pending);
    expect(run.agentId).toBe('test-agent');
    const polled = await agentOn().getRunOutput({ runId: run.runId, sessionId: run.sessionId });
    expect(polled?.status).toBe(RunStatus.pending);
    expect(h.model.requestsFor(prompt)).toHaveLength(0);

    await h.startWorker();
    const done = await h.waitForStatus(run.runId, RunStatus.completed);
    expect(done.content).toBe('Paris is the capital of France.');
    expect(done.sessionId).toBe(run.sessionId);
    expect(done.metrics.outputTokens).toBeGreaterThan(0);
    expect(done.metrics.duration).toBeGreaterThan(0);
    expect(h.model.requestsFor(prompt)).toHaveLength(1);
  });

  test('honour a caller-supplied run id and session id', async () => {
    const runId = `my-run-${randomUUID()}`;
    const run = await agentOn().run('hello there', { background: true, runId, sessionId: 'session-1', userId: 'ada' });
    expect(run.runId).toBe(runId);
    const done = await h.waitForStatus(runId, RunStatus.completed);
    expect(done).toMatchObject({ runId, sessionId: 'session-1', userId: 'ada', status: RunStatus.completed });
    expect(await agentOn().getRunOutput({ runId, sessionId: 'another-session' })).toBeNull();
  });

  test('a run without background waits for the final output', async () => {
    const prompt = `chat ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Hello from Chat Completions.' });
    const output = await agentOn(new OpenAIChat({ id: 'gpt-chat' })).run(prompt);
    expect(output.status).toBe(RunStatus.completed);
    expect(output.content).toBe('Hello from Chat Completions.');
    expect(h.model.requestsFor(prompt)[0]).toMatchObject({ api: 'chat', model: 'gpt-chat', stream: true });
  });

  test('a finished run is polled from history with no worker running', async () => {
    const prompt = `finished ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Done and recorded.' });
    const run = await agentOn().run(prompt);
    await h.stopWorker();
    try {
      const output = await agentOn().getRunOutput({ runId: run.runId });
      expect(output).toMatchObject({ status: RunStatus.completed, content: 'Done and recorded.' });
    } finally {
      await h.startWorker();
    }
  });
});

describe('worker tuning', () => {
  test('maxConcurrentActivities: 1 makes a worker call the model for one run at a time', async () => {
    await h.stopWorker();
    await h.startWorker(undefined, { maxConcurrentActivities: 1 });
    try {
      const prompts = [`one at a time A ${randomUUID()}`, `one at a time B ${randomUUID()}`];
      for (const prompt of prompts) h.model.replyWhen(prompt, { text: 'slow words here', tokenDelayMs: 300 });
      const runs = await Promise.all(prompts.map((prompt) => agentOn().run(prompt, { background: true })));
      await Promise.all(runs.map((run) => h.waitForStatus(run.runId, RunStatus.completed)));
      const [first, second] = prompts
        .map((prompt) => h.model.requestsFor(prompt)[0]!)
        .sort((a, b) => a.receivedAt - b.receivedAt);
      // The second call began only once the first had sent its last word.
      expect(second!.receivedAt).toBeGreaterThanOrEqual(first!.wordTimes.at(-1)!);
    } finally {
      await h.stopWorker();
      await h.startWorker();
    }
  });
});

describe('cancel', () => {
  test('while the model call is in flight: request aborted, partial content kept, execution canceled', async () => {
    const prompt = `essay ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
    const agent = agentOn();
    const run = await agent.run(prompt, { background: true });
    // A poll shows the answer so far once the run's stream carries it (a background run's deltas come each second).
    await eventually(
      () => agent.getRunOutput({ runId: run.runId }),
      (output) => output?.content?.includes('Once upon a time') === true,
    );

    expect(await agent.cancelRun(run.runId)).toBe(true);
    const cancelled = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error);
    expect(cancelled.status).toBe(RunStatus.cancelled);
    expect(cancelled.content).toContain('Once upon a time');
    await h.model.waitFor(() => h.model.requestsFor(prompt)[0]!.aborted);
    expect(await temporalStatus(run.runId)).toBe('CANCELLED');
    expect(await agent.cancelRun(run.runId)).toBe(false);

    await h.stopWorker();
    try {
      expect(await agent.getRunOutput({ runId: run.runId })).toMatchObject({
        status: RunStatus.cancelled,
        content: expect.stringContaining('Once upon a time'),
      });
    } finally {
      await h.startWorker();
    }
  });

  test('ends the run without waiting for the model call, keeping what its stream carried; exactPartial waits', async () => {
    const cancelAfterLastWord = async (exactPartial: boolean) => {
      const prompt = `tale ${exactPartial} ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
      const agent = agentOn();
      const run = await agent.run(prompt, { background: true });
      // Every word sent, and hanging: a background run publishes its deltas each second, so the stream may not
      // carry them yet.
      await h.model.waitFor(() => h.model.requestsFor(prompt)[0]?.wordTimes.length === 4);
      expect(await agent.cancelRun(run.runId, { exactPartial })).toBe(true);
      const output = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error);
      expect(output.status).toBe(RunStatus.cancelled);
      await h.model.waitFor(() => h.model.requestsFor(prompt)[0]!.aborted);
      const history = await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).fetchHistory();
      const streamed = await h.client.eventsSoFar(run.runId);
      return {
        output,
        events: streamed!.events,
        waitedForTheCall: history.events!.some((event) => event.activityTaskCanceledEventAttributes),
      };
    };

    // By default the run closes before its model call has even heard of the cancel (the call is aborted after).
    const fast = await cancelAfterLastWord(false);
    expect(fast.waitedForTheCall).toBe(false);
    // Its content is what its stream carried, and its stream ends with RunCancelled.
    const deltas = fast.events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
    expect(fast.output.content ?? '').toBe(deltas.join(''));
    expect(fast.events.at(-1)).toMatchObject({ event: RunEvent.runCancelled, content: fast.output.content });

    // With exactPartial it waits for the call's own report: every word the model sent.
    const exact = await cancelAfterLastWord(true);
    expect(exact.waitedForTheCall).toBe(true);
    expect(exact.output.content).toBe('Once upon a time');
    expect(exact.events.at(-1)).toMatchObject({ event: RunEvent.runCancelled, content: 'Once upon a time' });
  });

  test('before the run starts: recorded, then the run ends CANCELLED without calling the model', async () => {
    const runId = randomUUID();
    const prompt = `never ${runId}`;
    expect(await h.client.cancelRun(runId)).toBe(false);
    expect(await h.client.getRunOutput(runId)).toBeNull();

    const run = await agentOn().run(prompt, { background: true, runId });
    expect(run.status).toBe(RunStatus.pending);
    const output = await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed);
    expect(output.status).toBe(RunStatus.cancelled);
    expect(await temporalStatus(runId)).toBe('CANCELLED');
    expect(h.model.requestsFor(prompt)).toHaveLength(0);
    expect(await h.client.cancelRun(runId)).toBe(false);
  });

  test('a pending run that no worker has picked up ends CANCELLED without calling the model', async () => {
    const prompt = `pending ${randomUUID()}`;
    await h.stopWorker();
    const run = await agentOn().run(prompt, { background: true });
    expect(await agentOn().cancelRun(run.runId)).toBe(true);
    await h.startWorker();
    expect((await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed)).status).toBe(
      RunStatus.cancelled,
    );
    expect(h.model.requestsFor(prompt)).toHaveLength(0);
  });

  test('of a finished run is false, and of an unknown run too (the intent is still recorded)', async () => {
    const run = await agentOn().run(`quick ${randomUUID()}`);
    expect(await agentOn().cancelRun(run.runId)).toBe(false);
    expect((await agentOn().getRunOutput({ runId: run.runId }))?.status).toBe(RunStatus.completed);

    const unknown = `never-started-${randomUUID()}`;
    expect(await agentOn().cancelRun(unknown)).toBe(false);
    expect(await agentOn().getRunOutput({ runId: unknown })).toBeNull();
  });
});

describe('tools', () => {
  test.each([
    ['Responses', new OpenAIResponses({ id: 'gpt-test' })],
    ['Chat Completions', new OpenAIChat({ id: 'gpt-test' })],
  ])('round trip through %s: validated arguments, result back to the model', async (_api, model) => {
    const prompt = `weather ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_1' }] },
      { text: 'It is sunny in Paris.' },
    );
    const output = await agentOn(model).run(prompt);

    expect(output.status).toBe(RunStatus.completed);
    expect(output.content).toBe('It is sunny in Paris.');
    expect(output.tools).toEqual([
      expect.objectContaining({ toolName: 'get_weather', toolArgs: { city: 'Paris' }, result: 'Sunny in Paris' }),
    ]);
    const [first, second] = h.model.requestsFor(prompt);
    expect(JSON.stringify(first!.body)).toContain('get_weather');
    expect(JSON.stringify(second!.body)).toContain('Sunny in Paris');
  });

  test('invalid arguments end the run ERROR without executing the tool', async () => {
    const prompt = `bad args ${randomUUID()}`;
    h.model.replyWhen(prompt, { toolCalls: [{ name: 'get_weather', arguments: { town: 7 } }] });
    const before = weatherCalls.length;
    const output = await agentOn().run(prompt);

    expect(output.status).toBe(RunStatus.error);
    expect(output.error).toEqual({
      type: 'ToolArgumentsInvalid',
      message: expect.stringContaining("invalid arguments for tool 'get_weather'"),
    });
    expect(weatherCalls.length).toBe(before);
    expect(await temporalStatus(output.runId)).toBe('FAILED');
  });

  test('a declared tool the worker does not have is retried (a rolling deploy), then ends the run ERROR', async () => {
    const prompt = `unknown tool ${randomUUID()}`;
    h.model.replyWhen(prompt, { toolCalls: [{ name: 'launch_rocket', arguments: {} }] });
    const launchRocket = defineTool({
      name: 'launch_rocket',
      description: 'Launches a rocket.',
      parameters: z.object({}),
      execute: () => 'launched',
    });
    const agent = new Agent({
      name: 'Test Agent',
      model: new OpenAIResponses({ id: 'gpt-test' }),
      tools: [launchRocket],
      client: h.client,
    });
    const output = await agent.run(prompt);
    const history = await h.client.temporal.workflow.getHandle(workflowIdForRun(output.runId)).fetchHistory();
    const failed = history.events?.find((event) => event.activityTaskFailedEventAttributes);
    const started = history.events?.find(
      (event) => Number(event.eventId) === Number(failed?.activityTaskFailedEventAttributes?.startedEventId),
    );
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(3);
    expect(output.error).toEqual({
      type: 'ToolNotFound',
      message: expect.stringContaining("tool 'launch_rocket' is not registered on this worker"),
    });
  });
});

describe('model failures', () => {
  test('a 429 is retried and the run completes', async () => {
    const prompt = `busy ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      { error: { status: 429, message: 'Rate limit reached' } },
      { text: 'Second time lucky.' },
    );
    const output = await agentOn().run(prompt);
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Second time lucky.' });
    expect(h.model.requestsFor(prompt)).toHaveLength(2);
  });

  test('a 401 ends the run ERROR at once with the provider message', async () => {
    const prompt = `denied ${randomUUID()}`;
    h.model.replyWhen(prompt, { error: { status: 401, message: 'Incorrect API key provided' } });
    const output = await agentOn().run(prompt);
    expect(output.status).toBe(RunStatus.error);
    expect(output.error).toEqual({
      type: 'ModelRequestRejected',
      message: expect.stringContaining('Incorrect API key provided'),
    });
    expect(h.model.requestsFor(prompt)).toHaveLength(1);
  });

  test('a connection dropped mid-answer is retried', async () => {
    const prompt = `dropped ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      { text: 'This answer will be cut off here', dropAfterWords: 3 },
      { text: 'Whole answer.' },
    );
    const output = await agentOn().run(prompt);
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Whole answer.' });
    expect(h.model.requestsFor(prompt)).toHaveLength(2);
  });
});

describe('bad input', () => {
  test('an unknown run id polls as null', async () => {
    expect(await agentOn().getRunOutput({ runId: `nope-${randomUUID()}` })).toBeNull();
  });

  test('empty input, unknown options and oversized input are refused before anything starts', async () => {
    const agent = agentOn();
    await expect(agent.run('   ')).rejects.toThrow(InvalidInputError);
    await expect(agent.run('hi', { backgroud: true } as never)).rejects.toThrow("unknown option 'backgroud'");
    await expect(agent.run('x'.repeat(600 * 1024))).rejects.toThrow('the run input weighs 614402 bytes');
    await expect(agent.run('hi', { runId: '' })).rejects.toThrow(InvalidInputError);
    // Ids are kept exactly as given or refused, never trimmed: a poll by the id the caller chose must find the run.
    await expect(agent.run('hi', { runId: ' spaced ' })).rejects.toThrow('runId: must not start or end with spaces');
    await expect(agent.run('hi', { sessionId: 'tab\t' })).rejects.toThrow(InvalidInputError);
  });

  test('a run id already used by another run is refused, and the first run is untouched', async () => {
    const first = await agentOn().run(`first ${randomUUID()}`);
    await expect(agentOn().run('second', { runId: first.runId })).rejects.toThrow(RunIdInUseError);
    expect((await agentOn().getRunOutput({ runId: first.runId }))?.input).toBe(first.input);
  });
});

describe('saved run inputs', () => {
  /** Starts an `agentRun` directly in Temporal with an input as some kern version wrote it. */
  async function startSaved(input: Record<string, unknown> & { runId: string }, record: RunRecord) {
    return h.client.temporal.workflow.start('agentRun', {
      taskQueue: h.taskQueue,
      workflowId: workflowIdForRun(input.runId),
      args: [input],
      memo: { [RUN_RECORD_MEMO]: record },
      typedSearchAttributes: runSearchAttributes(record),
    });
  }

  test('an input of format version 1 (no kind) still runs: the workflow type says it is an agent run', async () => {
    const prompt = `old format ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Read through the fallback.' });
    const input = runRecordInput(agentOn(), prompt);
    const v1Input: Record<string, unknown> & { runId: string } = { ...input, version: 1 };
    delete v1Input.kind;
    await startSaved(v1Input, runRecordOf(input));
    const output = await h.waitForStatus(v1Input.runId, RunStatus.completed, RunStatus.error);
    expect(output).toMatchObject({ kind: 'agent', agentId: 'test-agent', content: 'Read through the fallback.' });
  });

  test('an input from a newer kern fails the workflow task with a clear message, and the run waits', async () => {
    const input = { ...runRecordInput(agentOn(), `future ${randomUUID()}`), version: RUN_INPUT_VERSION + 1 };
    const handle = await startSaved(input, runRecordOf(input));
    const message = await new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const poll = async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const failed = events.find((event) => event.workflowTaskFailedEventAttributes);
        if (failed) return resolve(failed.workflowTaskFailedEventAttributes!.failure!.message ?? '');
        if (Date.now() > deadline) return reject(new Error('no workflow task failed'));
        setTimeout(() => void poll().catch(reject), 200);
      };
      void poll().catch(reject);
    });
    expect(message).toContain(`format version ${RUN_INPUT_VERSION + 1}`);
    expect(message).toContain(`reads versions 1 to ${RUN_INPUT_VERSION}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(h.model.requestsFor(input.input)).toHaveLength(0);
    await handle.terminate('test over');
  });
});

describe('secrets and visibility', () => {
  test('the API key reaches the model server but never the run history, searched with every payload decoded', async () => {
    const historyOf = (runId: string) => h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
    const prompt = `secret ${randomUUID()}`;
    h.model.replyWhen(prompt, { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, { text: 'Cold.' });
    const output = await agentOn().run(prompt);
    expect(output.status).toBe(RunStatus.completed);
    expect(historyText(await historyOf(output.runId))).not.toContain('test-key-never-in-history');
    expect(h.model.requestsFor(prompt)[0]!.authorized).toBe(true);

    // The canary: a key inside a payload (base64 in the history's JSON) is found, so the search above can fail.
    const leaked = await agentOn().run(`my key is test-key-never-in-history ${randomUUID()}`);
    const leakedHistory = await historyOf(leaked.runId);
    expect(JSON.stringify(leakedHistory)).not.toContain('test-key-never-in-history');
    expect(historyText(leakedHistory)).toContain('test-key-never-in-history');
  });

  test('search attributes tell what the run is and how it ended', async () => {
    const output = await agentOn().run(`visible ${randomUUID()}`, { sessionId: 'visible-session' });
    const description = await h.client.temporal.workflow.getHandle(workflowIdForRun(output.runId)).describe();
    expect(description.type).toBe('agentRun');
    expect(description.searchAttributes).toMatchObject({
      KernStatus: ['COMPLETED'],
      KernKind: ['agent'],
      KernComponentId: ['test-agent'],
      KernSessionId: ['visible-session'],
    });
  });
});
