import { Agent, KernClient, OpenAIResponses, TemporalUnreachable } from 'kern';
import { startLocalTemporal } from 'kern/testing';

// A Temporal server of this test's own, so it can be stopped without touching the other tests' server. The client
// retries for about 30 s before it gives up; the run must then fail with kern's error, not a raw gRPC one.
test('a Temporal outage: run() fails with TemporalUnreachable, which says so, not with a raw gRPC error', async () => {
  const temporal = await startLocalTemporal();
  const client = await KernClient.connect({ address: temporal.address, taskQueue: 'outage-no-worker' });
  const agent = new Agent({ name: 'Outage Agent', model: new OpenAIResponses({ id: 'gpt-test' }), client });
  try {
    expect((await agent.run('before the outage', { background: true })).status).toBe('PENDING');
    await temporal.teardown();
    const failure = await agent.run('during the outage', { background: true }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TemporalUnreachable);
    expect((failure as Error).message).toBe(
      `the Temporal server at ${temporal.address} is unreachable; try again once it is up`,
    );
    expect(await agent.getRunOutput({ runId: 'any' }).catch((err: unknown) => err)).toBeInstanceOf(TemporalUnreachable);
  } finally {
    await client.close();
  }
}, 90_000);

test('connecting to an address where no Temporal server listens fails with TemporalUnreachable', async () => {
  const failure = await KernClient.connect({ address: '127.0.0.1:1' }).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(TemporalUnreachable);
  expect((failure as Error).message).toBe('the Temporal server at 127.0.0.1:1 is unreachable; try again once it is up');
}, 30_000);
