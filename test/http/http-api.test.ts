import { randomUUID } from 'node:crypto';
import { RunStatus } from 'kern';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createServer } from 'kern/server';
import app from '../fixtures/http-app';

const appPath = path.resolve(__dirname, '../fixtures/http-app.ts');
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { openSocket, postForm, readFrames, sseFrames, type SseFrame, statusAndJson, type Wire } from '../support/http';

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const json = statusAndJson;
const story = (words: number) => Array.from({ length: words }, (_, i) => `word${i}`).join(' ');

/** Polls `GET …/runs/{run_id}` until the run has one of `statuses`. */
async function waitForRunStatus(path: string, ...statuses: string[]): Promise<Wire> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await json(await fetch(`${base}${path}`));
    if (statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`run at ${path} is still ${body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('what the server serves', () => {
  test('/health is open and /config, /agents, /teams, /workflows list the app as the framework does', async () => {
    const health = await json(await fetch(`${base}/health`));
    expect(health).toEqual({ status: 200, body: { status: 'ok', instantiated_at: expect.any(String) } });

    const agents = await json(await fetch(`${base}/agents`));
    expect(agents.body).toEqual([
      expect.objectContaining({
        id: 'researcher',
        name: 'Researcher',
        // The framework's chat UI reads sessions only for components with a db_id: kern's one store, Temporal.
        db_id: 'kern-temporal',
        role: 'Research topics.',
        model: { name: 'OpenAIResponses', model: 'gpt-test', provider: 'OpenAI' },
      }),
    ]);
    const teams = await json(await fetch(`${base}/teams`));
    expect(teams.body[0]).toMatchObject({
      id: 'storytelling-team',
      db_id: 'kern-temporal',
      mode: 'coordinate',
      members: [{ id: 'storytelleragent' }, { id: 'editoragent' }],
    });
    const workflows = await json(await fetch(`${base}/workflows`));
    expect(workflows.body).toEqual([
      {
        id: 'content-creation-workflow',
        name: 'Content Creation Workflow',
        description: 'Research, then plan',
        db_id: 'kern-temporal',
      },
    ]);
    const config = await json(await fetch(`${base}/config`));
    expect(config.body).toMatchObject({
      agents: [{ id: 'researcher' }],
      teams: [{ id: 'storytelling-team', mode: 'coordinate' }],
      workflows: [{ id: 'content-creation-workflow' }],
      available_models: [{ id: 'gpt-test', provider: 'OpenAI' }],
      os_database: 'kern-temporal',
      session: { dbs: [{ db_id: 'kern-temporal', domain_config: { display_name: 'Temporal' }, tables: [] }] },
    });
    // The framework's database features kern does not serve are not in it.
    for (const feature of ['memory', 'knowledge', 'evals', 'learning', 'traces', 'metrics']) {
      expect(config.body).not.toHaveProperty(feature);
    }
    expect((await json(await fetch(`${base}/teams/storytelling-team`))).body.id).toBe('storytelling-team');
    expect(await json(await fetch(`${base}/agents/nobody`))).toEqual({
      status: 404,
      body: { detail: 'Agent not found' },
    });
  });
  test("the framework's database features answer 404 naming the feature; an unknown path is Not Found", async () => {
    const asked = [
      ['GET', '/memories?user_id=ada', 'memories'],
      ['POST', '/memories', 'memories'],
      ['DELETE', '/memories/m-1', 'memories'],
      ['GET', '/user_memory_stats', 'memories'],
      ['GET', '/knowledge/content', 'knowledge'],
      ['POST', '/knowledge/search', 'knowledge'],
      ['GET', '/eval-runs', 'evals'],
      ['GET', '/learnings/users/ada', 'learnings'],
      ['GET', '/traces/t-1', 'traces'],
      ['GET', '/trace_session_stats', 'traces'],
      ['POST', '/metrics/refresh', 'metrics'],
    ] as const;
    for (const [method, path, feature] of asked) {
      expect({ path, ...(await json(await fetch(`${base}${path}`, { method }))) }).toEqual({
        path,
        status: 404,
        body: { detail: expect.stringMatching(new RegExp(`^This server does not provide ${feature}: `)) },
      });
    }
    expect(await json(await fetch(`${base}/memoriesx`))).toEqual({ status: 404, body: { detail: 'Not Found' } });
  });
});

describe('runs', () => {
  test('stream=false: 200 with the final output, in the framework snake_case shape', async () => {
    const prompt = `capital ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Paris is the capital of France.' });
    const { status, body } = await json(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false' }),
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      run_id: expect.any(String),
      session_id: expect.any(String),
      agent_id: 'researcher',
      agent_name: 'Researcher',
      status: 'COMPLETED',
      content: 'Paris is the capital of France.',
      content_type: 'str',
      model: 'gpt-test',
      model_provider: 'OpenAI',
      input: { input_content: prompt },
      created_at: expect.any(Number),
      metrics: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
    expect(body.messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant']);
  });

  test('a JSON body works too, and run_id and session_id are honoured', async () => {
    const runId = `json-${randomUUID()}`;
    const response = await fetch(`${base}/agents/researcher/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello there', stream: false, run_id: runId, session_id: 's-1' }),
    });
    expect(await json(response)).toMatchObject({ status: 200, body: { run_id: runId, session_id: 's-1' } });
  });

  test('background=true: 202 PENDING at once; GET polls it to COMPLETED; unknown and other-session runs are 404', async () => {
    const prompt = `background ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(20), tokenDelayMs: 10 });
    const created = await json(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
    );
    expect(created).toEqual({
      status: 202,
      body: { run_id: expect.any(String), session_id: expect.any(String), status: 'PENDING' },
    });
    const { run_id: runId, session_id: sessionId } = created.body;
    const done = await waitForRunStatus(`/agents/researcher/runs/${runId}?session_id=${sessionId}`, 'COMPLETED');
    expect(done.content).toBe(story(20));

    expect(await json(await fetch(`${base}/agents/researcher/runs/${runId}?session_id=other`))).toEqual({
      status: 404,
      body: { detail: 'Run not found' },
    });
    expect(await json(await fetch(`${base}/agents/researcher/runs/${randomUUID()}`))).toEqual({
      status: 404,
      body: { detail: 'Run not found' },
    });
    // A run of one component is not found under another.
    expect((await fetch(`${base}/teams/storytelling-team/runs/${runId}`)).status).toBe(404);
  });

  test('stream=true (the default): SSE events without index, ending with RunCompleted', async () => {
    const prompt = `stream ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Paris is the capital of France.' });
    const response = await postForm(`${base}/agents/researcher/runs`, { message: prompt });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const frames = await readFrames(response);
    const names = frames.map((frame) => frame.event);
    expect(names[0]).toBe('RunStarted');
    expect(names.at(-1)).toBe('RunCompleted');
    expect(names.filter((name) => name === 'RunCompleted')).toHaveLength(1);
    expect(frames.every((frame) => frame.id === undefined && !('event_index' in frame.json))).toBe(true);
    const content = frames.filter((frame) => frame.event === 'RunContent').map((frame) => frame.json.content);
    expect(content.join('')).toBe('Paris is the capital of France.');
    expect(frames.at(-1)!.json).toMatchObject({
      event: 'RunCompleted',
      agent_id: 'researcher',
      content: 'Paris is the capital of France.',
      created_at: expect.any(Number),
    });
  });

  test('a plain stream whose client disconnects cancels the run, as the framework does', async () => {
    const prompt = `disconnect ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(400), tokenDelayMs: 20 });
    const frames = await readFrames(await postForm(`${base}/agents/researcher/runs`, { message: prompt }), 6);
    const runId = frames[0]!.json.run_id as string;
    const cancelled = await waitForRunStatus(`/agents/researcher/runs/${runId}`, 'CANCELLED', 'COMPLETED');
    expect(cancelled.status).toBe('CANCELLED');
    await h.model.waitFor(() => h.model.requestsFor(prompt)[0]?.aborted === true);
  });

  test('cancel: a running run, a finished one, another component’s, and one that has not started yet', async () => {
    const prompt = `long story ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(500), tokenDelayMs: 20 });
    const { body } = await json(
      await postForm(`${base}/teams/storytelling-team/runs`, { message: prompt, stream: 'false', background: 'true' }),
    );
    await h.model.waitFor(() => h.model.requestsFor(prompt).length > 0);
    const cancel = (path: string) => fetch(`${base}${path}`, { method: 'POST' });
    expect(await json(await cancel(`/agents/researcher/runs/${body.run_id}/cancel`))).toEqual({
      status: 200,
      body: { cancelled: false },
    });
    expect(await json(await cancel(`/teams/storytelling-team/runs/${body.run_id}/cancel`))).toEqual({
      status: 200,
      body: { cancelled: true },
    });
    const output = await waitForRunStatus(`/teams/storytelling-team/runs/${body.run_id}`, 'CANCELLED');
    expect(output).toMatchObject({ team_id: 'storytelling-team', status: 'CANCELLED' });
    expect(await json(await cancel(`/teams/storytelling-team/runs/${body.run_id}/cancel`))).toEqual({
      status: 200,
      body: { cancelled: false },
    });

    // Cancel before start: the run started later with that id ends CANCELLED without calling the model.
    const futureId = `future-${randomUUID()}`;
    expect((await json(await cancel(`/agents/researcher/runs/${futureId}/cancel`))).body).toEqual({ cancelled: false });
    const later = await json(
      await postForm(`${base}/agents/researcher/runs`, {
        message: `never ${futureId}`,
        stream: 'false',
        run_id: futureId,
      }),
    );
    expect(later.body).toMatchObject({ run_id: futureId, status: 'CANCELLED' });
    expect(h.model.requestsFor(futureId)).toHaveLength(0);
  });

  test('cancel of a pending run (no worker yet): true, and the run ends CANCELLED without calling the model', async () => {
    const prompt = `pending ${randomUUID()}`;
    let runId = '';
    await h.stopWorker();
    try {
      const { body } = await json(
        await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
      );
      runId = body.run_id;
      expect((await json(await fetch(`${base}/agents/researcher/runs/${runId}`))).body.status).toBe('PENDING');
      const cancel = await fetch(`${base}/agents/researcher/runs/${runId}/cancel`, { method: 'POST' });
      expect(await json(cancel)).toEqual({ status: 200, body: { cancelled: true } });
    } finally {
      await h.startWorker();
    }
    expect((await waitForRunStatus(`/agents/researcher/runs/${runId}`, 'CANCELLED', 'COMPLETED')).status).toBe(
      'CANCELLED',
    );
    expect(h.model.requestsFor(prompt)).toHaveLength(0);
  });

  test('GET …/runs lists a component’s runs, newest first, filtered by session and status', async () => {
    const sessionId = `list-${randomUUID()}`;
    for (const text of ['first', 'second']) {
      h.model.replyWhen(`${text} ${sessionId}`, { text: `${text} answer` });
      await postForm(`${base}/agents/researcher/runs`, {
        message: `${text} ${sessionId}`,
        stream: 'false',
        session_id: sessionId,
      });
    }
    let listed: Wire[] = [];
    const deadline = Date.now() + 10_000;
    while (listed.length < 2 && Date.now() < deadline) {
      listed = (await json(await fetch(`${base}/agents/researcher/runs?session_id=${sessionId}&status=COMPLETED`)))
        .body;
      if (listed.length < 2) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed.map((run) => run.content)).toEqual(['second answer', 'first answer']);
    const quoted = await json(
      await fetch(`${base}/agents/researcher/runs?session_id=${encodeURIComponent(`x' OR KernKind='team`)}`),
    );
    expect(quoted).toEqual({ status: 200, body: [] });
    expect((await fetch(`${base}/agents/researcher/runs?status=DONE`)).status).toBe(422);
    expect(RunStatus.completed).toBe('COMPLETED');
  });
});

describe('resumable streams', () => {
  test('background + stream: indexed events; a disconnect leaves the run going; /resume gives exactly the rest', async () => {
    const prompt = `resumable ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(60), tokenDelayMs: 25 });
    const first = await readFrames(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, background: 'true' }),
      10,
    );
    expect(first.map((frame) => frame.json.event_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.map((frame) => frame.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const runId = first[0]!.json.run_id as string;
    const sessionId = first[0]!.json.session_id as string;

    const resumed = await readFrames(
      await postForm(`${base}/agents/researcher/runs/${runId}/resume`, {
        last_event_index: '9',
        session_id: sessionId,
      }),
    );
    const meta = resumed.filter((frame) => frame.id === undefined);
    // As the framework frames it: `catch_up` and the events that were there to read (when there were any; this
    // server had no feed of the run, so its first read brings them), then `subscribed`, then live events.
    const subscribedAt = resumed.findIndex((frame) => frame.event === 'subscribed');
    const missed = resumed.slice(0, subscribedAt).filter((frame) => frame.id !== undefined);
    expect(meta.map((frame) => frame.event)).toEqual(missed.length > 0 ? ['catch_up', 'subscribed'] : ['subscribed']);
    if (missed.length > 0) {
      expect(resumed[0]!.json).toEqual({
        event: 'catch_up',
        run_id: runId,
        status: 'running',
        missed_events: missed.length,
        current_event_count: 10 + missed.length,
        message: `Catching up on ${missed.length} missed events.`,
      });
    }
    expect(resumed[subscribedAt]!.json).toMatchObject({ current_event_count: 10 + missed.length });
    expect(meta.every((frame) => !('event_index' in frame.json))).toBe(true);
    expect(meta.at(-1)!.data).toContain('"event": "subscribed"');
    const events = resumed.filter((frame) => frame.id !== undefined);
    const indexes = events.map((frame) => frame.json.event_index as number);
    expect(indexes).toEqual(indexes.map((_, i) => 10 + i));
    expect(events.at(-1)!.event).toBe('RunCompleted');
    const content = [...first, ...events].filter((f) => f.event === 'RunContent').map((f) => f.json.content);
    expect(content.join('')).toBe(story(60));

    // After the end: a replay meta frame, then exactly the events after the index asked for.
    const last = indexes.at(-1)!;
    const mid = Math.floor(last / 2);
    const replay = await readFrames(
      await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: String(mid) }),
    );
    expect(replay[0]!.json).toEqual({
      event: 'replay',
      run_id: runId,
      status: 'COMPLETED',
      total_events: last - mid,
      total_buffered: last + 1,
      last_event_index_requested: mid,
      message: `Run COMPLETED. Replaying ${last - mid} missed events (of ${last + 1} total).`,
    });
    expect(replay.slice(1).map((frame) => frame.json.event_index)).toEqual(indexes.filter((index) => index > mid));

    // The same for a browser's EventSource, from Last-Event-ID.
    const browser = await readFrames(
      await fetch(`${base}/agents/researcher/runs/${runId}/events`, { headers: { 'last-event-id': String(mid + 1) } }),
    );
    expect(browser.slice(1).map((frame) => frame.id)).toEqual(indexes.filter((index) => index > mid + 1).map(String));
  });

  test('a resume while another viewer of this server watches catches up from the shared feed', async () => {
    const prompt = `catch up ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(80), tokenDelayMs: 30 });
    const watcher = sseFrames(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, background: 'true' }),
    );
    const watched: SseFrame[] = [];
    for await (const frame of watcher) {
      watched.push(frame);
      if (watched.length === 6) break;
    }
    // The first viewer is gone again; a fresh one, from the start, keeps a feed open while the second joins.
    const runId = watched[0]!.json.run_id as string;
    const kept: SseFrame[] = [];
    const keeper = (async () => {
      const response = await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '-1' });
      for await (const frame of sseFrames(response)) kept.push(frame);
      return kept;
    })();
    // Once the keeper's feed holds events past index 1, the second viewer's missed events are there to catch up on.
    await h.model.waitFor(() => kept.filter((frame) => frame.id !== undefined).length >= 3);
    const joined = await readFrames(
      await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '1' }),
    );
    expect(joined[0]!.json).toMatchObject({ event: 'catch_up', run_id: runId, status: 'running' });
    const caughtUp = joined[0]!.json.missed_events as number;
    expect(joined[caughtUp + 1]!.event).toBe('subscribed');
    const indexes = joined.filter((frame) => frame.id !== undefined).map((frame) => frame.json.event_index);
    expect(indexes).toEqual(indexes.map((_, i) => 2 + i));
    expect(joined.at(-1)!.event).toBe('RunCompleted');
    expect((await keeper).at(-1)!.event).toBe('RunCompleted');
  });

  test('a resume of a live run no viewer of this server follows: catch_up with what was there, then subscribed', async () => {
    const prompt = `quiet now ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'Half an answer', hang: true });
    const started = await json(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
    );
    const runId = started.body.run_id as string;
    // The run has published its start and its content, and now waits on the model.
    await waitForRunStatus(`/agents/researcher/runs/${runId}`, 'RUNNING');
    await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1);
    let written = 0;
    for (const deadline = Date.now() + 10_000; written < 3 && Date.now() < deadline;) {
      written = (await h.client.eventsSoFar(runId))?.events.length ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '0' });
    const frames = await readFrames(response, written + 1);
    expect(frames[0]!.json).toEqual({
      event: 'catch_up',
      run_id: runId,
      status: 'running',
      missed_events: written - 1,
      current_event_count: written,
      message: `Catching up on ${written - 1} missed events.`,
    });
    expect(frames.slice(1, written).map((frame) => frame.json.event_index)).toEqual(
      Array.from({ length: written - 1 }, (_, i) => i + 1),
    );
    expect(frames[written]!.json).toEqual({
      event: 'subscribed',
      run_id: runId,
      status: 'running',
      current_event_count: written,
      message: 'Subscribed to agent run. Receiving live events.',
    });
    await fetch(`${base}/agents/researcher/runs/${runId}/cancel`, { method: 'POST' });
    await waitForRunStatus(`/agents/researcher/runs/${runId}`, 'CANCELLED');
  });

  test('a run id with a slash and quotes is kept as given and found again', async () => {
    const runId = `odd/"id" ${randomUUID()}`;
    h.model.replyWhen(runId, { text: 'kept' });
    const created = await fetch(`${base}/agents/researcher/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: `id ${runId}`, stream: false, run_id: runId }),
    });
    expect((await json(created)).body).toMatchObject({ run_id: runId, status: 'COMPLETED' });
    const found = await json(await fetch(`${base}/agents/researcher/runs/${encodeURIComponent(runId)}`));
    expect(found.body).toMatchObject({ run_id: runId, content: 'kept' });
  });

  test('/resume of an unknown run: 200 with one error frame', async () => {
    const runId = randomUUID();
    const response = await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '3' });
    expect(response.status).toBe(200);
    const frames = await readFrames(response);
    expect(frames.map((frame) => [frame.event, frame.data])).toEqual([
      ['error', `{"event": "error", "error": "Run ${runId} not found in buffer or database"}`],
    ]);
  });

  test('100 viewers of one run get the same events, and cost its history nothing', async () => {
    const viewersOf = async (viewers: number) => {
      const prompt = `viewers ${viewers} ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: story(40), tokenDelayMs: 40 });
      const created = await json(
        await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
      );
      const runId = created.body.run_id as string;
      const streams = await Promise.all(
        Array.from({ length: viewers }, () =>
          postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '-1' }).then((response) =>
            readFrames(response),
          ),
        ),
      );
      const seen = streams.map((frames) =>
        frames.filter((frame) => frame.id !== undefined).map((frame) => frame.json.event_index),
      );
      const history = await h.client.temporal.workflow.getHandle(`kern-run-${runId}`).fetchHistory();
      const updates = (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes);
      return { seen, updates: updates.length };
    };
    const one = await viewersOf(1);
    const hundred = await viewersOf(100);
    for (const seen of hundred.seen) expect(seen).toEqual(hundred.seen[0]);
    expect(hundred.seen[0]).toEqual(hundred.seen[0]!.map((_, i) => i));
    // Viewers read by query: neither one viewer nor a hundred wrote a poll into the run's history.
    expect(one.updates).toBe(0);
    expect(hundred.updates).toBe(0);
  });
});

