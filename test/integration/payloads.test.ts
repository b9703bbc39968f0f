import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Payload } from '@temporalio/common';
import { Agent, EncryptionCodec, KernClient, OpenAIResponses, defineApp, type PayloadSettings } from 'kern';
import { createServer } from 'kern/server';
import { startHarness, type Harness } from '../support/harness';

const run = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Temporal's CLI output, read as JSON
type Wire = any;
const model = new OpenAIResponses({ id: 'gpt-test' });
const app = defineApp({ agents: [new Agent({ name: 'Vault', model })] });
const oldKey = { id: 'key-2026-06', key: randomBytes(32) };
const newKey = { id: 'key-2026-12', key: randomBytes(32) };
const directory = mkdtempSync(path.join(tmpdir(), 'kern-payloads-'));
/** Small enough that a model request with the long input below is kept outside history. */
const settings = (keys = [oldKey]): PayloadSettings => ({
  encryptionKeys: keys,
  payloadDirectory: directory,
  payloadThresholdBytes: 4096,
});

let h: Harness;
const clients: KernClient[] = [];
beforeAll(async () => {
  h = await startHarness(app);
  await h.stopWorker();
  await h.startWorker(app, { payloads: settings() });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await h.close();
});

async function clientWith(payloads: PayloadSettings): Promise<KernClient> {
  const client = await KernClient.connect({
    address: process.env.KERN_TEST_TEMPORAL_ADDRESS!,
    taskQueue: h.taskQueue,
    payloads,
  });
  clients.push(client);
  return client;
}

/** A run's history as Temporal keeps it, read by a client with no keys and no payload store. */
async function storedHistory(runId: string): Promise<string> {
  const history = await h.client.temporal.workflow.getHandle(`kern-run-${runId}`).fetchHistory();
  return JSON.stringify(history);
}
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** The text of every payload in `node` (a history, read by a client with the store), decrypted. */
async function decodedPayloads(node: unknown, codec: EncryptionCodec): Promise<string> {
  if (Array.isArray(node)) return (await Promise.all(node.map((item) => decodedPayloads(item, codec)))).join('\n');
  if (!node || typeof node !== 'object') return '';
  const record = node as Record<string, unknown>;
  if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
    const [payload] = await codec.decode([record as Payload]);
    return Buffer.from(payload!.data ?? []).toString();
  }
  return (await Promise.all(Object.values(record).map((value) => decodedPayloads(value, codec)))).join('\n');
}
const storedFiles = () =>
  readdirSync(directory).flatMap((folder) =>
    readdirSync(path.join(directory, folder)).map((f) => path.join(directory, folder, f)),
  );

test('prompts and answers are ciphertext in Temporal and in the payload store; kern reads them as text', async () => {
  const id = randomUUID();
  const client = await clientWith(settings());
  const vault = new Agent({ name: 'Vault', model, client });
  const secret = `secret word ${id} ${'and more words '.repeat(400)}`;
  h.model.replyWhen((request) => request.lastUserText.startsWith(`secret word ${id}`), { text: `kept ${id}` });
  const output = await vault.run(secret);
  expect(output.content).toBe(`kept ${id}`);
  expect((await client.getRunOutput(output.runId))?.input).toBe(secret);

  const history = await storedHistory(output.runId);
  expect(history).not.toContain(id);
  expect(history).not.toContain(base64(`secret word ${id}`).slice(0, 16));
  expect(history).not.toContain('test-key-never-in-history');
  // Every payload is encrypted with the current key, or is a reference to one kept in the store.
  expect(history).toContain(base64('binary/encrypted'));
  expect(history).toContain(base64(oldKey.id));
  expect(history).toContain(base64('temporal.api.sdk.v1.ExternalStorageReference'));
  // Decoded (read back from the store and decrypted, as a codec server does), every payload of the history, memos
  // and events included, holds the conversation and never the model's API key.
  const decoded = await decodedPayloads(
    await client.temporal.workflow.getHandle(`kern-run-${output.runId}`).fetchHistory(),
    new EncryptionCodec([oldKey]),
  );
  expect(decoded).toContain(`secret word ${id}`);
  expect(decoded).toContain(`kept ${id}`);
  expect(decoded).not.toContain('test-key-never-in-history');
  const files = storedFiles();
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) expect(readFileSync(file).toString('latin1')).not.toContain(id);

  // The listing is from visibility: its search attributes hold no content, and stay readable.
  const { runs } = await client.listRuns({ sessionId: output.sessionId });
  expect(runs.map((run) => run.runId)).toContain(output.runId);
});

