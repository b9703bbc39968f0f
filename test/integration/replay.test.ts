import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../src/workflows';
import { SESSION_FORMAT_VERSION } from '../../src/shared/sessions';
import { RUN_INPUT_VERSION, runInputVersionOf, type AgentSpec, type ComponentSpec } from '../../src/shared/specs';

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

const anAgent: AgentSpec = {
  kind: 'agent',
  id: 'a',
  name: 'A',
  instructions: [],
  model: { provider: 'openai-responses', id: 'm' },
  tools: [],
  maxToolRounds: 1,
};

const aTeam: ComponentSpec = { ...anAgent, kind: 'team', mode: 'coordinate', members: [anAgent] };
const aWorkflow: ComponentSpec = {
  kind: 'workflow',
  id: 'w',
  name: 'W',
  steps: [{ type: 'step', name: 'S', component: anAgent }],
};
const aSeed = { fromRunId: 'r', messageIndex: 1, messages: [{ role: 'user' as const, content: 'q' }] };
const upTo = (newest: number) => Array.from({ length: newest }, (_, i) => i + 1);

/**
 * The formats kern writes for each run workflow type. Format 7 changed only how a team's members and a workflow's
 * agent and team steps are written, so an agent run's input never needs it; format 8 is a fork's, and a workflow run
 * is never forked; format 9 is a run with MCP tools, its own or a member's or step's; format 10 is the input of an
 * agent's or team's next execution after a continue-as-new, and format 11 a workflow run's (with where its steps stand).
 */
const writtenFormats: Record<string, number[]> = {
  agentRun: [...upTo(6), 8, 9, 10],
  teamRun: upTo(10),
  workflowRun: [...upTo(7), 9, 11],
};

test('every run workflow type has histories of each format kern writes, a cancelled run among each', () => {
  // Format 1 (no suffix) is what the first kern wrote; each later format is still written for the runs that need it
  // (see `runInputVersionOf`), so every one of them has its histories.
  expect(RUN_INPUT_VERSION).toBe(11);
  expect([anAgent, aTeam, aWorkflow].map((component) => runInputVersionOf({ scheduleId: 's' }, component))).toEqual([
    6, 7, 7,
  ]);
  expect([anAgent, aTeam].map((component) => runInputVersionOf({ seed: aSeed }, component))).toEqual([8, 8]);
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
  const continuedFormat: Record<string, number> = { agentRun: 10, teamRun: 10, workflowRun: 11 };
  for (const [type, format] of Object.entries(continuedFormat)) {
    const continuedAsNew = files.filter((file) => file.startsWith(`${type}-`) && file.includes('continued-as-new'));
    const after = files.filter((file) => file.startsWith(`${type}-continued`) && ofFormat(file, format));
    expect({
      type,
      continuedAsNew: continuedAsNew.length > 0,
      completedAfter: after.some((file) => !file.includes('cancelled')),
      cancelledAfter: after.some((file) => file.includes('cancelled')),
    }).toEqual({ type, continuedAsNew: true, completedAfter: true, cancelledAfter: true });
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
