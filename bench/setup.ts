import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { KernClient, defineApp } from 'kern';
import { ScriptedModelServer, startLocalTemporal, type RecordedRequest, type ScriptedTurn } from 'kern/testing';
import { bundleWorkflows, startWorker, type KernWorker } from 'kern/worker';
import { createBaselineActivities } from './baseline-activities';
import { temporalServerProcess, type Watched } from './processes';

/** Everything the measurements run against: one Temporal server, one model server, a kern and a baseline worker. */
export interface Bench {
  env: TestWorkflowEnvironment;
  /** The Temporal dev server's process, for its CPU time. */
  temporalServer: Watched;
  model: ScriptedModelServer;
  kern: KernClient;
  temporal: Client;
  kernWorker: KernWorker;
  baselineWorker: Worker;
  baselineQueue: string;
  kernBundlePath: string;
  baselineBundlePath: string;
  baselineBundle: { code: string };
  close(): Promise<void>;
}

/** Same worker settings for kern and the baseline, so the comparison is about what kern adds. */
export const HEARTBEAT_INTERVAL_MS = 250;
export const HEARTBEAT_INTERVAL = `${HEARTBEAT_INTERVAL_MS} milliseconds`;

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
  // Each side's workflow code bundled as its users get it: kern's as the package ships it, the bare one by Temporal's
  // bundler with its defaults.
  const kernBundle = await bundleWorkflows({ logger: new DefaultLogger('ERROR') });
  const baselineBundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, 'baseline-workflows.ts'),
    logger: new DefaultLogger('ERROR'),
  });
  const kernBundlePath = path.join(tmpdir(), `kern-bench-${process.pid}.js`);
  writeFileSync(kernBundlePath, kernBundle.code);
  const baselineBundlePath = path.join(tmpdir(), `kern-bench-baseline-${process.pid}.js`);
  writeFileSync(baselineBundlePath, baselineBundle.code);

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
  const temporalServer = temporalServerProcess(env.address);

  return {
    env,
    temporalServer,
    model,
    kern,
    temporal: kern.temporal,
    kernWorker,
    baselineWorker,
    baselineQueue,
    kernBundlePath,
    baselineBundlePath,
    baselineBundle,
    async close() {
      temporalServer.stop();
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

/** A bench worker running in a process of its own (`worker-process.ts`). */
export interface WorkerProcess {
  /** Shuts the worker down and waits for its process to exit (having written its profile, when asked for one). */
  stop(): Promise<void>;
}

/**
 * Starts a kern or baseline worker in its own Node process, polling `taskQueue` on the bench's server, with the same
 * settings as the in-process workers. With `profileDir`, the process writes V8 CPU profiles (one per thread) to
 * `profileDir/<kind>` when it stops.
 */
export async function startWorkerProcess(
  bench: Bench,
  kind: 'kern' | 'baseline',
  taskQueue: string,
  profileDir?: string,
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      // One profile per thread (the main thread runs activities, the workflow threads run the sandboxes).
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, kind)}`] : []),
      path.resolve(__dirname, 'worker-process.ts'),
    ],
    {
      cwd: path.resolve(__dirname, '..'),
      env: {
        ...process.env,
        BENCH_WORKER: kind,
        BENCH_ADDRESS: bench.env.address,
        BENCH_TASK_QUEUE: taskQueue,
        BENCH_MODEL_URL: bench.model.url,
        BENCH_BUNDLE: kind === 'kern' ? bench.kernBundlePath : bench.baselineBundlePath,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the ${kind} bench worker exited (${code}) before it was ready`)));
  });
  return {
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}
