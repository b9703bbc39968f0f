/**
 * `npm run long-runs`: how long a run can get, with large payloads kept outside history (`KERN_PAYLOAD_DIR`). An
 * agent with a 480 KB input goes through 300 tool rounds, and one with a small input through 1,000 (with payloads of
 * 32 KiB and more kept outside, kern's default, then of 256 KiB, Temporal's); then the 480 KB one again with
 * everything in history, and the small one too; then a workflow run of a 4,000-iteration loop of two function steps.
 * Prints each run's status, rounds, executions (a run continues as new
 * when its history grows long), history events and bytes (as Temporal counts them, in all and in the largest
 * execution), the store's size and the wall time. Not in CI: the long run alone takes
 * minutes on a two-core machine.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import {
  Agent,
  KernClient,
  Loop,
  OpenAIResponses,
  Step,
  Workflow,
  defineApp,
  defineTool,
  type PayloadSettings,
  type StepInput,
} from 'kern';
import { ScriptedModelServer, startLocalTemporal, type ScriptedTurn } from 'kern/testing';
import { startWorker } from 'kern/worker';

const step = defineTool({
  name: 'step',
  description: 'Takes one step.',
  parameters: z.object({ n: z.number() }),
  execute: ({ n }) => `step ${n} done`,
});
const model = new OpenAIResponses({ id: 'gpt-long' });

// The workflow's step functions: each counts on from the last one's output.
async function advance(input: StepInput) {
  return `step ${Number(/\d+/.exec(input.previousStepContent ?? '')?.[0] ?? 0) + 1} done`;
}
async function check(input: StepInput) {
  return `checked ${input.previousStepContent}`;
}
const loopOf = (iterations: number, client?: KernClient) =>
  new Workflow({
    name: 'Long loop',
    steps: [
      new Loop({
        name: 'Steps',
        maxIterations: iterations,
        steps: [new Step({ name: 'Advance', executor: advance }), new Step({ name: 'Check', executor: check })],
      }),
    ],
    ...(client ? { client } : {}),
  });
const app = defineApp({ tools: [step], workflows: [loopOf(1)] });

interface Case {
  name: string;
  inputBytes: number;
  /** Tool rounds of an agent, or iterations of the workflow's loop (`workflow`). */
  rounds: number;
  payloads: PayloadSettings;
  workflow?: boolean;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await startLocalTemporal();
  const server = await ScriptedModelServer.start();
  const connection = await NativeConnection.connect({ address: env.address });
  const directory = mkdtempSync(path.join(tmpdir(), 'kern-long-runs-'));
  const cases: Case[] = [
    {
      name: '480 KB input, 300 rounds, store',
      inputBytes: 480 * 1024,
      rounds: 300,
      payloads: { payloadDirectory: directory },
    },
    {
      name: 'small input, 1,000 rounds, store over 32 KiB (the default)',
      inputBytes: 100,
      rounds: 1000,
      payloads: { payloadDirectory: directory },
    },
    {
      name: "small input, 1,000 rounds, store over 256 KiB (Temporal's default)",
      inputBytes: 100,
      rounds: 1000,
      payloads: { payloadDirectory: directory, payloadThresholdBytes: 256 * 1024 },
    },
    { name: 'small input, 1,000 rounds, no store', inputBytes: 100, rounds: 1000, payloads: {} },
    { name: '480 KB input, 300 rounds, no store', inputBytes: 480 * 1024, rounds: 300, payloads: {} },
    { name: 'workflow, 4,000 loop iterations, no store', inputBytes: 100, rounds: 4000, payloads: {}, workflow: true },
  ];
  // `LONG_RUNS_CASES=1,4`: those cases alone (by their place in the list, from 0).
  const only = process.env.LONG_RUNS_CASES?.split(',').map(Number);
  try {
    for (const [index, c] of cases.entries()) {
      if (only && !only.includes(index)) continue;
      const taskQueue = `long-runs-${index}`;
      const worker = await startWorker({
        app,
        connection,
        taskQueue,
        modelProvider: { baseURL: server.url, apiKey: 'bench' },
        payloads: c.payloads,
      });
      const client = await KernClient.connect({ address: env.address, taskQueue, payloads: c.payloads });
      const agent = new Agent({ name: `Long ${index}`, model, tools: [step], maxToolRounds: c.rounds + 1, client });
      const prompt = `case ${index} ` + 'x'.repeat(c.inputBytes);
      const turns: ScriptedTurn[] = Array.from({ length: c.rounds }, (_, n) => ({
        toolCalls: [{ name: 'step', arguments: { n } }],
      }));
      server.replyWhen((request) => request.lastUserText.startsWith(`case ${index} `), ...turns, { text: 'done' });
      const started = Date.now();
      const output = await (c.workflow ? loopOf(c.rounds, client) : agent).run(prompt).finally(async () => {
        await client.close();
        await worker.shutdown();
      });
      const seconds = (Date.now() - started) / 1000;
      // A run continues as new when its history grows long: each execution of its chain, as Temporal lists them.
      const executions = await executionsOf(env.client, `kern-run-${output.runId}`);
      // Tool rounds, or loop iterations (two step outputs each).
      const rounds = output.kind === 'workflow' ? (output.stepResults[0]?.steps?.length ?? 0) / 2 : output.tools.length;
      const events = executions.map((execution) => execution.historyLength);
      const bytes = executions.map((execution) => execution.historySize);
      console.log(
        [
          c.name,
          `${output.status}${output.error ? ` (${output.error.type})` : ''}`,
          `${rounds} ${c.workflow ? 'iterations' : 'tool rounds'}`,
          `${executions.length} executions`,
          `${sum(events)} events (at most ${Math.max(...events)} in one)`,
          `${(sum(bytes) / 1024 / 1024).toFixed(2)} MB history (at most ${(Math.max(...bytes) / 1024 / 1024).toFixed(2)} in one)`,
          `store ${(storeBytes(directory) / 1024 / 1024).toFixed(1)} MB`,
          `${seconds.toFixed(1)} s`,
        ].join(' · '),
      );
    }
  } finally {
    await connection.close();
    await server.close();
    await env.teardown();
  }
}

/** The executions of a workflow id (visibility follows the last one's close by a moment). */
async function executionsOf(client: Client, workflowId: string) {
  for (;;) {
    const found: Array<{ historyLength: number; historySize: number; status: string }> = [];
    // A page at a time: each execution comes with its memo, which holds the run's input.
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'`, pageSize: 1 })) {
      found.push({
        historyLength: execution.historyLength,
        historySize: execution.historySize ?? 0,
        status: execution.status.name,
      });
    }
    if (found.length > 0 && found.every((execution) => execution.status !== 'RUNNING')) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function storeBytes(directory: string): number {
  let total = 0;
  for (const folder of readdirSync(directory)) {
    for (const file of readdirSync(path.join(directory, folder)))
      total += statSync(path.join(directory, folder, file)).size;
  }
  return total;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
