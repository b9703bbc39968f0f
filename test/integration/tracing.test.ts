import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, RunStatus, Team, defineApp, defineTool } from 'kern';
import { startWorker, type KernWorker } from 'kern/worker';
import { ScriptedModelServer } from 'kern/testing';

const getWeather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => `Sunny in ${city}`,
});
const app = defineApp({ tools: [getWeather] });
const model = new OpenAIResponses({ id: 'gpt-test' });

const exporter = new InMemorySpanExporter();
const spanProcessor = new SimpleSpanProcessor(exporter);
let modelServer: ScriptedModelServer;
let bundle: WorkflowBundle;
const started: Array<{ client: KernClient; worker: KernWorker }> = [];

beforeAll(async () => {
  modelServer = await ScriptedModelServer.start();
  // A prebuilt bundle needs Temporal's OpenTelemetry workflow interceptors in it (a worker that bundles adds them).
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    logger: { log() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {} },
  });
}, 120_000);
afterAll(async () => {
  for (const { client, worker } of started) {
    await worker.shutdown();
    await client.close();
  }
  await modelServer.close();
});

/** A traced client and worker on a task queue of their own. */
async function traced(recordContent = false): Promise<KernClient> {
  const address = process.env.KERN_TEST_TEMPORAL_ADDRESS!;
  const taskQueue = `tracing-${Math.random().toString(36).slice(2)}`;
  const client = await KernClient.connect({ address, taskQueue, tracing: { spanProcessor } });
  const worker = await startWorker({
    app,
    address,
    taskQueue,
    workflowBundle: bundle,
    modelProvider: { baseURL: modelServer.url, apiKey: 'test-key-never-in-spans' },
    tracing: { spanProcessor, recordContent },
  });
  started.push({ client, worker });
  return client;
}

