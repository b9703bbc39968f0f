/**
 * `npm run scale`: kern as a deployment runs it, on one Temporal server: `kern worker` and `kern serve` processes
 * (bench/scale-app.ts), runs started over HTTP, SSE viewers, a rolling restart of the workers and a server killed
 * under its viewers. Not part of CI; it prints a report and writes bench/scale-results.json.
 *
 * 1. Throughput: SCALE_RUNS_PER_STEP runs (default 150: agents, teams of two members, two-step workflows, a third
 *    each) over HTTP with 1, 2 and then 3 worker processes; runs/s from the first start to the last completion.
 * 2. Faults: SCALE_RUNS runs (default 500) across two servers, SCALE_VIEWERS of them (default 60) streamed by an SSE
 *    viewer on the server that started them. While they run, each worker in turn gets SIGTERM (it drains) and is
 *    replaced, and one server is SIGKILLed: its viewers resume on the other server from the last event they saw.
 *    Checked: every run completes; no model request is made twice unless an earlier attempt was cut off; every
 *    viewer got every event of its run exactly once, in order (against a replay of the run's events at the end).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ScriptedModelServer, startLocalTemporal, type RecordedRequest } from 'kern/testing';
import { BenchProcess, Watched, buildPackage, freePort, kernProcess, sleep, temporalServerProcess } from './processes';

const RUNS_PER_STEP = Number(process.env.SCALE_RUNS_PER_STEP ?? 150);
const RUNS = Number(process.env.SCALE_RUNS ?? 500);
const VIEWERS = Number(process.env.SCALE_VIEWERS ?? 60);
/** Each model answer streams 40 words, one every 10 ms: a short answer from a fast model. */
const WORD_DELAY_MS = 10;
const APP = 'bench/scale-app.cjs';

type Kind = 'agents' | 'teams' | 'workflows';
const COMPONENTS: Array<{ kind: Kind; id: string }> = [
  { kind: 'agents', id: 'scale-agent' },
  { kind: 'teams', id: 'scale-team' },
  { kind: 'workflows', id: 'scale-workflow' },
];

interface StartedRun {
  kind: Kind;
  id: string;
  runId: string;
  server: string;
}

/**
 * Starts a background run over HTTP: 202 and its run id. A server that does not answer is skipped for the next one,
 * as a load balancer would.
 */
async function startRun(bases: string[], kind: Kind, id: string, prompt: string): Promise<StartedRun> {
  for (const [n, base] of bases.entries()) {
    let response: Response;
    try {
      response = await fetch(`${base}/${kind}/${id}/runs`, {
        method: 'POST',
        body: new URLSearchParams({ message: prompt, stream: 'false', background: 'true' }),
      });
    } catch (err) {
      if (n === bases.length - 1) throw err;
      continue;
    }
    const body = (await response.json()) as { run_id?: string };
    if (response.status !== 202 || !body.run_id) throw new Error(`start: ${response.status} ${JSON.stringify(body)}`);
    return { kind, id, runId: body.run_id, server: base };
  }
  throw new Error('no server');
}

/** The `event_index`ed events of an SSE response, as they arrive; stops at the stream's end or a dropped connection. */
async function readEvents(response: Response, seen: Array<{ index: number; event: string }>): Promise<'ended'> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'ended';
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      const parsed = JSON.parse(data) as { event?: string; event_index?: number };
      if (typeof parsed.event_index === 'number') seen.push({ index: parsed.event_index, event: String(parsed.event) });
    }
  }
}

/**
 * A viewer: starts a run with a resumable stream on `servers[0]`; if that connection drops, resumes on `servers[1]`
 * after the last event it saw. Resolves with every event it got, in order, and whether it had to resume.
 */
async function view(servers: string[], kind: Kind, id: string, prompt: string) {
  const runId = randomUUID();
  const seen: Array<{ index: number; event: string }> = [];
  const response = await fetch(`${servers[0]}/${kind}/${id}/runs`, {
    method: 'POST',
    body: new URLSearchParams({ message: prompt, stream: 'true', background: 'true', run_id: runId }),
  });
  let reconnects = 0;
  try {
    await readEvents(response, seen);
  } catch {
    reconnects = 1;
  }
  while (reconnects > 0) {
    const resumed = await fetch(`${servers[1]}/${kind}/${id}/runs/${runId}/resume`, {
      method: 'POST',
      body: new URLSearchParams({ last_event_index: String(seen.at(-1)?.index ?? -1) }),
    });
    try {
      await readEvents(resumed, seen);
      break;
    } catch (err) {
      if (++reconnects > 5) throw err;
    }
  }
  return { kind, id, runId, seen, reconnects, server: servers[0]! };
}

