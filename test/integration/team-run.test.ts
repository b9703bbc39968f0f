import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  Agent,
  OpenAIResponses,
  RunEvent,
  RunStatus,
  Team,
  TeamRunEvent,
  type AnyRunEvent,
  type TeamMode,
  type TeamRunOutput,
} from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { eventually, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const model = new OpenAIResponses({ id: 'gpt-test' });
const agent = (name: string, role: string) => new Agent({ name, role, model, client: h.client });
const teamOf = (members: Array<Agent | Team>, mode?: TeamMode, name = 'Research Team') =>
  new Team({ name, model, members, mode, instructions: ['First research, then write.'], client: h.client });
const delegateTo = (memberId: string, task: string) => ({
  toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: memberId, task } }],
});
/** The team run's output once it is in one of `statuses`. */
async function teamOutput(runId: string, ...statuses: RunStatus[]): Promise<TeamRunOutput> {
  const output = await h.waitForStatus(runId, ...statuses);
  if (output.kind !== 'team') throw new Error(`run ${runId} is a ${output.kind} run, not a team run`);
  return output;
}
const describeRun = (runId: string) => h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).describe();

test('coordinate: the leader delegates to two members in order and answers from their answers', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(
      `thermodynamics ${id}`,
      delegateTo('researcher', `find the laws ${id}`),
      delegateTo('writer', `summarize the laws ${id}`),
      { text: 'Energy is conserved; entropy grows; absolute zero is out of reach.' },
    )
    .replyWhen(`find the laws ${id}`, { text: 'Three laws: conservation, entropy, absolute zero.' })
    .replyWhen(`summarize the laws ${id}`, { text: 'A one-line summary of each law.' });
  const team = teamOf([agent('Researcher', 'Research topics.'), agent('Writer', 'Write summaries.')]);

  const run = await team.run(`thermodynamics ${id}`, { background: true });
  expect(run.status).toBe(RunStatus.pending);
  const output = await teamOutput(run.runId, RunStatus.completed, RunStatus.error);

  expect(output).toMatchObject({
    status: RunStatus.completed,
    teamId: 'research-team',
    content: 'Energy is conserved; entropy grows; absolute zero is out of reach.',
  });
  expect(output.memberResponses.map((member) => [member.status, member.kind === 'agent' && member.agentId])).toEqual([
    [RunStatus.completed, 'researcher'],
    [RunStatus.completed, 'writer'],
  ]);
  expect(output.memberResponses[0]!.content).toBe('Three laws: conservation, entropy, absolute zero.');
  expect(output.tools.map((tool) => [tool.toolName, tool.result])).toEqual([
    ['delegate_task_to_member', 'Three laws: conservation, entropy, absolute zero.'],
    ['delegate_task_to_member', 'A one-line summary of each law.'],
  ]);

  // Each member run is a child workflow of the team's, polled by its own run id like any run.
  const memberRunId = output.memberResponses[0]!.runId;
  expect(await h.client.getRunOutput(memberRunId)).toMatchObject({
    parentRunId: run.runId,
    status: RunStatus.completed,
  });
  const member = await describeRun(memberRunId);
  expect(member.parentExecution?.workflowId).toBe(workflowIdForRun(run.runId));
  expect(member.searchAttributes).toMatchObject({ KernKind: ['agent'], KernParentRunId: [run.runId] });
  expect((await describeRun(run.runId)).searchAttributes).toMatchObject({ KernKind: ['team'] });

  // The leader was told about its members and got the delegation tool.
  const leaderRequest = h.model.requestsFor(`thermodynamics ${id}`)[0]!.body;
  expect(JSON.stringify(leaderRequest.instructions)).toContain('researcher: Researcher (Research topics.)');
  expect(JSON.stringify(leaderRequest.tools)).toContain('"enum":["researcher","writer"]');
});

