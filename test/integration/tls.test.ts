import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, KernClient, OpenAIResponses, RunStatus, TemporalUnreachable, defineApp } from 'kern';
import { startWorker, type KernWorker } from 'kern/worker';
import { ScriptedModelServer } from 'kern/testing';
import { startGrpcTlsProxy, type GrpcTlsProxy } from '../support/grpc-tls-proxy';

/**
 * Reaching Temporal as a cluster or Temporal Cloud asks: over TLS, with an API key, set the way Temporal's own tools
 * read them (`TEMPORAL_TLS_*`, `TEMPORAL_API_KEY`), through a real TLS endpoint in front of the test's Temporal server.
 */

const tlsDir = path.resolve(__dirname, '../fixtures/tls');
const model = new OpenAIResponses({ id: 'gpt-test' });
const agent = new Agent({ name: 'Over TLS', model });
const app = defineApp({ agents: [agent] });
const TASK_QUEUE = 'tls-test';
const API_KEY = 'test-api-key-sent-as-bearer';

let proxy: GrpcTlsProxy;
let modelServer: ScriptedModelServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  proxy = await startGrpcTlsProxy(process.env.KERN_TEST_TEMPORAL_ADDRESS!, {
    key: readFileSync(path.join(tlsDir, 'server.key')),
    cert: readFileSync(path.join(tlsDir, 'server.pem')),
  });
  modelServer = await ScriptedModelServer.start();
});
afterAll(async () => {
  process.env = savedEnv;
  await modelServer.close();
  await proxy.close();
});

/** The environment a user sets to reach the cluster; `caFile` is the CA they trust. */
function useCluster(caFile: string): void {
  process.env = {
    ...savedEnv,
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(tlsDir, caFile),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_API_KEY: API_KEY,
  };
}

test('a client and a worker set up by environment run an agent over TLS, sending the API key', async () => {
  useCluster('ca.pem');
  const client = await KernClient.connect({ taskQueue: TASK_QUEUE });
  let worker: KernWorker | undefined;
  try {
    worker = await startWorker({
      app,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! },
      modelProvider: { baseURL: modelServer.url, apiKey: 'model-key' },
    });
    modelServer.replyWhen('over tls', { text: 'Encrypted all the way.' });
    const output = await new Agent({ name: 'Over TLS', model, client }).run('over tls');
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Encrypted all the way.' });

    // Every call went through the TLS endpoint with the key: the client's and the worker's polls alike.
    const paths = proxy.calls.map((call) => String(call[':path']));
    expect(paths).toEqual(expect.arrayContaining([expect.stringContaining('StartWorkflowExecution')]));
    expect(paths).toEqual(expect.arrayContaining([expect.stringContaining('PollWorkflowTaskQueue')]));
    expect(proxy.calls.every((call) => call.authorization === `Bearer ${API_KEY}`)).toBe(true);
  } finally {
    await worker?.shutdown();
    await client.close();
  }
});

test('a certificate the client does not trust: a clear error naming the address, in seconds, not a hang', async () => {
  useCluster('other-ca.pem');
  const started = Date.now();
  const failure = await KernClient.connect({ taskQueue: TASK_QUEUE }).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(TemporalUnreachable);
  expect((failure as Error).message).toContain(`the Temporal server at ${proxy.address} is unreachable`);
  expect((failure as Error).message).toContain('check the address and its TLS settings');
  expect(Date.now() - started).toBeLessThan(20_000);

  const workerFailure = await startWorker({
    app,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! },
  }).catch((err: unknown) => err);
  expect(workerFailure).toBeInstanceOf(TemporalUnreachable);
  expect((workerFailure as Error).message).toContain(proxy.address);
}, 60_000);
