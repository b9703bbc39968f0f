import { randomUUID } from 'node:crypto';
import { Agent, OpenAIResponses, RunNotFound, Team, defineApp } from 'kern';
import { eventually, startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm, statusAndJson, type Wire } from '../support/http';
import { remember } from '../fixtures/session-tools';
import type { RecordedRequest } from '../../src/testing/model-server';

const model = new OpenAIResponses({ id: 'gpt-test' });
const assistant = new Agent({ name: 'Assistant', model, addHistoryToContext: true, tools: [remember] });
const helper = new Agent({ name: 'Helper', model });
const desk = new Team({ name: 'Help Desk', model, members: [helper], addHistoryToContext: true });
const app = defineApp({ agents: [assistant, helper], teams: [desk], tools: [remember] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const get = async (path: string) => statusAndJson(await fetch(`${base}${path}`));
const post = async (path: string, fields: Record<string, string>) =>
  statusAndJson(await postForm(`${base}${path}`, { stream: 'false', ...fields }));
/** Everything the model was sent, as text: to tell which messages a request carried. */
const sent = (request: RecordedRequest) => JSON.stringify(request.body.input);
const requestFor = (text: string) => h.model.requests.filter((request) => request.lastUserText.includes(text));

test("an agent's run forked and regenerated over HTTP: new runs from its conversation; the original stays as it was", async () => {
  const id = randomUUID();
  h.model.replyWhen(
    (request) => request.lastUserText === `remember blue ${id}`,
    { toolCalls: [{ name: 'remember', arguments: { key: 'colour', value: 'blue' } }] },
    { text: `Noted blue ${id}.` },
  );
  h.model.replyWhen((request) => request.lastUserText === `favourite ${id}?`, { text: `first answer ${id}` });
  const first = await post('/agents/assistant/runs', { message: `remember blue ${id}` });
  const sessionId: string = first.body.session_id;
  const second = await post('/agents/assistant/runs', { message: `favourite ${id}?`, session_id: sessionId });
  expect(second.body.content).toBe(`first answer ${id}`);
  // history (2) + the question + the answer
  expect(second.body.messages).toHaveLength(4);

  // Checkpoints: the end of the conversation; a snapshot at any message boundary.
  const checkpoints = await get(`/agents/assistant/runs/${second.body.run_id}/checkpoints?session_id=${sessionId}`);
  expect(checkpoints.body).toEqual({
    run_id: second.body.run_id,
    session_id: sessionId,
    checkpoints: [
      expect.objectContaining({
        checkpoint_id: '1',
        message_index: 4,
        continue_from: 4,
        reason: 'end',
        status: 'COMPLETED',
        message_role: 'assistant',
        message_preview: `first answer ${id}`,
        is_latest: true,
      }),
    ],
  });
  const snapshot = await get(`/agents/assistant/runs/${second.body.run_id}/checkpoints/2?session_id=${sessionId}`);
  expect(snapshot.body.checkpoint).toMatchObject({ checkpoint_id: null, message_index: 2, reason: 'snapshot' });
  expect(snapshot.body.snapshot.messages.map((message: Wire) => message.content)).toEqual([
    `remember blue ${id}`,
    `Noted blue ${id}.`,
  ]);

  // Regenerate: the model is asked again with everything but the last answer, which the new answer replaces.
  h.model.replyWhen((request) => request.lastUserText === `favourite ${id}?`, { text: `second answer ${id}` });
  const regenerated = await post(`/agents/assistant/runs/${second.body.run_id}/continue`, {
    regenerate: 'true',
    session_id: sessionId,
  });
  expect(regenerated.status).toBe(200);
  expect(regenerated.body).toMatchObject({
    session_id: sessionId,
    status: 'COMPLETED',
    content: `second answer ${id}`,
    forked_from_run_id: second.body.run_id,
    forked_from_message_index: 3,
    regenerated_from: second.body.run_id,
    input: { input_content: `favourite ${id}?` },
  });
  expect(regenerated.body.run_id).not.toBe(second.body.run_id);
  const asked = requestFor(`favourite ${id}?`).at(-1)!;
  expect(sent(asked)).toContain(`Noted blue ${id}.`);
  expect(sent(asked)).not.toContain(`first answer ${id}`);
  expect((await get(`/agents/assistant/runs/${second.body.run_id}`)).body).toMatchObject({
    status: 'COMPLETED',
    content: `first answer ${id}`,
  });

  // The session's history now has the regenerated answer in place of the first one.
  h.model.replyWhen((request) => request.lastUserText === `again ${id}`, { text: 'ok' });
  const next = await post('/agents/assistant/runs', { message: `again ${id}`, session_id: sessionId });
  expect(next.body.messages.map((message: Wire) => message.content)).toEqual([
    `remember blue ${id}`,
    `Noted blue ${id}.`,
    `favourite ${id}?`,
    `second answer ${id}`,
    `again ${id}`,
    'ok',
  ]);

  // A fork from a message index, with new input, in the background: the model sees that prefix and the input.
  h.model.replyWhen((request) => request.lastUserText === `what about red ${id}?`, { text: `red then ${id}` });
  const forked = await post(`/agents/assistant/runs/${second.body.run_id}/continue`, {
    fork: 'true',
    continue_from: '2',
    input: `what about red ${id}?`,
    background: 'true',
  });
  expect(forked.status).toBe(202);
  expect(forked.body).toEqual({ run_id: expect.any(String), session_id: sessionId, status: 'PENDING' });
  const fork = await eventually(
    async () => (await get(`/agents/assistant/runs/${forked.body.run_id}`)).body,
    (body) => body.status === 'COMPLETED',
  );
  expect(fork.messages.map((message: Wire) => message.content)).toEqual([
    `remember blue ${id}`,
    `Noted blue ${id}.`,
    `what about red ${id}?`,
    `red then ${id}`,
  ]);
  expect(sent(requestFor(`what about red ${id}?`).at(-1)!)).not.toContain(`favourite ${id}?`);
  const forkCheckpoints = await get(`/agents/assistant/runs/${fork.run_id}/checkpoints?session_id=${sessionId}`);
  expect(forkCheckpoints.body.checkpoints.map((entry: Wire) => [entry.message_index, entry.reason])).toEqual([
    [2, 'checkpoint'],
    [4, 'end'],
  ]);

  // A continue of a completed run with new input forks a follow-up, as the framework does; streamed here.
  h.model.replyWhen((request) => request.lastUserText === `and green ${id}?`, { text: `green too ${id}` });
  const followUp = await postForm(`${base}/agents/assistant/runs/${first.body.run_id}/continue`, {
    input: `and green ${id}?`,
  });
  const frames = await followUp.text();
  expect(followUp.headers.get('content-type')).toContain('text/event-stream');
  expect(frames).toContain(`green too ${id}`);
  expect(frames).toContain('event: RunCompleted');
  const followUpId = /"run_id":"([^"]+)"/.exec(frames)![1]!;
  expect((await get(`/agents/assistant/runs/${followUpId}`)).body).toMatchObject({
    forked_from_run_id: first.body.run_id,
    forked_from_message_index: 4,
    session_id: sessionId,
  });
});

