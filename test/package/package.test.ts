import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { ScriptedModelServer } from '../../src/testing';
import { bundleWorkflows } from '../../src/worker';

/**
 * kern as its users get it: `npm pack` (which builds), the tarball installed into a project outside the repository,
 * and consumers run with plain `node` against the suite's Temporal server and the stand-in model.
 */

const root = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The versions the consumers install beside kern: the ones kern itself is built and tested with. */
const ownVersions = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Strict settings a consumer may well have; `skipLibCheck` as most do, so kern's own files are never re-checked. */
const strict = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: true,
  target: 'ES2022',
  outDir: 'dist',
  rootDir: 'src',
  types: ['node'],
};

/**
 * What every consumer does with its agent, in code that is both TypeScript and JavaScript: a run in the background
 * (the prompt from the command line), polled to its end, then one line of JSON with what it saw.
 */
const runToTheEnd = `
const started = await agent.run(process.argv[2] ?? '', { background: true });
let output = await agent.getRunOutput({ runId: started.runId });
while (output === null || !isTerminalStatus(output.status)) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  output = await agent.getRunOutput({ runId: started.runId });
}
const tools = output.tools.map((tool) => tool.toolName);
console.log(JSON.stringify({ started: started.status === RunStatus.pending, status: output.status, tools }));
`;

/**
 * A backend's entry point, the same text for CommonJS and ES modules: a tool, an agent, a worker in process, and a
 * background run polled to its end.
 */
const backend = `
import { z } from 'zod';
import { Agent, OpenAIChat, RunStatus, defineApp, defineTool, isTerminalStatus } from 'kern';
import { startWorker } from 'kern/worker';

const addItem = defineTool({
  name: 'add_item',
  description: 'Add an item to the list.',
  parameters: z.object({ item: z.string() }),
  execute: async ({ item }) => \`\${item} is on the list\`,
});

const agent = new Agent({ name: 'Consumer Agent', model: new OpenAIChat({ id: 'stand-in' }), tools: [addItem] });

async function main(): Promise<void> {
  const worker = await startWorker({ app: defineApp({ agents: [agent] }) });
  try {
${runToTheEnd}
  } finally {
    await worker.shutdown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
`;

/** For `kern worker --app ./app.ts` and a plain JavaScript client: the agent both use, in plain CommonJS. */
const sharedAgent = `
const { z } = require('zod');
const { Agent, OpenAIChat, defineTool } = require('kern');

const addItem = defineTool({
  name: 'add_item',
  description: 'Add an item to the list.',
  parameters: z.object({ item: z.string() }),
  execute: async ({ item }) => item + ' is on the list',
});
exports.agent = new Agent({ name: 'CLI Agent', model: new OpenAIChat({ id: 'stand-in' }), tools: [addItem] });
`;

const cliApp = `
import { defineApp } from 'kern';
import { agent } from './agent';

export default defineApp({ agents: [agent] });
`;

/** The same app as plain CommonJS, for a CLI without tsx. */
const cliAppJs = `
const { defineApp } = require('kern');
const { agent } = require('./agent');

exports.default = defineApp({ agents: [agent] });
`;

