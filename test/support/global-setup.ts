import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { startLocalTemporal } from '../../src/testing/temporal-server';

/** What the test server allows one execution in updates (each subscriber poll is one). */
export const UPDATES_PER_RUN_LIMIT = 150;

/** Starts one real Temporal dev server and bundles the workflow code once, for every test file. */
export default async function globalSetup(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await startLocalTemporal({
    dynamicConfig: {
      // Temporal's limit of updates per execution, lowered from 2,000 so that a test meets it in seconds.
      'history.maxTotalUpdates': UPDATES_PER_RUN_LIMIT,
      // A deleted execution goes once its close is acknowledged, which Temporal records every 30 s by default: every
      // second here, so that a test sees a deleted cancel record gone in seconds.
      'history.transferProcessorUpdateAckInterval': '1s',
      'history.visibilityProcessorUpdateAckInterval': '1s',
    },
  });
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(mkdtempSync(path.join(tmpdir(), 'kern-test-')), 'workflows.js');
  writeFileSync(bundlePath, bundle.code);

  (globalThis as { kernTestEnv?: TestWorkflowEnvironment }).kernTestEnv = env;
  process.env.KERN_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.KERN_TEST_WORKFLOW_BUNDLE = bundlePath;
}
