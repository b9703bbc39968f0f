import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';

/** Temporal's OpenTelemetry workflow interceptors: what makes a traced worker's workflow spans. */
const TRACING_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Where the package's build writes its two prebuilt bundles, beside the compiled code (`dist/bundles/`). */
const PREBUILT_DIR = path.join(__dirname, '..', 'bundles');

/** The file names of the prebuilt bundles, without and with the tracing interceptors. */
export const PREBUILT_BUNDLES = { plain: 'workflows.js', tracing: 'workflows-tracing.js' } as const;

/** What goes into a bundle of kern's workflow code (see {@link bundleWorkflows}). */
export interface BundleWorkflowsOptions {
  /** Include Temporal's OpenTelemetry workflow interceptors, for a worker started with `tracing`. Default false. */
  tracing?: boolean;
  /** Your own workflow interceptor modules (absolute paths, each exporting `interceptors`), after the tracing ones. */
  workflowInterceptorModules?: string[];
  /**
   * A full source map, with kern's sources in it, for a debugger. Default false: the inline map that Temporal's
   * worker requires of a bundle holds lines only (no sources, no columns), which makes the bundle about a third of
   * the size; workflow stack traces still name kern's files and lines.
   */
  sourceMap?: boolean;
  /** Where the bundler's messages go (default: the console, from INFO up, as Temporal's bundler does). */
  logger?: BundleOptions['logger'];
}

/**
 * Bundles kern's workflow code for a worker's `workflowBundle`, with Temporal's bundler. The package ships this
 * bundle prebuilt, which `startWorker` uses; call this (at your build step, writing `code` to a file) only to add
 * workflow interceptors of your own: see docs/temporal.md.
 */
export async function bundleWorkflows(options: BundleWorkflowsOptions = {}): Promise<{ code: string }> {
  const interceptors = [
    ...(options.tracing ? [TRACING_INTERCEPTORS] : []),
    ...(options.workflowInterceptorModules ?? []),
  ];
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: interceptors,
    ...(options.logger ? { logger: options.logger } : {}),
    // With no interceptors nothing registers OpenTelemetry in the sandbox, so the run's span code never loads its API
    // (see workflows/run-span.ts): leave it out.
    ...(interceptors.length > 0 ? {} : { ignoreModules: ['@opentelemetry/api'] }),
    ...(options.sourceMap
      ? {}
      : { webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-cheap-source-map' }) }),
  });
  return { code };
}

/**
 * The bundle the package was built with, for a worker with or without tracing; undefined when kern runs from its
 * TypeScript source (in its own repository), where the worker bundles at start instead.
 */
export function prebuiltWorkflowBundle(tracing: boolean): { codePath: string } | undefined {
  const codePath = path.join(PREBUILT_DIR, tracing ? PREBUILT_BUNDLES.tracing : PREBUILT_BUNDLES.plain);
  return existsSync(codePath) ? { codePath } : undefined;
}
