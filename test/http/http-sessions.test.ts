import { randomUUID } from 'node:crypto';
import { Agent, OpenAIResponses, Team, defineApp } from 'kern';
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm, statusAndJson, type Wire } from '../support/http';
import { remember } from '../fixtures/session-tools';

const model = new OpenAIResponses({ id: 'gpt-test' });
const assistant = new Agent({ name: 'Assistant', model, addHistoryToContext: true, tools: [remember] });
const other = new Agent({ name: 'Other Agent', model });
const desk = new Team({ name: 'Help Desk', model, members: [other], addHistoryToContext: true });
const app = defineApp({ agents: [assistant, other], teams: [desk], tools: [remember] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const get = async (path: string) => statusAndJson(await fetch(`${base}${path}`));
const run = async (path: string, fields: Record<string, string>) =>
  statusAndJson(await postForm(`${base}${path}`, { stream: 'false', ...fields }));
/** Reads `path` until `ready` holds: listings come from visibility, which follows a run by a moment. */
async function eventually(path: string, ready: (body: Wire) => boolean): Promise<Wire> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await get(path);
    if (ready(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('a two-turn session over HTTP: the second run remembers the first, and the session routes show both', async () => {
  const id = randomUUID();
  const userId = `http-user-${id}`;
  h.model.replyWhen(
    (request) => request.lastUserText.includes(`I am Ada ${id}`),
    {
      toolCalls: [{ name: 'remember', arguments: { key: 'name', value: 'Ada' } }],
    },
    { text: 'Hello Ada.' },
  );
  h.model.replyWhen((request) => request.lastUserText.includes(`who am I ${id}`), { text: 'You are Ada.' });

  const first = await run('/agents/assistant/runs', {
    message: `I am Ada ${id}`,
    user_id: userId,
    session_state: JSON.stringify({ plan: 'free' }),
  });
  expect(first.status).toBe(200);
  const sessionId: string = first.body.session_id;
  expect(first.body.session_state).toEqual({ plan: 'free', name: 'Ada' });
  const second = await run('/agents/assistant/runs', { message: `who am I ${id}`, session_id: sessionId });
  expect(second.body.content).toBe('You are Ada.');
  expect(second.body.messages.filter((message: Wire) => message.from_history)).toEqual([
    { role: 'user', content: `I am Ada ${id}`, from_history: true },
    { role: 'assistant', content: 'Hello Ada.', from_history: true },
  ]);
  const request = h.model.requests.find((r) => r.lastUserText.includes(`who am I ${id}`))!;
  expect(request.userText).toContain(`I am Ada ${id}`);

  // GET /sessions/{id}/runs: the session's runs, oldest first, as the framework answers; filtered by status.
  const runs = await eventually(`/sessions/${sessionId}/runs`, (body) => body.length === 2);
  expect(runs.map((output: Wire) => output.run_id)).toEqual([first.body.run_id, second.body.run_id]);
  // The framework's RunSchema: the question as run_input (what its chat UI shows), an ISO created_at, no null fields.
  expect(runs[0]).toMatchObject({
    run_id: first.body.run_id,
    parent_run_id: '',
    agent_id: 'assistant',
    user_id: userId,
    status: 'COMPLETED',
    run_input: `I am Ada ${id}`,
    content: 'Hello Ada.',
    run_response_format: 'text',
    metrics: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    session_state: { plan: 'free', name: 'Ada' },
    tools: [expect.objectContaining({ tool_name: 'remember', tool_args: { key: 'name', value: 'Ada' } })],
    input_media: { images: [], videos: [], audios: [], files: [] },
  });
  expect(Date.parse(runs[0].created_at) / 1000).toBe(first.body.created_at);
  expect(Object.values(runs[0])).not.toContain(null);
  expect(runs[1]).toMatchObject({ run_input: `who am I ${id}`, content: 'You are Ada.' });
  expect(runs[1].messages.map((m: Wire) => `${m.role}: ${m.content}`).slice(-2)).toEqual([
    `user: who am I ${id}`,
    'assistant: You are Ada.',
  ]);
  // GET /sessions/{id}/run-previews: the same runs, short, as a sidebar polls them.
  expect((await get(`/sessions/${sessionId}/run-previews?status=COMPLETED`)).body).toEqual([
    {
      run_id: first.body.run_id,
      agent_id: 'assistant',
      user_id: userId,
      status: 'COMPLETED',
      run_input: `I am Ada ${id}`,
      content_preview: 'Hello Ada.',
      created_at: runs[0].created_at,
    },
    expect.objectContaining({ run_id: second.body.run_id, content_preview: 'You are Ada.' }),
  ]);
  // GET /sessions/{id}/runs/{run_id}: one of them, the same way; the framework's 404s for what is not there.
  expect(await get(`/sessions/${sessionId}/runs/${second.body.run_id}`)).toEqual({ status: 200, body: runs[1] });
  expect(await get(`/sessions/${sessionId}/runs/nope-${id}`)).toEqual({
    status: 404,
    body: { detail: `Run with ID nope-${id} not found in session ${sessionId}` },
  });
  expect(await get(`/sessions/other-${id}/runs/${second.body.run_id}`)).toEqual({
    status: 404,
    body: { detail: `Session with ID other-${id} not found` },
  });
  expect((await get(`/sessions/${sessionId}/runs?status=completed`)).body).toHaveLength(2);
  expect((await get(`/sessions/${sessionId}/runs?status=ERROR&status=CANCELLED`)).body).toEqual([]);
  const secondAt: number = second.body.created_at;
  // Times are whole epoch seconds: two runs a moment apart may share one.
  expect((await get(`/sessions/${sessionId}/runs?created_after=${secondAt - 3600}`)).body).toHaveLength(2);
  expect((await get(`/sessions/${sessionId}/runs?created_after=${secondAt + 3600}`)).body).toEqual([]);
  expect((await get(`/sessions/${sessionId}/runs?created_before=${secondAt - 3600}`)).body).toEqual([]);
  expect(await get(`/sessions/${sessionId}/runs?status=DONE`)).toEqual({
    status: 400,
    body: {
      detail:
        "Invalid status value(s) ['DONE']; expected one of ['CANCELLED', 'COMPLETED', 'ERROR', 'PAUSED', 'PENDING', 'RUNNING']",
    },
  });

  // GET /sessions/{id}: the session with its state and conversation.
  const session = await get(`/sessions/${sessionId}`);
  expect(session.status).toBe(200);
  expect(session.body).toMatchObject({
    session_id: sessionId,
    agent_session_id: sessionId,
    session_name: `I am Ada ${id}`,
    user_id: userId,
    session_state: { plan: 'free', name: 'Ada' },
    agent_id: 'assistant',
  });
  expect(session.body.chat_history.map((m: Wire) => `${m.role}: ${m.content}`)).toEqual([
    `user: I am Ada ${id}`,
    'assistant: Hello Ada.',
    `user: who am I ${id}`,
    'assistant: You are Ada.',
  ]);
  expect((await get(`/sessions/${sessionId}?type=agent`)).status).toBe(200);
  expect(await get(`/sessions/${sessionId}?type=team`)).toEqual({
    status: 404,
    body: { detail: `Team Session with id '${sessionId}' not found` },
  });
  expect(session.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // GET /agents/{id}/runs?session_id=: the component's runs in the session, newest first.
  const listed = await eventually(`/agents/assistant/runs?session_id=${sessionId}`, (body) => body.length === 2);
  expect(listed.map((output: Wire) => output.run_id)).toEqual([second.body.run_id, first.body.run_id]);
});

test("GET /sessions lists one type of session, filtered and paged, with the framework's meta", async () => {
  const id = randomUUID();
  const userId = `lister-${id}`;
  const agentSessions: string[] = [];
  for (const n of [1, 2, 3]) {
    const output = await run('/agents/other-agent/runs', { message: `agent session ${n} ${id}`, user_id: userId });
    agentSessions.push(output.body.session_id);
  }
  const team = await run('/teams/help-desk/runs', { message: `team session ${id}`, user_id: userId });
  expect(team.status).toBe(200);

  const page1 = await eventually(
    `/sessions?type=agent&user_id=${userId}&limit=2&page=1`,
    (body) => body.meta?.total_count === 3,
  );
  expect(page1.meta).toEqual({ page: 1, limit: 2, total_pages: 2, total_count: 3 });
  expect(page1.data.map((session: Wire) => session.session_id)).toEqual([agentSessions[2], agentSessions[1]]);
  expect(page1.data[0]).toEqual({
    session_id: agentSessions[2],
    session_name: `agent session 3 ${id}`,
    session_type: 'agent',
    agent_id: 'other-agent',
    user_id: userId,
    run_count: 1,
    created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    updated_at: expect.stringMatching(/Z$/),
  });
  // Without a type, every type; with the framework client's default ordering, the same.
  const all = await get(`/sessions?user_id=${userId}&sort_by=created_at&sort_order=desc`);
  expect(all.body.meta.total_count).toBe(4);
  expect(all.body.data.map((session: Wire) => session.session_id)).toEqual([
    team.body.session_id,
    ...[...agentSessions].reverse(),
  ]);
  expect((await get(`/sessions?user_id=${userId}&sort_order=asc`)).status).toBe(422);
  const page2 = await get(`/sessions?type=agent&user_id=${userId}&limit=2&page=2`);
  expect(page2.body.data.map((session: Wire) => session.session_id)).toEqual([agentSessions[0]]);
  expect((await get(`/sessions?type=agent&user_id=${userId}&limit=2&page=3`)).body.data).toEqual([]);

  const teams = await get(`/sessions?type=team&user_id=${userId}`);
  expect(teams.body.data.map((session: Wire) => session.session_id)).toEqual([team.body.session_id]);
  expect(teams.body.data[0]).toMatchObject({ team_id: 'help-desk' });
  const byComponent = await get(`/sessions?type=agent&component_id=assistant&user_id=${userId}`);
  expect(byComponent.body).toEqual({ data: [], meta: { page: 1, limit: 20, total_pages: 0, total_count: 0 } });
  // A component of another type is of no session of this type.
  expect((await get(`/sessions?type=agent&component_id=help-desk&user_id=${userId}`)).body.data).toEqual([]);
});

test('DELETE /sessions/{id} deletes the session with its runs, members and one still going; DELETE /sessions several', async () => {
  const id = randomUUID();
  const userId = `deleter-${id}`;
  h.model.replyWhen(
    (request) => request.lastUserText === `ask the desk ${id}`,
    { toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'other-agent', task: `help ${id}` } }] },
    { text: 'Helped.' },
  );
  h.model.replyWhen((request) => request.lastUserText === `help ${id}`, { text: 'Here is help.' });
  const team = await run('/teams/help-desk/runs', { message: `ask the desk ${id}`, user_id: userId });
  expect(team.body.member_responses).toHaveLength(1);
  const sessionId: string = team.body.session_id;
  // A team's session lists its member's run before the team's, each in its framework schema.
  const listed = await eventually(`/sessions/${sessionId}/runs`, (body) => body.length === 2);
  expect(listed).toEqual([
    expect.objectContaining({
      run_id: team.body.member_responses[0].run_id,
      parent_run_id: team.body.run_id,
      agent_id: 'other-agent',
      run_input: `help ${id}`,
      content: 'Here is help.',
    }),
    expect.objectContaining({
      run_id: team.body.run_id,
      parent_run_id: '',
      team_id: 'help-desk',
      user_id: userId,
      run_input: `ask the desk ${id}`,
      content: 'Helped.',
    }),
  ]);
  expect(listed[1]).not.toHaveProperty('agent_id');
  // A second run in the session, its member still answering when the session is deleted.
  h.model.replyWhen((request) => request.lastUserText === `still going ${id}`, {
    toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'other-agent', task: `dig ${id}` } }],
  });
  h.model.replyWhen((request) => request.lastUserText === `dig ${id}`, { text: 'Digging', hang: true });
  const going = await run('/teams/help-desk/runs', {
    message: `still going ${id}`,
    session_id: sessionId,
    background: 'true',
  });
  expect(going.status).toBe(202);
  await h.model.waitFor(() => h.model.requestsFor(`dig ${id}`).length > 0);
  // The team's run is listed while it goes on; its member's only once it has ended, as the framework records it.
  const during = await eventually(`/sessions/${sessionId}/runs`, (body) => body.length === 3);
  expect(during.map((listed: Wire) => [listed.run_input, listed.status])).toEqual([
    [`help ${id}`, 'COMPLETED'],
    [`ask the desk ${id}`, 'COMPLETED'],
    [`still going ${id}`, 'RUNNING'],
  ]);
  const member = await eventually(`/sessions/${sessionId}/runs?status=RUNNING`, (body) => body.length === 2);
  expect(member.map((listed: Wire) => listed.run_input)).toEqual([`dig ${id}`, `still going ${id}`]);
  const runIds = [team.body.run_id, team.body.member_responses[0].run_id, going.body.run_id, member[0].run_id];

  const deleted = await fetch(`${base}/sessions/${sessionId}`, { method: 'DELETE' });
  expect({ status: deleted.status, body: await deleted.text() }).toEqual({ status: 204, body: '' });
  // Gone at once from the session routes, and its runs with it.
  expect((await get(`/sessions/${sessionId}`)).status).toBe(404);
  expect((await get(`/sessions/${sessionId}/runs`)).status).toBe(404);
  expect((await get(`/sessions?user_id=${userId}`)).body.data).toEqual([]);
  // Temporal removes the executions in the background (the test server acknowledges every second).
  for (const runId of runIds) {
    const deadline = Date.now() + 20_000;
    while ((await h.client.getRunOutput(runId)) !== null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await h.client.getRunOutput(runId)).toBeNull();
  }
  expect((await get(`/teams/help-desk/runs/${going.body.run_id}`)).status).toBe(404);
  // Deleting it again, or a session that never was: nothing of the caller's by that id, the same 204.
  expect((await fetch(`${base}/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
  expect((await fetch(`${base}/sessions/never-${id}`, { method: 'DELETE' })).status).toBe(204);

  // DELETE /sessions: several at once, with a type for each as the framework's client sends them.
  const a = await run('/agents/other-agent/runs', { message: `first of two ${id}`, user_id: userId });
  const b = await run('/agents/other-agent/runs', { message: `second of two ${id}`, user_id: userId });
  const remove = (body: unknown) =>
    fetch(`${base}/sessions`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect(
    await statusAndJson(
      await remove({ session_ids: [a.body.session_id, b.body.session_id], session_types: ['agent'] }),
    ),
  ).toEqual({ status: 400, body: { detail: 'Session IDs and session types must have the same length' } });
  expect((await statusAndJson(await remove({ session_ids: [] }))).status).toBe(422);
  expect((await get(`/sessions/${a.body.session_id}`)).status).toBe(200);
  const both = { session_ids: [a.body.session_id, b.body.session_id], session_types: ['agent', 'agent'] };
  expect((await remove(both)).status).toBe(204);
  expect((await get(`/sessions/${a.body.session_id}`)).status).toBe(404);
  expect((await get(`/sessions/${b.body.session_id}`)).status).toBe(404);
});

test('POST /sessions makes a session before its runs; rename and PATCH change its name, state and metadata', async () => {
  const id = randomUUID();
  const send = async (method: string, path: string, body: unknown) =>
    statusAndJson(
      await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
  const sessionId = `made-${id}`;
  const created = await send('POST', '/sessions?type=agent', {
    session_id: sessionId,
    session_name: 'Trip planning',
    session_state: { city: 'Lisbon' },
    metadata: { source: 'test' },
    user_id: `maker-${id}`,
    agent_id: 'assistant',
  });
  expect(created).toEqual({
    status: 201,
    body: expect.objectContaining({
      session_id: sessionId,
      agent_session_id: sessionId,
      session_name: 'Trip planning',
      session_state: { city: 'Lisbon' },
      metadata: { source: 'test' },
      user_id: `maker-${id}`,
      agent_id: 'assistant',
      chat_history: [],
    }),
  });
  // The framework's client sends every field of its request model, null when unset.
  const nulls = await send('POST', '/sessions?type=team', {
    session_id: null,
    session_name: 'From the client',
    session_state: null,
    metadata: null,
    user_id: null,
    agent_id: null,
    team_id: 'help-desk',
    workflow_id: null,
  });
  expect(nulls).toMatchObject({ status: 201, body: { session_name: 'From the client', team_id: 'help-desk' } });
  expect(await send('POST', '/sessions', { session_id: sessionId })).toEqual({
    status: 409,
    body: {
      detail: `session id '${sessionId}' is already used by another session; update it instead, or choose another id`,
    },
  });
  // Listed under its name; its first run finds the state it was given.
  const listed = await eventually(`/sessions?type=agent&user_id=maker-${id}`, (body) => body.data?.length === 1);
  expect(listed.data[0]).toMatchObject({ session_id: sessionId, session_name: 'Trip planning', agent_id: 'assistant' });
  h.model.replyWhen(`where to ${id}`, { text: 'Lisbon it is.' });
  const first = await run('/agents/assistant/runs', { message: `where to ${id}`, session_id: sessionId });
  expect(first.body.session_state).toEqual({ city: 'Lisbon' });

  // Rename: the framework's body; the session as it then is.
  const renamed = await send('POST', `/sessions/${sessionId}/rename`, { session_name: 'Lisbon trip' });
  expect(renamed.status).toBe(200);
  expect(renamed.body).toMatchObject({ session_id: sessionId, session_name: 'Lisbon trip', agent_id: 'assistant' });
  expect(renamed.body.chat_history.map((m: Wire) => m.content)).toEqual([`where to ${id}`, 'Lisbon it is.']);
  const relisted = await eventually(
    `/sessions?type=agent&user_id=maker-${id}`,
    (body) => body.data?.[0]?.session_name === 'Lisbon trip',
  );
  expect(relisted.data[0].session_name).toBe('Lisbon trip');

  // PATCH: each field given replaces what the session had; the state is replaced whole.
  const patched = await send('PATCH', `/sessions/${sessionId}`, { session_state: { city: 'Porto' } });
  expect(patched.body).toMatchObject({
    session_name: 'Lisbon trip',
    session_state: { city: 'Porto' },
    metadata: { source: 'test' },
  });
  expect((await send('PATCH', `/sessions/${sessionId}`, { metadata: { source: 'patched' } })).body.metadata).toEqual({
    source: 'patched',
  });
  h.model.replyWhen(`and now ${id}`, { text: 'Porto, then.' });
  const second = await run('/agents/assistant/runs', { message: `and now ${id}`, session_id: sessionId });
  expect(second.body.session_state).toEqual({ city: 'Porto' });

  // Bad input changes nothing, and says what to fix.
  expect(await send('POST', `/sessions/${sessionId}/rename`, {})).toEqual({
    status: 422,
    body: { detail: [{ type: 'missing', loc: ['body', 'session_name'], msg: 'Field required', input: null }] },
  });
  expect((await send('PATCH', `/sessions/${sessionId}`, { summary: { text: 'x' } })).body).toEqual({
    detail: [{ type: 'unsupported', loc: ['body', 'summary'], msg: 'kern keeps no session summaries', input: null }],
  });
  const tooBig = await send('PATCH', `/sessions/${sessionId}`, { session_state: { blob: 'x'.repeat(300_000) } });
  expect(tooBig.status).toBe(422);
  expect(tooBig.body.detail).toMatch(/^the session state would be \d+ bytes as JSON; the limit is 262144$/);
  expect((await get(`/sessions/${sessionId}`)).body.session_state).toEqual({ city: 'Porto' });
  expect(await send('POST', `/sessions/nobody-${id}/rename`, { session_name: 'x' })).toEqual({
    status: 404,
    body: { detail: `Session with id 'nobody-${id}' not found` },
  });
  expect((await send('PATCH', `/sessions/nobody-${id}`, { session_name: 'x' })).status).toBe(404);
});

test('unknown sessions are 404, bad queries 422, and a quote in a filter widens nothing', async () => {
  const unknown = `nobody-${randomUUID()}`;
  expect(await get(`/sessions/${unknown}`)).toEqual({
    status: 404,
    body: { detail: `Session with id '${unknown}' not found` },
  });
  expect(await get(`/sessions/${unknown}/runs`)).toEqual({
    status: 404,
    body: { detail: `Session with ID ${unknown} not found` },
  });
  expect((await get('/sessions?type=robot')).status).toBe(422);
  expect((await get('/sessions?limit=0')).status).toBe(422);
  expect((await get('/sessions?page=abc')).status).toBe(422);
  expect((await get(`/sessions?user_id=${encodeURIComponent('a"b')}`)).status).toBe(422);
  const injected = await get(`/sessions?user_id=${encodeURIComponent(`x' OR KernUserId != '`)}`);
  expect(injected.body).toEqual({ data: [], meta: { page: 1, limit: 20, total_pages: 0, total_count: 0 } });
  const bad = await run('/agents/assistant/runs', { message: 'hi', session_id: 'with "quotes"' });
  expect(bad.status).toBe(422);
  expect(bad.body.detail[0]).toMatchObject({ loc: ['body', 'session_id'] });
});
