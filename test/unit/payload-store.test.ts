import { mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EncryptionCodec, LocalPayloadStore, prunePayloadStore } from 'kern';
import { encryptionKeysFrom } from '../../src/client/payload-encryption';

const payload = (text: string) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(text) });
const filesIn = (directory: string) =>
  readdirSync(directory).flatMap((folder) =>
    readdirSync(path.join(directory, folder)).map((f) => path.join(directory, folder, f)),
  );

test('the local store keeps a payload written twice once, reads it back, and prunes what retention has passed', async () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'kern-store-'));
  const store = new LocalPayloadStore(directory);
  const [first] = await store.store({}, [payload('a large answer')]);
  const [again] = await store.store({}, [payload('a large answer')]);
  await store.store({}, [payload('another one')]);
  expect(again!.claimData).toEqual(first!.claimData);
  expect(filesIn(directory)).toHaveLength(2);
  const [read] = await store.retrieve({}, [first!]);
  expect(Buffer.from(read!.data!).toString()).toBe('a large answer');

  const old = filesIn(directory).find((file) => file.endsWith(first!.claimData.sha256!))!;
  const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
  utimesSync(old, longAgo, longAgo);
  expect(await prunePayloadStore(directory, 30 * 24 * 3600 * 1000)).toBe(1);
  await expect(store.retrieve({}, [first!])).rejects.toThrow(
    /is not in .* \(deleted after retention, or another store\?\)/,
  );
});

test('encryption: equal payloads give equal bytes, any change is refused, and key settings are checked without echoing them', async () => {
  const codec = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
  const [a] = await codec.encode([payload('same')]);
  const [b] = await codec.encode([payload('same')]);
  const [c] = await codec.encode([payload('other')]);
  expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(true);
  expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(c!.data!).subarray(0, 12))).toBe(false);
  expect(Buffer.from((await codec.decode([a!]))[0]!.data!).toString()).toBe('same');
  const tampered = { ...a!, data: Buffer.from(a!.data!) };
  tampered.data.writeUInt8(tampered.data.readUInt8(20) ^ 1, 20);
  await expect(codec.decode([tampered])).rejects.toThrow();

  const key = randomBytes(32).toString('base64');
  expect(encryptionKeysFrom(`new:${key},old:${key}`)!.map((k) => k.id)).toEqual(['new', 'old']);
  expect(() => encryptionKeysFrom(`new:${key},old:c2hvcnQ=`)).toThrow('entry 2 must be <id>:<32 bytes in base64>');
  expect(() => encryptionKeysFrom(`new:${key},old:c2hvcnQ=`)).not.toThrow(/c2hvcnQ/);
  expect(encryptionKeysFrom('  ')).toBeUndefined();
});
