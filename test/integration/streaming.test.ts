import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { Agent, OpenAIResponses, RunEvent, RunStatus, defineApp, defineTool, type AnyRunEvent } from 'kern';
import { collect, startHarness, type Harness } from '../support/harness';

const lookUp = defineTool({
  name: 'look_up',
  description: 'Looks a word up.',
  parameters: z.object({ word: z.string() }),
  execute: ({ word }) => `${word}: a small dragon`,
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness(defineApp({ tools: [lookUp] }));
});
afterAll(() => h.close());

const agentOn = (options: { storeEvents?: boolean } = {}) =>
  new Agent({
    name: 'Stream Agent',
    model: new OpenAIResponses({ id: 'gpt-test' }),
    tools: [lookUp],
    client: h.client,
    ...options,
  });

const joinedContent = (events: AnyRunEvent[]) =>
  events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : [])).join('');

const story = 'Once upon a time a small dragon learned to write code and it was very happy about it indeed';

test('events of a run with a tool call come in order, each with its index, ending with RunCompleted', async () => {
  const prompt = `define ${randomUUID()}`;
  h.model.replyWhen(
    prompt,
    { toolCalls: [{ name: 'look_up', arguments: { word: 'wyvern' } }] },
    { text: story, tokenDelayMs: 15 },
  );
  const events = await collect(agentOn().run(prompt, { stream: true }));

  const names = events.map((event) => event.event);
  const firstContent = names.indexOf(RunEvent.runContent);
  expect(names.slice(0, firstContent)).toEqual([
    RunEvent.runStarted,
    RunEvent.modelRequestStarted,
    RunEvent.modelRequestCompleted,
    RunEvent.toolCallStarted,
    RunEvent.toolCallCompleted,
    RunEvent.modelRequestStarted,
  ]);
  expect(names.slice(names.lastIndexOf(RunEvent.runContent) + 1)).toEqual([
    RunEvent.modelRequestCompleted,
    RunEvent.runCompleted,
  ]);
  expect(names.filter((name) => name === RunEvent.runContent).length).toBeGreaterThan(1);
  expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, index) => index));
  const runId = events[0]!.runId;
  for (const event of events) {
    expect(event).toMatchObject({ runId, agentId: 'stream-agent', agentName: 'Stream Agent' });
    expect(typeof event.sessionId).toBe('string');
    expect(Date.parse(event.createdAt)).not.toBeNaN();
  }
  const toolCompleted = events.find((event) => event.event === RunEvent.toolCallCompleted);
  expect(toolCompleted).toMatchObject({ tool: { toolName: 'look_up', result: 'wyvern: a small dragon' } });

  const completed = events.at(-1)!;
  expect(completed.event).toBe(RunEvent.runCompleted);
  expect(joinedContent(events)).toBe(story);
  expect(completed.event === RunEvent.runCompleted && completed.content).toBe(story);
});

test('cancel from elsewhere while streaming: the stream ends with RunCancelled, streamed content is kept', async () => {
  const prompt = `dragon ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 25, hang: true });
  const agent = agentOn();
  const events: AnyRunEvent[] = [];
  let cancelled: Promise<boolean> | undefined;
  for await (const event of agent.run(prompt, { stream: true })) {
    events.push(event);
    if (event.event === RunEvent.runContent && !cancelled) cancelled = agent.cancelRun(event.runId);
  }
  expect(await cancelled).toBe(true);
  expect(events.at(-1)!.event).toBe(RunEvent.runCancelled);
  expect(events.filter((event) => event.event === RunEvent.runCancelled)).toHaveLength(1);

  const output = await agent.getRunOutput({ runId: events[0]!.runId });
  expect(output?.status).toBe(RunStatus.cancelled);
  expect(joinedContent(events)).toBe(output?.content);
  expect(story.startsWith(output!.content!)).toBe(true);
});

test('a consumer that disconnects and resubscribes from its last index gets every event exactly once', async () => {
  const prompt = `resume ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 20 });
  const agent = agentOn();
  const first = await collect(agent.run(prompt, { stream: true, background: true }), (event) => {
    return event.event === RunEvent.runContent;
  });
  const runId = first[0]!.runId;
  const rest = await collect(agent.subscribe(runId, { fromIndex: first.at(-1)!.eventIndex! + 1 }));
  const resumed = [...first, ...rest];

  expect(resumed.map((event) => event.eventIndex)).toEqual(resumed.map((_, index) => index));
  expect(resumed.at(-1)!.event).toBe(RunEvent.runCompleted);
  expect(joinedContent(resumed)).toBe(story);

  // After the run has finished, from this process and from another one.
  expect(await collect(agent.subscribe(runId))).toEqual(resumed);
  const fromIndex = 3;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../support/subscribe-cli.ts'), runId, String(fromIndex)],
    { cwd: path.resolve(__dirname, '../..'), env: process.env },
  );
  const fromOtherProcess = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AnyRunEvent);
  expect(fromOtherProcess).toEqual(resumed.slice(fromIndex));
});