test('forks that cannot be made are refused with what to fix, and start nothing', async () => {
  const id = randomUUID();
  h.model.replyWhen((request) => request.lastUserText === `hello ${id}`, { text: 'hi' });
  const done = await post('/agents/assistant/runs', { message: `hello ${id}` });
  const continueWith = (runId: string, fields: Record<string, string>) =>
    post(`/agents/assistant/runs/${runId}/continue`, fields);
  const runsBefore = h.model.requests.length;

  expect(await continueWith(done.body.run_id, { fork: 'true', continue_from: 'middle' })).toEqual({
    status: 400,
    body: { detail: "Invalid continue_from. Use 'end', 'last_user', or a numeric message index." },
  });
  expect(await continueWith(done.body.run_id, { fork: 'true', continue_from: '9' })).toEqual({
    status: 400,
    body: { detail: "cannot fork: continue_from must be between 0 and 2 (the run's messages)" },
  });
  expect(await continueWith(done.body.run_id, { fork: 'true', continue_from: '0' })).toEqual({
    status: 400,
    body: { detail: 'cannot fork: the fork has no user message to answer: give input, or a later continue_from' },
  });
  expect((await continueWith(done.body.run_id, { fork: 'true', replace_original: 'false' })).status).toBe(400);
  expect((await continueWith(done.body.run_id, { regenerate: 'true', fork: 'true' })).status).toBe(400);
  expect(await continueWith(randomUUID(), { fork: 'true' })).toEqual({
    status: 404,
    body: { detail: 'Run not found' },
  });
  expect((await get(`/agents/assistant/runs/${done.body.run_id}/checkpoints`)).status).toBe(422);
  expect(
    (await get(`/agents/assistant/runs/${done.body.run_id}/checkpoints/3?session_id=${done.body.session_id}`)).status,
  ).toBe(400);
  expect((await get(`/agents/assistant/runs/${done.body.run_id}/checkpoints?session_id=other`)).status).toBe(404);

  // A cancelled run is not continued, as there (409).
  h.model.replyWhen((request) => request.lastUserText === `slow ${id}`, { text: 'slow answer', hang: true });
  const slow = await post('/agents/assistant/runs', { message: `slow ${id}`, background: 'true' });
  await eventually(
    () => Promise.resolve(h.model.requests.some((request) => request.lastUserText === `slow ${id}`)),
    (seen) => seen,
  );
  await post(`/agents/assistant/runs/${slow.body.run_id}/cancel`, {});
  await eventually(
    async () => (await get(`/agents/assistant/runs/${slow.body.run_id}`)).body.status,
    (status) => status === 'CANCELLED',
  );
  expect(await continueWith(slow.body.run_id, { regenerate: 'true' })).toEqual({
    status: 409,
    body: { detail: `cannot continue run ${slow.body.run_id}: run is cancelled` },
  });
  expect(h.model.requests.length).toBe(runsBefore + 1);
});

