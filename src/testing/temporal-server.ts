import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { kernSearchAttributes } from '../shared/search-attributes';

/**
 * Starts a throwaway Temporal dev server on a free port with kern's search attributes registered. The CLI comes
 * from kern's temporal-dev.sh (installed on first use, then cached). `dynamicConfig` overrides server limits (for
 * example `{ 'history.maxTotalUpdates': 300 }`, to meet a limit sooner in a test). Call `teardown()` on the result
 * when done.
 */
export async function startLocalTemporal(
  options: { dynamicConfig?: Record<string, number | string | boolean> } = {},
): Promise<TestWorkflowEnvironment> {
  const dynamicConfig = Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
  const script = path.resolve(__dirname, '../../temporal-dev.sh');
  const cli = execFileSync('bash', [script, '--print-path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: kernSearchAttributes,
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error', ...dynamicConfig],
    },
  });
}