test('keys rotate: new payloads with the newest key, older runs still read; a client without the old key is told which', async () => {
  const id = randomUUID();
  const before = await new Agent({ name: 'Vault', model, client: await clientWith(settings()) }).run(`before ${id}`);

  await h.stopWorker();
  await h.startWorker(app, { payloads: settings([newKey, oldKey]) });
  const rotated = await clientWith(settings([newKey, oldKey]));
  const after = await new Agent({ name: 'Vault', model, client: rotated }).run(`after ${id}`);
  expect(after.status).toBe('COMPLETED');
  expect((await rotated.getRunOutput(before.runId))?.input).toBe(`before ${id}`);
  const afterHistory = await storedHistory(after.runId);
  expect(afterHistory).toContain(base64(newKey.id));
  expect(afterHistory).not.toContain(base64(oldKey.id));

  const newOnly = await clientWith(settings([newKey]));
  await expect(newOnly.getRunOutput(before.runId)).rejects.toThrow(/encrypted with key 'key-2026-06'/);
});

test("the codec server decodes what Temporal keeps, for the Temporal UI's origin, behind the server's key", async () => {
  const id = randomUUID();
  const client = await clientWith(settings([newKey, oldKey]));
  const output = await new Agent({ name: 'Vault', model, client }).run(`decode me ${id}`);
  const history = await h.client.temporal.workflow.getHandle(`kern-run-${output.runId}`).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const wire = {
    metadata: Object.fromEntries(
      Object.entries(input.metadata!).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
    data: Buffer.from(input.data!).toString('base64'),
  };

  const server = createServer({
    app,
    client,
    payloads: settings([newKey, oldKey]),
    securityKey: 'codec-test-key',
    corsOrigins: ['http://localhost:8233'],
  });
  const { url } = await server.listen({ port: 0 });
  try {
    const decode = (headers: Record<string, string>) =>
      fetch(`${url}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://localhost:8233', ...headers },
        body: JSON.stringify({ payloads: [wire] }),
      });
    expect((await decode({})).status).toBe(401);
    const decoded = await decode({ authorization: 'Bearer codec-test-key' });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const [payload] = (
      (await decoded.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> }
    ).payloads;
    expect(Buffer.from(payload!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payload!.data, 'base64').toString())).toMatchObject({ input: `decode me ${id}` });

    const preflight = await fetch(`${url}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const bad = await fetch(`${url}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer codec-test-key' },
      body: JSON.stringify({ payloads: 'none' }),
    });
    expect(bad.status).toBe(422);

    // Temporal's own CLI: `temporal workflow show` prints ciphertext and references, and the prompt once it is
    // pointed at the codec server.
    const show = (...extra: string[]) =>
      run(
        path.join(__dirname, '../../.temporal/bin/temporal'),
        [
          'workflow',
          'show',
          '-w',
          `kern-run-${output.runId}`,
          '--address',
          process.env.KERN_TEST_TEMPORAL_ADDRESS!,
        ].concat(['--output', 'json', ...extra]),
        { maxBuffer: 16 * 1024 * 1024 },
      );
    /** The input and the summary of the run, as `temporal workflow show --output json` printed them. */
    const shown = (stdout: string) => {
      const started = (JSON.parse(stdout) as { events: Array<Record<string, Wire>> }).events[0]!;
      const text = (payload: Wire) => ({
        encoding: Buffer.from(payload.metadata.encoding, 'base64').toString(),
        data: Buffer.from(payload.data, 'base64').toString('latin1'),
      });
      return {
        input: text(started.workflowExecutionStartedEventAttributes.input.payloads[0]),
        summary: text(started.userMetadata.summary),
      };
    };
    const plain = shown((await show()).stdout);
    expect(plain.input.encoding).toBe('binary/encrypted');
    expect(plain.summary.encoding).toBe('binary/encrypted');
    expect(JSON.stringify(plain)).not.toContain(id);
    const decodedShow = shown(
      (await show('--codec-endpoint', `${url}/codec`, '--codec-auth', 'Bearer codec-test-key')).stdout,
    );
    expect(decodedShow.input.encoding).toBe('json/plain');
    expect(JSON.parse(decodedShow.input.data)).toMatchObject({ input: `decode me ${id}` });
    expect(JSON.parse(decodedShow.summary.data)).toBe(`Vault: decode me ${id}`);
  } finally {
    await server.close();
  }
});

test('with the store, a 3 MB answer is returned whole, by getRunOutput and over HTTP', async () => {
  const id = randomUUID();
  const client = await clientWith(settings([newKey, oldKey]));
  // 300 words of 10,000 characters: 3 MB, more than a payload Temporal takes.
  const answer = Array.from({ length: 300 }, (_, n) => `${String(n).padStart(4, '0')}${'x'.repeat(9995)} `).join('');
  h.model.replyWhen(`long answer ${id}`, { text: answer });
  const output = await new Agent({ name: 'Vault', model, client }).run(`long answer ${id}`);
  expect(output.status).toBe('COMPLETED');
  expect((await client.getRunOutput(output.runId))?.content).toBe(answer);
  const server = createServer({ app, client, payloads: settings([newKey, oldKey]) });
  try {
    const response = await server.fetch(new Request(`http://localhost/agents/vault/runs/${output.runId}`));
    expect(((await response.json()) as { content: string }).content).toBe(answer);
  } finally {
    await server.close();
  }
});
