import { randomUUID } from 'node:crypto';
import { Agent, KernClient, OpenAIResponses, defineApp } from 'kern';
import { createServer } from 'kern/server';
import {
  PENDING_GOAL,
  alternating,
  compare,
  pairedRatios,
  tokenGoal,
  tokenLatencies,
  verdictOf,
  type Metric,
} from './metrics';
import { buildPackage, freePort, kernProcess } from './processes';
import type { Bench } from './setup';
import { percentile, spreadOf, timeEach } from './stats';

/**
 * 8. The HTTP API next to the TypeScript client: time to PENDING over HTTP vs `agent.run(…, { background: true })`,
 * token → SSE client latency with 1 and 100 viewers of one run (served by a `kern serve` process), and the run's
 * history with 1 and 100 viewers (one shared subscription per run per server process, so they should be equal).
 */
export async function httpApi(bench: Bench, reps: number, count: number, delayMs: number): Promise<Metric[]> {
  // Starts on a task queue no worker polls, as timeToPending does, so only the start is timed.
  const idle = await KernClient.connect({ client: bench.temporal, taskQueue: 'bench-no-worker' });
  const idleAgent = new Agent({ name: 'Bench Agent', model: new OpenAIResponses({ id: 'bench' }), client: idle });
  const idleServer = createServer({ app: defineApp({ agents: [idleAgent] }), client: idle });
  const idleBase = (await idleServer.listen({ port: 0 })).url;
  // The viewers' server runs as users run it, in a process of its own (`kern serve` from the built package), so that
  // its fan-out to 100 streams and the bench reading them do not share one event loop; the bench's worker runs the runs.
  buildPackage();
  const port = await freePort();
  const viewersServer = kernProcess('kern serve', ['serve', '--port', String(port)], 'bench/framework/app.cjs', {
    TEMPORAL_ADDRESS: bench.env.address,
    KERN_TASK_QUEUE: bench.kern.taskQueue,
  });
  const base = `http://127.0.0.1:${port}`;
  const post = (url: string, fields: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  try {
    await viewersServer.printed('kern serve:');
    const overHttp = () =>
      post(`${idleBase}/agents/bench-agent/runs`, { message: 'pending', stream: 'false', background: 'true' }).then(
        (response) => response.json(),
      );
    await timeEach(10, overHttp);
    await timeEach(10, () => idleAgent.run('warm-up', { background: true }));
    const [http, client] = await alternating(
      reps,
      () => timeEach(count, overHttp),
      () => timeEach(count, () => idleAgent.run('pending', { background: true })),
    );
    const pending = compare('HTTP: time to PENDING (POST background=true)', 'ms', http, client, {
      goal: `≤ ${PENDING_GOAL}× the client's`,
      verdict: verdictOf(pairedRatios(http, client), (ratio) => ratio <= PENDING_GOAL),
      note: 'baseline: agent.run(…, { background: true }) from the TypeScript client',
    });

    /** Reads a run's SSE stream to the end: each content delta with the time it arrived. */
    const readContent = async (response: Response) => {
      const received: Array<{ at: number; text: string }> = [];
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { done, value: chunk } = await reader.read();
        if (done) return received;
        const at = performance.now();
        buffered += chunk;
        const frames = buffered.split('\n\n');
        buffered = frames.pop()!;
        for (const frame of frames) {
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (frame.startsWith('event: RunContent') && data) {
            received.push({ at, text: (JSON.parse(data) as { content: string }).content });
          }
        }
      }
    };
    /**
     * One run of `tokens` tokens, started as a resumable stream (`stream=true&background=true`) and read over SSE by
     * `viewers` clients at once: the one that started it, and the others through `/resume` from the start.
     */
    const watch = async (viewers: number, tokens: number) => {
      const id = randomUUID();
      const runId = randomUUID();
      const created = await post(`${base}/agents/bench-agent/runs`, {
        message: `${id} words=${tokens} delay=${delayMs}`,
        stream: 'true',
        background: 'true',
        run_id: runId,
      });
      const latencies = await Promise.all([
        readContent(created),
        ...Array.from({ length: viewers - 1 }, () =>
          post(`${base}/agents/bench-agent/runs/${runId}/resume`, { last_event_index: '-1' }).then(readContent),
        ),
      ]);
      const wordTimes = bench.model.requestsFor(id)[0]!.wordTimes;
      // Each viewer's tokens from its first delta on: what it got before (in its first delta too) is what was
      // streamed before it joined, sent to it as one catch-up.
      const samples = latencies.flatMap((received) => tokenLatencies(received, wordTimes, received[0]?.at));
      const history = (await bench.temporal.workflow.getHandle(`kern-run-${runId}`).describe()).historyLength;
      return { samples, history };
    };
    const tokens = 200;
    await watch(10, 50); // warm-up: the server process has just started
    const one = await watch(1, tokens);
    const hundred = await watch(100, tokens);
    const latency = (samples: number[]) => ({ p50: spreadOf([percentile(samples, 50)]), p99: percentile(samples, 99) });
    const viewersLatency = compare(
      'HTTP: token → SSE client, 100 viewers vs 1',
      'ms',
      latency(hundred.samples),
      latency(one.samples),
      {
        // Measured from the model server's emit time, so all of it counts as added (the direct read is ~1 ms).
        ...tokenGoal([one.samples, hundred.samples], 0, 0),
        note:
          `one run of ${tokens} tokens at one per ${delayMs} ms; each viewer's tokens emitted after its first delta ` +
          'arrived (what came before is its catch-up)',
      },
    );
    const viewersHistory: Metric = {
      name: 'HTTP: history events per 1,000 tokens, 100 viewers vs 1',
      unit: 'events',
      kern: (hundred.history * 1000) / tokens,
      baseline: (one.history * 1000) / tokens,
      ratio: hundred.history / one.history,
      goal: 'equal (one subscription per run per server process)',
      // Timing moves a batch boundary or two: within 10% is equal.
      verdict: verdictOf([hundred.history / one.history], (ratio) => ratio <= 1.1),
    };
    return [pending, viewersLatency, viewersHistory];
  } finally {
    await viewersServer.stopProcess();
    await idleServer.close();
  }
}
