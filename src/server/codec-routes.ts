import { Hono, type Context } from 'hono';
import type { Payload } from '@temporalio/common';
import { ExternalStorageRunner } from '@temporalio/common/lib/internal-non-workflow/external-storage-runner';
import { z } from 'zod';
import { kernDataConverter, type PayloadSettings } from '../client/data-converter';
import { invalidFields } from './http-errors';

/**
 * Temporal's codec server protocol (`POST /codec/decode`, `/codec/encode`), so that an operator sees kern's payloads
 * as text in the Temporal UI (Settings → Codec Server, endpoint `<kern server>/codec`) and with `temporal … --codec-endpoint`:
 * decode reads a payload kept outside history back from the store, then decrypts it; encode encrypts, then stores a
 * large one. Behind the server's authentication like every route (under JWT it needs `agent_os:admin`: it reads
 * every conversation); the Temporal UI's origin must be among the CORS origins.
 */
export function codecRoutes(settings: PayloadSettings): Hono | undefined {
  const converter = kernDataConverter(settings);
  if (!converter) return undefined;
  const codecs = converter.payloadCodecs ?? [];
  const store = converter.externalStorage ? new ExternalStorageRunner(converter.externalStorage) : undefined;
  return new Hono()
    .post('/decode', async (c) => {
      let payloads = await payloadsIn(c);
      if (store) payloads = await store.retrieve(payloads);
      for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
      return c.json({ payloads: payloads.map(wirePayload) });
    })
    .post('/encode', async (c) => {
      let payloads = await payloadsIn(c);
      for (const codec of codecs) payloads = await codec.encode(payloads);
      if (store) payloads = await store.store(payloads);
      return c.json({ payloads: payloads.map(wirePayload) });
    });
}

/** A payload as the protocol sends it: metadata values and data in base64. */
const WirePayload = z.object({
  metadata: z.record(z.string(), z.string()).default({}),
  data: z.string().default(''),
});
const CodecBody = z.object({ payloads: z.array(WirePayload) });

async function payloadsIn(c: Context): Promise<Payload[]> {
  const body: unknown = await c.req.json().catch(() => undefined);
  const parsed = CodecBody.safeParse(body);
  if (!parsed.success) throw invalidFields(parsed.error.issues, 'body', (body ?? {}) as Record<string, unknown>);
  return parsed.data.payloads.map((payload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data, 'base64'),
  }));
}

function wirePayload(payload: Payload) {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}
