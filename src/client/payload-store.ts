import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  StorageDriverClaim,
  type Payload,
  type StorageDriver,
  type StorageDriverRetrieveContext,
  type StorageDriverStoreContext,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Large payloads kept outside Temporal's history, with Temporal's own mechanism (`DataConverter.externalStorage`, in
 * the pinned SDK): a payload over the threshold (default 32 KiB) is written to a store and history holds a small
 * reference to it; whoever reads it (worker, client, codec server) reads it back from the store. This is the store
 * for one machine, or for machines that share a directory: a local directory, files named by the SHA-256 of the
 * payload they hold, so a payload written twice (a retried activity, the same input given again) is stored once.
 *
 * Files are never changed once written. Writing a payload again touches its file, and {@link prunePayloadStore}
 * deletes the files untouched for longer than the namespace's retention, after which no execution in Temporal can
 * refer to them any more.
 */

/**
 * The default threshold: 32 KiB, below Temporal's 256 KiB, because a model request carries the whole conversation.
 * A run of many tool rounds sends ever larger requests, and history would hold every one under the threshold: with
 * 256 KiB, a loop of small tool calls still passes kern's 40 MB bound at about 640 rounds (`npm run long-runs`).
 */
export const DEFAULT_PAYLOAD_THRESHOLD_BYTES = 32 * 1024;

/**
 * A store of payloads named by the SHA-256 of their bytes (Temporal's encoding of the payload): what the local and
 * the S3 store share. A store writes and reads bytes by digest; this names them, checks what comes back, and says in
 * every error which payload and which store.
 */
export abstract class ContentAddressedStore implements StorageDriver {
  abstract readonly name: string;
  abstract readonly type: string;
  /** Where the store is, for errors: a directory, `s3://bucket/prefix`. */
  abstract readonly location: string;

  /** Writes a payload's bytes under its digest; writing them again refreshes their time, for retention. */
  protected abstract put(digest: string, bytes: Uint8Array): Promise<void>;
  /** The bytes under a digest; `null` when the store has none. */
  protected abstract get(digest: string): Promise<Uint8Array | null>;

  async store(_context: StorageDriverStoreContext, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const bytes = temporal.api.common.v1.Payload.encode(payload).finish();
        const digest = createHash('sha256').update(bytes).digest('hex');
        try {
          await this.put(digest, bytes);
        } catch (err) {
          throw new Error(`kern payload store: payload ${digest} could not be written to ${this.location}`, {
            cause: err,
          });
        }
        return new StorageDriverClaim({ [SHA256]: digest });
      }),
    );
  }

  async retrieve(_context: StorageDriverRetrieveContext, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return Promise.all(
      claims.map(async (claim) => {
        const digest = claim.claimData[SHA256] ?? '';
        if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`kern payload store: not a payload reference: ${digest}`);
        let bytes: Uint8Array | null;
        try {
          bytes = await this.get(digest);
        } catch (err) {
          throw new Error(`kern payload store: payload ${digest} could not be read from ${this.location}`, {
            cause: err,
          });
        }
        if (!bytes) {
          throw new Error(
            `kern payload store: payload ${digest} is not in ${this.location} (deleted after retention, or another store?)`,
          );
        }
        if (createHash('sha256').update(bytes).digest('hex') !== digest) {
          throw new Error(`kern payload store: payload ${digest} in ${this.location} is damaged`);
        }
        return temporal.api.common.v1.Payload.decode(bytes) as Payload;
      }),
    );
  }
}

/** The claim key: the SHA-256 of the payload, in hex. */
const SHA256 = 'sha256';

/** The store of one machine, or of machines that share a directory: a file per payload, `<dir>/<2 hex>/<sha256>`. */
export class LocalPayloadStore extends ContentAddressedStore {
  readonly name = 'kern-local';
  readonly type = 'kern.local-directory';

  constructor(readonly directory: string) {
    super();
  }

  get location(): string {
    return this.directory;
  }

  protected async put(digest: string, bytes: Uint8Array): Promise<void> {
    const file = this.fileOf(digest);
    const now = new Date();
    try {
      // Stored already: touched, so pruning counts its retention from this write.
      await utimes(file, now, now);
    } catch {
      await mkdir(path.dirname(file), { recursive: true });
      // Written whole or not at all: readers never see half a file.
      const partial = `${file}.${randomUUID()}.partial`;
      await writeFile(partial, bytes);
      await rename(partial, file);
    }
  }

  protected async get(digest: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.fileOf(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private fileOf(digest: string): string {
    return path.join(this.directory, digest.slice(0, 2), digest);
  }
}

/**
 * Deletes the payloads in `directory` not written for `retentionMs` (the namespace's retention: no execution Temporal
 * still keeps can refer to them). Returns how many it deleted. `kern payloads prune` runs it.
 */
export async function prunePayloadStore(directory: string, retentionMs: number): Promise<number> {
  const before = Date.now() - retentionMs;
  let deleted = 0;
  for (const folder of await readdir(directory).catch(() => [])) {
    const inFolder = path.join(directory, folder);
    for (const name of await readdir(inFolder).catch(() => [])) {
      const file = path.join(inFolder, name);
      const { mtimeMs } = await stat(file);
      if (mtimeMs < before) {
        await rm(file, { force: true });
        deleted++;
      }
    }
  }
  return deleted;
}