describe('bad input gets a clear answer and touches nothing', () => {
  test('missing message, malformed JSON, wrong types, unknown and unsupported fields: 422 in the list form', async () => {
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      fetch(`${base}/agents/researcher/runs`, { method: 'POST', headers: { 'content-type': type }, body }).then(json);
    expect(await post('stream=false')).toEqual({
      status: 422,
      body: { detail: [{ type: 'missing', loc: ['body', 'message'], msg: 'Field required', input: null }] },
    });
    expect((await post('{"message": ', 'application/json')).body.detail[0]).toMatchObject({ type: 'json_invalid' });
    expect((await post('message=hi&stream=maybe')).body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'stream'], msg: expect.stringContaining('valid boolean') }),
    ]);
    expect((await post(JSON.stringify({ message: 7 }), 'application/json')).body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'message'] }),
    ]);
    expect((await post('message=hi&temperature=2')).body.detail).toEqual([
      expect.objectContaining({ type: 'unsupported', loc: ['body', 'temperature'], msg: 'unknown field' }),
    ]);
    expect((await post('message=hi&session_state=%5B1%5D')).body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'session_state'], msg: 'Input should be a JSON object' }),
    ]);
    expect((await post('message=hi&session_state=%7Bnot+json')).body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'session_state'], msg: 'Input should be a JSON object' }),
    ]);
    expect((await post('message=hi&add_history_to_context=true')).body.detail).toEqual([
      expect.objectContaining({
        loc: ['body', 'add_history_to_context'],
        msg: expect.stringContaining('agent or team'),
      }),
    ]);
    expect((await post(`message=hi&run_id=${encodeURIComponent(' spaced ')}`)).body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'run_id'], msg: expect.stringContaining('spaces') }),
    ]);
    expect((await post(`message=hi&run_id=${'x'.repeat(300)}`)).status).toBe(422);
    // Booleans as the framework parses them.
    h.model.replyWhen('yes-no words', { text: 'ok' });
    expect((await post('message=yes-no+words&stream=off&background=NO')).body.status).toBe('COMPLETED');
  });

  test('odd run ids in paths are just not found; a 3 MB body gets 413', async () => {
    for (const odd of ['a%2Fb', '%22quoted%27', 'x'.repeat(300)]) {
      expect(await json(await fetch(`${base}/agents/researcher/runs/${odd}`))).toEqual({
        status: 404,
        body: { detail: 'Run not found' },
      });
      const cancel = await json(await fetch(`${base}/agents/researcher/runs/${odd}/cancel`, { method: 'POST' }));
      expect(cancel).toEqual({ status: 200, body: { cancelled: false } });
    }
    expect(await json(await postForm(`${base}/agents/nobody/runs`, { message: 'hi' }))).toEqual({
      status: 404,
      body: { detail: 'Agent not found' },
    });
    const big = await fetch(`${base}/agents/researcher/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `message=${'a'.repeat(3 * 1024 * 1024)}`,
    });
    expect(await json(big)).toEqual({ status: 413, body: { detail: 'Request body too large' } });
    expect((await json(await fetch(`${base}/health`))).status).toBe(200);
  });
});

/** The JSON of a WebSocket message: flat, or SSE-framed (`event: X`, `data: {…}`) as a started run's events are. */
const socketJson = (message: string): Wire =>
  JSON.parse(message.startsWith('event: ') ? message.split('\ndata: ')[1]! : message);

describe('the workflow WebSocket', () => {
  test('connected, ping, start-workflow, disconnect, reconnect mid-run and after the end, bad messages', async () => {
    const prompt = `ws ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(80), tokenDelayMs: 30 });
    const first = await openSocket(`${base}/workflows/ws`);
    expect(await first.waitFor(() => true)).toBe(
      '{"event": "connected", "message": "Connected to AgentOS.", "requires_auth": false}',
    );
    first.send({ action: 'ping' });
    await first.waitFor((message) => message === '{"event": "pong"}');
    first.send({ action: 'start-workflow', workflow_id: 'content-creation-workflow', message: prompt });
    const started = await first.waitFor((message) => message.startsWith('event: WorkflowStarted\ndata: {'));
    expect(started.endsWith('\n\n')).toBe(true);
    const { run_id: runId, session_id: sessionId } = socketJson(started);
    await first.waitFor((message) => message.startsWith('event: RunContent'));
    const seen = first.received.filter((message) => message.startsWith('event: ')).map(socketJson);
    first.close();
    const lastSeen = seen.at(-1)!.event_index as number;

    const second = await openSocket(`${base}/workflows/ws`);
    second.send({ action: 'reconnect', run_id: runId, session_id: sessionId, last_event_index: lastSeen });
    await second.waitFor((message) => message.includes('"event": "WorkflowCompleted"'));
    const metas = second.received.map(socketJson).filter((message) => message.event_index === undefined);
    expect(metas.map((meta) => meta.event)).toEqual(
      metas[1]?.event === 'catch_up' ? ['connected', 'catch_up', 'subscribed'] : ['connected', 'subscribed'],
    );
    const rest = second.received.map(socketJson).filter((message) => message.event_index !== undefined);
    expect(rest.map((event) => event.event_index)).toEqual(rest.map((_, i) => lastSeen + 1 + i));
    expect(rest.at(-1)).toMatchObject({ event: 'WorkflowCompleted', workflow_id: 'content-creation-workflow' });

    // After the end, from the index asked for (the framework replays everything; kern honours the index).
    second.send({ action: 'reconnect', run_id: runId, last_event_index: 2 });
    await second.waitFor((message) => message.includes('"event": "replay"'));
    const replay = second.received.slice(second.received.findIndex((m) => m.includes('"event": "replay"')));
    await second.waitFor(() => second.received.filter((m) => m.includes('"event": "WorkflowCompleted"')).length === 2);
    const replayed = replay.map(socketJson).filter((message) => message.event_index !== undefined);
    expect(replayed[0].event_index).toBe(3);

    second.send('not json');
    await second.waitFor((message) => message.includes('Invalid message'));
    second.send({ action: 'no-such-action' });
    await second.waitFor((message) => message === '{"event": "error", "error": "Unknown action: no-such-action"}');
    second.send({ action: 'reconnect', run_id: 'no-such-run', last_event_index: 3 });
    await second.waitFor(
      (message) => message === '{"event": "error", "error": "Run no-such-run not found in buffer or database"}',
    );
    second.send({ action: 'start-workflow', workflow_id: 'nope', message: 'hi' });
    await second.waitFor((message) => message === '{"event": "error", "error": "Workflow nope not found"}');
    second.close();
  });
});

