import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import * as workflows from '../src/workflows';
import { RUN_INPUT_VERSION } from '../src/shared/specs';

const historiesDir = path.resolve(__dirname, 'histories');
const files = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));

/**
 * Replays every recorded history against today's workflow code. A failure means a change is not
 * deterministic-compatible with runs that older code started: those runs would break on a new worker.
 */
test('every recorded history replays against the current workflow code', async () => {
  const histories = files.map((file) => ({
    workflowId: file,
    history: JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as unknown,
  }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! } },
    histories,
  )) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});

test('every workflow type has histories of format 1 and of the current format, a cancelled run among them', () => {
  const ofFormat = (file: string, version: number) =>
    version === 1 ? !/\.v\d+\.json$/.test(file) : file.endsWith(`.v${version}.json`);
  const missing = Object.keys(workflows).flatMap((type) =>
    [1, RUN_INPUT_VERSION].flatMap((version) => {
      const recorded = files.filter((file) => file.startsWith(`${type}-`) && ofFormat(file, version));
      return recorded.some((file) => file.includes('cancelled')) ? [] : [`${type}, format ${version}`];
    }),
  );
  expect(missing).toEqual([]);
});
