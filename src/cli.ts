import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startWorker } from './worker';

const usage = `Usage:
  kern worker --app <module> [--task-queue <name>]   run a worker for the app (default export of defineApp)

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), KERN_TASK_QUEUE (kern),
OPENAI_API_KEY and OPENAI_BASE_URL for the models.`;

/** `kern <command>`: the command-line entry point. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'worker') {
    console.error(command ? `kern: unknown command '${command}'\n\n${usage}` : usage);
    process.exitCode = 2;
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: { app: { type: 'string' }, 'task-queue': { type: 'string' }, 'log-level': { type: 'string' } },
  });
  if (!values.app) {
    console.error(`kern worker: --app is required\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const level = (values['log-level'] ?? 'INFO').toUpperCase() as 'INFO';
  Runtime.install({ logger: new DefaultLogger(level) });
  const worker = await startWorker({ app: values.app, taskQueue: values['task-queue'] });
  console.log(`kern worker: serving ${values.app} on task queue '${worker.taskQueue}' (Ctrl-C to stop)`);
  // The worker stops gracefully on SIGINT/SIGTERM (the Temporal runtime's shutdown signals).
  await worker.finished;
}
