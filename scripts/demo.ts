/**
 * `npm run demo`: the seed scenarios on a local Temporal server.
 *
 * Uses the Temporal server at TEMPORAL_ADDRESS (default localhost:7233), or starts one with ./temporal-dev.sh
 * (and stops it at the end). Uses OpenAI when OPENAI_API_KEY is set, otherwise kern's local stand-in model server.
 * Runs a kern worker in this process, then each example in turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { KernClient } from 'kern';
import { ScriptedModelServer } from 'kern/testing';
import { startWorker } from 'kern/worker';
import app from '../examples/app';
import * as agentBackgroundExecution from '../examples/agent-background-execution';
import * as agentHumanInTheLoop from '../examples/agent-human-in-the-loop';
import * as agentMcp from '../examples/agent-mcp';
import * as agentScheduled from '../examples/agent-scheduled';
import * as agentSession from '../examples/agent-session';
import * as agentStructuredOutput from '../examples/agent-structured-output';
import * as httpApi from '../examples/http-api';
import * as teamBackgroundExecution from '../examples/team-background-execution';
import * as teamRunCancellation from '../examples/team-run-cancellation';
import * as workflowBackgroundExecution from '../examples/workflow-background-execution';

const examples: Array<{ about: string; file: string; main: () => Promise<void> }> = [
  {
    about: 'twin of seed 001 / 003',
    file: 'examples/agent-background-execution.ts',
    main: agentBackgroundExecution.main,
  },
  { about: 'twin of seed 000', file: 'examples/team-background-execution.ts', main: teamBackgroundExecution.main },
  { about: 'twin of seed 004', file: 'examples/team-run-cancellation.ts', main: teamRunCancellation.main },
  {
    about: 'twin of seed 002',
    file: 'examples/workflow-background-execution.ts',
    main: workflowBackgroundExecution.main,
  },
  { about: 'twin of seed 004 / 002 over HTTP', file: 'examples/http-api.ts', main: httpApi.main },
  { about: "the sessions every seed's session_id opens", file: 'examples/agent-session.ts', main: agentSession.main },
  {
    about: 'a typed answer (outputSchema)',
    file: 'examples/agent-structured-output.ts',
    main: agentStructuredOutput.main,
  },
  {
    about: 'a run that waits for a person',
    file: 'examples/agent-human-in-the-loop.ts',
    main: agentHumanInTheLoop.main,
  },
  { about: 'runs on a schedule (Temporal Schedules)', file: 'examples/agent-scheduled.ts', main: agentScheduled.main },
  {
    about: "MCP both ways: an MCP server's tools, kern's agents at /mcp",
    file: 'examples/agent-mcp.ts',
    main: agentMcp.main,
  },
];

const root = path.resolve(__dirname, '..');
const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const devServer = await ensureTemporal();
  const standIn = process.env.OPENAI_API_KEY ? undefined : await ScriptedModelServer.start({ tokenDelayMs: 15 });
  if (standIn) {
    console.log(
      `No OPENAI_API_KEY is set, so this demo uses kern's local stand-in model server at ${standIn.url}.\n` +
        'Its answers are made up; set OPENAI_API_KEY to run the same examples against OpenAI.\n',
    );
  } else {
    console.log('Using OpenAI with the OPENAI_API_KEY from the environment.\n');
  }
  const worker = await startWorker({
    app,
    ...(standIn ? { modelProvider: { baseURL: standIn.url, apiKey: 'stand-in' } } : {}),
  });
  try {
    for (const example of examples) {
      console.log(`\n### ${example.file} (${example.about})\n`);
      await example.main();
    }
    console.log(`\nEvery run above is a Temporal workflow (id kern-run-<run id>): see them at http://localhost:8233`);
  } finally {
    await worker.shutdown();
    await (await KernClient.default()).close();
    await standIn?.close();
    await stop(devServer);
  }
}

/** Connects to the Temporal server, or starts one with temporal-dev.sh and waits until it answers. */
async function ensureTemporal(): Promise<ChildProcess | undefined> {
  if (await reachable()) {
    console.log(`Using the Temporal server at ${address}.`);
    return undefined;
  }
  mkdirSync(path.join(root, '.temporal'), { recursive: true });
  const logFile = path.join(root, '.temporal', 'dev-server.log');
  console.log(
    `Starting a Temporal dev server with ./temporal-dev.sh (log: ${path.relative(process.cwd(), logFile)})...`,
  );
  const log = openSync(logFile, 'a');
  const child = spawn('bash', [path.join(root, 'temporal-dev.sh')], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 120_000;
  while (!(await reachable())) {
    if (child.exitCode !== null) throw new Error(`temporal-dev.sh exited with ${child.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`the Temporal dev server did not start in time; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.log(`Temporal is up at ${address}; its Web UI is at http://localhost:8233.`);
  return child;
}

async function reachable(): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '1 second' });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
