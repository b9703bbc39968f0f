import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ConnectionSettings } from './client/connection-settings';
import { prunePayloadStore } from './client/payload-store';
import { durationMs } from './client/run-options';
import { createServer, OpenServerRefused } from './server';

const usage = `Usage:
  kern worker --app <module> [--task-queue <name>] [--shutdown-grace 30s] [--health-port <port>
              [--health-host 127.0.0.1]] [--max-concurrent-activities <n>] [--max-concurrent-workflow-tasks <n>]
              [--max-cached-workflows <n>] [--deployment-name <name> --build-id <id>
              [--versioning-behavior auto-upgrade|pinned]] [--workflow-bundle <file>] [connection]
                                                     run a worker for the app (default export of defineApp);
                                                     SIGTERM/SIGINT drain it: no new work, calls in flight get
                                                     the grace to finish; a second signal exits at once;
                                                     --health-port serves GET /livez and /readyz;
                                                     --build-id makes it a version of a worker deployment;
                                                     --workflow-bundle: one made by bundleWorkflows
  kern serve --app <module> [--port 7777] [--host 127.0.0.1] [--allow-unauthenticated] [--no-mcp] [connection]
                                                     serve the app's runs over HTTP (the AgentOS API); on an
                                                     address other machines reach only with auth configured,
                                                     or with --allow-unauthenticated
  kern payloads prune --older-than <duration> [--dir <directory>]
                                                     delete the payloads in KERN_PAYLOAD_DIR (or --dir) not written
                                                     for that long: give the namespace's retention (e.g. 30d)
  <module>: a JavaScript module, or TypeScript (.ts) when tsx is installed beside kern
  [connection]: [--address host:port] [--namespace <name>] [--profile <name>], over the environment and
                Temporal's config file (temporal.toml); TLS and API keys from those (see docs/deploy.md)

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY,
TEMPORAL_TLS_* and TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE (as Temporal's CLI reads them), KERN_TASK_QUEUE (kern),
KERN_DEPLOYMENT_NAME and KERN_BUILD_ID (Worker Versioning), KERN_WORKFLOW_BUNDLE, OPENAI_API_KEY and OPENAI_BASE_URL for the models (worker); for serve: OS_SECURITY_KEY or KERN_SECURITY_KEY
(bearer auth), JWT_VERIFICATION_KEY or JWT_JWKS_FILE with JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER (JWT auth,
scopes and per-user isolation), KERN_CORS_ORIGINS (comma-separated CORS origins). For all: KERN_ENCRYPTION_KEYS
(id:base64 AES-256 keys, newest first: payloads encrypted), KERN_PAYLOAD_DIR or KERN_PAYLOAD_S3 and KERN_PAYLOAD_THRESHOLD_BYTES (large
payloads kept outside history); see docs/payloads.md.`;

