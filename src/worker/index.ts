export { startWorker, loadApp, type StartWorkerOptions, type KernWorker, type WorkerDeployment } from './start-worker';
export { bundleWorkflows, type BundleWorkflowsOptions } from './bundle';
export { serveWorkerHealth } from './health';
export type { ModelProviderOptions } from '../activities';
export type { TracingOptions } from '../client/tracing';