test("route: the chosen member's answer is the team's answer, without another leader turn", async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`route me ${id}`, delegateTo('writer', `write it ${id}`))
    .replyWhen(`write it ${id}`, { text: 'The writer answers for the team.' });
  const team = teamOf([agent('Researcher', 'Research.'), agent('Writer', 'Write.')], 'route');
  const output = await team.run(`route me ${id}`);
  expect(output).toMatchObject({ status: RunStatus.completed, content: 'The writer answers for the team.' });
  expect(h.model.requestsFor(`route me ${id}`)).toHaveLength(1);
});

test('broadcast: every member gets the task at once and the leader combines the answers', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(
      `everyone ${id}`,
      { toolCalls: [{ name: 'delegate_task_to_all_members', arguments: { task: `opinions ${id}` } }] },
      { text: 'Both agree.' },
    )
    .replyWhen(
      (request) => request.userText === `opinions ${id}`,
      { text: 'Opinion.', tokenDelayMs: 100 },
      {
        text: 'Opinion.',
        tokenDelayMs: 100,
      },
    );
  const team = teamOf([agent('Researcher', 'Research.'), agent('Writer', 'Write.')], 'broadcast');
  const output = await team.run(`everyone ${id}`);

  expect(output).toMatchObject({ status: RunStatus.completed, content: 'Both agree.' });
  expect(output.memberResponses.map((member) => member.status)).toEqual([RunStatus.completed, RunStatus.completed]);
  expect(output.tools[0]!.result).toBe('## Researcher\nOpinion.\n\n## Writer\nOpinion.');
  // Side by side: the two member runs overlapped in time.
  const [first, second] = output.memberResponses;
  expect(Date.parse(second!.createdAt)).toBeLessThan(Date.parse(first!.updatedAt));
});

test('a nested team runs as a child teamRun under its parent team', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`outer ${id}`, delegateTo('inner-team', `inner task ${id}`), { text: 'Outer done.' })
    .replyWhen(`inner task ${id}`, delegateTo('researcher', `deep task ${id}`), { text: 'Inner done.' })
    .replyWhen(`deep task ${id}`, { text: 'Deep answer.' });
  const inner = teamOf([agent('Researcher', 'Research.')], 'coordinate', 'Inner Team');
  const outer = teamOf([inner, agent('Writer', 'Write.')], 'coordinate', 'Outer Team');
  const output = await outer.run(`outer ${id}`);

  expect(output).toMatchObject({ status: RunStatus.completed, content: 'Outer done.' });
  const innerOutput = output.memberResponses[0];
  if (innerOutput?.kind !== 'team') throw new Error('the first member of the outer team is the inner team');
  expect(innerOutput).toMatchObject({ teamId: 'inner-team', status: RunStatus.completed, content: 'Inner done.' });
  expect(innerOutput.memberResponses[0]).toMatchObject({ agentId: 'researcher', content: 'Deep answer.' });
  expect((await describeRun(innerOutput.runId)).type).toBe('teamRun');
  const innerHistory = await h.client.temporal.workflow.getHandle(workflowIdForRun(innerOutput.runId)).fetchHistory();
  const innerSummaries = (innerHistory.events ?? []).flatMap((event) =>
    event.activityTaskScheduledEventAttributes && event.userMetadata?.summary
      ? [defaultPayloadConverter.fromPayload<string>(event.userMetadata.summary as Payload)]
      : [],
  );
  expect(innerSummaries[0]).toBe('Inner Team leader, member of Outer Team · turn 1 · gpt-test');

  // Every run, the team a client started and the members its workflows started, takes kern's code changes from its
  // format (12): none records a patch marker or the search attribute Temporal adds with one.
  const deepOutput = innerOutput.memberResponses[0]!;
  for (const runId of [output.runId, innerOutput.runId, deepOutput.runId]) {
    const { events } = await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
    const markers = (events ?? []).filter(
      (event) =>
        event.markerRecordedEventAttributes ||
        event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion,
    );
    expect({ runId, markers: markers.length }).toEqual({ runId, markers: 0 });
  }
});

