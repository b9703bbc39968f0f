import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { kernSearchAttributes } from '../../src/shared/search-attributes';

/**
 * A Temporal dev server of a test's own, in a process the test can SIGKILL and start again on the same port and the
 * same database file, as an operator's restart would. (`startLocalTemporal` hides its process; this one shows it.)
 */
export class KillableTemporal {
  private process: ChildProcess | undefined;

  private constructor(
    private readonly cli: string,
    private readonly port: number,
    private readonly directory: string,
  ) {}

  static async start(): Promise<KillableTemporal> {
    const cli = execFileSync('bash', [path.resolve(__dirname, '../../temporal-dev.sh'), '--print-path'], {
      encoding: 'utf8',
    }).trim();
    const server = new KillableTemporal(cli, await freePort(), mkdtempSync(path.join(tmpdir(), 'kern-temporal-')));
    await server.restart();
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server on its port and database, and waits until it answers. */
  async restart(): Promise<void> {
    const searchAttributes = kernSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
    this.process = spawn(
      this.cli,
      [
        ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(this.port)],
        ...['--db-filename', path.join(this.directory, 'temporal.db'), '--log-level', 'error', ...searchAttributes],
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** SIGKILLs the server: no shutdown, whatever it was doing. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the server and deletes its database. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
