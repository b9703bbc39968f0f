import { randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { KernClient, defineApp, type AnyRunOutput, type KernApp, type RunStatus } from 'kern';
import { startWorker, type KernWorker, type StartWorkerOptions } from 'kern/worker';
import { ScriptedModelServer } from 'kern/testing';

/** What one test file runs against: the shared real Temporal server, a real worker, a scripted model server. */
export interface Harness {
  client: KernClient;
  model: ScriptedModelServer;
  taskQueue: string;
  /** Starts (or restarts) the worker on this harness's task queue, with these worker options if given. */
  startWorker(app?: KernApp, options?: WorkerTuning): Promise<KernWorker>;
  /** Stops the worker, leaving runs in Temporal. */
  stopWorker(): Promise<void>;
  /** Polls until the run's status is one of `statuses`. */
  waitForStatus(runId: string, ...statuses: RunStatus[]): Promise<AnyRunOutput>;
  close(): Promise<void>;
}

/** Worker options a test may change. */
export type WorkerTuning = Pick<StartWorkerOptions, 'heartbeatInterval' | 'modelIdleTimeout' | 'streamBatchWindows'>;

let runtimeInstalled = false;

/** `address`: a Temporal server of the test's own, instead of the one every test file shares. */
export async function startHarness(
  app: KernApp = defineApp({}),
  address = process.env.KERN_TEST_TEMPORAL_ADDRESS,
): Promise<Harness> {
  const bundlePath = process.env.KERN_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundlePath) throw new Error('run the tests with jest: global setup starts Temporal');
  if (!runtimeInstalled) {
    // Tests provoke activity failures on purpose; the worker's warnings about them are noise here.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const taskQueue = `test-${randomUUID()}`;
  const model = await ScriptedModelServer.start();
  const client = await KernClient.connect({ address, taskQueue });
  const workerConnection = await NativeConnection.connect({ address });
  let worker: KernWorker | undefined;

  const harness: Harness = {
    client,
    model,
    taskQueue,
    async startWorker(workerApp = app, options = {}) {
      worker = await startWorker({
        ...options,
        app: workerApp,
        taskQueue,
        connection: workerConnection,
        workflowBundle: { codePath: bundlePath },
        modelProvider: { baseURL: model.url, apiKey: 'test-key-never-in-history' },
      });
      return worker;
    },
    async stopWorker() {
      await worker?.shutdown();
      worker = undefined;
    },
    async waitForStatus(runId, ...statuses) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const output = await client.getRunOutput(runId);
        if (output && statuses.includes(output.status)) return output;
        if (Date.now() > deadline) {
          throw new Error(`run ${runId} is ${output?.status ?? 'unknown'}, expected ${statuses.join(' or ')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async close() {
      await harness.stopWorker();
      await workerConnection.close();
      await client.close();
      await model.close();
    },
  };
  await harness.startWorker();
  return harness;
}
