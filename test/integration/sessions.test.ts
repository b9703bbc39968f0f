import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  Agent,
  InvalidInputError,
  OpenAIResponses,
  RunStatus,
  SessionUnavailable,
  Team,
  defineApp,
  defineTool,
  type AnyRunOutput,
  type RunListFilter,
  type SessionListFilter,
} from 'kern';
import type { RecordedRequest } from 'kern/testing';
import { workflowIdForSession } from '../../src/shared/sessions';
import { eventually, startHarness, type Harness } from '../support/harness';
import { remember } from '../fixtures/session-tools';

/** A tool that reads the session state and appends to a list in it. */
const addItem = defineTool({
  name: 'add_item',
  description: 'Add an item to the shopping list.',
  parameters: z.object({ item: z.string() }),
  execute: ({ item }, { sessionState }) => {
    const items = Array.isArray(sessionState.items) ? (sessionState.items as string[]) : [];
    sessionState.items = [...items, item];
    return `the list: ${(sessionState.items as string[]).join(', ')}`;
  },
});

/** A tool that makes the state too large to keep. */
const hoard = defineTool({
  name: 'hoard',
  description: 'Keep a lot.',
  parameters: z.object({}),
  execute: (_args, { sessionState }) => {
    sessionState.blob = 'x'.repeat(300 * 1024);
    return 'kept';
  },
});

let h: Harness;
const model = new OpenAIResponses({ id: 'gpt-test' });
const chat = (options: { name?: string; numHistoryRuns?: number } = {}) =>
  new Agent({
    name: options.name ?? 'Chat Agent',
    model,
    addHistoryToContext: true,
    ...(options.numHistoryRuns !== undefined ? { numHistoryRuns: options.numHistoryRuns } : {}),
    client: h.client,
  });
const shopper = (harness = h) =>
  new Agent({ name: 'Shopper', model, tools: [addItem, remember, hoard], client: harness.client });
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });
/** Scripts the answer to the run whose own input (not its history) contains `text`. */
const answerTo = (text: string, ...turns: Parameters<Harness['model']['reply']>) =>
  h.model.replyWhen((request) => request.lastUserText.includes(text), ...turns);
/** The user and assistant messages a model request carried, in order, as `role: text`. */
const conversation = (request: RecordedRequest) =>
  (request.body.input as Array<{ role?: string; content?: unknown }>)
    .filter((item) => item.role === 'user' || item.role === 'assistant')
    .map((item) => `${item.role}: ${String(item.content)}`);
const requestFor = (text: string) => {
  const found = h.model.requests.filter((request) => request.lastUserText.includes(text));
  expect(found).toHaveLength(1);
  return found[0]!;
};
/** Every run a filter lists, page after page of `limit`. */
async function allPages(filter: RunListFilter): Promise<{ pages: AnyRunOutput[][] }> {
  const pages: AnyRunOutput[][] = [];
  let pageToken: string | undefined;
  do {
    const page = await h.client.listRuns({ ...filter, ...(pageToken ? { pageToken } : {}) });
    pages.push(page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { pages };
}

const app = defineApp({ tools: [addItem, remember, hoard] });
beforeAll(async () => {
  h = await startHarness(app);
});
afterAll(() => h.close());

/**
 * The 200 runs of the last test, started first: ten at a time in one session, they take half a minute, which passes
 * while the other tests run (side by side, each with its own ids and sessions). The test awaits them, then asserts.
 */
let longSession: ReturnType<typeof runLongSession>;
async function runLongSession() {
  const id = randomUUID();
  const sessionId = `long-${id}`;
  const agent = chat({ name: 'Long Agent' });
  const outputs: AnyRunOutput[] = [];
  for (let batch = 0; batch < 20; batch++) {
    outputs.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, n) => agent.run(`long ${batch * 10 + n} ${id}`, { sessionId })),
      )),
    );
  }
  return { id, sessionId, outputs };
}
beforeAll(() => {
  longSession = runLongSession();
  // Awaited by its test; a failure here is that test's.
  longSession.catch(() => undefined);
});

