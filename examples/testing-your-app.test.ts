/**
 * How to test your own agents with kern, in jest: a real local Temporal, a real worker for your app, and a scripted
 * model server in place of the LLM (`startTestEnvironment` from `kern/testing`). Copy this file next to your app.
 * It runs in kern's own `npm test`, against the examples' app.
 */
import { RunStatus } from 'kern';
import { startTestEnvironment, type KernTestEnvironment } from 'kern/testing';
import app from './app';
import { emailAgent } from './agent-human-in-the-loop';
import { scriptWriter } from './agent-structured-output';

let env: KernTestEnvironment;
beforeAll(async () => {
  // A throwaway Temporal server starts unless you pass `address` (kern's suite passes the one it already runs).
  env = await startTestEnvironment({ app, address: process.env.KERN_TEST_TEMPORAL_ADDRESS });
}, 60_000);
afterAll(() => env.teardown());

test('the email agent asks before it sends, and the model gets the tool result once it is approved', async () => {
  // Script the model: first it calls the tool, then (after the result) it answers.
  env.model.replyWhen(
    'Email Ada',
    { toolCalls: [{ name: 'send_email', arguments: { to: 'ada@example.com', subject: 'Hi', body: 'Lunch?' } }] },
    { text: 'Sent it.' },
  );
  // The agent has no `client`: it runs on the environment's.
  const paused = await emailAgent.run('Email Ada about lunch');
  expect(paused.status).toBe(RunStatus.paused);
  expect(paused.requirements?.[0]?.toolExecution).toMatchObject({ toolName: 'send_email' });

  await emailAgent.continueRun(paused.runId, {
    requirements: [{ id: paused.requirements![0]!.id, confirmation: true }],
  });
  const done = await env.client.waitForRun(paused.runId);
  expect(done).toMatchObject({ status: RunStatus.completed, content: 'Sent it.' });

  // Assert on what the model was sent: the tool on the first request, its result on the second.
  const [first, second] = env.model.requestsFor('Email Ada');
  expect((first!.body.tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(['send_email']);
  expect(JSON.stringify(second!.body.input)).toContain('The email \\"Hi\\" was sent to ada@example.com.');
});

test('the script writer answers a typed object', async () => {
  env.model.replyWhen('Lisbon', {
    text: JSON.stringify({ name: 'Tram 28', setting: 'Lisbon', characters: ['Ana'], genre: 'drama', storyline: '…' }),
  });
  const output = await scriptWriter.run('Lisbon');
  expect(output.content?.characters).toEqual(['Ana']);
});
