import { DefaultLogger, Runtime } from '@temporalio/worker';
import { KernClient } from 'kern';
import { createServer } from 'kern/server';
import { ScriptedModelServer, startLocalTemporal } from 'kern/testing';
import { startWorker } from 'kern/worker';
import app from './test/fixtures/http-app';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await startLocalTemporal();
  const model = await ScriptedModelServer.start({ tokenDelayMs: 20 });
  const client = await KernClient.connect({ address: env.address });
  await startWorker({ app, address: env.address, modelProvider: { baseURL: model.url, apiKey: 'x' } });
  const server = createServer({ app, client });
  const { url } = await server.listen({ port: 7777 });
  console.log('READY', url);
}
void main();
