import { ExternalStorage, type DataConverter } from '@temporalio/common';
import { InvalidInputError } from '../shared/errors';
import { EncryptionCodec, encryptionKeysFrom, type EncryptionKey } from './payload-encryption';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES, LocalPayloadStore } from './payload-store';
import { S3PayloadStore } from './s3-payload-store';

/**
 * How kern's payloads are kept in Temporal: encrypted (`encryptionKeys`), and the large ones outside history
 * (`payloadDirectory` on one machine, `payloadBucket` for many). The client, every worker and the codec server must be
 * given the same settings: a worker without the keys cannot read an encrypted run, and one without the store cannot
 * read a stored payload.
 */
export interface PayloadSettings {
  /** AES-256 keys by id, the first for new payloads (see `EncryptionCodec`). Env: `KERN_ENCRYPTION_KEYS`. */
  encryptionKeys?: EncryptionKey[];
  /** Where payloads of `payloadThresholdBytes` and more are kept, outside history. Env: `KERN_PAYLOAD_DIR`. */
  payloadDirectory?: string;
  /**
   * Or an S3 bucket for them, `s3://bucket` or `s3://bucket/prefix` (see `S3PayloadStore`: needs `@aws-sdk/client-s3`
   * installed beside kern). Env: `KERN_PAYLOAD_S3`.
   */
  payloadBucket?: string;
  /** Default 32 KiB (see `DEFAULT_PAYLOAD_THRESHOLD_BYTES`). Env: `KERN_PAYLOAD_THRESHOLD_BYTES`. */
  payloadThresholdBytes?: number;
}

/**
 * The settings from the environment (`KERN_ENCRYPTION_KEYS`, `KERN_PAYLOAD_DIR` or `KERN_PAYLOAD_S3`,
 * `KERN_PAYLOAD_THRESHOLD_BYTES`).
 */
export function payloadSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadSettings {
  const keys = encryptionKeysFrom(env.KERN_ENCRYPTION_KEYS);
  const threshold = env.KERN_PAYLOAD_THRESHOLD_BYTES;
  if (threshold !== undefined && !/^\d+$/.test(threshold.trim())) {
    throw new InvalidInputError(`KERN_PAYLOAD_THRESHOLD_BYTES must be a number of bytes, not '${threshold}'`);
  }
  return {
    ...(keys ? { encryptionKeys: keys } : {}),
    ...(env.KERN_PAYLOAD_DIR ? { payloadDirectory: env.KERN_PAYLOAD_DIR } : {}),
    ...(env.KERN_PAYLOAD_S3 ? { payloadBucket: env.KERN_PAYLOAD_S3 } : {}),
    ...(threshold !== undefined ? { payloadThresholdBytes: Number(threshold) } : {}),
  };
}

/** Temporal's data converter for `settings`; `undefined` when they ask for nothing (Temporal's default then). */
export function kernDataConverter(settings: PayloadSettings): DataConverter | undefined {
  const { encryptionKeys, payloadDirectory, payloadBucket } = settings;
  if (payloadDirectory && payloadBucket) {
    throw new InvalidInputError(
      'payloads are kept in one store: give a directory (KERN_PAYLOAD_DIR) or a bucket (KERN_PAYLOAD_S3), not both',
    );
  }
  const store = payloadBucket
    ? new S3PayloadStore(payloadBucket)
    : payloadDirectory
      ? new LocalPayloadStore(payloadDirectory)
      : undefined;
  if (!encryptionKeys && !store) return undefined;
  const payloadSizeThreshold = settings.payloadThresholdBytes ?? DEFAULT_PAYLOAD_THRESHOLD_BYTES;
  return {
    ...(encryptionKeys ? { payloadCodecs: [new EncryptionCodec(encryptionKeys)] } : {}),
    ...(store ? { externalStorage: new ExternalStorage({ drivers: [store], payloadSizeThreshold }) } : {}),
  };
}
