/**
 * `npm run serve:local`: kern's HTTP API on http://localhost:7777 for trying it by hand, with nothing else running.
 *
 * Starts an in-memory Temporal dev server on a free port, kern's stand-in model server (or OpenAI, when
 * OPENAI_API_KEY is set), a worker and the server for examples/app.ts (the storytelling team and the content
 * workflow). Ctrl-C stops everything. `scripts/agentos-client-check.py` drives it with the Python framework's client.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { KernClient } from 'kern';
import { createServer } from 'kern/server';
import { ScriptedModelServer, startLocalTemporal } from 'kern/testing';
import { startWorker } from 'kern/worker';
import app from '../examples/app';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await startLocalTemporal();
  const standIn = process.env.OPENAI_API_KEY ? undefined : await ScriptedModelServer.start({ tokenDelayMs: 20 });
  const client = await KernClient.connect({ address: temporal.address });
  const worker = await startWorker({
    app,
    address: temporal.address,
    ...(standIn ? { modelProvider: { baseURL: standIn.url, apiKey: 'stand-in' } } : {}),
  });
  const server = createServer({ app, client });
  const { url } = await server.listen({ port: Number(process.env.PORT ?? 7777) });
  console.log(`kern serve: ${url} (Temporal at ${temporal.address}${standIn ? ', stand-in model' : ''}; Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await worker.shutdown();
  await client.close();
  await standIn?.close();
  await temporal.teardown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
