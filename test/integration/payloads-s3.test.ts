import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { StorageDriverClaim } from '@temporalio/common';
import {
  Agent,
  KernClient,
  OpenAIResponses,
  S3PayloadStore,
  defineApp,
  kernDataConverter,
  type PayloadSettings,
} from 'kern';
import { createServer } from 'kern/server';
import { startHarness, type Harness } from '../support/harness';
import { startS3Server, type S3Server } from '../support/s3proxy';

/**
 * Large payloads in an S3 bucket, for workers on many machines: against a real S3-compatible server (S3Proxy), through
 * the AWS SDK configured the standard way (AWS_ENDPOINT_URL_S3 and the AWS_* credentials).
 */

const model = new OpenAIResponses({ id: 'gpt-test' });
const app = defineApp({ agents: [new Agent({ name: 'Archivist', model })] });
const bucket = `kern-payloads-${randomUUID().slice(0, 8)}`;
const location = `s3://${bucket}/runs`;
/** Small enough that a model request with the long input below is kept in the bucket. */
const settings: PayloadSettings = { payloadBucket: location, payloadThresholdBytes: 4096 };

const ENV = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;
const savedEnv = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));

let s3: S3Server;
let sdk: S3Client;
let h: Harness;
let client: KernClient;
beforeAll(async () => {
  s3 = await startS3Server();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  sdk = new S3Client({ forcePathStyle: true });
  await sdk.send(new CreateBucketCommand({ Bucket: bucket }));
  h = await startHarness(app);
  await h.stopWorker();
  await h.startWorker(app, { payloads: settings });
  client = await KernClient.connect({
    address: process.env.KERN_TEST_TEMPORAL_ADDRESS!,
    taskQueue: h.taskQueue,
    payloads: settings,
  });
}, 120_000);
afterAll(async () => {
  await client?.close();
  await h?.close();
  sdk?.destroy();
  await s3?.stop();
  for (const name of ENV) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

async function storedKeys(): Promise<string[]> {
  const listed = await sdk.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

test('large payloads go to the bucket, named by their content; history holds references; every reader gets them back', async () => {
  const id = randomUUID();
  const archivist = new Agent({ name: 'Archivist', model, client });
  const long = `archive ${id} ${'many words to keep '.repeat(400)}`;
  h.model.replyWhen((request) => request.lastUserText.startsWith(`archive ${id}`), { text: `archived ${id}` });
  const output = await archivist.run(long);
  expect(output).toMatchObject({ status: 'COMPLETED', content: `archived ${id}` });
  expect((await client.getRunOutput(output.runId))?.input).toBe(long);

  // History holds references to the bucket's objects where the long input was: the run's input, its model request
  // and its output. (The run's summary, for the Temporal UI, keeps its first words.)
  const { events } = await h.client.temporal.workflow.getHandle(`kern-run-${output.runId}`).fetchHistory();
  const reference = Buffer.from('temporal.api.sdk.v1.ExternalStorageReference').toString('base64');
  const messageTypes = [
    events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!,
    events!.find((event) => event.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!.input!
      .payloads![0]!,
    events!.at(-1)!.workflowExecutionCompletedEventAttributes!.result!.payloads![0]!,
  ].map((payload) => Buffer.from(payload.metadata!.messageType!).toString('base64'));
  expect(messageTypes).toEqual([reference, reference, reference]);
  expect(JSON.stringify(events)).not.toContain(Buffer.from('many words to keep many words').toString('base64'));

  // Objects under the prefix, each named by the SHA-256 of what it holds.
  const keys = await storedKeys();
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) expect(key).toMatch(/^runs\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
  const first = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0]! }));
  expect(Buffer.from(await first.Body!.transformToByteArray()).toString('latin1')).toContain('many words to keep');

  // Another process's reader, the HTTP server, reads the output from the same bucket.
  const server = createServer({ app, client, payloads: settings });
  try {
    const response = await server.fetch(new Request(`http://localhost/agents/archivist/runs/${output.runId}`));
    expect(await response.json()).toMatchObject({ run_id: output.runId, content: `archived ${id}` });
  } finally {
    await server.close();
  }
});

test('a payload stored twice is one object; a missing one is an error naming the bucket; bad settings are refused', async () => {
  const store = new S3PayloadStore(location);
  const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(`"twice ${randomUUID()}"`) };
  const before = await storedKeys();
  const [claim, again] = await store.store({} as never, [payload, payload]);
  expect(again!.claimData).toEqual(claim!.claimData);
  const after = await storedKeys();
  expect(after.length).toBe(before.length + 1);
  const [back] = await store.retrieve({} as never, [claim!]);
  expect(Buffer.from(back!.data!).toString()).toBe(Buffer.from(payload.data).toString());

  await sdk.send(new DeleteObjectCommand({ Bucket: bucket, Key: store.keyOf(claim!.claimData.sha256!) }));
  await expect(store.retrieve({} as never, [claim!])).rejects.toThrow(
    `kern payload store: payload ${claim!.claimData.sha256} is not in ${location} (deleted after retention, or another store?)`,
  );
  await expect(store.retrieve({} as never, [new StorageDriverClaim({ sha256: '../etc' })])).rejects.toThrow(
    'not a payload reference',
  );

  expect(() => new S3PayloadStore('https://example.com/bucket')).toThrow(
    "the payload store must be s3://bucket or s3://bucket/prefix, not 'https://example.com/bucket'",
  );
  expect(() => kernDataConverter({ payloadDirectory: '/tmp/payloads', payloadBucket: location })).toThrow(
    'payloads are kept in one store: give a directory (KERN_PAYLOAD_DIR) or a bucket (KERN_PAYLOAD_S3), not both',
  );
});
