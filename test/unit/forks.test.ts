import { ForkRefused, RunNotContinuable } from '../../src/shared/errors';
import { checkpointIndexes, forkSeed, outputAtBoundary, safeBoundary } from '../../src/shared/forks';
import { outputFromRecordOf } from '../../src/shared/run-record';
import type { Message, RunOutput } from '../../src/shared/run-output';
import { RunStatus } from '../../src/shared/run-status';

/** History (2), a question, a tool round, and the answer: 6 messages. */
const conversation: Message[] = [
  { role: 'user', content: 'earlier question', fromHistory: true },
  { role: 'assistant', content: 'earlier answer', fromHistory: true },
  { role: 'user', content: 'weather in Paris?' },
  { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
  { role: 'tool', toolCallId: 'c1', toolName: 'get_weather', content: 'sunny' },
  { role: 'assistant', content: 'It is sunny.' },
];

function completedRun(messages = conversation): RunOutput {
  const record = {
    kind: 'agent' as const,
    runId: 'source',
    sessionId: 's',
    componentId: 'a',
    componentName: 'A',
    input: 'weather in Paris?',
    model: 'm',
    createdAt: '2026-12-06T10:00:00.000Z',
  };
  return { ...outputFromRecordOf.agent(record, RunStatus.completed), messages, content: 'It is sunny.' };
}

test('a regenerate keeps the tool round and drops only the final answer; the question is the last user message', () => {
  const { seed, input } = forkSeed(completedRun(), { regenerate: true });
  expect(seed).toEqual({
    fromRunId: 'source',
    messageIndex: 5,
    messages: conversation.slice(0, 5),
    regenerate: true,
    replacesTurn: true,
  });
  expect(input).toBe('weather in Paris?');
  expect(forkSeed(completedRun(), { regenerate: true, replaceOriginal: false }).seed.replacesTurn).toBeUndefined();
});

test('a fork keeps the messages up to its boundary, moved back so that no tool call loses its result', () => {
  expect(forkSeed(completedRun(), { continueFrom: 'last_user' }).seed.messageIndex).toBe(3);
  expect(forkSeed(completedRun(), {}).seed.messageIndex).toBe(6);
  // 4 would keep the call without its result: the boundary goes back to before the call.
  expect(safeBoundary(conversation, 4)).toBe(3);
  const { seed, input } = forkSeed(completedRun(), { continueFrom: 4, input: 'and in Rome?' });
  expect(seed.messageIndex).toBe(3);
  expect(seed.messages.at(-1)).toEqual({ role: 'user', content: 'and in Rome?' });
  expect(input).toBe('and in Rome?');
});

test('forks that make no sense are refused', () => {
  expect(() => forkSeed(completedRun(), { continueFrom: 7 })).toThrow(ForkRefused);
  expect(() => forkSeed(completedRun(), { continueFrom: -1 })).toThrow(ForkRefused);
  expect(() => forkSeed(completedRun(), { continueFrom: 0 })).toThrow(/no user message to answer/);
  expect(() => forkSeed(completedRun(), { replaceOriginal: true })).toThrow(/only makes sense with regenerate/);
  expect(() => forkSeed(completedRun(), { regenerate: true, continueFrom: 2 })).toThrow(ForkRefused);
  expect(() => forkSeed({ ...completedRun(), status: RunStatus.cancelled }, {})).toThrow(RunNotContinuable);
  expect(() => forkSeed(completedRun([{ role: 'assistant', content: 'hi' }]), { regenerate: true })).toThrow(
    /nothing to regenerate/,
  );
});

test("a run's checkpoints are where it was forked and its end; a boundary's snapshot keeps only its tool calls", () => {
  expect(checkpointIndexes(completedRun())).toEqual([6]);
  expect(checkpointIndexes({ ...completedRun(), forkedFrom: { runId: 'x', messageIndex: 2 } })).toEqual([2, 6]);
  const run = {
    ...completedRun(),
    tools: [{ toolCallId: 'c1', toolName: 'get_weather', toolArgs: { city: 'Paris' }, createdAt: 'now' }],
  };
  expect(outputAtBoundary(run, 4)).toMatchObject({ messages: conversation.slice(0, 3), tools: [] });
  expect(outputAtBoundary(run, 5).tools).toHaveLength(1);
  expect(() => outputAtBoundary(run, 7)).toThrow(ForkRefused);
});