/** Polls each run over HTTP until it has ended; answers the statuses by run id. */
async function waitForRuns(base: string, runs: StartedRun[], timeoutMs = 600_000): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  let pending = runs;
  while (pending.length > 0 && Date.now() < deadline) {
    const still: StartedRun[] = [];
    for (let i = 0; i < pending.length; i += 25) {
      await Promise.all(
        pending.slice(i, i + 25).map(async (run) => {
          const response = await fetch(`${base}/${run.kind}/${run.id}/runs/${run.runId}`);
          const status = response.ok ? String(((await response.json()) as { status?: string }).status) : 'UNKNOWN';
          statuses.set(run.runId, status);
          if (!['COMPLETED', 'ERROR', 'CANCELLED'].includes(status)) still.push(run);
        }),
      );
    }
    pending = still;
    if (pending.length > 0) await sleep(500);
  }
  return statuses;
}

/**
 * Model requests answered twice (the same request body answered in full more than once), and requests cut off before
 * their answer was complete (an attempt that a drain cancelled, then retried elsewhere).
 */
function repeatedRequests(requests: RecordedRequest[]): { repeated: number; cutOff: number; examples: string[] } {
  const byBody = new Map<string, RecordedRequest[]>();
  for (const request of requests) {
    const key = JSON.stringify(request.body);
    byBody.set(key, [...(byBody.get(key) ?? []), request]);
  }
  let repeated = 0;
  const examples: string[] = [];
  for (const same of byBody.values()) {
    const completed = same.filter((request) => request.completed);
    repeated += Math.max(0, completed.length - 1);
    if (completed.length > 1 && examples.length < 5) {
      const apart = completed.map((request) => Math.round(request.receivedAt - completed[0]!.receivedAt));
      examples.push(
        `'${completed[0]!.lastUserText.slice(0, 60)}' answered ${completed.length} times, ${apart} ms apart`,
      );
    }
  }
  return { repeated, cutOff: requests.filter((request) => request.aborted).length, examples };
}

/** What a run costs Temporal: its history and its children's (member runs, agent steps), by what is in them. */
interface HistoryFigures {
  executions: number;
  events: number;
  activities: number;
  signals: number;
  updates: number;
  timers: number;
  upserts: number;
}

async function historyFigures(client: Client, workflowId: string): Promise<HistoryFigures> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const figures: HistoryFigures = {
    executions: 1,
    events: events.length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length,
    updates: events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    timers: events.filter((e) => e.timerStartedEventAttributes).length,
    upserts: events.filter(
      (e) => e.upsertWorkflowSearchAttributesEventAttributes || e.workflowPropertiesModifiedEventAttributes,
    ).length,
  };
  for (const event of events) {
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (!child) continue;
    const sub = await historyFigures(client, child);
    for (const key of Object.keys(figures) as Array<keyof HistoryFigures>) figures[key] += sub[key];
  }
  return figures;
}

