import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { kernSearchAttributes } from '../../src/shared/search-attributes';

/**
 * Starts one real Temporal dev server (CLI installed by temporal-dev.sh, free port, kern's search attributes) and
 * bundles the workflow code once, for every test file.
 */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const cli = execFileSync('bash', [path.join(root, 'temporal-dev.sh'), '--print-path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: kernSearchAttributes,
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error'],
    },
  });
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(mkdtempSync(path.join(tmpdir(), 'kern-test-')), 'workflows.js');
  writeFileSync(bundlePath, bundle.code);

  (globalThis as { kernTestEnv?: TestWorkflowEnvironment }).kernTestEnv = env;
  process.env.KERN_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.KERN_TEST_WORKFLOW_BUNDLE = bundlePath;
}
