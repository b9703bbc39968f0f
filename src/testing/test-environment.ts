import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { KernClient } from '../client/kern-client';
import { defineApp, type KernApp } from '../define/app';
import { startWorker, type KernWorker, type StartWorkerOptions } from '../worker/start-worker';
import { ScriptedModelServer, type ModelServerOptions } from './model-server';
import { startLocalTemporal } from './temporal-server';

/** Everything a test of a kern app runs against, all real but the model: see {@link startTestEnvironment}. */
export interface KernTestEnvironment {
  /** Connected to the environment's Temporal, on its task queue; components with no `client` of their own use it. */
  readonly client: KernClient;
  /** The scripted model: `reply`, `replyWhen`, then what it was sent in `requests`. */
  readonly model: ScriptedModelServer;
  /** The worker serving the app (`stop` and start it again to test a restart). */
  readonly worker: KernWorker;
  /** The Temporal server's address and the task queue. */
  readonly address: string;
  readonly taskQueue: string;
  /** Stops the worker, the model server and the client, and the Temporal server if this started it. */
  teardown(): Promise<void>;
}

/** What {@link startTestEnvironment} starts. */
export interface TestEnvironmentOptions {
  /** The app the worker serves (its tools and step functions). Default: none; runs carry their definitions. */
  app?: KernApp;
  /** A Temporal server to use (with kern's search attributes), instead of starting a throwaway one. */
  address?: string;
  /** The scripted model server's options (a `tokenDelayMs`, a `fallback` for unscripted requests). */
  model?: ModelServerOptions;
  /** Worker options a test may set. */
  worker?: Pick<StartWorkerOptions, 'workflowBundle' | 'heartbeatInterval' | 'streamBatchWindows' | 'modelIdleTimeout'>;
}

/**
 * Starts what a test of a kern app needs, with nothing mocked but the model: a throwaway Temporal dev server on a
 * free port (or the one at `address`), a scripted OpenAI-protocol model server, and a real worker for `app` on a task
 * queue of its own that calls that model. The environment's client becomes the process's default, so agents, teams
 * and workflows defined with no `client` run here. Call `teardown()` when done (in `afterAll`).
 */
export async function startTestEnvironment(options: TestEnvironmentOptions = {}): Promise<KernTestEnvironment> {
  let temporal: TestWorkflowEnvironment | undefined;
  let address = options.address;
  if (!address) {
    temporal = await startLocalTemporal();
    address = temporal.address;
  }
  const taskQueue = `kern-test-${randomUUID()}`;
  const model = await ScriptedModelServer.start(options.model);
  const client = await KernClient.connect({ address, taskQueue });
  KernClient.setDefault(client);
  const worker = await startWorker({
    ...options.worker,
    app: options.app ?? defineApp({}),
    address,
    taskQueue,
    modelProvider: { baseURL: model.url, apiKey: 'kern-test-environment' },
  });
  return {
    client,
    model,
    worker,
    address,
    taskQueue,
    async teardown() {
      await worker.shutdown();
      KernClient.setDefault(undefined);
      await client.close();
      await model.close();
      await temporal?.teardown();
    },
  };
}
