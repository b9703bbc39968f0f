/**
 * `npm run long-runs`: how long a run can get, with large payloads kept outside history (`KERN_PAYLOAD_DIR`). An
 * agent with a 480 KB input goes through 300 tool rounds, and one with a small input through 1,000 (with payloads of
 * 32 KiB and more kept outside, kern's default, then of 256 KiB, Temporal's); then the 480 KB one again with
 * everything in history. Prints each run's status, rounds, history events
 * and bytes (as Temporal counts them), the store's size and the wall time. Not in CI: the long run alone takes
 * minutes on a two-core machine.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, defineApp, defineTool, type PayloadSettings } from 'kern';
import { ScriptedModelServer, startLocalTemporal, type ScriptedTurn } from 'kern/testing';
import { startWorker } from 'kern/worker';

const step = defineTool({
  name: 'step',
  description: 'Takes one step.',
  parameters: z.object({ n: z.number() }),
  execute: ({ n }) => `step ${n} done`,
});
const model = new OpenAIResponses({ id: 'gpt-long' });
const app = defineApp({ tools: [step] });

interface Case {
  name: string;
  inputBytes: number;
  rounds: number;
  payloads: PayloadSettings;
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
    { name: '480 KB input, 300 rounds, no store', inputBytes: 480 * 1024, rounds: 300, payloads: {} },
  ];
  try {
    for (const [index, c] of cases.entries()) {
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
      const output = await agent.run(prompt);
      const seconds = (Date.now() - started) / 1000;
      const description = await client.temporal.workflow.getHandle(`kern-run-${output.runId}`).describe();
      const info = description.raw.workflowExecutionInfo!;
      const rounds = output.tools.length;
      console.log(
        [
          c.name,
          `${output.status}${output.error ? ` (${output.error.type})` : ''}`,
          `${rounds} tool rounds`,
          `${String(info.historyLength)} events`,
          `${(Number(info.historySizeBytes) / 1024 / 1024).toFixed(2)} MB history`,
          `store ${(storeBytes(directory) / 1024 / 1024).toFixed(1)} MB`,
          `${seconds.toFixed(1)} s`,
        ].join(' · '),
      );
      await client.close();
      await worker.shutdown();
    }
  } finally {
    await connection.close();
    await server.close();
    await env.teardown();
  }
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
