/**
 * One bench worker in a process of its own, as production runs workers: `kern` (kern's worker) or `baseline` (the
 * bare Temporal worker), with the same settings as the in-process ones (see `setup.ts`). Started by the bench with
 * `BENCH_WORKER=<kind> BENCH_ADDRESS BENCH_TASK_QUEUE BENCH_MODEL_URL BENCH_BUNDLE`; prints `ready` once it polls, and
 * shuts down cleanly when its stdin closes (so a profile, `--cpu-prof`, is written).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { defineApp } from 'kern';
import { startWorker } from 'kern/worker';
import { createBaselineActivities } from './baseline-activities';
import { HEARTBEAT_INTERVAL } from './setup';

async function main(): Promise<void> {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`bench worker: ${name} is not set`);
    return value;
  };
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: env('BENCH_ADDRESS') });
  const taskQueue = env('BENCH_TASK_QUEUE');
  const modelUrl = env('BENCH_MODEL_URL');
  let shutdown: () => Promise<void>;
  if (env('BENCH_WORKER') === 'kern') {
    const worker = await startWorker({
      app: defineApp({}),
      connection,
      taskQueue,
      workflowBundle: { codePath: env('BENCH_BUNDLE') },
      modelProvider: { baseURL: modelUrl, apiKey: 'bench' },
      heartbeatInterval: HEARTBEAT_INTERVAL,
    });
    shutdown = () => worker.shutdown();
  } else {
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: { codePath: env('BENCH_BUNDLE') },
      activities: createBaselineActivities(modelUrl),
      maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL,
    });
    const running = worker.run();
    shutdown = async () => {
      worker.shutdown();
      await running;
    };
  }
  console.log('ready');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void shutdown()
      .then(() => connection.close())
      .then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
