import { RunEvent, RunStatus, TeamRunEvent, type KernRunEvent } from 'kern';
import { AGENT_RUN_INPUT_VERSION, type AgentRunInput } from '../src/shared/specs';
import { RunState } from '../src/workflows/run-state';

const input: AgentRunInput = {
  version: AGENT_RUN_INPUT_VERSION,
  runId: 'run-1',
  sessionId: 'session-1',
  parentRunId: 'team-run-1',
  input: 'What is the weather?',
  agent: {
    id: 'weather',
    name: 'Weather',
    instructions: [],
    model: { provider: 'openai-responses', id: 'gpt-test' },
    tools: [],
    maxToolRounds: 3,
  },
  createdAt: '2026-01-01T00:00:00.000Z',
};

function newState() {
  const events: KernRunEvent[] = [];
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const state = new RunState(
    input,
    (event) => events.push(event),
    () => new Date((clock += 500)),
  );
  return { state, events };
}

test('a run with a tool call goes PENDING → RUNNING → COMPLETED and publishes each step', () => {
  const { state, events } = newState();
  expect(state.status).toBe(RunStatus.pending);
  state.start();
  state.modelRequestStarted();
  state.modelResponded({
    content: '',
    toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    inputTokens: 10,
    outputTokens: 2,
    timeToFirstToken: 0.2,
  });
  const execution = state.toolStarted({ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' });
  state.toolFinished(execution, { content: 'Sunny', isError: false, args: { city: 'Paris' } });
  state.modelResponded({ content: 'It is sunny.', toolCalls: [], inputTokens: 20, outputTokens: 4 });
  state.complete();

  expect(events.map((event) => event.event)).toEqual([
    RunEvent.runStarted,
    RunEvent.modelRequestStarted,
    RunEvent.modelRequestCompleted,
    RunEvent.toolCallStarted,
    RunEvent.toolCallCompleted,
    RunEvent.runContent,
    RunEvent.modelRequestCompleted,
    RunEvent.runCompleted,
  ]);
  expect(events.every((event) => event.runId === 'run-1' && event.parentRunId === 'team-run-1')).toBe(true);
  const output = state.snapshot();
  expect(output).toMatchObject({ status: RunStatus.completed, content: 'It is sunny.' });
  expect(output.metrics).toMatchObject({ inputTokens: 30, outputTokens: 6, totalTokens: 36, timeToFirstToken: 0.2 });
  expect(output.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  expect(output.tools).toEqual([expect.objectContaining({ toolName: 'get_weather', result: 'Sunny' })]);
});

test('a cancel keeps the partial answer, and a finished run cannot change again', () => {
  const { state, events } = newState();
  state.start();
  state.cancel('cancelled', { content: 'Once upon', streamedChars: 5 });
  expect(state.snapshot()).toMatchObject({ status: RunStatus.cancelled, content: 'Once upon' });
  // The part that had not been streamed yet goes out before the cancel event.
  expect(events.slice(-2)).toMatchObject([
    { event: RunEvent.runContent, content: 'upon' },
    { event: RunEvent.runCancelled, content: 'Once upon' },
  ]);
  expect(() => state.complete()).toThrow('already CANCELLED');
});

test('a model answer publishes only what the activity did not stream as deltas', () => {
  const { state, events } = newState();
  state.start();
  const answer = (content: string, extra: object) =>
    state.modelResponded({ content, toolCalls: [], inputTokens: 1, outputTokens: 1, ...extra });
  answer('Hello world', { streamedChars: 6 });
  answer('All of it', { streamedChars: 9 });
  answer('Old worker', { streamed: true });
  answer('Not streamed', {});
  const contents = events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : []));
  expect(contents).toEqual(['world', 'Not streamed']);
});

test('a failure records the error on the output and in the RunError event', () => {
  const { state, events } = newState();
  state.start();
  state.fail({ type: 'ModelRequestRejected', message: '401 bad key' });
  expect(state.snapshot().error).toEqual({ type: 'ModelRequestRejected', message: '401 bad key' });
  expect(events.at(-1)).toMatchObject({ event: RunEvent.runError, error: { type: 'ModelRequestRejected' } });
});

test('snapshots are copies: changing one does not change the run', () => {
  const { state } = newState();
  state.snapshot().messages.push({ role: 'user', content: 'injected' });
  expect(state.snapshot().messages).toHaveLength(1);
});

test('a team run publishes Team events and keeps its member runs, ending open ones as cancelled', () => {
  const events: KernRunEvent[] = [];
  const teamInput = {
    ...input,
    agent: undefined,
    team: { ...input.agent, mode: 'coordinate' as const, members: [] },
  };
  const state = new RunState(
    teamInput,
    (event) => events.push(event),
    () => new Date(),
  );
  state.start();
  const member = {
    ...state.snapshot(),
    runId: 'member-1',
    agentId: 'writer',
    agentName: 'Writer',
    status: RunStatus.running,
  };
  state.memberRun(member as never);
  expect(state.openMemberRunIds()).toEqual(['member-1']);
  state.endOpenMemberRuns(RunStatus.cancelled, () => 'Half a story');
  state.cancel('cancelled');

  expect(events.map((event) => event.event)).toEqual([TeamRunEvent.runStarted, TeamRunEvent.runCancelled]);
  expect(events[0]).toMatchObject({ teamId: 'weather', teamName: 'Weather' });
  const output = state.snapshot();
  expect('memberResponses' in output && output.memberResponses).toEqual([
    expect.objectContaining({ runId: 'member-1', status: RunStatus.cancelled, content: 'Half a story' }),
  ]);
});
