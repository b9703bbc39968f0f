import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, defineApp, defineTool } from 'kern';
import { startLocalTemporal } from 'kern/testing';
import { startWorker, type KernWorker } from 'kern/worker';
import { workflowIdForRun } from '../src/shared/ids';
import { alternating, compare, type Metric } from './metrics';
import { HEARTBEAT_INTERVAL, type Bench } from './setup';
import { timeEach } from './stats';

/** Tool rounds per run: enough for several executions on the server that suggests continue-as-new early. */
const ROUNDS = 20;

/** Where that server suggests it (Temporal's default is 4,096 events). */
const SUGGEST_AFTER_EVENTS = 60;

const step = defineTool({
  name: 'step',
  description: 'Takes one step.',
  parameters: z.object({ n: z.number() }),
  execute: ({ n }) => `step ${n} done`,
});

/**
 * What continue-as-new costs a run (docs/reliability.md#continue-as-new): the same agent run of {@link ROUNDS} tool
 * rounds on the bench's Temporal server, where it stays one execution, and on a second server that suggests
 * continue-as-new after {@link SUGGEST_AFTER_EVENTS} events, where it continues several times; interleaved. The
 * difference, divided by how many times it continued, is what one continue-as-new costs.
 */
export async function continuationCost(bench: Bench, reps: number, count: number): Promise<Metric[]> {
  const continuing = await startLocalTemporal({
    dynamicConfig: {
      'limit.historyCount.suggestContinueAsNew': SUGGEST_AFTER_EVENTS,
      // Temporal starts a run's next execution at least this long after the last one started (1 s by default): a
      // floor for executions as short as these, nothing for real ones (minutes long). Measured without it.
      'history.workflowIdReuseMinimalInterval': '0s',
    },
  });
  const taskQueue = 'bench-continuation';
  const workers: KernWorker[] = [];
  const clients: KernClient[] = [];
  const agentOn = async (address: string) => {
    workers.push(
      await startWorker({
        app: defineApp({ tools: [step] }),
        address,
        taskQueue,
        workflowBundle: { codePath: bench.kernBundlePath },
        modelProvider: { baseURL: bench.model.url, apiKey: 'bench' },
        heartbeatInterval: HEARTBEAT_INTERVAL,
      }),
    );
    const client = await KernClient.connect({ address, taskQueue });
    clients.push(client);
    return new Agent({
      name: 'Bench Stepper',
      model: new OpenAIResponses({ id: 'bench' }),
      tools: [step],
      maxToolRounds: ROUNDS + 1,
      client,
    });
  };
  try {
    const oneExecution = await agentOn(bench.env.address);
    const chained = await agentOn(continuing.address);
    const chainedRuns: string[] = [];
    const run = async (agent: Agent) => {
      const prompt = `steps ${randomUUID()}`;
      const turns = Array.from({ length: ROUNDS }, (_, n) => ({ toolCalls: [{ name: 'step', arguments: { n } }] }));
      bench.model.replyWhen(prompt, ...turns, { text: 'done' });
      const output = await agent.run(prompt);
      if (output.status !== 'COMPLETED') throw new Error(`bench run ended ${output.status}`);
      if (agent === chained) chainedRuns.push(output.runId);
    };
    await timeEach(3, () => run(chained));
    await timeEach(3, () => run(oneExecution));
    const [withContinuations, without] = await alternating(
      reps,
      () => timeEach(count, () => run(chained)),
      () => timeEach(count, () => run(oneExecution)),
    );
    let continuations = 0;
    for (const runId of chainedRuns) continuations += await continuationsOf(clients[1]!, runId);
    const perRun = continuations / chainedRuns.length;
    const name = `run of ${ROUNDS} tool rounds: continued as new ${perRun.toFixed(1)} times (vs one execution)`;
    const metric = compare(name, 'ms', withContinuations, without);
    const each = (metric.kern - metric.baseline) / perRun;
    return [{ ...metric, note: `about ${each.toFixed(1)} ms per continue-as-new (p50 difference / times)` }];
  } finally {
    for (const client of clients) await client.close();
    for (const worker of workers) await worker.shutdown();
    await continuing.teardown();
  }
}

/** How many times a completed run continued as new: its executions, less the last (visibility lags by a moment). */
async function continuationsOf(client: KernClient, runId: string): Promise<number> {
  for (;;) {
    let continued = 0;
    let closed = false;
    for await (const execution of client.temporal.workflow.list({
      query: `WorkflowId = '${workflowIdForRun(runId)}'`,
    })) {
      if (execution.status.name === 'CONTINUED_AS_NEW') continued++;
      if (execution.status.name === 'COMPLETED') closed = true;
    }
    if (closed) return continued;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
