import { randomUUID } from 'node:crypto';
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { KernClient, defineApp, type AnyRunEvent, type AnyRunOutput, type KernApp, type RunStatus } from 'kern';
import { startWorker, type KernWorker, type StartWorkerOptions } from 'kern/worker';
import { createServer, type KernServer } from 'kern/server';
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
export type WorkerTuning = Pick<
  StartWorkerOptions,
  'heartbeatInterval' | 'modelIdleTimeout' | 'streamBatchWindows' | 'maxConcurrentActivities' | 'payloads'
>;

let runtimeInstalled = false;

/**
 * Installs Temporal's runtime with a quiet logger: tests provoke activity failures on purpose, and the worker's
 * warnings about them are noise here. A file that starts a Temporal server of its own calls it first (the server's
 * start would install the default runtime, which logs every worker's state); once installed, it stays.
 */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err;
  }
  runtimeInstalled = true;
}

/** `address`: a Temporal server of the test's own, instead of the one every test file shares. */
export async function startHarness(
  app: KernApp = defineApp({}),
  address = process.env.KERN_TEST_TEMPORAL_ADDRESS,
): Promise<Harness> {
  const bundlePath = process.env.KERN_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundlePath) throw new Error('run the tests with jest: global setup starts Temporal');
  installTestRuntime();
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

/** A harness with kern's HTTP server in front of it, on a free port. */
export interface ServedHarness {
  harness: Harness;
  server: KernServer;
  /** The server's base URL. */
  base: string;
  close(): Promise<void>;
}

/** Starts a harness for `app` and serves the app over HTTP with the harness's client. */
export async function startServedHarness(app: KernApp): Promise<ServedHarness> {
  const harness = await startHarness(app);
  const server = createServer({ app, client: harness.client });
  const { url } = await server.listen({ port: 0 });
  return {
    harness,
    server,
    base: url,
    async close() {
      await server.close();
      await harness.close();
    },
  };
}

/** Polls `read` until `ready` holds of its value, or `withinMs` (20 s) have passed (visibility follows a run by a moment). */
export async function eventually<T>(
  read: () => Promise<T>,
  ready: (value: T) => boolean,
  withinMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (ready(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The events of a subscription, until it ends or `stopAfter` holds of one (then the subscription is left). */
export async function collect(events: AsyncIterable<AnyRunEvent>, stopAfter?: (event: AnyRunEvent) => boolean) {
  const seen: AnyRunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (stopAfter?.(event)) break;
  }
  return seen;
}
