/**
 * `npm run bench`: what kern costs on top of a bare Temporal baseline, measured side by side in one run, on a local
 * Temporal dev server and the local stand-in model server. Prints a table and writes bench/results.json and
 * bench/throughput.svg. `BENCH_QUICK=1` runs fewer repetitions (for a smoke check, not for numbers).
 */
import {
  cancelLatency,
  definitionCost,
  overheadPerRun,
  replaySpeed,
  streamLatency,
  throughput,
  timeToPending,
  THROUGHPUT_GOAL,
  worstOf,
  type Metric,
  type ThroughputPoint,
} from './metrics';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { KernClient } from 'kern';
import { frameworkNotMeasured, frameworkSideBySide } from './framework-metrics';
import { httpApi } from './http-metrics';
import { continuationCost } from './continuation-metrics';
import { payloadCost } from './payload-metrics';
import { profileByGroup, profileTable } from './profile';
import { table, verdictCounts, writeChart, writeResults } from './report';
import { workerStart } from './worker-start';
import { startBench, startWorkerProcess, type Bench } from './setup';

const quick = process.env.BENCH_QUICK === '1';
const config = {
  repetitions: quick ? 1 : 3,
  sequentialRuns: quick ? 20 : 100,
  concurrency: quick ? [20, 50] : [50, 200, 1000],
  throughputPairs: quick ? 2 : 5,
  processesN: quick ? 50 : 200,
  cancels: quick ? 5 : 20,
  streamRuns: quick ? 1 : 3,
  streamTokens: 200,
  tokenDelayMs: Number(process.env.BENCH_TOKEN_DELAY_MS ?? 20),
  replayPasses: quick ? 1 : 5,
  workerStarts: quick ? 2 : 7,
  frameworkRuns: quick ? 20 : 100,
  frameworkAtOnce: 200,
};

/**
 * `BENCH_ONLY=cancel,stream` runs only the named parts (definition, pending, run, throughput, processes, cancel,
 * stream, http, framework, payloads, continuation, replay, start), for working on one figure: it prints their table and writes
 * nothing. Unset: all of them.
 */
const only = process.env.BENCH_ONLY?.split(',').map((part) => part.trim());
const runs = (part: string) => !only || only.includes(part);

async function main(): Promise<void> {
  if (!global.gc) console.warn('bench: run with node --expose-gc (npm run bench does) for the memory figures');
  const step = (name: string) => console.log(`… ${name}`);
  const metrics: Metric[] = [];
  const points: ThroughputPoint[] = [];

  if (runs('definition')) {
    step('definition cost');
    metrics.push(...definitionCost());
  }
  const bench = await startBench();
  try {
    if (runs('pending')) {
      step('time to PENDING');
      metrics.push(...(await timeToPending(bench, config.repetitions, config.sequentialRuns)));
    }
    if (runs('run')) {
      step('run with one model call');
      metrics.push(await overheadPerRun(bench, config.repetitions, Math.ceil(config.sequentialRuns / 2)));
    }
    for (const n of runs('throughput') ? config.concurrency : []) {
      step(`throughput at N=${n}`);
      points.push(await throughput(bench, n, config.throughputPairs));
    }
    if (runs('processes')) {
      step(`throughput at N=${config.processesN}, each worker in a process of its own`);
      const profile = await ownProcesses(bench, config.processesN, config.throughputPairs);
      points.push(profile.point);
      if (profile.table) console.log(`\n${profile.table}\n`);
    }
    if (runs('cancel')) {
      step('cancel latency');
      metrics.push(...(await cancelLatency(bench, config.repetitions, config.cancels)));
    }
    if (runs('stream')) {
      step('stream latency and history size');
      metrics.push(...(await streamLatency(bench, config.streamRuns, config.streamTokens, config.tokenDelayMs)));
    }
    if (runs('http')) {
      step('HTTP API');
      metrics.push(...(await httpApi(bench, config.repetitions, config.sequentialRuns, config.tokenDelayMs)));
    }
    if (runs('framework')) {
      step('side by side with the Python framework over HTTP');
      metrics.push(
        ...(await frameworkSideBySide(bench, config.repetitions, config.frameworkRuns, config.frameworkAtOnce).catch(
          (err: unknown) => {
            // A box without Python (or PyPI) still gets the rest of the bench; the goals say why they are open.
            console.warn(`bench: the side by side with the Python framework was not measured: ${String(err)}`);
            return frameworkNotMeasured(String(err), config.frameworkAtOnce);
          },
        )),
      );
    }
    if (runs('payloads')) {
      step('payloads encrypted and stored outside history');
      metrics.push(...(await payloadCost(bench, config.repetitions, Math.ceil(config.sequentialRuns / 2))));
    }
    if (runs('continuation')) {
      step('continue-as-new');
      metrics.push(...(await continuationCost(bench, config.repetitions, Math.ceil(config.sequentialRuns / 4))));
    }
    if (runs('replay')) {
      step('replay speed');
      metrics.push(await replaySpeed(bench, config.replayPasses));
    }
    if (runs('start')) {
      step('worker ready, with and without the prebuilt bundle');
      metrics.push(await workerStart(bench, config.workerStarts));
    }
  } finally {
    await bench.close();
  }
  if (points.length > 0) metrics.push(worstThroughput(points));
  console.log(`\n${table(metrics, points)}\n\n${verdictCounts(metrics)}\n`);
  if (!only) {
    const chart = writeChart(points.filter((p) => p.workers === 'in process'));
    console.log(`wrote ${writeResults(metrics, points, config)} and ${chart}`);
  }
}

