import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A real S3-compatible server for the tests: S3Proxy (Apache-2.0, from Maven Central), in memory (its `transient`
 * backend), on a free port of this machine. Its jar is downloaded once into the user's cache and checked against
 * Maven Central's SHA-1. Needs Java 17 or newer.
 */

const VERSION = '4.1.0';
const JAR_URL = `https://repo1.maven.org/maven2/org/gaul/s3proxy/${VERSION}/s3proxy-${VERSION}-jar-with-dependencies.jar`;
const CACHE = path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'kern');

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** The jar, from the cache or downloaded into it. */
export async function s3ProxyJar(): Promise<string> {
  const jar = path.join(CACHE, `s3proxy-${VERSION}.jar`);
  if (existsSync(jar)) return jar;
  mkdirSync(CACHE, { recursive: true });
  const [body, sha1] = await Promise.all([
    fetch(JAR_URL).then(async (response) => {
      if (!response.ok) throw new Error(`S3Proxy: ${JAR_URL} answered ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    }),
    fetch(`${JAR_URL}.sha1`).then((response) => response.text()),
  ]);
  const digest = createHash('sha1').update(body).digest('hex');
  if (digest !== sha1.trim().slice(0, 40)) throw new Error(`S3Proxy: ${JAR_URL} does not match its SHA-1`);
  const partial = `${jar}.${process.pid}.partial`;
  writeFileSync(partial, body);
  renameSync(partial, jar);
  return jar;
}

/** Starts S3Proxy and resolves once it listens. */
export async function startS3Server(): Promise<S3Server> {
  const jar = await s3ProxyJar();
  const port = await freePort();
  const accessKeyId = 'kern-test';
  const secretAccessKey = 'kern-test-secret';
  const endpoint = `http://127.0.0.1:${port}`;
  const properties = path.join(tmpdir(), `kern-s3proxy-${port}.properties`);
  writeFileSync(
    properties,
    [
      `s3proxy.endpoint=${endpoint}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${accessKeyId}`,
      `s3proxy.credential=${secretAccessKey}`,
      'jclouds.provider=transient',
      `jclouds.identity=${accessKeyId}`,
      `jclouds.credential=${secretAccessKey}`,
    ].join('\n'),
  );
  const child: ChildProcess = spawn('java', ['-jar', jar, '--properties', properties], { stdio: 'pipe' });
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failed: Error | undefined;
  child.once('error', (err) => (failed = err));
  const deadline = Date.now() + 60_000;
  while (!/Started .*ServerConnector/.test(printed)) {
    if (failed) throw new Error(`S3Proxy needs Java 17 or newer as \`java\` on the PATH: ${failed.message}`);
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`S3Proxy did not start:\n${printed || readFileSync(properties, 'utf8')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
