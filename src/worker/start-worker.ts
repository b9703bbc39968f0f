import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ModelProviderOptions } from '../activities';
import { loadApp, type KernApp } from '../define/app';
import type { StepFunction } from '../define/contracts';
import { InvalidInputError, TemporalUnreachable } from '../shared/errors';
import { resolveConnection } from '../client/connection-settings';
import { McpConnections } from '../activities/mcp';
import { kernDataConverter, payloadSettingsFromEnv, type PayloadSettings } from '../client/data-converter';
import { tracingPlugin, type TracingOptions } from '../client/tracing';
import { bundleWorkflows, prebuiltWorkflowBundle } from './bundle';

/** How to run a kern worker. Unset connection settings come from the environment, as for the client. */
export interface StartWorkerOptions {
  /** The app (from `defineApp`), or the path of a module whose default export is one. */
  app: KernApp | string;
  /** `KERN_TASK_QUEUE`, default `kern`. */
  taskQueue?: string;
  /**
   * `host:port`; default `TEMPORAL_ADDRESS`, the config file profile's, else `localhost:7233`. TLS and an API key come
   * from the environment and the profile (`TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`): see docs/deploy.md.
   */
  address?: string;
  /** Default `TEMPORAL_NAMESPACE`, the profile's, else `default`. */
  namespace?: string;
  /** The profile of Temporal's config file to connect with; default `TEMPORAL_PROFILE`, else `default`. */
  profile?: string;
  /**
   * Payloads encrypted and large ones kept outside history, as the clients have them (see docs/payloads.md); default
   * from the environment (`KERN_ENCRYPTION_KEYS`, `KERN_PAYLOAD_DIR`).
   */
  payloads?: PayloadSettings;
  /** An existing connection to use (not closed by `shutdown`). */
  connection?: NativeConnection;
  /** Where model calls go; defaults to `OPENAI_API_KEY` / `OPENAI_BASE_URL` of this process. */
  modelProvider?: ModelProviderOptions;
  /**
   * The workflow code. Default: the bundle prebuilt with the package (with Temporal's tracing interceptors when
   * `tracing` is given); from kern's TypeScript source, a bundle made at start. Give your own, from
   * `bundleWorkflows`, to add workflow interceptors of your own.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * The longest a running activity waits before its next heartbeat reaches Temporal. A cancel reaches a model call
   * on a heartbeat, so this bounds cancel latency; lower means more heartbeat traffic. Default 250 ms.
   */
  heartbeatInterval?: WorkerOptions['maxHeartbeatThrottleInterval'];
  /**
   * How long streamed tokens are coalesced into one `RunContent` event: `live` for runs someone streams (default
   * 80 ms), `background` for the others (default 1,000 ms). Each batch costs a signal in the run's history; long
   * answers use longer windows (see docs/behaviour.md, Streaming).
   */
  streamBatchWindows?: { live?: number; background?: number };
  /**
   * Milliseconds a streamed model answer may send nothing before the call is abandoned and retried (default
   * 120,000). Raise it for models that think silently for longer before they answer.
   */
  modelIdleTimeout?: number;
  /**
   * How long `shutdown` lets the model and tool calls in flight finish before it cancels them (they are then retried
   * on another worker). The worker stops taking work at once either way. Default 0 (Temporal's); `kern worker`
   * defaults to 30 seconds (`--shutdown-grace`).
   */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * How many model and tool calls this worker runs at once (Temporal's default: 100). A model call mostly waits on
   * the provider, so a worker can take many; the provider's rate limits are usually what bounds it.
   */
  maxConcurrentActivities?: number;
  /** How many workflow tasks (a run's decisions between calls) it processes at once (Temporal's default: 40). */
  maxConcurrentWorkflowTasks?: number;
  /**
   * How many runs it keeps in memory between their tasks, so a run's next step needs no replay (Temporal's default
   * depends on the process's memory). Lower it to cap a worker's memory.
   */
  maxCachedWorkflows?: number;
  /**
   * OpenTelemetry tracing (see `TracingOptions`): Temporal's workflow and activity spans, and kern's model and tool
   * spans. Workflow spans need the workflow code bundled with Temporal's interceptors, as the default bundle is when
   * tracing; a `workflowBundle` of your own needs `bundleWorkflows({ tracing: true })`.
   */
  tracing?: TracingOptions;
  /**
   * Worker Versioning: this worker runs build `buildId` of the worker deployment `name` (docs/deploy.md, Upgrades).
   * Temporal then gives a run's tasks only to workers of the version it is on, never back to an older one, and a new
   * version takes over once it is made current (`temporal worker deployment set-current-version`). Default from
   * `KERN_DEPLOYMENT_NAME` and `KERN_BUILD_ID`; unset, the worker is unversioned.
   */
  deployment?: WorkerDeployment;
}

/** A worker's place in a worker deployment. */
export interface WorkerDeployment {
  name: string;
  buildId: string;
  /**
   * When a run moves to a new version. `AUTO_UPGRADE` (default): at its next task once the new version is current,
   * which kern's workflow code is made for (each release replays the histories of the ones before, and its changes
   * are patched); a paused run can wait for days, and pinning would keep old workers alive that long. `PINNED`: a
   * run stays on the version it started on, which must keep a worker until its last run ends.
   */
  behavior?: 'AUTO_UPGRADE' | 'PINNED';
}

/** A running worker. */
export interface KernWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** Its connection to Temporal (for a health check: `connection.healthService`). */
  readonly connection: NativeConnection;
  /** Settles when the worker stops; rejects if it crashed. */
  readonly finished: Promise<void>;
  /** Stops polling, lets in-flight tasks finish, and closes the connection it opened. */
  shutdown(): Promise<void>;
}

