/**
 * How long a worker takes from `node` starting to polling, as a user's backend runs it: plain `node` on the built
 * package (dist/), with the workflow bundle the package ships against one made at start (what every worker did
 * before the package shipped it). Each start is a new process, so Node's own start and the module loading count.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { alternating, compare, verdictOf, type Metric } from './metrics';
import { buildPackage } from './processes';
import type { Bench } from './setup';

const root = path.resolve(__dirname, '..');

/**
 * The process that is timed: it starts a worker for an empty app and prints `ready` once the worker polls. With
 * `bundleAtStart`, it makes the workflow bundle itself first, as `bundleWorkflows` does.
 */
function workerProgram(bundleAtStart: boolean): string {
  return `
const { defineApp } = require(${JSON.stringify(path.join(root, 'dist'))});
const { bundleWorkflows, startWorker } = require(${JSON.stringify(path.join(root, 'dist/worker'))});
const { DefaultLogger, Runtime } = require('@temporalio/worker');
(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const worker = await startWorker({
    app: defineApp({}),
    ${bundleAtStart ? 'workflowBundle: await bundleWorkflows({ sourceMap: true, logger: new DefaultLogger("ERROR") }),' : ''}
  });
  console.log('ready');
  await worker.shutdown();
})().catch((err) => { console.error(err); process.exit(1); });
`;
}

/** Spawns one worker process and returns the ms from the spawn to its `ready` line; waits for it to exit. */
async function timeOneStart(bench: Bench, bundleAtStart: boolean): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', workerProgram(bundleAtStart)], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: bench.env.address, KERN_TASK_QUEUE: 'bench-worker-start' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(performance.now() - started);
    });
    void exited.then((code) => reject(new Error(`the timed worker exited (${code}) before it was ready`)));
  });
  await exited;
  return ready;
}

/** Worker ready (spawn → polling): the prebuilt bundle against bundling at start, `starts` of each, interleaved. */
export async function workerStart(bench: Bench, starts: number): Promise<Metric> {
  buildPackage();
  const [prebuilt, atStart] = await alternating(
    starts,
    async () => [await timeOneStart(bench, false)],
    async () => [await timeOneStart(bench, true)],
  );
  return compare('worker ready (spawn → polling), node on dist/', 'ms', prebuilt, atStart, {
    goal: '≤ 1500 ms with the prebuilt bundle; baseline: bundled at start',
    verdict: verdictOf(prebuilt.p50s, (ms) => ms <= 1500),
  });
}