describe('history in context', () => {
  test.concurrent(
    'the second and third runs of a session get the earlier turns, oldest first; another session gets none',
    async () => {
      const id = randomUUID();
      const sessionId = `chat-${id}`;
      answerTo(`my name is Ada ${id}`, { text: 'Nice to meet you, Ada.' });
      answerTo(`I like tea ${id}`, { text: 'Tea it is.' });
      answerTo(`what do you know ${id}`, { text: 'Your name is Ada and you like tea.' });
      answerTo(`elsewhere ${id}`, { text: 'I know nothing about you.' });

      await chat().run(`my name is Ada ${id}`, { sessionId });
      const second = await chat().run(`I like tea ${id}`, { sessionId });
      const third = await chat().run(`what do you know ${id}`, { sessionId });
      await chat().run(`elsewhere ${id}`, { sessionId: `other-${id}` });

      expect(conversation(requestFor(`my name is Ada ${id}`))).toEqual([`user: my name is Ada ${id}`]);
      expect(conversation(requestFor(`I like tea ${id}`))).toEqual([
        `user: my name is Ada ${id}`,
        'assistant: Nice to meet you, Ada.',
        `user: I like tea ${id}`,
      ]);
      expect(conversation(requestFor(`what do you know ${id}`))).toEqual([
        `user: my name is Ada ${id}`,
        'assistant: Nice to meet you, Ada.',
        `user: I like tea ${id}`,
        'assistant: Tea it is.',
        `user: what do you know ${id}`,
      ]);
      expect(conversation(requestFor(`elsewhere ${id}`))).toEqual([`user: elsewhere ${id}`]);
      // The output says which messages came from the session.
      expect(second.messages.filter((message) => 'fromHistory' in message && message.fromHistory)).toHaveLength(2);
      expect(third.content).toBe('Your name is Ada and you like tea.');
      expect(third.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Your name is Ada and you like tea.' });
    },
  );

  test.concurrent('numHistoryRuns keeps the newest turns only', async () => {
    const id = randomUUID();
    const sessionId = `cut-${id}`;
    const agent = chat({ numHistoryRuns: 2 });
    for (const n of [1, 2, 3]) {
      answerTo(`turn ${n} ${id}`, { text: `answer ${n}` });
      await agent.run(`turn ${n} ${id}`, { sessionId });
    }
    answerTo(`turn 4 ${id}`, { text: 'answer 4' });
    await agent.run(`turn 4 ${id}`, { sessionId });
    expect(conversation(requestFor(`turn 4 ${id}`))).toEqual([
      `user: turn 2 ${id}`,
      'assistant: answer 2',
      `user: turn 3 ${id}`,
      'assistant: answer 3',
      `user: turn 4 ${id}`,
    ]);
  });

  test.concurrent('runs that ended CANCELLED or ERROR are left out, as the framework leaves them out', async () => {
    const id = randomUUID();
    const sessionId = `failed-${id}`;
    answerTo(`first ${id}`, { text: 'First answer.' });
    answerTo(`hangs ${id}`, { text: 'Half an', hang: true });
    answerTo(`rejected ${id}`, { error: { status: 400, message: 'bad request' } });
    answerTo(`last ${id}`, { text: 'Last answer.' });

    await chat().run(`first ${id}`, { sessionId });
    const hanging = await chat().run(`hangs ${id}`, { sessionId, background: true });
    await h.model.waitFor(() => h.model.requests.some((r) => r.lastUserText.includes(`hangs ${id}`)));
    // exactPartial: the run keeps every word the model sent, not only what its stream carried.
    await chat().cancelRun(hanging.runId, { exactPartial: true });
    expect((await h.waitForStatus(hanging.runId, RunStatus.cancelled)).content).toBe('Half an');
    expect((await chat().run(`rejected ${id}`, { sessionId })).status).toBe(RunStatus.error);
    await chat().run(`last ${id}`, { sessionId });

    expect(conversation(requestFor(`last ${id}`))).toEqual([
      `user: first ${id}`,
      'assistant: First answer.',
      `user: last ${id}`,
    ]);
  });

  test.concurrent("a component gets its own earlier turns, not another component's in the same session", async () => {
    const id = randomUUID();
    const sessionId = `shared-${id}`;
    answerTo(`mine ${id}`, { text: 'Mine.' });
    answerTo(`yours ${id}`, { text: 'Yours.' });
    answerTo(`again ${id}`, { text: 'Again.' });
    await chat({ name: 'First Agent' }).run(`mine ${id}`, { sessionId });
    await chat({ name: 'Second Agent' }).run(`yours ${id}`, { sessionId });
    await chat({ name: 'First Agent' }).run(`again ${id}`, { sessionId });
    expect(conversation(requestFor(`yours ${id}`))).toEqual([`user: yours ${id}`]);
    expect(conversation(requestFor(`again ${id}`))).toEqual([
      `user: mine ${id}`,
      'assistant: Mine.',
      `user: again ${id}`,
    ]);
  });

  test.concurrent(
    "a team with history gets its own earlier turns; its members get only the leader's task",
    async () => {
      const id = randomUUID();
      const sessionId = `team-${id}`;
      const writer = new Agent({ name: 'Writer', role: 'Writes.', model, client: h.client });
      const team = new Team({ name: 'Desk', members: [writer], model, addHistoryToContext: true, client: h.client });
      answerTo(`plan a trip ${id}`, { text: 'Go to Lisbon.' });
      answerTo(`and then ${id}`, call('delegate_task_to_member', { member_id: 'writer', task: `write it up ${id}` }), {
        text: 'Written.',
      });
      answerTo(`write it up ${id}`, { text: 'A trip to Lisbon.' });
      await team.run(`plan a trip ${id}`, { sessionId });
      const second = await team.run(`and then ${id}`, { sessionId });
      expect(second.status).toBe(RunStatus.completed);
      const leaderTurns = h.model.requests.filter((request) => request.lastUserText.includes(`and then ${id}`));
      expect(conversation(leaderTurns[0]!)).toEqual([
        `user: plan a trip ${id}`,
        'assistant: Go to Lisbon.',
        `user: and then ${id}`,
      ]);
      expect(conversation(requestFor(`write it up ${id}`))).toEqual([`user: write it up ${id}`]);
    },
  );

  test('numHistoryRuns out of range is refused when the agent is defined', () => {
    expect(() => new Agent({ name: 'A', addHistoryToContext: true, numHistoryRuns: 0 })).toThrow(InvalidInputError);
    expect(() => new Agent({ name: 'A', addHistoryToContext: true, numHistoryRuns: 21 })).toThrow(/1 to 20/);
  });
});

describe('session state', () => {
  test.concurrent("a tool's change is kept when the run completes and the next run's tools see it", async () => {
    const id = randomUUID();
    const sessionId = `shop-${id}`;
    answerTo(`add milk ${id}`, call('add_item', { item: 'milk' }), { text: 'Milk added.' });
    answerTo(`add eggs ${id}`, call('add_item', { item: 'eggs' }), { text: 'Eggs added.' });

    const first = await shopper().run(`add milk ${id}`, { sessionId, sessionState: { owner: 'ada' } });
    expect(first.sessionState).toEqual({ owner: 'ada', items: ['milk'] });
    const second = await shopper().run(`add eggs ${id}`, { sessionId });
    expect(second.tools[0]?.result).toBe('the list: milk, eggs');
    expect(second.sessionState).toEqual({ owner: 'ada', items: ['milk', 'eggs'] });

    const session = await h.client.getSession(sessionId);
    expect(session?.sessionState).toEqual({ owner: 'ada', items: ['milk', 'eggs'] });
    expect(session?.runs.map((run) => run.runId)).toEqual([first.runId, second.runId]);
  });

  test.concurrent(
    "a seed given to run() is merged over the session's state as the framework merges it: nested objects too",
    async () => {
      const id = randomUUID();
      const sessionId = `seed-${id}`;
      answerTo(`one ${id}`, { text: 'One.' });
      answerTo(`two ${id}`, call('remember', { key: 'seen', value: 'yes' }), { text: 'Two.' });
      await shopper().run(`one ${id}`, {
        sessionId,
        sessionState: { prefs: { theme: 'dark', lang: 'en' }, tags: ['a'] },
      });
      const second = await shopper().run(`two ${id}`, {
        sessionId,
        sessionState: { prefs: { lang: 'fr' }, tags: ['b'] },
      });
      const expected = { prefs: { theme: 'dark', lang: 'fr' }, tags: ['b'], seen: 'yes' };
      expect(second.sessionState).toEqual(expected);
      expect((await h.client.getSession(sessionId))?.sessionState).toEqual(expected);
    },
  );

  test.concurrent("a cancelled run's changes are not kept", async () => {
    const id = randomUUID();
    const sessionId = `cancelled-state-${id}`;
    answerTo(`keep ${id}`, call('remember', { key: 'color', value: 'blue' }), { text: 'Kept.' });
    answerTo(`change ${id}`, call('remember', { key: 'color', value: 'red' }), { text: 'Changing', hang: true });
    await shopper().run(`keep ${id}`, { sessionId });
    const run = await shopper().run(`change ${id}`, { sessionId, background: true });
    await h.model.waitFor(() => h.model.requests.filter((r) => r.lastUserText.includes(`change ${id}`)).length === 2);
    await shopper().cancelRun(run.runId);
    const cancelled = await h.waitForStatus(run.runId, RunStatus.cancelled);
    expect(cancelled.sessionState).toEqual({ color: 'red' });
    expect((await h.client.getSession(sessionId))?.sessionState).toEqual({ color: 'blue' });
  });

  test.concurrent(
    'concurrent runs of a session: changes to different keys both stay; for one key the run that completes last wins',
    async () => {
      const id = randomUUID();
      const sessionId = `concurrent-${id}`;
      // A sets both keys and answers slowly; B sets one key and answers at once, so B completes first.
      answerTo(`run A ${id}`, call('remember', { key: 'shared', value: 'from A' }), {
        text: 'A is done after a long while.',
        // 2 s: B completes first even with the other tests' runs beside them.
        tokenDelayMs: 300,
      });
      answerTo(`run B ${id}`, call('remember', { key: 'shared', value: 'from B' }), { text: 'B done.' });
      answerTo(`run C ${id}`, call('remember', { key: 'onlyC', value: 'c' }), { text: 'C done.' });
      const [a, b, c] = await Promise.all(
        ['A', 'B', 'C'].map((name) => shopper().run(`run ${name} ${id}`, { sessionId, background: true })),
      );
      const [doneA, doneB] = await Promise.all(
        [a!, b!, c!].map((run) => h.waitForStatus(run.runId, RunStatus.completed)),
      );
      expect(Date.parse(doneA!.updatedAt)).toBeGreaterThan(Date.parse(doneB!.updatedAt));
      expect((await h.client.getSession(sessionId))?.sessionState).toEqual({ shared: 'from A', onlyC: 'c' });
    },
  );

  test.concurrent("a team member's tool changes the team's state, and the team keeps it", async () => {
    const id = randomUUID();
    const sessionId = `member-state-${id}`;
    const team = new Team({ name: 'Shop Team', members: [shopper()], model, client: h.client });
    answerTo(`stock up ${id}`, call('delegate_task_to_member', { member_id: 'shopper', task: `buy bread ${id}` }), {
      text: 'Bread is on the list.',
    });
    answerTo(`buy bread ${id}`, call('add_item', { item: 'bread' }), { text: 'Added bread.' });
    const output = await team.run(`stock up ${id}`, { sessionId, sessionState: { items: ['jam'] } });
    expect(output.memberResponses[0]?.sessionState).toEqual({ items: ['jam', 'bread'] });
    expect(output.sessionState).toEqual({ items: ['jam', 'bread'] });
    expect((await h.client.getSession(sessionId))?.sessionState).toEqual({ items: ['jam', 'bread'] });
  });

  test.concurrent(
    'a state past 256 KB ends the run ERROR (SessionStateTooLarge) and the session keeps what it had',
    async () => {
      const id = randomUUID();
      const sessionId = `big-${id}`;
      answerTo(`small ${id}`, call('remember', { key: 'a', value: '1' }), { text: 'Small.' });
      answerTo(`big ${id}`, call('hoard', {}), { text: 'Hoarded.' });
      await shopper().run(`small ${id}`, { sessionId });
      const output = await shopper().run(`big ${id}`, { sessionId });
      expect(output.status).toBe(RunStatus.error);
      expect(output.error?.type).toBe('SessionStateTooLarge');
      expect((await h.client.getSession(sessionId))?.sessionState).toEqual({ a: '1' });
    },
  );

  test.concurrent('bad session options are refused before anything starts', async () => {
    await expect(shopper().run('x', { sessionState: [] as unknown as Record<string, unknown> })).rejects.toThrow(
      InvalidInputError,
    );
    await expect(shopper().run('x', { sessionState: { blob: 'x'.repeat(300 * 1024) } })).rejects.toThrow(
      /sessionState: must be at most 262144 bytes/,
    );
    await expect(shopper().run('x', { sessionId: ' padded ' })).rejects.toThrow(/must not start or end with spaces/);
  });
});

describe('listing runs and sessions', () => {
  test.concurrent('listRuns filters by session, user, component and status, newest first, and pages', async () => {
    const id = randomUUID();
    const sessionId = `list-${id}`;
    answerTo(`fails ${id}`, { error: { status: 400, message: 'no' } });
    const runs: AnyRunOutput[] = [];
    for (const n of [1, 2, 3, 4]) runs.push(await chat().run(`listed ${n} ${id}`, { sessionId, userId: `user-${id}` }));
    runs.push(await shopper().run(`fails ${id}`, { sessionId, userId: `other-${id}` }));

    const ids = (outputs: AnyRunOutput[]) => outputs.map((run) => run.runId);
    const newestFirst = ids(runs).reverse();
    const bySession = await eventually(
      () => h.client.listRuns({ sessionId }),
      (page) => page.runs.length === 5,
    );
    expect(ids(bySession.runs)).toEqual(newestFirst);
    expect(bySession.nextPageToken).toBeUndefined();
    expect(ids((await h.client.listRuns({ userId: `user-${id}` })).runs)).toEqual(newestFirst.slice(1));
    expect(ids((await h.client.listRuns({ sessionId, componentId: 'shopper' })).runs)).toEqual([runs[4]!.runId]);
    const failed = await eventually(
      () => h.client.listRuns({ sessionId, status: RunStatus.error }),
      (page) => page.runs.length === 1,
    );
    expect(failed.runs.map((run) => run.status)).toEqual([RunStatus.error]);
    expect((await h.client.listRuns({ sessionId, kind: 'team' })).runs).toEqual([]);

    const { pages } = await allPages({ sessionId, limit: 2 });
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((run) => run.runId)).toEqual(newestFirst);
    // Numbered pages: offset skips that many, then a page; past the end, none.
    expect(ids((await h.client.listRuns({ sessionId, limit: 2, offset: 2 })).runs)).toEqual(newestFirst.slice(2, 4));
    expect((await h.client.listRuns({ sessionId, offset: 5 })).runs).toEqual([]);
    expect(await h.client.countRuns({ sessionId })).toBe(5);
  });

  test.concurrent("listRuns lists top-level runs, and a run's members with parentRunId", async () => {
    const id = randomUUID();
    const sessionId = `members-${id}`;
    const team = new Team({ name: 'List Team', members: [chat({ name: 'Member' })], model, client: h.client });
    answerTo(`lead ${id}`, call('delegate_task_to_member', { member_id: 'member', task: `member task ${id}` }), {
      text: 'Led.',
    });
    const output = await team.run(`lead ${id}`, { sessionId });
    const top = await eventually(
      () => h.client.listRuns({ sessionId }),
      (page) => page.runs.length > 0,
    );
    expect(top.runs.map((run) => run.runId)).toEqual([output.runId]);
    const members = await eventually(
      () => h.client.listRuns({ parentRunId: output.runId }),
      (page) => page.runs.length > 0,
    );
    expect(members.runs.map((run) => run.runId)).toEqual([output.memberResponses[0]!.runId]);
  });

  test.concurrent('listSessions filters by component and user, newest first, counts runs, and pages', async () => {
    const id = randomUUID();
    const userId = `lister-${id}`;
    const sessionIds = [1, 2, 3].map((n) => `s${n}-${id}`);
    for (const [n, sessionId] of sessionIds.entries()) {
      for (let run = 0; run <= n; run++)
        await chat({ name: 'Lister' }).run(`hello ${run} ${id}`, { sessionId, userId });
    }
    await shopper().run(`shopping ${id}`, { sessionId: `shop-${id}`, userId });

    const filter: SessionListFilter = { componentId: 'lister', userId };
    const listed = await eventually(
      () => h.client.listSessions(filter),
      (page) => page.sessions.map((session) => session.runCount).join() === '3,2,1',
    );
    expect(listed.sessions.map((session) => session.sessionId)).toEqual([...sessionIds].reverse());
    expect(listed.sessions.map((session) => session.runCount)).toEqual([3, 2, 1]);
    expect(listed.sessions[0]).toMatchObject({ componentId: 'lister', userId });
    for (const session of listed.sessions) expect(session.updatedAt >= session.createdAt).toBe(true);
    expect(await h.client.countSessions(filter)).toBe(3);
    expect(await h.client.countSessions({ userId })).toBe(4);

    const first = await h.client.listSessions({ ...filter, limit: 2 });
    expect(first.sessions).toHaveLength(2);
    const second = await h.client.listSessions({ ...filter, limit: 2, pageToken: first.nextPageToken! });
    expect(second.sessions.map((session) => session.sessionId)).toEqual([sessionIds[0]]);
    expect(second.nextPageToken).toBeUndefined();
    // Page numbers, as the HTTP API takes them: the skipped sessions are read as ids only.
    const skipped = await h.client.listSessions({ ...filter, limit: 1, offset: 1 });
    expect(skipped.sessions.map((session) => session.sessionId)).toEqual([sessionIds[1]]);
    expect((await h.client.listSessions({ ...filter, offset: 3 })).sessions).toEqual([]);
  });

  test.concurrent(
    'deleteSession deletes the session, its state and its runs; a session id of the same start is untouched',
    async () => {
      const id = randomUUID();
      answerTo(`keep this ${id}`, call('remember', { key: 'note', value: id }), { text: 'Kept.' });
      const sessionId = `doomed-${id}`;
      const kept = await shopper().run(`keep this ${id}`, { sessionId });
      expect(kept.status).toBe('COMPLETED');
      const neighbour = await chat({ name: 'Neighbour' }).run(`next door ${id}`, { sessionId: `${sessionId}-2` });
      expect((await h.client.getSession(sessionId))!.sessionState).toEqual({ note: id });

      expect(await h.client.deleteSession(sessionId)).toBe(true);
      expect(await h.client.getSession(sessionId)).toBeNull();
      expect(await h.client.getSessionInfo(sessionId)).toBeNull();
      expect(
        await eventually(
          () => h.client.getRunOutput(kept.runId),
          (output) => output === null,
        ),
      ).toBeNull();
      expect(await h.client.deleteSession(sessionId)).toBe(false);
      expect(await h.client.deleteSession(`never-${id}`)).toBe(false);
      expect((await h.client.getRunOutput(neighbour.runId))?.status).toBe('COMPLETED');
      expect(await h.client.getSessionInfo(`${sessionId}-2`)).not.toBeNull();

      // The id can be used again: a new session, with none of the old state.
      answerTo(`fresh start ${id}`, { text: 'New.' });
      await shopper().run(`fresh start ${id}`, { sessionId });
      expect((await h.client.getSession(sessionId))!.sessionState).toEqual({});
    },
  );

  test.concurrent('a value with quotes matches only itself: an injection attempt widens nothing', async () => {
    const id = randomUUID();
    await chat().run(`visible ${id}`, { sessionId: `victim-${id}` });
    const injection = `x' OR KernKind='team`;
    expect((await h.client.listRuns({ sessionId: injection })).runs).toEqual([]);
    expect((await h.client.listSessions({ userId: injection })).sessions).toEqual([]);
    expect((await h.client.listSessions({ componentId: `chat-agent' OR KernSessionId != '` })).sessions).toEqual([]);
    expect(await h.client.getSession(injection)).toBeNull();

    // A session whose id really has a single quote in it is found under that id. Double quotes and backslashes are
    // refused: Temporal's visibility never matches them.
    const quoted = `it's ${id}`;
    const run = await chat().run(`quoted ${id}`, { sessionId: quoted });
    const found = await eventually(
      () => h.client.listRuns({ sessionId: quoted }),
      (page) => page.runs.length === 1,
    );
    expect(found.runs.map((listedRun) => listedRun.runId)).toEqual([run.runId]);
    expect((await h.client.getSession(quoted))?.runs.map((listedRun) => listedRun.runId)).toEqual([run.runId]);
    await expect(chat().run('x', { sessionId: 'a "b"' })).rejects.toThrow(/double quotes or backslashes/);
    await expect(chat().run('x', { userId: 'a\\b' })).rejects.toThrow(/double quotes or backslashes/);
  });

  test.concurrent(
    'a session nothing writes to has run no workflow task: one history event, yet listed and read; a write wakes it',
    async () => {
      const id = randomUUID();
      const plain = new Agent({ name: 'Plain Agent', model, client: h.client });
      answerTo(`plain ${id}`, { text: 'Plain.' });
      const output = await plain.run(`plain ${id}`, { userId: `quiet-${id}` });
      const handle = h.client.temporal.workflow.getHandle(workflowIdForSession(output.sessionId));
      expect((await handle.describe()).historyLength).toBe(1);
      const session = await eventually(
        () => h.client.getSession(output.sessionId),
        (found) => found?.runs.length === 1,
      );
      expect(session).toMatchObject({ userId: `quiet-${id}`, sessionState: {}, componentId: 'plain-agent' });
      expect((await h.client.listSessions({ userId: `quiet-${id}` })).sessions.map((s) => s.runCount)).toEqual([1]);

      // The first write (a run whose tool changes the state) runs it.
      answerTo(`wake ${id}`, call('remember', { key: 'awake', value: 'yes' }), { text: 'Awake.' });
      await shopper().run(`wake ${id}`, { sessionId: output.sessionId });
      expect((await handle.describe()).historyLength).toBeGreaterThan(1);
      expect((await h.client.getSession(output.sessionId))?.sessionState).toEqual({ awake: 'yes' });
    },
  );

  test.concurrent(
    'with no worker, sessions are still listed, and reading a written session state says a worker is needed',
    async () => {
      // A worker of its own to stop: the other tests' runs keep theirs.
      const own = await startHarness(app);
      try {
        const id = randomUUID();
        const sessionId = `no-worker-${id}`;
        own.model.replyWhen(
          (request) => request.lastUserText.includes(`note ${id}`),
          call('remember', { key: 'k', value: 'v' }),
          {
            text: 'Noted.',
          },
        );
        await shopper(own).run(`note ${id}`, { sessionId, userId: `nw-${id}` });
        await own.stopWorker();
        try {
          const listed = await eventually(
            () => own.client.listSessions({ userId: `nw-${id}` }),
            (page) => page.sessions.length === 1,
          );
          expect(listed.sessions.map((session) => session.sessionId)).toEqual([sessionId]);
          expect((await own.client.getSessionInfo(sessionId))?.runCount).toBe(1);
          await expect(own.client.getSession(sessionId)).rejects.toThrow(SessionUnavailable);
        } finally {
          await own.startWorker();
        }
        expect((await own.client.getSession(sessionId))?.sessionState).toEqual({ k: 'v' });
      } finally {
        await own.close();
      }
    },
  );

  test.concurrent('an unknown session is null, and a page token that no listing returned is refused', async () => {
    expect(await h.client.getSession(`unknown-${randomUUID()}`)).toBeNull();
    await expect(h.client.listRuns({ pageToken: 'not-a-token' })).rejects.toThrow(InvalidInputError);
    // A token of one filter is refused for another.
    const id = randomUUID();
    for (const n of [1, 2]) await chat().run(`paged ${n} ${id}`, { sessionId: `paged-${id}` });
    const first = await eventually(
      () => h.client.listRuns({ sessionId: `paged-${id}`, limit: 1 }),
      (page) => page.nextPageToken !== undefined,
    );
    await expect(h.client.listRuns({ userId: 'someone', limit: 1, pageToken: first.nextPageToken! })).rejects.toThrow(
      /with this filter/,
    );
    await expect(h.client.listSessions({ limit: 0 })).rejects.toThrow(/limit/);
  });
});

