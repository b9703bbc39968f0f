export { startWorker, type StartWorkerOptions, type KernWorker, type WorkerDeployment } from './start-worker';
export { loadApp } from '../define/app';
export { bundleWorkflows, type BundleWorkflowsOptions } from './bundle';
export { serveWorkerHealth } from './health';
export type { ModelProviderOptions } from '../activities';
export type { TracingOptions } from '../client/tracing';