test("a team's run regenerated, and an agent's session forked into a new one that remembers it", async () => {
  const id = randomUUID();
  h.model.replyWhen((request) => request.lastUserText === `team question ${id}`, { text: `team answer 1 ${id}` });
  const teamRun = await post('/teams/help-desk/runs', { message: `team question ${id}` });
  h.model.replyWhen((request) => request.lastUserText === `team question ${id}`, { text: `team answer 2 ${id}` });
  const again = await post(`/teams/help-desk/runs/${teamRun.body.run_id}/continue`, { regenerate: 'true' });
  expect(again.body).toMatchObject({ content: `team answer 2 ${id}`, regenerated_from: teamRun.body.run_id });
  expect(sent(requestFor(`team question ${id}`).at(-1)!)).not.toContain(`team answer 1 ${id}`);

  h.model.replyWhen((request) => request.lastUserText === `I am Grace ${id}`, { text: 'Hello Grace.' });
  const source = await post('/agents/assistant/runs', { message: `I am Grace ${id}` });
  const sessionId: string = source.body.session_id;
  const forked = await post(`/agents/assistant/sessions/${sessionId}/fork`, {});
  expect(forked.status).toBe(200);
  expect(forked.body).toEqual({ session_id: expect.any(String), forked_from_session_id: sessionId });
  expect(forked.body.session_id).not.toBe(sessionId);

  // The new session's runs see the copied turns; the source session does not see the new session's runs.
  h.model.replyWhen((request) => request.lastUserText === `who am I ${id}`, { text: 'You are Grace.' });
  const inFork = await post('/agents/assistant/runs', {
    message: `who am I ${id}`,
    session_id: forked.body.session_id,
  });
  expect(inFork.body.messages.filter((message: Wire) => message.from_history).map((m: Wire) => m.content)).toEqual([
    `I am Grace ${id}`,
    'Hello Grace.',
  ]);
  h.model.replyWhen((request) => request.lastUserText === `and me ${id}`, { text: 'still Grace' });
  const inSource = await post('/agents/assistant/runs', { message: `and me ${id}`, session_id: sessionId });
  expect(inSource.body.messages.filter((message: Wire) => message.from_history)).toHaveLength(2);

  expect((await post(`/agents/assistant/sessions/${randomUUID()}/fork`, {})).status).toBe(404);
  const empty = await statusAndJson(
    await fetch(`${base}/sessions?type=agent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'assistant' }),
    }),
  );
  expect(empty.status).toBe(201);
  expect(await post(`/agents/assistant/sessions/${empty.body.session_id}/fork`, {})).toEqual({
    status: 400,
    body: { detail: `cannot fork: session ${empty.body.session_id} has no finished runs of agent 'assistant' to copy` },
  });
});

test('forkRun from TypeScript: streamed from the new run, and refused for a run of another agent', async () => {
  const id = randomUUID();
  const sameAssistant = new Agent({
    name: 'Assistant',
    model,
    addHistoryToContext: true,
    tools: [remember],
    client: h.client,
  });
  const otherAgent = new Agent({ name: 'Helper', model, client: h.client });
  h.model.replyWhen((request) => request.lastUserText === `start ${id}`, { text: `started ${id}` });
  const source = await sameAssistant.run(`start ${id}`);
  h.model.replyWhen((request) => request.lastUserText === `next ${id}`, { text: `next answer ${id}` });
  const events = [];
  for await (const event of sameAssistant.forkRun(source.runId, { input: `next ${id}`, stream: true })) {
    events.push(event);
  }
  expect(events[0]).toMatchObject({ event: 'RunStarted', sessionId: source.sessionId });
  expect(events[0]!.runId).not.toBe(source.runId);
  expect(events.at(-1)).toMatchObject({ event: 'RunCompleted', content: `next answer ${id}` });
  const fork = await sameAssistant.getRunOutput({ runId: events[0]!.runId });
  expect(fork?.forkedFrom).toEqual({ runId: source.runId, messageIndex: 2 });
  await expect(otherAgent.forkRun(source.runId)).rejects.toBeInstanceOf(RunNotFound);
});