test('a session with 200 runs stays within Temporal limits: its workflow continues as new, and every run is listed', async () => {
  // Started before the other tests (see runLongSession).
  const { id, sessionId, outputs } = await longSession;
  expect(outputs.every((output) => output.status === RunStatus.completed)).toBe(true);
  // The last run got the three newest turns before it, within the history bound.
  const last = h.model.requests.filter((request) => request.lastUserText.includes(`long 199 ${id}`))[0]!;
  expect(conversation(last).length).toBeLessThanOrEqual(7);

  const handle = h.client.temporal.workflow.getHandle(workflowIdForSession(sessionId));
  const description = await handle.describe();
  expect(description.status.name).toBe('RUNNING');
  expect(description.historyLength).toBeLessThan(600);
  let executions = 0;
  for await (const execution of h.client.temporal.workflow.list({
    query: `WorkflowId = '${workflowIdForSession(sessionId)}'`,
  })) {
    executions++;
    if (execution.runId !== description.runId) expect(execution.status.name).toBe('CONTINUED_AS_NEW');
  }
  expect(executions).toBeGreaterThan(1);

  const listed = await eventually(
    () => h.client.listSessions({ componentId: 'long-agent' }),
    (page) => page.sessions.some((session) => session.sessionId === sessionId && session.runCount === 200),
  );
  const info = listed.sessions.find((session) => session.sessionId === sessionId);
  expect(info?.runCount).toBe(200);
  const session = await h.client.getSession(sessionId);
  // The session's creation time survives continue-as-new.
  expect(info?.createdAt).toBe(session?.createdAt);
  expect(session?.runs).toHaveLength(100);
  const { pages } = await allPages({ sessionId, limit: 100 });
  expect(pages.flat()).toHaveLength(200);
}, 180_000);
