/**
 * 9. Side by side with the Python framework's own server (its AgentOS, bench/framework/agentos_server.py), on the
 * bench's stand-in model and the same box, both driven over HTTP as their users drive them: kern as `kern serve` and
 * `kern worker` processes from the built package (bench/framework/app.cjs) on the bench's Temporal server, the
 * framework as one uvicorn process with its SQLite database, once with its default background concurrency and once
 * unlimited.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compare, pairedRatios, sampledOf, verdictOf, type Metric, type Sampled } from './metrics';
import { BenchProcess, Watched, buildPackage, freePort, kernProcess, sleep } from './processes';
import type { Bench } from './setup';
import { percentile, spreadOf, timeEach } from './stats';

/** kern, durable, within this factor of the framework's latencies (issue 31). */
const LATENCY_GOAL = 2;
const AGENT = 'bench-agent';
const FRAMEWORK_DIR = path.join(__dirname, 'framework');

/** A server to drive: its base URL and the processes behind it. */
interface Side {
  name: string;
  base: string;
  processes: BenchProcess[];
}

export async function frameworkSideBySide(
  bench: Bench,
  reps: number,
  count: number,
  atOnce: number,
): Promise<Metric[]> {
  const python = frameworkPython();
  buildPackage();
  const dbDir = mkdtempSync(path.join(tmpdir(), 'kern-bench-framework-'));
  const sides: Side[] = [];
  const temporal = bench.temporalServer;
  try {
    // One at a time, each kept as it starts, so that the finally stops whatever did.
    const started = async (side: Promise<Side>) => {
      sides.push(await side);
      return sides.at(-1)!;
    };
    const kern = await started(startKern(bench));
    const framework = await started(startFramework(python, bench, dbDir, 'framework'));
    const unlimited = await started(
      startFramework(python, bench, dbDir, 'framework, unlimited', { AGNO_BACKGROUND_MAX_CONCURRENCY: '0' }),
    );

    for (const side of [kern, framework]) {
      await timeEach(10, () => acceptBackground(side));
      await timeEach(5, () => runToCompletion(side));
      await settle(side);
    }
    const accepted = await alternatingSettled(reps, count, kern, framework, acceptBackground);
    const completed = await alternatingSettled(reps, count, kern, framework, runToCompletion);

    // A bare Temporal workflow making the same model call, from the bench's client: what durability costs alone.
    const bare = () =>
      bench.temporal.workflow.execute('modelCallWorkflow', {
        taskQueue: bench.baselineQueue,
        workflowId: `bare-${randomUUID()}`,
        args: ['hello'],
      });
    await timeEach(5, bare);
    const bareCompleted = percentile(await timeEach(count, bare), 50);

    const rates = new Map<Side, number[]>([
      [kern, []],
      [framework, []],
      [unlimited, []],
    ]);
    /** CPU-seconds each process spent on the bursts, by side. */
    const cpu = new Map<Side, Map<Watched, number>>();
    const burst = async (side: Side, watched: Watched[]) => {
      const before = watched.map((p) => p.sample().cpuSeconds);
      rates.get(side)!.push(await manyAtOnce(side, atOnce));
      const spent = cpu.get(side) ?? new Map<Watched, number>();
      watched.forEach((p, i) => spent.set(p, (spent.get(p) ?? 0) + p.sample().cpuSeconds - before[i]!));
      cpu.set(side, spent);
    };
    for (let rep = 0; rep < reps; rep++) {
      await burst(kern, [...kern.processes, temporal]);
      await burst(framework, framework.processes);
      await burst(unlimited, unlimited.processes);
    }
    const cpuPerRun = (side: Side) =>
      [...cpu.get(side)!].map(([p, seconds]) => `${p.name} ${round((seconds * 1000) / (atOnce * reps))}`).join(' + ');
    const rate = (side: Side) => spreadOf(rates.get(side)!);
    const peak = (side: Side) => side.processes.reduce((sum, p) => sum + p.peakRssMiB, 0);
    const vs = "baseline: the Python framework's own server (agno 3.1.10), same model, same box";
    return [
      compare('vs the framework: background start → 202 over HTTP', 'ms', accepted.kern, accepted.framework, {
        goal: `≤ ${LATENCY_GOAL}× the framework's`,
        verdict: verdictOf(pairedRatios(accepted.kern, accepted.framework), (ratio) => ratio <= LATENCY_GOAL),
        note: vs,
      }),
      compare('vs the framework: start → COMPLETED over HTTP', 'ms', completed.kern, completed.framework, {
        goal: `≤ ${LATENCY_GOAL}× the framework's`,
        verdict: verdictOf(pairedRatios(completed.kern, completed.framework), (ratio) => ratio <= LATENCY_GOAL),
        note:
          `${vs}; one blocking POST (stream=false), one model call; a bare Temporal workflow making the same call ` +
          `takes ${round(bareCompleted)} ms from the bench's client`,
      }),
      {
        name: `vs the framework: ${atOnce} runs at once`,
        unit: 'runs/s',
        kern: rate(kern).value,
        baseline: rate(framework).value,
        ratio: rate(kern).value / rate(framework).value,
        kernSpread: rate(kern),
        baselineSpread: rate(framework),
        goal: `ahead of the framework's, at its default concurrency and unlimited (${round(rate(unlimited).value)} runs/s)`,
        verdict: verdictOf(
          rates.get(kern)!.map((value, i) => value - Math.max(rates.get(framework)![i]!, rates.get(unlimited)![i]!)),
          (lead) => lead > 0,
        ),
        note:
          `${vs}; ${atOnce} background POSTs at once, until every poll says COMPLETED; CPU ms per run: kern ` +
          `${cpuPerRun(kern)}; the framework ${cpuPerRun(framework)}`,
      },
      {
        name: 'vs the framework: peak RSS of the serving processes',
        unit: 'MiB',
        kern: peak(kern),
        baseline: peak(framework),
        ratio: peak(kern) / peak(framework),
        note:
          `kern: ${kern.processes.map((p) => `${p.name} ${round(p.peakRssMiB)}`).join(' + ')} MiB, and the ` +
          `Temporal dev server ${round(temporal.peakRssMiB)} MiB (the framework's store is in its process); ` +
          `the framework unlimited: ${round(peak(unlimited))} MiB`,
      },
    ];
  } finally {
    await Promise.all(sides.flatMap((side) => side.processes.map((p) => p.stopProcess())));
    rmSync(dbDir, { recursive: true, force: true });
  }
}