/** The finished spans of one trace, once `ready` holds of them (workflow spans come a moment after the result). */
async function traceOf(runId: string, ready: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const all = exporter.getFinishedSpans();
    const run = all.find((span) => span.attributes['kern.run.id'] === runId && span.name.startsWith('RunWorkflow:'));
    const spans = run ? all.filter((span) => span.spanContext().traceId === run.spanContext().traceId) : [];
    if ((run && ready(spans)) || Date.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (spans: ReadableSpan[], span: ReadableSpan) =>
  spans.find((candidate) => candidate.spanContext().spanId === span.parentSpanId);

describe('OpenTelemetry tracing', () => {
  test('an agent run is one trace: the client start, the run, each model call and tool call, with GenAI attributes', async () => {
    const client = await traced();
    const agent = new Agent({ name: 'Weather Agent', model, tools: [getWeather], client });
    modelServer.replyWhen(
      'Weather in Paris, secretly',
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_1' }] },
      { text: 'It is sunny in Paris.', usage: { cachedTokens: 2, reasoningTokens: 3 } },
    );
    const output = await agent.run('Weather in Paris, secretly', { sessionId: 'traced-session' });
    expect(output.status).toBe(RunStatus.completed);
    // The provider's cached and reasoning token counts are on the run's metrics too.
    expect(output.metrics).toMatchObject({ cacheReadTokens: 2, reasoningTokens: 3 });

    const spans = await traceOf(output.runId, (found) => named(found, 'chat gpt-test').length === 2);
    const [start] = named(spans, 'StartWorkflow:agentRun');
    const [run] = named(spans, 'RunWorkflow:agentRun');
    expect(start?.parentSpanId).toBeUndefined();
    expect(run?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': 'weather-agent',
      'gen_ai.agent.name': 'Weather Agent',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.conversation.id': 'traced-session',
      'kern.run.id': output.runId,
      'kern.run.status': 'COMPLETED',
      'gen_ai.usage.input_tokens': output.metrics.inputTokens,
      'gen_ai.usage.output_tokens': output.metrics.outputTokens,
    });

    const chats = named(spans, 'chat gpt-test');
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(parentOf(spans, chat)?.name).toBe('RunActivity:callModel');
      expect(parentOf(spans, parentOf(spans, chat)!)?.name).toBe('StartActivity:callModel');
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-test',
      });
      expect(chat.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
    }
    expect(chats.map((chat) => chat.attributes['gen_ai.response.finish_reasons'])).toEqual(
      expect.arrayContaining([['tool_calls'], ['stop']]),
    );
    expect(chats.find((chat) => chat.attributes['gen_ai.usage.cache_read.input_tokens'] === 2)).toBeDefined();

    const [tool] = named(spans, 'execute_tool get_weather');
    expect(parentOf(spans, tool!)?.name).toBe('RunActivity:executeTool');
    expect(tool?.attributes).toMatchObject({ 'gen_ai.tool.name': 'get_weather', 'gen_ai.tool.call.id': 'call_1' });

    // Every span above the activities leads back to the client's start: one tree.
    let top = chats[0]!;
    while (parentOf(spans, top)) top = parentOf(spans, top)!;
    expect(top).toBe(start);
    // No prompt, answer or tool text without recordContent, and never the API key.
    const everything = JSON.stringify(spans.map((span) => span.attributes));
    expect(everything).not.toContain('secretly');
    expect(everything).not.toContain('sunny in Paris');
    expect(everything).not.toContain('test-key-never-in-spans');
  });

  test("a team run's trace holds its member runs, each with its own model calls", async () => {
    const client = await traced();
    const writer = new Agent({ name: 'Writer', model, client });
    const team = new Team({ name: 'Traced Team', model, members: [writer], client });
    modelServer
      .replyWhen(
        (request) => request.lastUserText === 'Team, write a line.',
        { toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'writer', task: 'Write a line' } }] },
        { text: 'The team wrote a line.' },
      )
      .replyWhen('Write a line', { text: 'A line.' });
    const output = await team.run('Team, write a line.');
    expect(output.status).toBe(RunStatus.completed);

    const spans = await traceOf(
      output.runId,
      (found) => named(found, 'RunWorkflow:agentRun').length === 1 && named(found, 'chat gpt-test').length === 3,
    );
    const [teamRun] = named(spans, 'RunWorkflow:teamRun');
    const [memberRun] = named(spans, 'RunWorkflow:agentRun');
    expect(teamRun?.attributes).toMatchObject({ 'gen_ai.agent.name': 'Traced Team', 'kern.run.kind': 'team' });
    expect(memberRun?.attributes).toMatchObject({
      'gen_ai.agent.name': 'Writer',
      'kern.run.parent_id': output.runId,
    });
    // The member's run hangs under the team's child-workflow start; its model call under the member's run.
    expect(parentOf(spans, memberRun!)?.name).toBe('StartChildWorkflow:agentRun');
    expect(parentOf(spans, parentOf(spans, memberRun!)!)).toBe(teamRun);
    const memberChat = named(spans, 'chat gpt-test').find((chat) => {
      for (let at: ReadableSpan | undefined = chat; at; at = parentOf(spans, at)) if (at === memberRun) return true;
      return false;
    });
    expect(memberChat).toBeDefined();
  });

  test('with recordContent, the spans carry the messages, the answer and the tool call', async () => {
    const client = await traced(true);
    const agent = new Agent({ name: 'Open Agent', model, tools: [getWeather], client });
    modelServer.replyWhen(
      'Weather in Oslo, openly',
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' }, id: 'call_2' }] },
      { text: 'Oslo is sunny too.' },
    );
    const output = await agent.run('Weather in Oslo, openly');
    const spans = await traceOf(output.runId, (found) => named(found, 'chat gpt-test').length === 2);
    const chats = named(spans, 'chat gpt-test');
    expect(String(chats[0]?.attributes['gen_ai.input.messages'])).toContain('Weather in Oslo, openly');
    expect(chats.map((chat) => String(chat.attributes['gen_ai.output.messages'])).join()).toContain(
      'Oslo is sunny too.',
    );
    const [tool] = named(spans, 'execute_tool get_weather');
    expect(tool?.attributes).toMatchObject({
      'gen_ai.tool.call.arguments': '{"city":"Oslo"}',
      'gen_ai.tool.call.result': 'Sunny in Oslo',
    });
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain('test-key-never-in-spans');
  });
});