describe('auth', () => {
  test('with a security key: bearer on every route but / and /health, the framework 401 bodies, WebSocket by message', async () => {
    const secured = createServer({ app, client: h.client, securityKey: 'sekret-key' });
    const { url } = await secured.listen({ port: 0 });
    try {
      expect(await json(await fetch(`${url}/agents`))).toEqual({
        status: 401,
        body: { detail: 'Authorization header required' },
      });
      expect(
        await json(
          await postForm(`${url}/agents/researcher/runs`, { message: 'hi' }, { authorization: 'Bearer nope' }),
        ),
      ).toEqual({ status: 401, body: { detail: 'Invalid authentication token' } });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/agents`, { headers: { authorization: 'Bearer sekret-key' } })).status).toBe(200);

      const socket = await openSocket(`${url}/workflows/ws`);
      await socket.waitFor((m) => m.includes('"requires_auth": true'));
      socket.send({ action: 'ping' });
      await socket.waitFor((m) => m.includes('"event": "auth_required"'));
      socket.send({ action: 'start-workflow', workflow_id: 'content-creation-workflow', message: 'hi' });
      socket.send({ action: 'authenticate', token: 'wrong' });
      await socket.waitFor((m) => m === '{"event": "auth_error", "error": "Invalid token"}');
      socket.send({ action: 'authenticate', token: 'sekret-key' });
      await socket.waitFor((m) => m.includes('"event": "authenticated"'));
      socket.send({ action: 'ping' });
      await socket.waitFor((m) => m === '{"event": "pong"}');
      // The start sent before authenticating did nothing.
      expect(socket.received.some((m) => m.includes('WorkflowStarted'))).toBe(false);
      socket.close();
    } finally {
      await secured.close();
    }
  });
});

describe('a second server process', () => {
  test('`kern serve` in another process resumes a run this one started, from the last index its client saw', async () => {
    const prompt = `two servers ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: story(60), tokenDelayMs: 40 });
    const first = await readFrames(
      await postForm(`${base}/teams/storytelling-team/runs`, { message: prompt, background: 'true' }),
      4,
    );
    const runId = first[0]!.json.run_id as string;

    const child = spawn(
      process.execPath,
      [path.resolve(__dirname, '../../bin/kern.js'), 'serve', '--app', appPath, '--port', '0'],
      {
        env: { ...process.env, TEMPORAL_ADDRESS: process.env.KERN_TEST_TEMPORAL_ADDRESS, KERN_TASK_QUEUE: h.taskQueue },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const otherBase = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += String(chunk);
          const url = /at (http:\/\/\S+)/.exec(output)?.[1];
          if (url) resolve(url);
        });
        child.once('exit', (code) => reject(new Error(`kern serve exited with ${code}: ${output}`)));
      });
      const resumed = await readFrames(
        await postForm(`${otherBase}/teams/storytelling-team/runs/${runId}/resume`, { last_event_index: '3' }),
      );
      const events = resumed.filter((frame) => frame.id !== undefined);
      expect(events.map((frame) => frame.json.event_index)).toEqual(events.map((_, i) => 4 + i));
      expect(events.at(-1)!.event).toBe('TeamRunCompleted');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

test('CORS: only the configured origins are allowed', async () => {
  const limited = createServer({ app, client: h.client, corsOrigins: ['https://ui.example'] });
  const from = (origin: string) =>
    Promise.resolve(limited.fetch(new Request('http://kern.test/agents', { headers: { origin } }))).then((response) =>
      response.headers.get('access-control-allow-origin'),
    );
  expect(await from('https://ui.example')).toBe('https://ui.example');
  expect(await from('https://evil.example')).toBeNull();
  await limited.close();
});

test('CORS: with no origins configured, no origin is allowed', async () => {
  const closed = createServer({ app, client: h.client });
  const response = await closed.fetch(
    new Request('http://kern.test/agents', { headers: { origin: 'https://any.example' } }),
  );
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
  await closed.close();
});

describe('Temporal unreachable', () => {
  test('requests that need Temporal get 503 with a clear detail; the rest of the server keeps answering', async () => {
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
    const cut = createServer({ app });
    try {
      const response = await cut.fetch(
        new Request('http://kern.test/agents/researcher/runs', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'message=hi&stream=false',
        }),
      );
      expect(await json(response)).toEqual({
        status: 503,
        body: { detail: 'The server cannot reach its Temporal service right now; try again in a moment' },
      });
      expect((await cut.fetch(new Request('http://kern.test/health'))).status).toBe(200);
      expect((await cut.fetch(new Request('http://kern.test/agents'))).status).toBe(200);
    } finally {
      process.env.TEMPORAL_ADDRESS = saved;
      await cut.close();
    }
  }, 30_000);
});
