import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { Agent, OpenAIResponses, RunEvent, RunStatus, type AnyRunEvent, type AnyRunOutput } from 'kern';
import crashApp, { crashTeam, payingAgent, preparingWorkflow, writingWorkflow } from '../fixtures/crash-app';
import { startHarness, type Harness } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Real `kern worker` processes killed (SIGKILL, SIGTERM) or cut off from Temporal mid-run, and what becomes of their
 * runs. Each test has a harness of its own (its own task queue and model server), so no test's workers can take
 * another's tasks; the crash tests run side by side, the drain tests (which time a process's exit) one at a time after.
 */

const root = path.resolve(__dirname, '../..');

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Worker processes spawned and maybe still running: `afterAll` kills those a failed test left. */
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A real `kern worker` process serving `app` on `h`'s task queue, as a user would run it, and a way to SIGKILL it. */
function spawnWorker(h: Harness, app: string, env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/kern.js'), 'worker', '--app', app, '--log-level', 'error'],
    {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: process.env.KERN_TEST_TEMPORAL_ADDRESS,
        // The suite's bundle of kern's workflow code, rather than one made at start from the source.
        KERN_WORKFLOW_BUNDLE: process.env.KERN_TEST_WORKFLOW_BUNDLE,
        KERN_TASK_QUEUE: h.taskQueue,
        OPENAI_BASE_URL: h.model.url,
        OPENAI_API_KEY: 'test-key',
        ...env,
      },
      stdio: 'ignore',
    },
  );
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    kill: () => child.kill('SIGKILL'),
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    exited,
  };
}

/** An agent with no tools on the scripted model, run with `h`'s client. */
const agentOn = (h: Harness, name: string) =>
  new Agent({ name, model: new OpenAIResponses({ id: 'gpt-test' }), client: h.client });

/** Runs `body` with a harness of its own, its in-process worker not started; closes the harness after. */
async function withHarness(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness();
  try {
    await h.stopWorker();
    await body(h);
  } finally {
    await h.close();
  }
}

/**
 * The crash app's step function and tool note what they do in the file `KERN_CRASH_MARKER` names, read from this
 * process's environment when this process's worker runs them: the tests that set it take turns.
 */
let markerTurn = Promise.resolve();
async function withCrashMarker(marker: string, body: () => Promise<void>): Promise<void> {
  const before = markerTurn;
  let done!: () => void;
  markerTurn = new Promise((resolve) => (done = resolve));
  await before;
  process.env.KERN_CRASH_MARKER = marker;
  try {
    await body();
  } finally {
    delete process.env.KERN_CRASH_MARKER;
    done();
  }
}