const cliClient = `
const { RunStatus, isTerminalStatus } = require('kern');
const { agent } = require('./agent');

async function main() {
${runToTheEnd}
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;

function write(file: string, content: string | object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
}

/** Runs a command to its end; on failure, the error says what it printed. */
async function sh(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    return await run(command, args, { ...options, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${options.cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

let work: string;
let tarball: string;
let project: string;
let model: ScriptedModelServer;
/** A traced worker's bundle made from kern's source, for the last test: bundled while the package installs. */
let tracedFromSource: Promise<{ code: string }>;

/** The environment a consumer process runs with: the suite's Temporal, a task queue of its own, the stand-in. */
function consumerEnv(taskQueue: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.KERN_TEST_TEMPORAL_ADDRESS,
    KERN_TASK_QUEUE: taskQueue,
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: 'consumer-key',
  };
}

beforeAll(async () => {
  // The replay of the tracing bundle provokes nondeterminism on purpose (see its test); the warnings are noise here.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  model = await ScriptedModelServer.start();
  work = mkdtempSync(path.join(tmpdir(), 'kern-package-'));
  const { stdout } = await sh(npm, ['pack', '--json', '--pack-destination', work], { cwd: root });
  tarball = path.join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);

  project = path.join(work, 'consumer');
  write(path.join(project, 'package.json'), {
    name: 'consumer',
    private: true,
    type: 'commonjs',
    dependencies: { kern: `file:${tarball}`, zod: ownVersions.dependencies.zod },
    devDependencies: {
      typescript: ownVersions.devDependencies.typescript,
      '@types/node': ownVersions.devDependencies['@types/node'],
      tsx: ownVersions.devDependencies.tsx,
    },
  });
  // (1) A CommonJS TypeScript backend with a strict tsconfig.
  write(path.join(project, 'cjs/tsconfig.json'), {
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
  });
  write(path.join(project, 'cjs/src/main.ts'), backend);
  // (2) An ES-module project: the same code, compiled for `"type": "module"`.
  write(path.join(project, 'esm/package.json'), { type: 'module' });
  write(path.join(project, 'esm/tsconfig.json'), {
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' },
  });
  write(path.join(project, 'esm/src/main.ts'), backend);
  // The same code under a bundler's resolution, type-checked only.
  write(path.join(project, 'bundler/tsconfig.json'), {
    compilerOptions: { ...strict, module: 'preserve', moduleResolution: 'bundler', noEmit: true },
  });
  write(path.join(project, 'bundler/src/main.ts'), backend);
  // (3) `npx kern worker --app ./app.ts`, and a plain JavaScript client in another process.
  write(path.join(project, 'cli/agent.js'), sharedAgent);
  write(path.join(project, 'cli/app.ts'), cliApp);
  write(path.join(project, 'cli/app.js'), cliAppJs);
  write(path.join(project, 'cli/client.js'), cliClient);

  tracedFromSource = bundleWorkflows({ tracing: true, logger: new DefaultLogger('WARN') });
  tracedFromSource.catch(() => undefined);
  await sh(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
}, 600_000);

afterAll(async () => {
  await model?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

// The checks of the tarball and the compiled consumers share nothing, and mostly wait on other processes: side by side.
test.concurrent(
  'the tarball holds the compiled library, its declarations and source maps, CLI, README and licence, and nothing else',
  async () => {
    const { stdout } = await sh('tar', ['-tzf', tarball], { cwd: work });
    const files = stdout
      .split('\n')
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'bin/kern.js']));
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.js.map', 'dist/index.d.ts', 'dist/worker/index.d.ts']),
    );
    expect(files).toEqual(expect.arrayContaining(['dist/bundles/workflows.js', 'dist/bundles/workflows-tracing.js']));
    const outside = files.filter(
      (file) => !/^(package\.json|README\.md|LICENSE|bin\/kern\.js|dist\/.+\.(js|js\.map|d\.ts))$/.test(file),
    );
    expect(outside).toEqual([]);
    // About 0.6 MB today (two workflow bundles of ~1 MB each, compressed, are most of it): a budget that catches a
    // stray directory or an unminified dependency, not the library growing.
    expect(statSync(tarball).size).toBeLessThanOrEqual(800 * 1024);
  },
);

test.concurrent('publint and Are the Types Wrong find no problems in the tarball', async () => {
  const publint = await sh(process.execPath, [binOf('publint', 'publint'), 'run', tarball, '--strict'], {
    cwd: work,
  });
  expect(publint.stdout).toContain('All good');
  // node10 resolution (no `exports`) cannot see the subpaths, as for every package with an exports map: ignored.
  const attw = await sh(
    process.execPath,
    [binOf('@arethetypeswrong/cli', 'attw'), tarball, '--profile', 'node16', '--format', 'json'],
    { cwd: work },
  );
  const report = JSON.parse(attw.stdout) as { analysis: { problems: Array<{ resolutionKind?: string }> } };
  expect(report.analysis.problems.filter((problem) => problem.resolutionKind !== 'node10')).toEqual([]);
});

test.concurrent.each(['cjs', 'esm'])(
  'a %s TypeScript backend with a strict tsconfig compiles, and with plain node runs a tool-calling run in the background to COMPLETED',
  async (kind) => {
    const dir = path.join(project, kind);
    await sh(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir });
    const { stdout } = await sh(process.execPath, [path.join(dir, 'dist/main.js'), 'Please add item "milk"'], {
      cwd: dir,
      env: consumerEnv(`consumer-${kind}-${randomUUID()}`),
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      started: true,
      status: 'COMPLETED',
      tools: ['add_item'],
    });
  },
  240_000,
);

test.concurrent("kern's types resolve under a bundler's module resolution", async () => {
  const dir = path.join(project, 'bundler');
  await sh(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir });
});

/** `npx kern worker --app <app>` in the CLI project, in a process group of its own; `stop` ends the group. */
function startCliWorker(app: string, env: NodeJS.ProcessEnv) {
  const worker = spawn(npm, ['exec', '--', 'kern', 'worker', '--app', app], {
    cwd: path.join(project, 'cli'),
    env,
    detached: true,
  });
  let printed = '';
  worker.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  worker.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
  return {
    printed: () => printed,
    exited,
    async stop() {
      // The whole group: npm exec and the worker it started. SIGTERM: the worker stops gracefully.
      try {
        process.kill(-worker.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

/** The CLI project's plain JavaScript client: one background run to its end, as it saw it. */
async function runCliClient(env: NodeJS.ProcessEnv, prompt: string) {
  const { stdout } = await sh(process.execPath, ['client.js', prompt], { cwd: path.join(project, 'cli'), env });
  return JSON.parse(stdout.trim().split('\n').pop()!) as unknown;
}

test('`npx kern worker --app ./app.ts` serves a plain JavaScript client in another process', async () => {
  const env = consumerEnv(`consumer-cli-${randomUUID()}`);
  const worker = startCliWorker('./app.ts', env);
  try {
    expect(await runCliClient(env, 'Please add item "bread"')).toEqual({
      started: true,
      status: 'COMPLETED',
      tools: ['add_item'],
    });
    expect(worker.printed()).toContain("kern worker: serving ./app.ts on task queue 'consumer-cli-");
  } finally {
    await worker.stop();
  }
}, 240_000);

test('without tsx, `kern worker` serves a JavaScript app and refuses a TypeScript one, saying what to do', async () => {
  // tsx is an optional peer dependency: taken out of the project for this test, put back after it.
  const tsx = path.join(project, 'node_modules/tsx');
  const aside = path.join(project, 'node_modules/.tsx-aside');
  renameSync(tsx, aside);
  try {
    const refused = startCliWorker('./app.ts', consumerEnv(`consumer-cli-${randomUUID()}`));
    expect(await refused.exited).toBe(1);
    expect(refused.printed()).toContain(
      'kern: ./app.ts is TypeScript, which kern loads with tsx: install it beside kern (npm install --save-dev tsx), ' +
        'or give --app the compiled JavaScript',
    );

    const env = consumerEnv(`consumer-cli-${randomUUID()}`);
    const worker = startCliWorker('./app.js', env);
    try {
      expect(await runCliClient(env, 'Please add item "eggs"')).toEqual({
        started: true,
        status: 'COMPLETED',
        tools: ['add_item'],
      });
      expect(worker.printed()).toContain("kern worker: serving ./app.js on task queue 'consumer-cli-");
    } finally {
      await worker.stop();
    }
  } finally {
    renameSync(aside, tsx);
  }
}, 240_000);

test("the package's prebuilt bundles replay the recorded histories as bundles made from kern's source do", async () => {
  const historiesDir = path.join(root, 'test/histories');
  const files = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));
  const histories = files.map((file) => {
    const history = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as {
      events: Array<{ workflowExecutionStartedEventAttributes?: { workflowId?: string } }>;
    };
    return { workflowId: history.events[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? file, history };
  });
  /** The files that fail to replay against a bundle, in order (of those at `only`, if given). */
  async function failuresOf(
    workflowBundle: { codePath: string } | { code: string },
    only = files.map((_, index) => index),
  ): Promise<string[]> {
    const failures: string[] = [];
    let replayed = 0;
    // The tracing interceptors export spans through a sink, which a replay does not call.
    const sinks = { exporter: { export: { fn: () => undefined } } };
    const chosen = only.map((index) => histories[index]!);
    for await (const result of Worker.runReplayHistories({ workflowBundle, sinks }, chosen)) {
      if (result.error) failures.push(files[only[replayed]!]!);
      replayed++;
    }
    expect(replayed).toBe(only.length);
    return failures;
  }
  const prebuilt = (file: string) => ({ codePath: path.join(project, 'node_modules/kern/dist/bundles', file) });

  // Every history replays against the bundle of an untraced worker.
  expect(await failuresOf(prebuilt('workflows.js'))).toEqual([]);
  // A traced worker's bundle behaves as the one a traced worker made at start before the package shipped it. (Those
  // histories were recorded untraced, and Temporal's tracing interceptors draw on the workflow's random numbers: runs
  // that draw their own (child runs, pauses) do not replay under tracing; see docs/tracing.md.)
  // Compared on one history of each workflow type and format (the replay of all of them takes a minute here).
  const group = (file: string) => `${file.split('-')[0]} ${/\.v\d+\.json$/.exec(file)?.[0] ?? 'v1'}`;
  const sample = files.flatMap((file, index) =>
    files.findIndex((other) => group(other) === group(file)) === index ? [index] : [],
  );
  expect(sample.length).toBeGreaterThan(20);
  const fromSource = await failuresOf(await tracedFromSource, sample);
  expect(fromSource.length).toBeGreaterThan(0);
  expect(fromSource.length).toBeLessThan(sample.length);
  expect(await failuresOf(prebuilt('workflows-tracing.js'), sample)).toEqual(fromSource);
}, 240_000);

/** The script of a dev dependency's command, from its manifest (its package exports no path to it). */
function binOf(pkg: string, command: string): string {
  const dir = path.join(root, 'node_modules', pkg);
  const { bin } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return path.join(dir, bin[command]!);
}