/**
 * Throughput with the kern worker and the baseline worker each in a process of its own, as production runs them
 * (the load generator, model server and Temporal server stay where they are). With `BENCH_PROFILE=1`, both workers
 * write CPU profiles to `bench/profiles/`, and their CPU time per run is tabled by where it went.
 */
async function ownProcesses(bench: Bench, n: number, pairs: number) {
  const profileDir = process.env.BENCH_PROFILE === '1' ? path.resolve(__dirname, 'profiles') : undefined;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const kernWorker = await startWorkerProcess(bench, 'kern', 'bench-kern-own', profileDir);
  const baselineWorker = await startWorkerProcess(bench, 'baseline', 'bench-baseline-own', profileDir);
  const kern = await KernClient.connect({ client: bench.temporal, taskQueue: 'bench-kern-own' });
  let point: ThroughputPoint;
  try {
    point = await throughput(bench, n, pairs, { kern, baselineQueue: 'bench-baseline-own', workers: 'own processes' });
  } finally {
    await Promise.all([kernWorker.stop(), baselineWorker.stop()]);
  }
  if (!profileDir) return { point };
  const groups = (kind: string, bundle: string) => profileByGroup(path.join(profileDir, kind), path.basename(bundle));
  const table = profileTable(
    groups('kern', bench.kernBundlePath),
    groups('baseline', bench.baselineBundlePath),
    n * pairs,
  );
  return { point, table };
}

/** The throughput row of the main table: the N with the lowest median ratio, and every N's verdict. */
function worstThroughput(points: ThroughputPoint[]): Metric {
  const worst = points.reduce((min, p) => (p.ratio < min.ratio ? p : min));
  return {
    name: 'throughput, worst N (median of the pairs)',
    unit: 'ratio',
    kern: worst.ratio,
    baseline: 1,
    ratio: worst.ratio,
    kernSpread: { value: worst.ratio, min: worst.ratioSpread[0], max: worst.ratioSpread[1] },
    verdict: worstOf(points.map((p) => p.verdict)),
    goal: `≥ ${THROUGHPUT_GOAL}× baseline at every N: ${points.map((p) => `N=${p.n}${p.workers === 'in process' ? '' : ` (${p.workers})`} ${p.verdict}`).join(', ')}`,
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
