/**
 * Processes the bench starts and watches (`npm run scale`, and the side-by-side with the Python framework): their
 * peak memory and CPU time from /proc, and kern's CLI from the built package.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';

/** A process's peak memory and CPU time, read from /proc while it lives. */
export class Watched {
  peakRssMiB = 0;
  cpuSeconds = 0;
  protected readonly sampler: NodeJS.Timeout;

  constructor(
    readonly name: string,
    readonly pid: number,
  ) {
    this.sampler = setInterval(() => this.sample(), 250);
  }

  stop(): void {
    clearInterval(this.sampler);
  }

  /** Reads the figures now (they are read every 250 ms anyway). */
  sample(): this {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) this.peakRssMiB = Math.max(this.peakRssMiB, Number(hwm[1]) / 1024);
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux).
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      this.cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
    } catch {
      // The process is gone; the last sample stands.
    }
    return this;
  }
}

/** A process the bench started: its output kept, to wait for a line and to show when it fails. */
export class BenchProcess extends Watched {
  readonly exited: Promise<number | null>;
  private output = '';

  constructor(
    name: string,
    readonly child: ChildProcess,
  ) {
    super(name, child.pid!);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    void this.exited.then(() => this.stop());
  }

  /** What it has printed so far, stdout and stderr. */
  get log(): string {
    return this.output;
  }

  /** Resolves once the process has printed `text`; rejects if it exits first. */
  async printed(text: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(text)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited before it printed '${text}':\n${this.output}`);
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not print '${text}':\n${this.output}`);
      await sleep(100);
    }
  }

  /** SIGTERM, and its exit. */
  async stopProcess(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** The Temporal dev server listening on `address`, watched for its CPU time and peak memory. */
export function temporalServerProcess(address: string): Watched {
  const port = address.split(':').at(-1);
  const pid = execFileSync('pgrep', ['-f', `start-dev.*--port ${port}`], { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
  if (!pid) throw new Error(`no Temporal dev server process listens on ${address}`);
  return new Watched('temporal', Number(pid));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const root = path.resolve(__dirname, '..');

/** `kern <args> --app <app>` from the built package (dist/, `npm run build`), as an installed kern runs. */
export function kernProcess(name: string, args: string[], app: string, env: Record<string, string>): BenchProcess {
  const child = spawn(process.execPath, [path.join(__dirname, 'kern-dist.cjs'), ...args, '--app', app], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new BenchProcess(name, child);
}

let built = false;

/** Builds the package (dist/) from the source as it is now, once per bench process: a stale dist/ would time older code. */
export function buildPackage(): void {
  if (built) return;
  execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(root, 'scripts/build.ts')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  built = true;
}
