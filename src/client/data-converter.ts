import type { DataConverter } from '@temporalio/common';
import { InvalidInputError } from '../shared/errors';
import { EncryptionCodec, encryptionKeysFrom, type EncryptionKey } from './payload-encryption';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES, localExternalStorage } from './payload-store';

/**
 * How kern's payloads are kept in Temporal: encrypted (`encryptionKeys`), and the large ones outside history
 * (`payloadDirectory`). The client, every worker and the codec server must be given the same settings: a worker
 * without the keys cannot read an encrypted run, and one without the directory cannot read a stored payload.
 */
export interface PayloadSettings {
  /** AES-256 keys by id, the first for new payloads (see `EncryptionCodec`). Env: `KERN_ENCRYPTION_KEYS`. */
  encryptionKeys?: EncryptionKey[];
  /** Where payloads of `payloadThresholdBytes` and more are kept, outside history. Env: `KERN_PAYLOAD_DIR`. */
  payloadDirectory?: string;
  /** Default 32 KiB (see `DEFAULT_PAYLOAD_THRESHOLD_BYTES`). Env: `KERN_PAYLOAD_THRESHOLD_BYTES`. */
  payloadThresholdBytes?: number;
}

/** The settings from the environment (`KERN_ENCRYPTION_KEYS`, `KERN_PAYLOAD_DIR`, `KERN_PAYLOAD_THRESHOLD_BYTES`). */
export function payloadSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadSettings {
  const keys = encryptionKeysFrom(env.KERN_ENCRYPTION_KEYS);
  const threshold = env.KERN_PAYLOAD_THRESHOLD_BYTES;
  if (threshold !== undefined && !/^\d+$/.test(threshold.trim())) {
    throw new InvalidInputError(`KERN_PAYLOAD_THRESHOLD_BYTES must be a number of bytes, not '${threshold}'`);
  }
  return {
    ...(keys ? { encryptionKeys: keys } : {}),
    ...(env.KERN_PAYLOAD_DIR ? { payloadDirectory: env.KERN_PAYLOAD_DIR } : {}),
    ...(threshold !== undefined ? { payloadThresholdBytes: Number(threshold) } : {}),
  };
}

/** Temporal's data converter for `settings`; `undefined` when they ask for nothing (Temporal's default then). */
export function kernDataConverter(settings: PayloadSettings): DataConverter | undefined {
  const { encryptionKeys, payloadDirectory, payloadThresholdBytes = DEFAULT_PAYLOAD_THRESHOLD_BYTES } = settings;
  if (!encryptionKeys && !payloadDirectory) return undefined;
  return {
    ...(encryptionKeys ? { payloadCodecs: [new EncryptionCodec(encryptionKeys)] } : {}),
    ...(payloadDirectory ? { externalStorage: localExternalStorage(payloadDirectory, payloadThresholdBytes) } : {}),
  };
}
