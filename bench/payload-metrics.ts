import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, KernClient, OpenAIResponses, defineApp, type PayloadSettings } from 'kern';
import { startWorker } from 'kern/worker';
import { alternating, compare, type Metric } from './metrics';
import { HEARTBEAT_INTERVAL, type Bench } from './setup';
import { timeEach } from './stats';

/**
 * What kern's payload settings cost a run (docs/payloads.md): the same run with one model call on a worker and client
 * with no payload settings (the bench's own) and on a worker and client that encrypt every payload and keep the large
 * ones in a local directory store, interleaved. Once with a small input (only the codec works), once with a 64 KiB
 * input (its run input, model request and output are stored).
 */
export async function payloadCost(bench: Bench, reps: number, count: number): Promise<Metric[]> {
  const directory = mkdtempSync(path.join(tmpdir(), 'kern-bench-payloads-'));
  const payloads: PayloadSettings = {
    encryptionKeys: [{ id: 'bench', key: randomBytes(32) }],
    payloadDirectory: directory,
  };
  const taskQueue = 'bench-kern-payloads';
  const worker = await startWorker({
    app: defineApp({}),
    address: bench.env.address,
    taskQueue,
    workflowBundle: { codePath: bench.kernBundlePath },
    modelProvider: { baseURL: bench.model.url, apiKey: 'bench' },
    heartbeatInterval: HEARTBEAT_INTERVAL,
    payloads,
  });
  const client = await KernClient.connect({ address: bench.env.address, taskQueue, payloads });
  const model = new OpenAIResponses({ id: 'bench' });
  const plain = new Agent({ name: 'Bench Agent', model, client: bench.kern });
  const coded = new Agent({ name: 'Bench Agent', model, client });
  const metrics: Metric[] = [];
  try {
    for (const [name, prompt] of [
      ['run with one model call: payloads encrypted (vs none)', 'words=20 delay=0'],
      [
        'run with one model call, 64 KiB input: encrypted and stored (vs neither)',
        `words=20 delay=0 ${'x'.repeat(64 * 1024)}`,
      ],
    ] as const) {
      await timeEach(5, () => coded.run(prompt));
      await timeEach(5, () => plain.run(prompt));
      const [withSettings, without] = await alternating(
        reps,
        () => timeEach(count, () => coded.run(prompt)),
        () => timeEach(count, () => plain.run(prompt)),
      );
      metrics.push(compare(name, 'ms', withSettings, without));
    }
  } finally {
    await client.close();
    await worker.shutdown();
    rmSync(directory, { recursive: true, force: true });
  }
  return metrics;
}
