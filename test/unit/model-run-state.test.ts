import { RunEvent, RunStatus, TeamRunEvent, type AgentRunInput, type TeamRunInput } from 'kern';
import { eventFrom, type EventBody } from '../../src/shared/events';
import { RUN_INPUT_VERSION } from '../../src/shared/specs';
import { AgentRunState } from '../../src/workflows/model-run-state';
import { TeamRunState } from '../../src/workflows/team-run-state';
import { MemoryLog, steppingClock } from '../support/memory-log';

const agentInput: AgentRunInput = {
  version: RUN_INPUT_VERSION,
  kind: 'agent',
  runId: 'run-1',
  sessionId: 'session-1',
  parentRunId: 'team-run-1',
  input: 'What is the weather?',
  agent: {
    kind: 'agent',
    id: 'weather',
    name: 'Weather',
    instructions: [],
    model: { provider: 'openai-responses', id: 'gpt-test' },
    tools: [],
    maxToolRounds: 3,
  },
  createdAt: '2026-01-01T00:00:00.000Z',
};

const teamInput: TeamRunInput = {
  ...agentInput,
  kind: 'team',
  runId: 'team-run-1',
  team: { ...agentInput.agent, kind: 'team', id: 'forecasters', name: 'Forecasters', mode: 'coordinate', members: [] },
};

function newAgentRun() {
  const log = new MemoryLog();
  return { state: new AgentRunState(agentInput, log, steppingClock()), log };
}

const answer = (content: string, streamedChars = 0) => ({
  content,
  toolCalls: [],
  inputTokens: 1,
  outputTokens: 1,
  streamedChars,
});

