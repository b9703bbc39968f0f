import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../src/workflows';
import { SESSION_FORMAT_VERSION } from '../../src/shared/sessions';
import { RUN_INPUT_VERSION } from '../../src/shared/specs';

const historiesDir = path.resolve(__dirname, '../histories');

/** A history as `temporal workflow show --output json` writes it: the started event names the workflow id. */
interface RecordedHistory {
  events: Array<{ workflowExecutionStartedEventAttributes?: { workflowId?: string } }>;
}
const files = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));

/**
 * Replays every recorded history against today's workflow code. A failure means a change is not
 * deterministic-compatible with runs that older code started: those runs would break on a new worker.
 */
test('every recorded history replays against the current workflow code', async () => {
  // Each replays under the workflow id it ran with (a scheduled run takes its run id from it), older histories
  // (recorded before the started event named it) under their file name.
  const histories = files.map((file) => {
    const history = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as RecordedHistory;
    return { workflowId: history.events[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? file, history };
  });
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! } },
    histories,
  )) {
    // Histories replay one at a time, in order: the nth result is the nth file's.
    if (result.error) failures.push(`${files[replayed]} (${result.workflowId}): ${String(result.error)}`);
    replayed++;
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});

const upTo = (newest: number) => Array.from({ length: newest }, (_, i) => i + 1);

/**
 * The formats kern wrote for each run workflow type. Up to format 11, each run was written in the oldest format that
 * had what it used: format 7 changed only how a team's members and a workflow's agent and team steps are written, so
 * an agent run's input never needed it; format 8 is a fork's, and a workflow run is never forked; format 9 is a run
 * with MCP tools, its own or a member's or step's; format 10 is the input of an agent's or team's next execution after
 * a continue-as-new, and format 11 a workflow run's (with where its steps stand). Format 12 is written for every run.
 */
const writtenFormats: Record<string, number[]> = {
  agentRun: [...upTo(6), 8, 9, 10, 12],
  teamRun: [...upTo(10), 12],
  workflowRun: [...upTo(7), 9, 11, 12],
};

test('every run workflow type has histories of each format kern wrote, a cancelled run among each', () => {
  // Format 1 (no suffix) is what the first kern wrote. Runs of every format may still be running somewhere, so every
  // one of them has its histories.
  expect(RUN_INPUT_VERSION).toBe(12);
  const missing = Object.keys(workflows)
    .filter((type) => type !== 'kernSession')
    .flatMap((type) =>
      writtenFormats[type]!.flatMap((version) => {
        const recorded = files.filter((file) => file.startsWith(`${type}-`) && ofFormat(file, version));
        return recorded.some((file) => file.includes('cancelled')) ? [] : [`${type}, format ${version}`];
      }),
    );
  expect(missing).toEqual([]);
});

test('every run workflow type has histories of an execution that continued as new, and of the one after it', () => {
  const continuedFormats: Record<string, number[]> = { agentRun: [10, 12], teamRun: [10, 12], workflowRun: [11, 12] };
  for (const [type, format] of Object.entries(continuedFormats).flatMap(([type, formats]) =>
    formats.map((format) => [type, format] as const),
  )) {
    const continuedAsNew = files.filter((file) => file.startsWith(`${type}-`) && file.includes('continued-as-new'));
    const after = files.filter((file) => file.startsWith(`${type}-continued`) && ofFormat(file, format));
    expect({
      type,
      format,
      continuedAsNew: continuedAsNew.length > 0,
      completedAfter: after.some((file) => !file.includes('cancelled')),
      cancelledAfter: after.some((file) => file.includes('cancelled')),
    }).toEqual({ type, format, continuedAsNew: true, completedAfter: true, cancelledAfter: true });
  }
});

test('the session workflow has histories of its format, one that continued as new among them', () => {
  const recorded = files.filter((file) => file.startsWith('kernSession-') && ofFormat(file, SESSION_FORMAT_VERSION));
  expect(recorded.some((file) => file.includes('continued-as-new'))).toBe(true);
  expect(recorded.length).toBeGreaterThan(1);
});

function ofFormat(file: string, version: number): boolean {
  return version === 1 && !file.startsWith('kernSession-')
    ? !/\.v\d+\.json$/.test(file)
    : file.endsWith(`.v${version}.json`);
}
