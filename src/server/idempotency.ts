import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { RunKind } from '../shared/kinds';
import { InvalidRequest } from './http-errors';

/**
 * `Idempotency-Key` on `POST …/runs`: a retried request with the same key, from the same user, to the same
 * component, gets the run the first one started, never a second. No store of keys: the run's id is made from them,
 * and Temporal refuses a second run with an id it still knows (kern starts runs with `REJECT_DUPLICATE`). So a key is
 * remembered while its run goes on and for the namespace's retention period after it closes.
 */

const MAX_KEY_LENGTH = 200;

/** The request's `Idempotency-Key`, if any; one that is empty, too long or has control characters is a 422. */
export function idempotencyKeyIn(c: Context): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f]/.test(key)) {
    throw new InvalidRequest([
      {
        type: 'value_error',
        loc: ['header', 'idempotency-key'],
        msg: `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable characters`,
        input: key,
      },
    ]);
  }
  return key;
}

/**
 * The run id and session id of the request with this key: the same for the same key, user and component, and
 * unguessable without the key. The session is made from the key too, so a retry does not open a second session.
 */
export function idempotentIds(
  kind: RunKind,
  componentId: string,
  userId: string | undefined,
  key: string,
): { runId: string; sessionId: string } {
  const idOf = (purpose: string) =>
    asUuid(
      createHash('sha256')
        .update([purpose, kind, componentId, userId ?? '', key].join('\u0000'))
        .digest(),
    );
  return { runId: idOf('kern run'), sessionId: idOf('kern session') };
}

/** 16 bytes of a hash as a UUID (version 8: made by the application). */
function asUuid(hash: Buffer): string {
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