test("cancel while a member's model call is in flight: team and member CANCELLED, request aborted, no orphan", async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`essay ${id}`, delegateTo('writer', `long essay ${id}`))
    .replyWhen(`long essay ${id}`, { text: 'Artificial intelligence began', tokenDelayMs: 20, hang: true });
  const team = teamOf([agent('Researcher', 'Research.'), agent('Writer', 'Write.')]);
  const run = await team.run(`essay ${id}`, { background: true });
  await h.model.waitFor(() => h.model.requestsFor(`long essay ${id}`).length === 1);
  // The member's answer so far is kept as what its stream carried: wait until it carries the text (background runs
  // publish each second, and only to the member's own stream: nobody streams the team live).
  const started = await eventually(
    () => h.client.eventsSoFar(run.runId),
    (read) => read?.events.some((event) => event.event === RunEvent.runStarted) === true,
  );
  const memberRunId = started!.events.find((event) => event.event === RunEvent.runStarted)!.runId;
  await eventually(
    () => h.client.getRunOutput(memberRunId),
    (member) => member?.content?.includes('Artificial intelligence began') === true,
  );

  expect(await team.cancelRun(run.runId)).toBe(true);
  const output = await teamOutput(run.runId, RunStatus.cancelled, RunStatus.completed);
  expect(output.status).toBe(RunStatus.cancelled);
  expect(output.memberResponses).toHaveLength(1);
  expect(output.memberResponses[0]).toMatchObject({
    status: RunStatus.cancelled,
    content: expect.stringContaining('Artificial intelligence began'),
  });
  await h.model.waitFor(() => h.model.requestsFor(`long essay ${id}`)[0]!.aborted);
  // Nobody streamed the team live, so none of the member's text went to its stream: only the member's life did.
  const teamEvents = (await h.client.eventsSoFar(run.runId))!.events.filter((event) => event.runId === memberRunId);
  expect(teamEvents.map((event) => event.event)).toContain(RunEvent.runCancelled);
  expect(teamEvents.some((event) => event.event === RunEvent.runContent)).toBe(false);
  expect((await describeRun(run.runId)).status.name).toBe('CANCELLED');
  expect((await describeRun(output.memberResponses[0]!.runId)).status.name).toBe('CANCELLED');
});

test('cancel while the team is starting its member, at 0–45 ms: the member is cancelled too, and the team does not wait', async () => {
  const team = teamOf([agent('Writer', 'Write.')]);
  const historyOf = async (runId: string) =>
    (await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).fetchHistory()).events ?? [];
  for (let delayMs = 0; delayMs < 50; delayMs += 5) {
    const id = randomUUID();
    h.model
      .replyWhen(`essay ${id}`, delegateTo('writer', `short essay ${id}`), { text: 'Unreachable.' })
      .replyWhen(`short essay ${id}`, { text: 'A short essay in six words.', tokenDelayMs: 30 });
    const run = await team.run(`essay ${id}`, { background: true });
    // The leader's delegating answer is out: the team is about to start its member, or has just started it.
    await h.model.waitFor(() => h.model.requestsFor(`essay ${id}`)[0]?.completed === true);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    expect(await team.cancelRun(run.runId)).toBe(true);

    const output = await teamOutput(run.runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error);
    expect(output.status).toBe(RunStatus.cancelled);
    // The team did not wait out a grace period for a member's last events (a timer in its history).
    expect((await historyOf(run.runId)).some((event) => event.timerStartedEventAttributes)).toBe(false);
    for (const member of output.memberResponses) {
      // Every member the team recorded exists, has ended, and ended as the team says it did.
      expect((await h.client.getRunOutput(member.runId))?.status).toBe(member.status);
      // A member that got the cancel before its answer was in is CANCELLED, not run to its end.
      const memberHistory = await historyOf(member.runId);
      const cancelAt = memberHistory.findIndex((event) => event.workflowExecutionCancelRequestedEventAttributes);
      const answerAt = memberHistory.findIndex((event) => event.activityTaskCompletedEventAttributes);
      if (cancelAt >= 0 && (answerAt < 0 || cancelAt < answerAt)) expect(member.status).toBe(RunStatus.cancelled);
    }
  }
}, 120_000);