/** The activities of a run (and its children) that needed more than one attempt, and why the earlier one failed. */
async function retriedActivities(client: Client, workflowId: string): Promise<string[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const retried: string[] = [];
  for (const event of events) {
    const started = event.activityTaskStartedEventAttributes;
    if (started && (started.attempt ?? 1) > 1) {
      retried.push(`${workflowId}: attempt ${started.attempt} after '${started.lastFailure?.message ?? '?'}'`);
    }
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (child) retried.push(...(await retriedActivities(client, child)));
  }
  return retried;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  console.log('scale: building the package (the processes run dist/, as an installed kern does)');
  buildPackage();
  console.log('scale: starting Temporal and the stand-in model');
  const temporal = await startLocalTemporal();
  const model = await ScriptedModelServer.start({ tokenDelayMs: WORD_DELAY_MS });
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    KERN_TASK_QUEUE: 'scale',
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: 'scale-key',
  };
  // The Temporal dev server's own process, for its share of the CPU.
  const temporalServer = temporalServerProcess(temporal.address);
  const processes: BenchProcess[] = [];
  const watched = (): Watched[] => [temporalServer, ...processes];
  const startWorkerProcess = async (n: number) => {
    const worker = kernProcess(`worker ${n}`, ['worker', '--log-level', 'error', '--shutdown-grace', '30s'], APP, env);
    processes.push(worker);
    await worker.printed('serving');
    return worker;
  };
  const ports = [await freePort(), await freePort()];
  const servers = ports.map((port, n) => kernProcess(`server ${n + 1}`, ['serve', '--port', String(port)], APP, env));
  processes.push(...servers);
  await Promise.all(servers.map((server) => server.printed('kern serve:')));
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);

  let promptCounter = 0;
  // The stand-in model answers in as many words as a prompt asks for.
  const prompt = () => `Question ${++promptCounter}: tell me about topic ${promptCounter} in 40 words.`;
  const results: Record<string, unknown> = { runsPerStep: RUNS_PER_STEP, runs: RUNS, viewers: VIEWERS };

  // 1. Throughput with 1, 2 and 3 worker processes.
  const workers: BenchProcess[] = [];
  const throughput: Array<{ workers: number; runsPerSecond: number; cpuSeconds: Record<string, number> }> = [];
  const samples: StartedRun[] = [];
  for (let n = 1; n <= 3; n++) {
    workers.push(await startWorkerProcess(n));
    await sleep(1_000);
    const cpuBefore = new Map(watched().map((p) => [p.name, p.cpuSeconds]));
    const started = Date.now();
    const runs = await Promise.all(
      Array.from({ length: RUNS_PER_STEP }, (_, i) => {
        const { kind, id } = COMPONENTS[i % COMPONENTS.length]!;
        return startRun(i % 2 ? [bases[1]!, bases[0]!] : bases, kind, id, prompt());
      }),
    );
    const statuses = await waitForRuns(bases[0]!, runs);
    const seconds = (Date.now() - started) / 1000;
    if (n === 1) samples.push(...runs.slice(0, COMPONENTS.length));
    const completed = [...statuses.values()].filter((status) => status === 'COMPLETED').length;
    const cpuSeconds = Object.fromEntries(
      watched().map((p) => [p.name, Math.round((p.cpuSeconds - (cpuBefore.get(p.name) ?? 0)) * 10) / 10]),
    );
    throughput.push({ workers: n, runsPerSecond: Math.round((completed / seconds) * 10) / 10, cpuSeconds });
    console.log(
      `scale: ${n} worker(s): ${completed}/${RUNS_PER_STEP} completed in ${seconds.toFixed(1)} s ` +
        `(${(completed / seconds).toFixed(1)} runs/s); CPU s: ${JSON.stringify(cpuSeconds)}`,
    );
  }
  results.throughput = throughput;

  // 2. Faults: 500 runs over both servers, viewers on both; rolling restart of the workers; a server SIGKILLed.
  model.requests.length = 0;
  const started = Date.now();
  // Viewers start over the first 10 s, the other runs over the first 20 s (about 22 a second).
  const viewing = Array.from({ length: VIEWERS }, async (_, i) => {
    await sleep(Math.floor((i * 10_000) / VIEWERS));
    const { kind, id } = COMPONENTS[i % COMPONENTS.length]!;
    // Viewers on server 2 are the ones whose server is killed; they resume on server 1.
    const order = i % 2 === 0 ? [bases[1]!, bases[0]!] : [bases[0]!, bases[1]!];
    return view(order, kind, id, prompt());
  });
  const viewersStarted = sleep(10_500);
  const startedRuns = Promise.all(
    Array.from({ length: RUNS - VIEWERS }, async (_, i) => {
      await sleep(Math.floor((i * 20_000) / (RUNS - VIEWERS)));
      const { kind, id } = COMPONENTS[i % COMPONENTS.length]!;
      return startRun(i % 2 ? [bases[1]!, bases[0]!] : bases, kind, id, prompt());
    }),
  );
  const faults: string[] = [];
  const rolling = (async () => {
    await sleep(2_000);
    for (let n = 0; n < workers.length; n++) {
      const old = workers[n]!;
      const signalled = Date.now();
      old.child.kill('SIGTERM');
      const code = await old.exited;
      faults.push(`${old.name}: SIGTERM, exited ${code} after ${((Date.now() - signalled) / 1000).toFixed(1)} s`);
      workers[n] = await startWorkerProcess(n + 4);
      if (n === 0) {
        await viewersStarted;
        servers[1]!.child.kill('SIGKILL');
        await servers[1]!.exited;
        faults.push(`server 2: SIGKILL at ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  })();
  const [background, viewers] = await Promise.all([startedRuns, Promise.all(viewing), rolling]);
  const all: StartedRun[] = [...background, ...viewers.map((v) => ({ ...v }))];
  const statuses = await waitForRuns(bases[0]!, all);
  const seconds = (Date.now() - started) / 1000;
  const byStatus: Record<string, number> = {};
  for (const status of statuses.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;

  // Every viewer's events against the run's whole stream, replayed from server 1 now that the run has ended.
  let exactlyOnce = 0;
  const viewerProblems: string[] = [];
  for (const viewer of viewers) {
    const replay: Array<{ index: number; event: string }> = [];
    await readEvents(
      await fetch(`${bases[0]}/${viewer.kind}/${viewer.id}/runs/${viewer.runId}/resume`, {
        method: 'POST',
        body: new URLSearchParams({ last_event_index: '-1' }),
      }),
      replay,
    );
    const same = JSON.stringify(viewer.seen) === JSON.stringify(replay);
    if (same) exactlyOnce++;
    else viewerProblems.push(`${viewer.runId}: saw ${viewer.seen.length} events, the run has ${replay.length}`);
  }
  const requests = repeatedRequests(model.requests);
  // Why a request was made twice: the attempts of the runs' activities (a retried attempt's cause is in history).
  const retried = (
    await Promise.all(all.map((run) => retriedActivities(temporal.client, `kern-run-${run.runId}`)))
  ).flat();
  const resumed = viewers.filter((viewer) => viewer.reconnects > 0).length;
  results.faults = {
    seconds: Math.round(seconds),
    statuses: byStatus,
    faults,
    modelRequests: model.requests.length,
    ...requests,
    viewers: viewers.length,
    viewersResumedOnTheOtherServer: resumed,
    viewersWithEveryEventExactlyOnce: exactlyOnce,
    viewerProblems: viewerProblems.slice(0, 10),
    retriedActivities: retried.length,
    retried: retried.slice(0, 10),
  };
  console.log(`scale: ${RUNS} runs with faults in ${seconds.toFixed(0)} s: ${JSON.stringify(byStatus)}`);
  for (const fault of faults) console.log(`scale:   ${fault}`);
  console.log(
    `scale: ${model.requests.length} model requests, ${requests.repeated} made twice, ${requests.cutOff} cut off; ` +
      `${exactlyOnce}/${viewers.length} viewers got every event exactly once (${resumed} resumed on the other server)`,
  );
  console.log(`scale: ${retried.length} activity attempts were retries`);
  for (const problem of [...requests.examples, ...retried.slice(0, 10), ...viewerProblems.slice(0, 10)]) {
    console.log(`scale:   ${problem}`);
  }

  // 3. Sizing: what each kind of run, and 1,000 streamed words, cost in history.
  const sizing: Record<string, HistoryFigures> = {};
  for (const run of samples) sizing[`${run.kind} run`] = await historyFigures(temporal.client, `kern-run-${run.runId}`);
  const longAnswer = `Question ${++promptCounter}: tell me about topic ${promptCounter} in 1000 words.`;
  const quiet = await startRun(bases, 'agents', 'scale-agent', longAnswer);
  await waitForRuns(bases[0]!, [quiet]);
  sizing['agents run, 1,000 words, background'] = await historyFigures(temporal.client, `kern-run-${quiet.runId}`);
  const streamed = await view(
    [bases[0]!, bases[0]!],
    'agents',
    'scale-agent',
    longAnswer.replace('topic', 'topic streamed'),
  );
  sizing['agents run, 1,000 words, streamed'] = await historyFigures(temporal.client, `kern-run-${streamed.runId}`);
  results.sizing = sizing;
  for (const [what, figures] of Object.entries(sizing)) console.log(`scale: ${what}: ${JSON.stringify(figures)}`);

  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  temporalServer.stop();
  results.peakRssMiB = Object.fromEntries(watched().map((p) => [p.name, Math.round(p.peakRssMiB)]));
  results.scriptPeakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`scale: peak RSS MiB: ${JSON.stringify(results.peakRssMiB)}; this script ${results.scriptPeakRssMiB}`);
  writeFileSync(path.join(__dirname, 'scale-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await model.close();
  await temporal.teardown();
  const ok =
    byStatus.COMPLETED === RUNS &&
    requests.repeated <= requests.cutOff &&
    exactlyOnce === viewers.length &&
    resumed > 0;
  console.log(ok ? 'scale: every check held' : 'scale: a check failed (see above)');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
