import { createHash } from 'node:crypto';
import {
  StorageDriverClaim,
  type Payload,
  type StorageDriver,
  type StorageDriverRetrieveContext,
  type StorageDriverStoreContext,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type * as S3 from '@aws-sdk/client-s3';
import { InvalidInputError } from '../shared/errors';

/**
 * The payload store for many machines: an S3 bucket (AWS S3, or any S3-compatible store: Ceph, SeaweedFS, Garage, R2,
 * S3Proxy…), with objects named by the SHA-256 of the payload they hold, as the local store names its files. The AWS
 * SDK (`@aws-sdk/client-s3`, an optional peer dependency: install it beside kern) finds the credentials, region and
 * endpoint as it always does: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance or task role,
 * `AWS_REGION`, and `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) for a store other than AWS, which is then addressed
 * by path (`endpoint/bucket/key`), as such stores expect.
 *
 * Every store writes its object again, so an object's last-modified time is its newest write: an S3 lifecycle rule
 * that expires objects after the namespace's retention deletes only what no execution Temporal keeps refers to.
 */
export class S3PayloadStore implements StorageDriver {
  readonly name = 'kern-s3';
  readonly type = 'kern.s3';
  readonly bucket: string;
  /** What every key starts with (`s3://bucket/prefix/…`), `''` or ending in `/`. */
  readonly prefix: string;
  private readonly client: S3.S3Client;
  private readonly sdk: typeof S3;

  /** `location` is `s3://bucket` or `s3://bucket/prefix`. */
  constructor(
    readonly location: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const parsed = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
    if (!parsed) {
      throw new InvalidInputError(`the payload store must be s3://bucket or s3://bucket/prefix, not '${location}'`);
    }
    this.bucket = parsed[1]!;
    const prefix = (parsed[2] ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = prefix ? `${prefix}/` : '';
    this.sdk = loadS3Sdk();
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    this.client = new this.sdk.S3Client({
      // The SDK reads AWS_REGION (or a profile's region); AWS_DEFAULT_REGION, which the AWS CLI reads, too here.
      ...(region ? { region } : {}),
      ...(endpoint
        ? {
            forcePathStyle: true,
            // A store other than AWS may name no region; the SDK insists on one for its signatures.
            ...(region ? {} : { region: 'us-east-1' }),
            // Checksums only where S3 requires them: stores other than AWS do not all take the SDK's newer defaults.
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
    });
  }

  async store(_context: StorageDriverStoreContext, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const bytes = temporal.api.common.v1.Payload.encode(payload).finish();
        const digest = createHash('sha256').update(bytes).digest('hex');
        const key = this.keyOf(digest);
        try {
          await this.client.send(
            new this.sdk.PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: bytes,
              ContentType: 'application/x-protobuf',
            }),
          );
        } catch (err) {
          throw new Error(
            `kern payload store: payload ${digest} could not be written to ${this.location}: ${String(err)}`,
            {
              cause: err,
            },
          );
        }
        return new StorageDriverClaim({ sha256: digest });
      }),
    );
  }

  async retrieve(_context: StorageDriverRetrieveContext, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return Promise.all(
      claims.map(async (claim) => {
        const digest = claim.claimData.sha256 ?? '';
        if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`kern payload store: not a payload reference: ${digest}`);
        let bytes: Uint8Array;
        try {
          const object = await this.client.send(
            new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }),
          );
          bytes = await object.Body!.transformToByteArray();
        } catch (err) {
          const missing = (err as { name?: string }).name === 'NoSuchKey';
          throw new Error(
            missing
              ? `kern payload store: payload ${digest} is not in ${this.location} (expired, or another store?)`
              : `kern payload store: payload ${digest} could not be read from ${this.location}: ${String(err)}`,
            { cause: err },
          );
        }
        if (createHash('sha256').update(bytes).digest('hex') !== digest) {
          throw new Error(`kern payload store: payload ${digest} in ${this.location} is damaged`);
        }
        return temporal.api.common.v1.Payload.decode(bytes) as Payload;
      }),
    );
  }

  /** The object key of a payload: the prefix, the digest's first two characters, the digest. */
  keyOf(digest: string): string {
    return `${this.prefix}${digest.slice(0, 2)}/${digest}`;
  }
}

/** The AWS SDK's S3 client, installed beside kern; else an error that says to install it. */
function loadS3Sdk(): typeof S3 {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: present only if the app installed it
    return require('@aws-sdk/client-s3') as typeof S3;
  } catch {
    throw new InvalidInputError(
      'an S3 payload store (KERN_PAYLOAD_S3) needs the AWS SDK beside kern: npm install @aws-sdk/client-s3',
    );
  }
}