test('a run with a tool call goes PENDING → RUNNING → COMPLETED and publishes each step', () => {
  const { state, log } = newAgentRun();
  expect(state.status).toBe(RunStatus.pending);
  state.start();
  state.modelRequestStarted();
  state.modelResponded({
    content: '',
    toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    inputTokens: 10,
    outputTokens: 2,
    timeToFirstToken: 0.2,
    streamedChars: 0,
  });
  const execution = state.toolStarted({ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' });
  state.toolFinished(execution, { content: 'Sunny', isError: false, args: { city: 'Paris' } });
  state.modelResponded({ ...answer('It is sunny.'), inputTokens: 20, outputTokens: 4 });
  state.complete();

  expect(log.names()).toEqual([
    RunEvent.runStarted,
    RunEvent.modelRequestStarted,
    RunEvent.modelRequestCompleted,
    RunEvent.toolCallStarted,
    RunEvent.toolCallCompleted,
    RunEvent.runContent,
    RunEvent.modelRequestCompleted,
    RunEvent.runCompleted,
  ]);
  expect(
    log.events.every(
      (event) => event.kind === 'agent' && event.runId === 'run-1' && event.parentRunId === 'team-run-1',
    ),
  ).toBe(true);
  const output = state.snapshot();
  expect(output).toMatchObject({
    kind: 'agent',
    agentId: 'weather',
    status: RunStatus.completed,
    content: 'It is sunny.',
  });
  expect(output.metrics).toMatchObject({ inputTokens: 30, outputTokens: 6, totalTokens: 36, timeToFirstToken: 0.2 });
  expect(output.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  expect(output.tools).toEqual([expect.objectContaining({ toolName: 'get_weather', toolArgs: { city: 'Paris' } })]);
});

test('a model answer publishes only the tail its activity did not stream as deltas', () => {
  const { state, log } = newAgentRun();
  state.start();
  state.modelResponded(answer('Hello world', 6));
  state.modelResponded(answer('All of it', 9));
  state.modelResponded(answer('Not streamed'));
  const contents = log.events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
  expect(contents).toEqual(['world', 'Not streamed']);
});

test('a poll during a model request reads the answer so far from the deltas, without a failed attempt', () => {
  const { state, log } = newAgentRun();
  state.start();
  state.modelResponded(answer('First turn.'));
  state.modelRequestStarted();
  expect(state.snapshot().content).toBe('First turn.');
  // What the model activity publishes to the run's stream while it runs: an attempt that breaks, then a retry.
  const delta = (body: EventBody) => log.publish(eventFrom(state.source, body, '2026-01-01T00:00:09.000Z'));
  delta({ event: RunEvent.runContent, content: 'Once upon' });
  expect(state.snapshot().content).toBe('Once upon');
  delta({ event: RunEvent.runContentReset, attempt: 2 });
  delta({ event: RunEvent.runContent, content: 'Long ago' });
  expect(state.snapshot().content).toBe('Long ago');

  state.modelResponded(answer('Long ago, a dragon.', 8));
  expect(state.snapshot().content).toBe('Long ago, a dragon.');
});

test('a cancel keeps the partial answer without publishing it again, and a finished run cannot change', () => {
  const { state, log } = newAgentRun();
  state.start();
  state.modelRequestStarted();
  state.modelRequestCancelled('Once upon');
  state.cancel('cancelled');
  expect(state.snapshot()).toMatchObject({ status: RunStatus.cancelled, content: 'Once upon' });
  expect(log.names().slice(-2)).toEqual([RunEvent.modelRequestStarted, RunEvent.runCancelled]);
  expect(log.events.at(-1)).toMatchObject({ content: 'Once upon', reason: 'cancelled' });
  expect(() => state.complete()).toThrow('already CANCELLED');
});

test('a failure records the error on the output and in the RunError event', () => {
  const { state, log } = newAgentRun();
  state.start();
  state.fail({ type: 'ModelRequestRejected', message: '401 bad key' });
  expect(state.snapshot().error).toEqual({ type: 'ModelRequestRejected', message: '401 bad key' });
  expect(log.events.at(-1)).toMatchObject({ event: RunEvent.runError, error: { type: 'ModelRequestRejected' } });
});

test('snapshots are copies: changing one does not change the run', () => {
  const { state } = newAgentRun();
  state.snapshot().messages.push({ role: 'user', content: 'injected' });
  expect(state.snapshot().messages).toHaveLength(1);
});

test('a team run publishes Team events and records its members; cancelled ones keep what they said', () => {
  const log = new MemoryLog();
  const state = new TeamRunState(teamInput, log, steppingClock());
  state.start();
  const member = (runId: string, agentName: string): AgentRunInput => ({
    ...agentInput,
    runId,
    parentRunId: 'team-run-1',
    input: 'forecast',
    agent: { ...agentInput.agent, id: agentName.toLowerCase(), name: agentName },
  });
  state.memberStarted(member('member-1', 'Writer'));
  state.memberStarted(member('member-2', 'Critic'));
  state.memberStopped(member('member-2', 'Critic'), RunStatus.error, { type: 'ModelRequestRejected', message: 'no' });
  expect(state.openMemberRunIds()).toEqual(['member-1']);

  // The member's own RunCancelled event, forwarded to the team's stream, carries its partial answer.
  log.publish({
    kind: 'agent',
    event: RunEvent.runCancelled,
    runId: 'member-1',
    sessionId: 'session-1',
    agentId: 'writer',
    agentName: 'Writer',
    reason: 'cancelled',
    content: 'Half a story',
    createdAt: '2026-01-01T00:00:02.000Z',
  });
  state.cancelOpenMembers();
  state.cancel('cancelled');

  expect(log.names()).toEqual([TeamRunEvent.runStarted, RunEvent.runCancelled, TeamRunEvent.runCancelled]);
  expect(log.events[0]).toMatchObject({ kind: 'team', teamId: 'forecasters', teamName: 'Forecasters' });
  const output = state.snapshot();
  expect(output.kind).toBe('team');
  expect(output.memberResponses).toEqual([
    expect.objectContaining({ kind: 'agent', runId: 'member-1', status: RunStatus.cancelled, content: 'Half a story' }),
    expect.objectContaining({ kind: 'agent', runId: 'member-2', status: RunStatus.error, error: expect.anything() }),
  ]);
});

test('a member that failed while its team was being cancelled stays ERROR; one with no last event is CANCELLED', () => {
  const log = new MemoryLog();
  const state = new TeamRunState(teamInput, log, steppingClock());
  state.start();
  const member = (runId: string): AgentRunInput => ({ ...agentInput, runId, parentRunId: 'team-run-1' });
  state.memberStarted(member('member-1'));
  state.memberStarted(member('member-2'));
  const error = { type: 'ModelUnavailable', message: '500 from the provider' };
  log.publish({
    kind: 'agent',
    event: RunEvent.runError,
    runId: 'member-1',
    sessionId: 'session-1',
    agentId: 'weather',
    agentName: 'Weather',
    error,
    content: 'Half',
    createdAt: '2026-01-01T00:00:02.000Z',
  });
  state.cancelOpenMembers();
  state.cancel('cancelled');

  expect(state.snapshot().memberResponses).toEqual([
    expect.objectContaining({ runId: 'member-1', status: RunStatus.error, error, content: 'Half' }),
    expect.objectContaining({ runId: 'member-2', status: RunStatus.cancelled }),
  ]);
});

test('a routed team answers with its member answer, as TeamRunContent', () => {
  const log = new MemoryLog();
  const state = new TeamRunState(teamInput, log, steppingClock());
  state.start();
  state.answer('Rain tomorrow.');
  state.complete();
  expect(log.names()).toEqual([TeamRunEvent.runStarted, TeamRunEvent.runContent, TeamRunEvent.runCompleted]);
  expect(state.snapshot().content).toBe('Rain tomorrow.');
});

describe('pauses', () => {
  const sendEmail = { name: 'send_email', description: 'Send.', parameters: {}, needs: 'confirmation' as const };
  const call = { id: 'c9', name: 'send_email', arguments: '{"to":"ada"}' };

  test("a run's own pause: PAUSED with the requirement and the paused tool, then RUNNING with the answer recorded", () => {
    const { state, log } = newAgentRun();
    state.start();
    const [requirement] = state.pauseFor([{ call, tool: sendEmail }], ['req-1']);
    expect(state.status).toBe(RunStatus.paused);
    expect(state.snapshot()).toMatchObject({
      requirements: [
        { id: 'req-1', runId: 'run-1', needs: 'confirmation', toolExecution: { toolArgs: { to: 'ada' } } },
      ],
      tools: [{ toolCallId: 'c9', requiresConfirmation: true }],
    });
    state.resumeWith([requirement!], [{ id: 'req-1', confirmation: false, confirmationNote: 'no' }]);
    expect(state.status).toBe(RunStatus.running);
    expect(state.snapshot().requirements).toBeUndefined();
    expect(state.snapshot().tools[0]).toMatchObject({ confirmed: false, confirmationNote: 'no' });
    expect(log.names().slice(-2)).toEqual([RunEvent.runPaused, RunEvent.runContinued]);
  });

  test("a member's pause pauses the team once, however often its events are delivered; its continue resumes the team", () => {
    const member = newAgentRun();
    member.state.start();
    member.state.pauseFor([{ call, tool: sendEmail }], ['req-1']);
    const [paused] = member.log.events.filter((event) => event.event === RunEvent.runPaused);
    const log = new MemoryLog();
    const team = new TeamRunState(teamInput, log, steppingClock());
    const changes: unknown[] = [];
    team.onPauseChange = (requirements) => changes.push(requirements?.map((r) => r.id));
    team.start();
    team.memberStarted(agentInput);
    team.descendantEvent(paused!);
    team.descendantEvent(paused!);
    expect(team.status).toBe(RunStatus.paused);
    expect(team.snapshot().requirements).toEqual([
      expect.objectContaining({ id: 'req-1', runId: 'run-1', memberRunId: 'run-1', memberAgentId: 'weather' }),
    ]);
    expect(team.snapshot().memberResponses[0]!.status).toBe(RunStatus.paused);
    expect(log.names().filter((name) => name === TeamRunEvent.runPaused)).toHaveLength(1);

    member.state.resumeWith([], []);
    const continued = member.log.events.at(-1)!;
    team.descendantEvent(continued);
    team.descendantEvent(continued);
    expect(team.status).toBe(RunStatus.running);
    expect(team.snapshot().memberResponses[0]!.status).toBe(RunStatus.running);
    expect(log.names().filter((name) => name === TeamRunEvent.runContinued)).toHaveLength(1);
    expect(changes).toEqual([['req-1'], undefined]);
  });
});