test('a second process can follow a run that is still going', async () => {
  const prompt = `follow ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 40 });
  const run = await agentOn().run(prompt, { background: true });
  const follower = promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../support/subscribe-cli.ts'), run.runId, '0'],
    { cwd: path.resolve(__dirname, '../..'), env: process.env },
  );
  const here = await collect(agentOn().subscribe(run.runId));
  const there = (await follower).stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AnyRunEvent);
  expect(there).toEqual(here);
  expect(joinedContent(there)).toBe(story);
});

test('a model attempt that fails midway is retried, and subscribers are told to drop its partial answer', async () => {
  const prompt = `flaky ${randomUUID()}`;
  h.model.replyWhen(
    prompt,
    { text: 'A first try that breaks off', tokenDelayMs: 30, dropAfterWords: 4 },
    { text: story },
  );
  const events = await collect(agentOn().run(prompt, { stream: true }));

  const names = events.map((event) => event.event);
  const reset = names.indexOf(RunEvent.runContentReset);
  expect(reset).toBeGreaterThan(0);
  expect(events[reset]).toMatchObject({ attempt: 2 });
  expect(joinedContent(events.slice(reset))).toBe(story);
  expect(events.at(-1)).toMatchObject({ event: RunEvent.runCompleted, content: story });
});

test('a foreground stream that the consumer stops reading cancels the run', async () => {
  const prompt = `stop ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 25, hang: true });
  const events = await collect(agentOn().run(prompt, { stream: true }), (e) => e.event === RunEvent.runContent);
  const output = await h.waitForStatus(events[0]!.runId, RunStatus.cancelled, RunStatus.completed);
  expect(output.status).toBe(RunStatus.cancelled);
});

test('polling mid-answer shows the content streamed so far', async () => {
  const prompt = `partial ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 30, hang: true });
  const agent = agentOn();
  const run = await agent.run(prompt, { background: true });
  let partial = '';
  for (let i = 0; i < 100 && partial.split(' ').length < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    partial = (await agent.getRunOutput({ runId: run.runId }))?.content ?? '';
  }
  expect(partial.split(' ').length).toBeGreaterThanOrEqual(4);
  expect(story.startsWith(partial)).toBe(true);
  await agent.cancelRun(run.runId);
});

test('storeEvents keeps every event on the output, readable with no worker', async () => {
  const prompt = `stored ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: story, tokenDelayMs: 10 });
  const agent = agentOn({ storeEvents: true });
  const streamed = await collect(agent.run(prompt, { stream: true }));
  await h.stopWorker();
  try {
    const output = await agent.getRunOutput({ runId: streamed[0]!.runId });
    expect(output?.events).toEqual(streamed);
    expect(await collect(agent.subscribe(streamed[0]!.runId, { fromIndex: 2 }))).toEqual(streamed.slice(2));
  } finally {
    await h.startWorker();
  }
});

test('subscribing to an unknown run id is a clear error', async () => {
  await expect(collect(agentOn().subscribe(`nope-${randomUUID()}`))).rejects.toThrow("no run has the id 'nope-");
});
