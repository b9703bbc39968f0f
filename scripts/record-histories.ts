/**
 * `npm run record-histories`: runs each scenario on a throwaway Temporal server and saves its event history to
 * test/histories/<workflowType>-<scenario>.json, for the replay tests.
 *
 * Existing files are never overwritten: a recorded history is what older kern versions wrote, and replaying it
 * checks that today's workflow code still understands it. Changing one is a compatibility decision, made by hand
 * and explained in the commit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, RunEvent, defineApp, defineTool, type AgentRunEvent } from 'kern';
import { ScriptedModelServer, startLocalTemporal } from 'kern/testing';
import { startWorker } from 'kern/worker';
import { workflowIdForRun } from '../src/shared/ids';

const historiesDir = path.resolve(__dirname, '../test/histories');

const getWeather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => `Sunny in ${city}`,
});

interface Scenario {
  name: string;
  /** Starts the run and returns its id once it has ended. */
  run(ctx: { agent: Agent; client: KernClient; model: ScriptedModelServer }): Promise<string>;
  /** Agent options this scenario needs on top of the default agent's. */
  agentOptions?: { storeEvents?: boolean };
}

const agentScenarios: Scenario[] = [
  {
    name: 'completed',
    async run({ agent, model }) {
      model.replyWhen('capital of France', { text: 'Paris is the capital of France.' });
      return (await agent.run('What is the capital of France?')).runId;
    },
  },
  {
    name: 'tool-round-trip',
    async run({ agent, model }) {
      model.replyWhen(
        'weather in Paris',
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_1' }] },
        { text: 'It is sunny in Paris.' },
      );
      return (await agent.run('What is the weather in Paris?')).runId;
    },
  },
  {
    name: 'cancelled-mid-call',
    async run({ agent, model, client }) {
      model.replyWhen('long essay', { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
      const run = await agent.run('Write a long essay.', { background: true });
      await model.waitFor(() => model.requestsFor('long essay').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return run.runId;
    },
  },
  {
    name: 'cancelled-before-start',
    async run({ agent, client }) {
      const runId = randomUUID();
      await client.cancelRun(runId);
      await agent.run('This should be cancelled before it runs.', { background: true, runId });
      await client.waitForRun(runId);
      return runId;
    },
  },
  {
    name: 'model-rejected',
    async run({ agent, model }) {
      model.replyWhen('rejected', { error: { status: 401, message: 'Incorrect API key provided' } });
      return (await agent.run('This request is rejected.')).runId;
    },
  },
  {
    name: 'model-retried',
    async run({ agent, model }) {
      model.replyWhen(
        'busy',
        { error: { status: 429, message: 'Rate limit reached' } },
        { text: 'Second time lucky.' },
      );
      return (await agent.run('The model is busy at first.')).runId;
    },
  },
  {
    name: 'streamed-with-subscriber',
    async run({ agent, model }) {
      model.replyWhen('story', { text: STORY, tokenDelayMs: 15 });
      return lastRunId(agent.run('Tell me a story.', { stream: true }));
    },
  },
  {
    name: 'streamed-cancelled',
    async run({ agent, model, client }) {
      model.replyWhen('endless', { text: STORY, tokenDelayMs: 25, hang: true });
      let runId = '';
      for await (const event of agent.run('Tell me an endless story.', { stream: true, background: true })) {
        runId = event.runId;
        if (event.event === RunEvent.runContent) break;
      }
      await client.cancelRun(runId);
      await client.waitForRun(runId);
      return runId;
    },
  },
  {
    name: 'retried-midway',
    async run({ agent, model }) {
      model.replyWhen(
        'flaky',
        { text: 'A first try that breaks off', tokenDelayMs: 20, dropAfterWords: 3 },
        { text: STORY },
      );
      return lastRunId(agent.run('A flaky provider.', { stream: true }));
    },
  },
  {
    name: 'store-events',
    agentOptions: { storeEvents: true },
    async run({ agent, model }) {
      model.replyWhen('kept', { text: STORY, tokenDelayMs: 5 });
      return (await agent.run('Every event is kept.')).runId;
    },
  },
];

const STORY = 'Once upon a time a small dragon learned to write code and it was very happy about it.';

async function lastRunId(events: AsyncIterable<AgentRunEvent>): Promise<string> {
  let runId = '';
  for await (const event of events) runId = event.runId;
  return runId;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  mkdirSync(historiesDir, { recursive: true });
  const env = await startLocalTemporal();
  const model = await ScriptedModelServer.start();
  const taskQueue = 'record-histories';
  const client = await KernClient.connect({ address: env.address, taskQueue });
  const worker = await startWorker({
    app: defineApp({ tools: [getWeather] }),
    address: env.address,
    taskQueue,
    modelProvider: { baseURL: model.url, apiKey: 'recording' },
  });
  const agentWith = (options: Scenario['agentOptions'] = {}) =>
    new Agent({
      name: 'History Agent',
      model: new OpenAIResponses({ id: 'gpt-test' }),
      instructions: ['Be brief.'],
      tools: [getWeather],
      client,
      ...options,
    });
  try {
    for (const scenario of agentScenarios) {
      const file = path.join(historiesDir, `agentRun-${scenario.name}.json`);
      if (existsSync(file)) {
        console.log(`kept     ${path.relative(process.cwd(), file)} (never regenerated in place)`);
        continue;
      }
      const runId = await scenario.run({ agent: agentWith(scenario.agentOptions), client, model });
      writeFileSync(file, exportHistory(env.address, workflowIdForRun(runId)));
      console.log(`recorded ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await worker.shutdown();
    await client.close();
    await model.close();
    await env.teardown();
  }
}

/**
 * The history as the Temporal CLI exports it (`temporal workflow show --output json`), the format Temporal's tools
 * and SDKs read for replay.
 */
function exportHistory(address: string, workflowId: string): string {
  const cli = execFileSync('bash', [path.resolve(__dirname, '../temporal-dev.sh'), '--print-path'], {
    encoding: 'utf8',
  }).trim();
  return execFileSync(
    cli,
    ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