/** Starts a worker that runs kern's workflows and the app's tools in this process. */
export async function startWorker(options: StartWorkerOptions): Promise<KernWorker> {
  const app = typeof options.app === 'string' ? loadApp(options.app) : options.app;
  const taskQueue = options.taskQueue ?? process.env.KERN_TASK_QUEUE ?? 'kern';
  const { address, namespace, connectionOptions } = resolveConnection(options);
  let connection = options.connection;
  try {
    connection ??= await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw new TemporalUnreachable(address, err);
  }
  const tracing = options.tracing ? tracingPlugin(options.tracing, 'kern-worker') : undefined;
  const mcp = new McpConnections(app.mcpServers);
  const dataConverter = kernDataConverter(options.payloads ?? payloadSettingsFromEnv());
  const worker = await Worker.create({
    connection,
    ...(dataConverter ? { dataConverter } : {}),
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
    namespace,
    taskQueue,
    workflowBundle:
      options.workflowBundle ??
      prebuiltWorkflowBundle(tracing !== undefined) ??
      (await bundleWorkflows({ tracing: tracing !== undefined, sourceMap: true, logger: Runtime.instance().logger })),
    activities: createActivities({
      tools: app.tools,
      stepFunctions: app.stepFunctions as ReadonlyMap<string, StepFunction>,
      modelProvider: options.modelProvider,
      mcp,
      streaming: {
        liveWindowMs: options.streamBatchWindows?.live,
        backgroundWindowMs: options.streamBatchWindows?.background,
        idleTimeoutMs: options.modelIdleTimeout,
      },
      ...(tracing
        ? { tracing: { tracer: tracing.tracer, recordContent: options.tracing?.recordContent ?? false } }
        : {}),
    }),
    maxHeartbeatThrottleInterval: options.heartbeatInterval ?? '250 milliseconds',
    ...(options.shutdownGraceTime !== undefined ? { shutdownGraceTime: options.shutdownGraceTime } : {}),
    ...(options.maxConcurrentActivities !== undefined
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities }
      : {}),
    ...(options.maxConcurrentWorkflowTasks !== undefined
      ? { maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks }
      : {}),
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    ...deploymentOptions(options.deployment),
  });
  // MCP servers started over stdio end with the worker, however it ends.
  const finished = worker.run().finally(() => mcp.close());
  return {
    worker,
    taskQueue,
    connection,
    finished,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await finished;
      if (!options.connection) await connection.close();
    },
  };
}

/** The worker's deployment options, from `deployment` or else the environment. */
function deploymentOptions(deployment: WorkerDeployment | undefined): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  const name = deployment?.name ?? process.env.KERN_DEPLOYMENT_NAME;
  const buildId = deployment?.buildId ?? process.env.KERN_BUILD_ID;
  if (!name && !buildId) return {};
  if (!name || !buildId) {
    throw new InvalidInputError(
      'a versioned worker needs both a deployment name and a build id (KERN_DEPLOYMENT_NAME and KERN_BUILD_ID)',
    );
  }
  return {
    workerDeploymentOptions: {
      version: { deploymentName: name, buildId },
      useWorkerVersioning: true,
      defaultVersioningBehavior: deployment?.behavior ?? 'AUTO_UPGRADE',
    },
  };
}
