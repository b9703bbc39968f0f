import type * as S3 from '@aws-sdk/client-s3';
import { InvalidInputError } from '../shared/errors';
import { ContentAddressedStore } from './payload-store';

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
export class S3PayloadStore extends ContentAddressedStore {
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
    super();
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

  protected async put(digest: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new this.sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keyOf(digest),
        Body: bytes,
        ContentType: 'application/x-protobuf',
      }),
    );
  }

  protected async get(digest: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }),
      );
      return await object.Body!.transformToByteArray();
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
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
