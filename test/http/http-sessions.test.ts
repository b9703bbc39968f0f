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
  expect(runs[0]).toMatchObject({ agent_id: 'assistant', session_id: sessionId, status: 'COMPLETED' });
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