const round = (value: number) => Number(value.toPrecision(3));

/** The side by side's goals when it could not run (no Python, no PyPI): open, saying why. */
export function frameworkNotMeasured(reason: string, atOnce: number): Metric[] {
  const open = (name: string, unit: string, goal: string): Metric => ({
    name,
    unit,
    kern: NaN,
    baseline: NaN,
    ratio: NaN,
    goal,
    verdict: 'undecided',
    note: `not measured: ${reason.split('\n')[0]}`,
  });
  return [
    open('vs the framework: background start → 202 over HTTP', 'ms', `≤ ${LATENCY_GOAL}× the framework's`),
    open('vs the framework: start → COMPLETED over HTTP', 'ms', `≤ ${LATENCY_GOAL}× the framework's`),
    open(`vs the framework: ${atOnce} runs at once`, 'runs/s', "ahead of the framework's"),
  ];
}

/**
 * The Python with the framework installed: `BENCH_FRAMEWORK_PYTHON`, or bench/framework/.venv, made from
 * bench/framework/requirements.txt the first time (from PyPI).
 */
function frameworkPython(): string {
  const venv = path.join(FRAMEWORK_DIR, '.venv');
  const python = process.env.BENCH_FRAMEWORK_PYTHON ?? path.join(venv, 'bin', 'python');
  if (!process.env.BENCH_FRAMEWORK_PYTHON && !existsSync(python)) {
    console.log(`  making ${path.relative(process.cwd(), venv)} with the framework (pip, from PyPI)`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '-q', '-r', path.join(FRAMEWORK_DIR, 'requirements.txt')], {
      stdio: 'inherit',
    });
  }
  try {
    execFileSync(python, ['-c', 'import agno, uvicorn'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${python} cannot import agno and uvicorn (bench/framework/requirements.txt lists what it needs)`);
  }
  return python;
}

async function startKern(bench: Bench): Promise<Side> {
  const env = {
    TEMPORAL_ADDRESS: bench.env.address,
    KERN_TASK_QUEUE: 'bench-framework',
    OPENAI_BASE_URL: bench.model.url,
    OPENAI_API_KEY: 'bench',
  };
  const app = 'bench/framework/app.cjs';
  const port = await freePort();
  const worker = kernProcess('kern worker', ['worker', '--log-level', 'error'], app, env);
  const server = kernProcess('kern serve', ['serve', '--port', String(port)], app, env);
  const side = { name: 'kern', base: `http://127.0.0.1:${port}`, processes: [worker, server] };
  await Promise.all([worker.printed('serving'), server.printed('kern serve:')]).catch((err: unknown) =>
    stopped(side, err),
  );
  return side;
}

async function startFramework(
  python: string,
  bench: Bench,
  dbDir: string,
  name: string,
  env: Record<string, string> = {},
): Promise<Side> {
  const port = await freePort();
  const child = spawn(python, [path.join(FRAMEWORK_DIR, 'agentos_server.py')], {
    env: {
      ...process.env,
      ...env,
      BENCH_MODEL_URL: bench.model.url,
      BENCH_PORT: String(port),
      BENCH_DB: path.join(dbDir, `${port}.db`),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new BenchProcess(name, child);
  const side = { name, base: `http://127.0.0.1:${port}`, processes: [server] };
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    if (child.exitCode !== null) throw new Error(`${name} exited before it answered:\n${server.log}`);
    if (Date.now() > deadline) return stopped(side, new Error(`${name} did not answer on ${side.base}`));
    const healthy = await fetch(`${side.base}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return side;
  }
}

/** A side that did not start: its processes stopped, and `err` thrown. */
async function stopped(side: Side, err: unknown): Promise<never> {
  await Promise.all(side.processes.map((p) => p.stopProcess()));
  throw err;
}

interface Started {
  runId: string;
  sessionId: string;
}

function post(side: Side, fields: Record<string, string>): Promise<Response> {
  return fetch(`${side.base}/agents/${AGENT}/runs`, { method: 'POST', body: new URLSearchParams(fields) });
}

/** A background start: 202 and the run's ids. */
async function acceptBackground(side: Side): Promise<Started> {
  const response = await post(side, { message: 'hello', stream: 'false', background: 'true' });
  const body = (await response.json()) as { run_id?: string; session_id?: string };
  if (response.status !== 202 || !body.run_id || !body.session_id) {
    throw new Error(`${side.name}: background start answered ${response.status} ${JSON.stringify(body)}`);
  }
  return { runId: body.run_id, sessionId: body.session_id };
}

/** A blocking run: the POST answers once the run has completed. */
async function runToCompletion(side: Side): Promise<void> {
  const response = await post(side, { message: 'hello', stream: 'false' });
  const body = (await response.json()) as { status?: string };
  if (response.status !== 200 || body.status !== 'COMPLETED') {
    throw new Error(`${side.name}: blocking run answered ${response.status} ${JSON.stringify(body)}`);
  }
}

async function statusOf(side: Side, run: Started): Promise<string | undefined> {
  const url = `${side.base}/agents/${AGENT}/runs/${run.runId}?session_id=${encodeURIComponent(run.sessionId)}`;
  const response = await fetch(url);
  if (response.status === 404) return undefined; // not listed yet
  const body = (await response.json()) as { status?: string };
  if (!response.ok) throw new Error(`${side.name}: poll answered ${response.status} ${JSON.stringify(body)}`);
  return body.status;
}

/** Polls runs, a few at a time, until every one is `COMPLETED`; resolves with when the last one was seen so. */
async function allCompleted(side: Side, runs: Started[]): Promise<number> {
  let pending = runs;
  for (;;) {
    const still: Started[] = [];
    for (let i = 0; i < pending.length; i += 8) {
      const batch = pending.slice(i, i + 8);
      const statuses = await Promise.all(batch.map((run) => statusOf(side, run)));
      statuses.forEach((status, j) => {
        if (status === 'ERROR' || status === 'CANCELLED') throw new Error(`${side.name}: a bench run ended ${status}`);
        if (status !== 'COMPLETED') still.push(batch[j]!);
      });
    }
    if (still.length === 0) return performance.now();
    pending = still;
    await sleep(20);
  }
}

/** Waits until the background runs a measurement started have ended, so the next one starts on an idle server. */
async function settle(side: Side): Promise<void> {
  await allCompleted(side, [await acceptBackground(side)]);
  await sleep(500);
}

/** `n` background starts at once, and runs per second from the first start to the last completion seen. */
async function manyAtOnce(side: Side, n: number): Promise<number> {
  await settle(side);
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: n }, () => acceptBackground(side)));
  const done = await allCompleted(side, runs);
  return n / ((done - started) / 1000);
}

/** `reps` repetitions of `count` sequential calls on each side, alternating, each on a settled server. */
async function alternatingSettled(
  reps: number,
  count: number,
  kern: Side,
  framework: Side,
  call: (side: Side) => Promise<unknown>,
): Promise<{ kern: Sampled; framework: Sampled }> {
  const samples: Record<string, number[][]> = { kern: [], framework: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const side of [kern, framework]) {
      await settle(side);
      samples[side.name]!.push(await timeEach(count, () => call(side)));
    }
  }
  return { kern: sampledOf(samples.kern!), framework: sampledOf(samples.framework!) };
}
