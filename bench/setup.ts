import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { KernClient, defineApp } from 'kern';
import { ScriptedModelServer, startLocalTemporal, type RecordedRequest, type ScriptedTurn } from 'kern/testing';
import { startWorker, type KernWorker } from 'kern/worker';
import { createBaselineActivities } from './baseline-activities';

/** Everything the measurements run against: one Temporal server, one model server, a kern and a baseline worker. */
export interface Bench {
  env: TestWorkflowEnvironment;
  model: ScriptedModelServer;
  kern: KernClient;
  temporal: Client;
  kernWorker: KernWorker;
  baselineWorker: Worker;
  baselineQueue: string;
  kernBundlePath: string;
  baselineBundle: { code: string };
  close(): Promise<void>;
}

/** Same worker settings for kern and the baseline, so the comparison is about what kern adds. */
const HEARTBEAT_INTERVAL = '250 milliseconds';

/**
 * Prompts tell the stand-in what to do: `words=N delay=MS` answers N words ("w0 w1 …"), one every MS ms; `hang`
 * keeps the answer open until the client aborts it.
 */
export function directedAnswer(request: RecordedRequest): ScriptedTurn {
  const directive = /words=(\d+) delay=(\d+)( hang)?/.exec(request.userText);
  if (!directive) return { text: 'ok' };
  const words = Array.from({ length: Number(directive[1]) }, (_, i) => `w${i}`).join(' ');
  return { text: words, tokenDelayMs: Number(directive[2]), hang: Boolean(directive[3]) };
}

export async function startBench(): Promise<Bench> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await startLocalTemporal();
  const model = await ScriptedModelServer.start({ fallback: directedAnswer });
  const connection = await NativeConnection.connect({ address: env.address });
  const kernBundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../src/workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const baselineBundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, 'baseline-workflows.ts'),
    logger: new DefaultLogger('ERROR'),
  });
  const kernBundlePath = path.join(tmpdir(), `kern-bench-${process.pid}.js`);
  writeFileSync(kernBundlePath, kernBundle.code);

  const kernWorker = await startWorker({
    app: defineApp({}),
    connection,
    taskQueue: 'bench-kern',
    workflowBundle: { codePath: kernBundlePath },
    modelProvider: { baseURL: model.url, apiKey: 'bench' },
    heartbeatInterval: HEARTBEAT_INTERVAL,
  });
  const baselineQueue = 'bench-baseline';
  const baselineWorker = await Worker.create({
    connection,
    taskQueue: baselineQueue,
    workflowBundle: baselineBundle,
    activities: createBaselineActivities(model.url),
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL,
  });
  const baselineRunning = baselineWorker.run();
  const kern = await KernClient.connect({ address: env.address, taskQueue: 'bench-kern' });

  return {
    env,
    model,
    kern,
    temporal: kern.temporal,
    kernWorker,
    baselineWorker,
    baselineQueue,
    kernBundlePath,
    baselineBundle,
    async close() {
      baselineWorker.shutdown();
      await baselineRunning;
      await kernWorker.shutdown();
      await connection.close();
      await kern.close();
      await model.close();
      await env.teardown();
    },
  };
}