/** `kern <command>`: the command-line entry point. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serveCommand(rest);
  if (command === 'payloads') return payloadsCommand(rest);
  if (command !== 'worker') {
    console.error(command ? `kern: unknown command '${command}'\n\n${usage}` : usage);
    process.exitCode = 2;
    return;
  }
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded for this command only: `kern serve` and
     `kern payloads` do not need Temporal's worker, which takes about 300 ms to load */
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  const { startWorker } = require('./worker') as typeof import('./worker');
  const { serveWorkerHealth } = require('./worker/health') as typeof import('./worker/health');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { values } = parseArgs({
    args: rest,
    options: {
      app: { type: 'string' },
      'task-queue': { type: 'string' },
      'log-level': { type: 'string' },
      'shutdown-grace': { type: 'string' },
      'health-port': { type: 'string' },
      'health-host': { type: 'string' },
      'max-concurrent-activities': { type: 'string' },
      'max-concurrent-workflow-tasks': { type: 'string' },
      'max-cached-workflows': { type: 'string' },
      'deployment-name': { type: 'string' },
      'build-id': { type: 'string' },
      'versioning-behavior': { type: 'string' },
      'workflow-bundle': { type: 'string' },
      ...CONNECTION_FLAGS,
    },
  });
  if (!values.app) {
    console.error(`kern worker: --app is required\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  loadTypeScriptIfNeeded(values.app);
  const level = (values['log-level'] ?? 'INFO').toUpperCase() as 'INFO';
  const grace = values['shutdown-grace'] ?? process.env.KERN_SHUTDOWN_GRACE ?? '30s';
  try {
    msToNumber(grace as Duration);
  } catch {
    console.error(`kern worker: --shutdown-grace must be a duration such as 30s or 2m, not '${grace}'\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  // kern handles the signals itself, to drain on the first and exit on the second.
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
  const healthPort = values['health-port'] ?? process.env.KERN_HEALTH_PORT;
  if (healthPort !== undefined && !/^\d{1,5}$/.test(healthPort)) {
    console.error(`kern worker: --health-port must be a port number, not '${healthPort}'\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const tuning: Record<string, number> = {};
  for (const [flag, option] of [
    ['max-concurrent-activities', 'maxConcurrentActivities'],
    ['max-concurrent-workflow-tasks', 'maxConcurrentWorkflowTasks'],
    ['max-cached-workflows', 'maxCachedWorkflows'],
  ] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value) || Number(value) < (flag === 'max-cached-workflows' ? 0 : 1)) {
      console.error(`kern worker: --${flag} must be a whole number, not '${value}'\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    tuning[option] = Number(value);
  }
  const behavior = values['versioning-behavior']?.toUpperCase().replace('-', '_');
  if (behavior !== undefined && behavior !== 'AUTO_UPGRADE' && behavior !== 'PINNED') {
    console.error(
      `kern worker: --versioning-behavior is auto-upgrade or pinned, not '${values['versioning-behavior']}'`,
    );
    process.exitCode = 2;
    return;
  }
  const deploymentName = values['deployment-name'] ?? process.env.KERN_DEPLOYMENT_NAME;
  const buildId = values['build-id'] ?? process.env.KERN_BUILD_ID;
  if ((deploymentName === undefined) !== (buildId === undefined) || (behavior && !buildId)) {
    console.error(
      `kern worker: --deployment-name and --build-id go together (or KERN_DEPLOYMENT_NAME and KERN_BUILD_ID)`,
    );
    process.exitCode = 2;
    return;
  }
  const workflowBundle = values['workflow-bundle'] ?? process.env.KERN_WORKFLOW_BUNDLE;
  const worker = await startWorker({
    app: values.app,
    taskQueue: values['task-queue'],
    ...(workflowBundle ? { workflowBundle: { codePath: path.resolve(workflowBundle) } } : {}),
    shutdownGraceTime: grace as Duration,
    ...tuning,
    ...(deploymentName && buildId
      ? { deployment: { name: deploymentName, buildId, ...(behavior ? { behavior } : {}) } }
      : {}),
    ...connectionOf(values),
  });
  const version = deploymentName ? `, build ${buildId} of deployment '${deploymentName}'` : '';
  console.log(`kern worker: serving ${values.app} on task queue '${worker.taskQueue}'${version} (Ctrl-C to stop)`);
  const health =
    healthPort === undefined
      ? undefined
      : await serveWorkerHealth(worker, {
          port: Number(healthPort),
          ...(values['health-host'] ? { hostname: values['health-host'] } : {}),
        });
  if (health) console.log(`kern worker: health at ${health.url}/livez and ${health.url}/readyz`);
  let draining = false;
  const stop = (signal: NodeJS.Signals) => {
    if (draining) {
      console.error(`kern worker: ${signal} again: exiting now; calls in flight are retried on other workers`);
      process.exit(130);
    }
    draining = true;
    console.log(`kern worker: ${signal}: draining (no new work; calls in flight have ${grace} to finish)`);
    worker.shutdown().catch((err: unknown) => console.error('kern worker: shutdown failed:', err));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await worker.finished;
  await health?.close();
  console.log('kern worker: stopped');
}

/**
 * An app written in TypeScript loads through tsx, an optional peer dependency of kern: production apps are usually
 * compiled, and JavaScript apps need nothing. Already registered when this CLI runs from kern's own source.
 */
function loadTypeScriptIfNeeded(app: string): void {
  if (!/\.[cm]?tsx?$/.test(app) || require.extensions['.ts']) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: present only if the app installed it
    (require('tsx/cjs/api') as { register: () => unknown }).register();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      `kern: ${app} is TypeScript, which kern loads with tsx: install it beside kern (npm install --save-dev tsx), ` +
        'or give --app the compiled JavaScript',
    );
  }
}

/** `kern serve`: the app's agents, teams and workflows over HTTP until SIGINT or SIGTERM. */
/** `kern payloads prune`: the payload store's files older than the namespace's retention go. */
async function payloadsCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: { 'older-than': { type: 'string' }, dir: { type: 'string' } } });
  const directory = values.dir ?? process.env.KERN_PAYLOAD_DIR;
  const retentionMs = values['older-than'] !== undefined ? durationMs(values['older-than']) : NaN;
  if (action !== 'prune' || !directory || !(retentionMs > 0)) {
    console.error(`kern payloads: give prune, --older-than <duration> and --dir (or KERN_PAYLOAD_DIR)\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const deleted = await prunePayloadStore(directory, retentionMs);
  console.log(`kern payloads: deleted ${deleted} payload(s) not written for ${values['older-than']} from ${directory}`);
}

async function serveCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      app: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-unauthenticated': { type: 'boolean' },
      'no-mcp': { type: 'boolean' },
      ...CONNECTION_FLAGS,
    },
  });
  const port = Number(values.port ?? 7777);
  if (!values.app || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`kern serve: --app is required, and --port must be a port number\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  loadTypeScriptIfNeeded(values.app);
  const server = createServer({
    app: values.app,
    allowUnauthenticated: values['allow-unauthenticated'] ?? false,
    mcp: !(values['no-mcp'] ?? false),
    temporal: connectionOf(values),
  });
  let url: string;
  try {
    ({ url } = await server.listen({ port, ...(values.host ? { hostname: values.host } : {}) }));
  } catch (err) {
    await server.close();
    if (!(err instanceof OpenServerRefused)) throw err;
    console.error(`kern serve: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  console.log(`kern serve: ${values.app} at ${url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}

/** The flags that say where Temporal is; each wins over the environment and the config file. */
const CONNECTION_FLAGS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
  profile: { type: 'string' },
} as const;

function connectionOf(values: { address?: string; namespace?: string; profile?: string }): ConnectionSettings {
  return {
    ...(values.address !== undefined ? { address: values.address } : {}),
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
  };
}
