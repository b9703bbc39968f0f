import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InvalidInputError } from '../shared/errors';

/**
 * Payloads encrypted at rest: a Temporal payload codec (AES-256-GCM) that the client, the worker and the codec server
 * share, so prompts, answers, tool calls and results, session turns and memos are ciphertext in Temporal's database
 * and history, and plain text only in kern's processes. Search attributes are not payloads and stay readable: they
 * hold ids, statuses and names, never content.
 *
 * Keys have ids. New payloads are encrypted with the first key; every key decrypts the payloads written with it, so a
 * key is rotated by putting the new one first and keeping the old ones until no run or session needs them.
 *
 * The 12-byte nonce is derived from the payload and the key (HMAC-SHA-256), as in a synthetic-IV scheme: the same
 * payload encrypted with the same key gives the same bytes, so a payload kept outside history
 * (`KERN_PAYLOAD_DIR`) is stored once however often it is written, and two different payloads never share a nonce.
 * What it shows an observer: that two payloads are equal.
 */

/** The payload encoding of an encrypted payload, as Temporal's samples name it. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key that names the key a payload was encrypted with. */
export const ENCRYPTION_KEY_ID = 'encryption-key-id';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One AES-256 key and its id. */
export interface EncryptionKey {
  id: string;
  /** 32 bytes. */
  key: Uint8Array;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, { key: Uint8Array; nonceKey: Buffer }>;
  private readonly current: string;

  /** `keys`: the first encrypts; each decrypts what was encrypted with it. */
  constructor(keys: EncryptionKey[]) {
    if (keys.length === 0) throw new InvalidInputError('encryption: give at least one key');
    this.keys = new Map();
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new InvalidInputError(`encryption: key '${id}' must be 32 bytes (AES-256)`);
      if (this.keys.has(id)) throw new InvalidInputError(`encryption: key id '${id}' is given twice`);
      this.keys.set(id, { key, nonceKey: createHmac('sha256', key).update('kern payload nonce').digest() });
    }
    this.current = keys[0]!.id;
  }

  /** The id new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { key, nonceKey } = this.keys.get(this.current)!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const nonce = createHmac('sha256', nonceKey).update(plain).digest().subarray(0, NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: encoder.encode(ENCRYPTED_ENCODING), [ENCRYPTION_KEY_ID]: encoder.encode(this.current) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[ENCRYPTION_KEY_ID];
      const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : '';
      const found = this.keys.get(keyId);
      if (!found) {
        throw new Error(`kern cannot decrypt a payload encrypted with key '${keyId}': add it to KERN_ENCRYPTION_KEYS`);
      }
      const data = payload.data ?? new Uint8Array();
      const nonce = data.subarray(0, NONCE_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', found.key, nonce);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/**
 * The keys in `KERN_ENCRYPTION_KEYS`: `id:base64,id:base64…`, newest first (it encrypts); each key 32 bytes, for
 * example from `openssl rand -base64 32`. `undefined` when the variable is unset or empty.
 */
export function encryptionKeysFrom(text: string | undefined): EncryptionKey[] | undefined {
  if (!text?.trim()) return undefined;
  return text.split(',').map((entry) => {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at).trim();
    const key = Buffer.from(entry.slice(at + 1).trim(), 'base64');
    if (at <= 0 || key.length !== 32) {
      // The entry itself is a secret: the message names its position, never its text.
      throw new InvalidInputError(
        `KERN_ENCRYPTION_KEYS: entry ${text.split(',').indexOf(entry) + 1} must be <id>:<32 bytes in base64>`,
      );
    }
    return { id, key };
  });
}
