import { randomUUID } from 'node:crypto';
import { Agent, KernClient, OpenAIResponses, RunStatus, TemporalUnreachable } from 'kern';
import { startLocalTemporal } from 'kern/testing';
import { startHarness } from '../support/harness';
import { KillableTemporal } from '../support/killable-temporal';

// A Temporal server of this test's own, so it can be stopped without touching the other tests' server. The client
// retries for about 30 s before it gives up; the run must then fail with kern's error, not a raw gRPC one.
test.concurrent(
  'a Temporal outage: run() fails with TemporalUnreachable, which says so, not with a raw gRPC error',
  async () => {
    const temporal = await startLocalTemporal();
    const client = await KernClient.connect({ address: temporal.address, taskQueue: 'outage-no-worker' });
    const agent = new Agent({ name: 'Outage Agent', model: new OpenAIResponses({ id: 'gpt-test' }), client });
    try {
      expect((await agent.run('before the outage', { background: true })).status).toBe('PENDING');
      await temporal.teardown();
      // Both calls meet the dead server at once (each retries for its ~20 s before giving up).
      const [failure, readFailure] = await Promise.all([
        agent.run('during the outage', { background: true }).catch((err: unknown) => err),
        agent.getRunOutput({ runId: 'any' }).catch((err: unknown) => err),
      ]);
      expect(failure).toBeInstanceOf(TemporalUnreachable);
      expect((failure as Error).message).toMatch(
        new RegExp(
          `^the Temporal server at ${temporal.address} is unreachable( \\(.+\\))?; try again once it is up, or check`,
        ),
      );
      expect(readFailure).toBeInstanceOf(TemporalUnreachable);
    } finally {
      await client.close();
    }
  },
  90_000,
);

test.concurrent(
  'connecting to an address where no Temporal server listens fails with TemporalUnreachable',
  async () => {
    const failure = await KernClient.connect({ address: '127.0.0.1:1' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TemporalUnreachable);
    expect((failure as Error).message).toMatch(
      /^the Temporal server at 127\.0\.0\.1:1 is unreachable \(.+\); try again once it is up, or check the address and its TLS settings$/,
    );
  },
  30_000,
);

test('the Temporal server SIGKILLed and restarted on its database, with runs pending and running: every run completes, once', async () => {
  const temporal = await KillableTemporal.start();
  // Two task queues: one whose worker is answering when the server dies, one with no worker yet (pending runs).
  const running = await startHarness(undefined, temporal.address);
  const pending = await startHarness(undefined, temporal.address);
  await pending.stopWorker();
  const answer = 'The server went away and came back, and this answer is still whole.';
  const agentOf = (client: KernClient) =>
    new Agent({ name: 'Outage Agent', model: new OpenAIResponses({ id: 'gpt-test' }), client });
  try {
    const start = async (h: typeof running, count: number) => {
      const runIds: string[] = [];
      for (let i = 0; i < count; i++) {
        const prompt = `survive ${randomUUID()}`;
        h.model.replyWhen(prompt, { text: answer, tokenDelayMs: 300 });
        runIds.push((await agentOf(h.client).run(prompt, { background: true })).runId);
      }
      return runIds;
    };
    const runningIds = await start(running, 10);
    const pendingIds = await start(pending, 10);
    // Every running run is mid-answer when the server is killed.
    await running.model.waitFor(
      () => running.model.requests.filter((request) => request.wordTimes.length > 0).length === 10,
    );
    await temporal.kill();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await temporal.restart();
    // The worker and the clients reconnect on their own; the pending runs' worker starts only now.
    await pending.startWorker();

    for (const [h, runIds] of [
      [running, runningIds],
      [pending, pendingIds],
    ] as const) {
      for (const runId of runIds) {
        const output = await h.waitForStatus(runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
        expect(output).toMatchObject({ status: RunStatus.completed, content: answer });
      }
    }
    // No model call was made twice: the answers in flight were reported once the server was back.
    expect(running.model.requests).toHaveLength(10);
    expect(pending.model.requests).toHaveLength(10);
  } finally {
    await running.close();
    await pending.close();
    await temporal.stop();
  }
}, 180_000);