test('cancel-before-start of a team run id: the team ends CANCELLED without calling any model', async () => {
  const runId = randomUUID();
  expect(await h.client.cancelRun(runId)).toBe(false);
  const team = teamOf([agent('Researcher', 'Research.')]);
  await team.run(`never ${runId}`, { background: true, runId });
  const output = await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed);
  expect(output.status).toBe(RunStatus.cancelled);
  expect(h.model.requestsFor(`never ${runId}`)).toHaveLength(0);
});

test('a member that fails is reported to the leader as a tool error, and the team goes on', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`fragile ${id}`, delegateTo('researcher', `doomed ${id}`), { text: 'The researcher failed; sorry.' })
    .replyWhen(`doomed ${id}`, { error: { status: 401, message: 'Incorrect API key provided' } });
  const team = teamOf([agent('Researcher', 'Research.')]);
  const output = await team.run(`fragile ${id}`);

  expect(output).toMatchObject({ status: RunStatus.completed, content: 'The researcher failed; sorry.' });
  expect(output.memberResponses[0]).toMatchObject({
    status: RunStatus.error,
    error: { type: 'ModelRequestRejected', message: expect.stringContaining('Incorrect API key') },
  });
  expect(output.tools[0]).toMatchObject({ toolCallError: true, result: expect.stringContaining('Researcher failed') });
  const secondLeaderTurn = JSON.stringify(h.model.requestsFor(`fragile ${id}`)[1]!.body);
  expect(secondLeaderTurn).toContain('Researcher failed');
});

test('a finished team run is polled with no worker running', async () => {
  const id = randomUUID();
  h.model
    .replyWhen(`recorded ${id}`, delegateTo('researcher', `fact ${id}`), { text: 'Recorded answer.' })
    .replyWhen(`fact ${id}`, { text: 'A fact.' });
  const team = teamOf([agent('Researcher', 'Research.')]);
  const run = await team.run(`recorded ${id}`);
  await h.stopWorker();
  try {
    const output = await team.getRunOutput({ runId: run.runId });
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'Recorded answer.' });
    expect(output?.memberResponses[0]).toMatchObject({ status: RunStatus.completed, content: 'A fact.' });
  } finally {
    await h.startWorker();
  }
});

test("a team's stream carries its members' events, and ends with exactly one TeamRunCompleted", async () => {
  const id = randomUUID();
  const story = 'A dragon learned to code and wrote a compiler before breakfast';
  h.model
    .replyWhen(`stream ${id}`, delegateTo('writer', `story ${id}`), { text: 'The team liked the story.' })
    .replyWhen(`story ${id}`, { text: story, tokenDelayMs: 15 });
  const team = teamOf([agent('Writer', 'Write.')]);
  const events: AnyRunEvent[] = [];
  for await (const event of team.run(`stream ${id}`, { stream: true })) events.push(event);

  const teamRunId = events[0]!.runId;
  expect(events[0]!.event).toBe(TeamRunEvent.runStarted);
  expect(events.map((event) => event.eventIndex)).toEqual(events.map((_, index) => index));
  const memberEvents = events.filter((event) => event.runId !== teamRunId);
  expect(memberEvents[0]).toMatchObject({ event: RunEvent.runStarted, agentId: 'writer', parentRunId: teamRunId });
  const memberContent = memberEvents.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
  expect(memberContent.join('')).toBe(story);
  expect(memberEvents.at(-1)!.event).toBe(RunEvent.runCompleted);
  expect(events.filter((event) => event.event === TeamRunEvent.runCompleted)).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ event: TeamRunEvent.runCompleted, content: 'The team liked the story.' });
});