test.concurrent(
  'a worker process killed mid-answer loses nothing: another worker retries the model call and completes',
  () =>
    withHarness(async (h) => {
      const prompt = `crash ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: 'Half an answer', tokenDelayMs: 50, hang: true }, { text: 'The full answer.' });

      const worker = spawnWorker(h, 'examples/app.ts');

      const agent = agentOn(h, 'Crash Agent');
      const run = await agent.run(prompt, { background: true });
      await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1, 30_000);
      worker.kill();
      await worker.exited;

      await h.startWorker();
      const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
      expect(output).toMatchObject({ status: RunStatus.completed, content: 'The full answer.' });
      expect(h.model.requestsFor(prompt)).toHaveLength(2);
    }),
  120_000,
);

test.concurrent(
  "a worker killed during a team member's answer, a workflow's agent step and a function step: all complete",
  () =>
    withHarness(async (h) => {
      const id = randomUUID();
      const marker = path.join(mkdtempSync(path.join(tmpdir(), 'kern-crash-')), 'starts');
      h.model
        .replyWhen(
          `team task ${id}`,
          {
            toolCalls: [
              { name: 'delegate_task_to_member', arguments: { member_id: 'writer', task: `member task ${id}` } },
            ],
          },
          { text: 'The team is done.' },
        )
        .replyWhen(
          `member task ${id}`,
          { text: 'Half a member answer', tokenDelayMs: 50, hang: true },
          { text: 'Member done.' },
        )
        .replyWhen(
          `step task ${id}`,
          { text: 'Half a step answer', tokenDelayMs: 50, hang: true },
          { text: 'Step done.' },
        );
      const worker = spawnWorker(h, 'test/fixtures/crash-app.ts', { KERN_CRASH_MARKER: marker });

      const runs = [
        crashTeam.runInputFor(`team task ${id}`),
        writingWorkflow.runInputFor(`step task ${id}`),
        preparingWorkflow.runInputFor(`prepare ${id}`),
      ];
      for (const input of runs) await h.client.startRun(input);
      const answering = (text: string) => () => (h.model.requestsFor(text)[0]?.wordTimes.length ?? 0) > 0;
      await h.model.waitFor(answering(`member task ${id}`), 30_000);
      await h.model.waitFor(answering(`step task ${id}`), 30_000);
      for (let i = 0; i < 300 && !existsSync(marker); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(readFileSync(marker, 'utf8')).toContain('start');
      worker.kill();
      await worker.exited;

      // The function step's retry waits out its heartbeat timeout (20 s), so taking a turn with the marker costs little.
      await withCrashMarker(marker, async () => {
        await h.startWorker(crashApp);
        const [team, writing, preparing] = (await Promise.all(
          runs.map((input) => h.waitForStatus(input.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled)),
        )) as [AnyRunOutput, AnyRunOutput, AnyRunOutput];

        expect(team).toMatchObject({ status: RunStatus.completed, content: 'The team is done.' });
        expect(team.kind === 'team' && team.memberResponses).toEqual([
          expect.objectContaining({ status: RunStatus.completed, content: 'Member done.' }),
        ]);
        expect(writing).toMatchObject({ status: RunStatus.completed, content: 'Step done.' });
        expect(preparing).toMatchObject({ status: RunStatus.completed, content: 'prepared' });
      });
      // The calls that had finished before the crash were not made again; the interrupted ones were made once more.
      expect(h.model.requestsFor(`team task ${id}`)).toHaveLength(2);
      expect(h.model.requestsFor(`member task ${id}`)).toHaveLength(2);
      expect(h.model.requestsFor(`step task ${id}`)).toHaveLength(2);
      expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(2);
    }),
  120_000,
);

test.concurrent(
  'a worker cut off from Temporal mid-answer, its call retried elsewhere: when it reconnects, its stale text never mixes into the new answer',
  () =>
    withHarness(async (h) => {
      const prompt = `partitioned ${randomUUID()}`;
      const stale = Array.from({ length: 200 }, (_, i) => `stale${i}`).join(' ');
      const fresh = Array.from({ length: 20 }, (_, i) => `fresh${i}`).join(' ');
      h.model.replyWhen(prompt, { text: stale, tokenDelayMs: 100 }, { text: fresh, tokenDelayMs: 150 });
      // The worker reaches Temporal through a proxy that the test cuts; it still reaches the model.
      const network = await TcpProxy.start(process.env.KERN_TEST_TEMPORAL_ADDRESS!);
      const cutOff = spawnWorker(h, 'examples/app.ts', { TEMPORAL_ADDRESS: network.address });
      try {
        const agent = agentOn(h, 'Cut-off Agent');
        const run = await agent.run(prompt, { background: true });
        await h.model.waitFor(() => (h.model.requestsFor(prompt)[0]?.wordTimes.length ?? 0) >= 15, 30_000);
        network.cut();
        // The model call's heartbeat times out (10 s), and another worker retries it. The cut-off worker streams on.
        await h.startWorker();
        await h.model.waitFor(() => (h.model.requestsFor(prompt)[1]?.wordTimes.length ?? 0) >= 2, 30_000);
        network.restore();

        const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
        expect(output).toMatchObject({ status: RunStatus.completed, content: fresh });
        // The cut-off worker has had its say: its stale answer ended (given up once it learned of the retry, or done).
        await h.model.waitFor(
          () => h.model.requestsFor(prompt)[0]!.aborted || h.model.requestsFor(prompt)[0]!.completed,
          30_000,
        );
        const events: AnyRunEvent[] = [];
        for await (const event of h.client.subscribe(run.runId)) events.push(event);
        const lastReset = events.map((event) => event.event).lastIndexOf(RunEvent.runContentReset);
        expect(lastReset).toBeGreaterThan(0);
        const deltas = (from: number, to?: number) =>
          events.slice(from, to).flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
        expect(deltas(lastReset).join('')).toBe(fresh);
      } finally {
        cutOff.kill();
        await cutOff.exited;
        await network.close();
      }
    }),
  120_000,
);

test.concurrent(
  'a worker process killed while a run is paused for a person: the run stays paused, and a new worker continues it',
  () =>
    withHarness(async (h) => {
      const marker = path.join(mkdtempSync(path.join(tmpdir(), 'kern-pause-')), 'marker');
      // Its turn with the marker from the start (the crash test above waits 20 s for its retry before it wants one).
      await withCrashMarker(marker, async () => {
        const prompt = `pay invoice ${randomUUID()}`;
        h.model.replyWhen(
          prompt,
          { toolCalls: [{ name: 'approve_payment', arguments: { invoice: 'INV-7' } }] },
          { text: 'Paid.' },
        );
        const worker = spawnWorker(h, 'test/fixtures/crash-app.ts', { KERN_CRASH_MARKER: marker });
        const input = payingAgent.runInputFor(prompt);
        await h.client.startRun(input);
        const run = { runId: input.runId };
        const paused = await h.waitForStatus(run.runId, RunStatus.paused);
        worker.kill();
        await worker.exited;

        // Nothing of the pause lived in the killed process.
        expect(await h.client.getRunOutput(run.runId)).toMatchObject({ status: RunStatus.paused });
        await h.startWorker(crashApp);
        try {
          await h.client.continueRun(run.runId, {
            requirements: [{ id: paused.requirements![0]!.id, confirmation: true }],
          });
          const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
          expect(output).toMatchObject({ status: RunStatus.completed, content: 'Paid.' });
          // The tool ran once, in this process (the new worker), after the answer.
          expect(readFileSync(marker, 'utf8')).toBe(`paid INV-7 ${process.pid}\n`);
          expect(h.model.requestsFor(prompt)).toHaveLength(2);
        } finally {
          await h.stopWorker();
        }
      });
    }),
  120_000,
);

describe('a worker stopped with SIGTERM drains', () => {
  // One at a time, after the tests above: these time how soon a process answers a signal and exits.
  test(
    'its model call in flight finishes, the run completes on another worker, nothing is asked twice',
    () =>
      withHarness(async (h) => {
        const prompt = `drain ${randomUUID()}`;
        // About three seconds of answer, in flight when the signal comes.
        h.model.replyWhen(prompt, { text: 'one two three four five six seven eight nine ten', tokenDelayMs: 300 });
        const healthPort = await freePort();
        const worker = spawnWorker(h, 'examples/app.ts', {
          KERN_SHUTDOWN_GRACE: '20s',
          KERN_HEALTH_PORT: String(healthPort),
        });
        const health = (path: string) =>
          fetch(`http://127.0.0.1:${healthPort}${path}`).then(
            async (response) => ({ status: response.status, body: (await response.json()) as unknown }),
            () => undefined,
          );
        for (let tries = 0; (await health('/readyz'))?.status !== 200 && tries < 100; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(await health('/readyz')).toEqual({ status: 200, body: { status: 'ready', task_queue: h.taskQueue } });
        const agent = agentOn(h, 'Drain Agent');
        const run = await agent.run(prompt, { background: true });
        await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1, 30_000);
        const signalled = Date.now();
        worker.signal('SIGTERM');
        // Draining: alive, no longer ready.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await health('/readyz')).toEqual({
          status: 503,
          body: { status: expect.stringMatching(/^(stopping|draining)$/) },
        });
        expect((await health('/livez'))?.status).toBe(200);
        await h.startWorker();
        expect(await worker.exited).toBe(0);
        expect(Date.now() - signalled).toBeLessThan(20_000);
        const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
        expect(output).toMatchObject({
          status: RunStatus.completed,
          content: 'one two three four five six seven eight nine ten',
        });
        expect(h.model.requestsFor(prompt)).toHaveLength(1);
        expect(h.model.requestsFor(prompt)[0]!.aborted).toBe(false);
      }),
    90_000,
  );

  test(
    'a call that outlasts the grace is cancelled and retried elsewhere; a second signal exits at once',
    () =>
      withHarness(async (h) => {
        const prompt = `outlast ${randomUUID()}`;
        h.model.replyWhen(prompt, { text: 'never done', hang: true }, { text: 'Done on the other worker.' });
        const worker = spawnWorker(h, 'examples/app.ts', { KERN_SHUTDOWN_GRACE: '2s' });
        const agent = agentOn(h, 'Drain Agent');
        const run = await agent.run(prompt, { background: true });
        await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1, 30_000);
        const signalled = Date.now();
        worker.signal('SIGTERM');
        expect(await worker.exited).toBe(0);
        expect(Date.now() - signalled).toBeLessThan(10_000);
        await h.startWorker();
        const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
        expect(output).toMatchObject({ status: RunStatus.completed, content: 'Done on the other worker.' });

        await h.stopWorker();
        const second = `twice ${randomUUID()}`;
        h.model.replyWhen(second, { text: 'never done', hang: true });
        const impatient = spawnWorker(h, 'examples/app.ts', { KERN_SHUTDOWN_GRACE: '60s' });
        const stuck = await agent.run(second, { background: true });
        await h.model.waitFor(() => h.model.requestsFor(second).length === 1, 30_000);
        impatient.signal('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 500));
        const again = Date.now();
        impatient.signal('SIGTERM');
        expect(await impatient.exited).toBe(130);
        expect(Date.now() - again).toBeLessThan(3_000);
        await h.startWorker();
        await h.client.cancelRun(stuck.runId);
      }),
    120_000,
  );
});
