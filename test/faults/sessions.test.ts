import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { Agent, OpenAIResponses, RunStatus, defineApp } from 'kern';
import { createServer } from 'kern/server';
import { closeSessionUpdate, sessionContextQuery } from '../../src/shared/messages';
import { SESSION_WORKFLOW_TYPE, sessionWorkflowOptions } from '../../src/shared/session-workflow';
import {
  newSession,
  sessionTurn,
  workflowIdForSession,
  type CloseSessionRequest,
  type SessionTurn,
} from '../../src/shared/sessions';
import { workflowIdForRun } from '../../src/shared/ids';
import { startHarness, type Harness } from '../support/harness';

/**
 * Sessions under what would wedge them: writes that weigh more in Temporal than their characters say, writes that
 * come twice, and a session that cannot answer at all. Real payloads through the real server and worker.
 */

const model = new OpenAIResponses({ id: 'gpt-test' });
const assistantOptions = { name: 'Assistant', model, addHistoryToContext: true, numHistoryRuns: 3 };
const app = defineApp({ agents: [new Agent(assistantOptions)] });

let h: Harness;
/** The app's assistant, starting its runs with the harness's client. */
let assistant: Agent;
beforeAll(async () => {
  h = await startHarness(app);
  assistant = new Agent({ ...assistantOptions, client: h.client });
});
// A write to a session nobody runs is given up when the worker shuts down, after its grace period.
afterAll(() => h.close(), 60_000);

/** A session whose workflow no worker runs: every write to it waits. */
async function stuckSession(): Promise<string> {
  const sessionId = `stuck-${randomUUID()}`;
  await h.client.temporal.workflow.start(SESSION_WORKFLOW_TYPE, {
    ...sessionWorkflowOptions(newSession(sessionId, new Date().toISOString()), `nobody-${randomUUID()}`),
    // Not yet run by anyone: a run reads it as empty, as a session nothing has written to.
    startDelay: '1 hour',
  });
  return sessionId;
}

/**
 * The run of the last test, started first: its session never answers, so it ends only after three 20-second attempts,
 * which pass while the other tests run.
 */
let unanswered: Promise<{ runId: string; sessionId: string }>;
beforeAll(() => {
  unanswered = (async () => {
    const sessionId = await stuckSession();
    const prompt = `never written ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'an answer nobody keeps' });
    const { runId } = await assistant.run(prompt, { sessionId, background: true });
    return { runId, sessionId };
  })();
  // Awaited by its test; a failure here is that test's.
  unanswered.catch(() => undefined);
});

/** Writes to a session as a run's `writeSession` activity does (update-with-start), within `timeoutMs`. */
async function write(sessionId: string, request: CloseSessionRequest, options: { updateId?: string } = {}) {
  const temporal = h.client.temporal;
  const start = new WithStartWorkflowOperation(SESSION_WORKFLOW_TYPE, {
    ...sessionWorkflowOptions(newSession(sessionId, request.at), h.taskQueue),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const update = temporal.workflow.executeUpdateWithStart(closeSessionUpdate, {
    args: [request],
    startWorkflowOperation: start,
    ...(options.updateId ? { updateId: options.updateId } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`session ${sessionId} took no write for 20 s`)), 20_000);
  });
  try {
    await Promise.race([update, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a run of the assistant reads from the session when it starts, with up to `turns` earlier turns. */
function sessionContextOf(sessionId: string, turns: number) {
  const handle = h.client.temporal.workflow.getHandle(workflowIdForSession(sessionId));
  return handle.query(sessionContextQuery, { kind: 'agent', componentId: assistant.id, numHistoryRuns: turns });
}

/** The turn a run of the assistant writes, as runs bound it before sending. */
const turnOf = (runId: string, text: string): SessionTurn =>
  sessionTurn({
    runId,
    kind: 'agent',
    componentId: assistant.id,
    input: text,
    content: text,
    createdAt: new Date().toISOString(),
  });

describe('a session never grows too large to be written', () => {
  test.each([
    ['9,000 CJK characters', '漢'.repeat(9_000)],
    ['9,000 control characters', '\u0001'.repeat(9_000)],
  ])(
    '200 writes of %s each way: it stays writable, and its next run completes',
    async (_name, text) => {
      const sessionId = `big-${randomUUID()}`;
      for (let i = 0; i < 200; i++) {
        const runId = `writer-${i}`;
        await write(sessionId, { runId, turn: turnOf(runId, text), at: new Date().toISOString() });
      }
      const prompt = `after the big turns ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: 'still here' });
      const { runId } = await assistant.run(prompt, { sessionId, background: true });
      const output = await h.waitForStatus(runId, RunStatus.completed, RunStatus.error);
      expect(output).toMatchObject({ status: RunStatus.completed, content: 'still here' });
      // It was given earlier turns, and the session keeps each bounded in bytes, not in characters alone.
      const request = h.model.requests.find((r) => r.lastUserText.includes(prompt))!;
      expect(request.userText).toContain(text.slice(0, 100));
      const { turns } = await sessionContextOf(sessionId, 50);
      expect(turns.length).toBeGreaterThan(3);
      for (const turn of turns) expect(Buffer.byteLength(JSON.stringify(turn))).toBeLessThanOrEqual(50 * 1024);
      expect(Buffer.byteLength(JSON.stringify(turns))).toBeLessThanOrEqual(1024 * 1024);
      const session = await h.client.getSession(sessionId);
      expect(session?.runs.map((run) => run.runId)).toContain(runId);
    },
    180_000,
  );
});

describe('a run writes to its session once', () => {
  test('a write that comes again after it landed (a retried activity) changes nothing, also over a newer write', async () => {
    const sessionId = `twice-${randomUUID()}`;
    const at = () => new Date().toISOString();
    const first: CloseSessionRequest = {
      runId: 'run-a',
      turn: turnOf('run-a', 'first question'),
      changes: { set: { plan: 'basic' }, unset: [] },
      at: at(),
    };
    await write(sessionId, first, { updateId: 'close-run-a' });
    await write(sessionId, { runId: 'run-b', changes: { set: { plan: 'pro' }, unset: [] }, at: at() });
    // Again with its update id (Temporal's own dedup), and without (as after the session continued as new).
    await write(sessionId, first, { updateId: 'close-run-a' });
    await write(sessionId, { ...first, at: at() });

    const context = await sessionContextOf(sessionId, 10);
    expect(context.turns.map((turn) => turn.runId)).toEqual(['run-a']);
    expect(context.sessionState).toEqual({ plan: 'pro' });
  });
});

describe('a session that cannot answer', () => {
  test('a cancel during the session write ends the run CANCELLED within seconds, with its whole answer', async () => {
    const sessionId = await stuckSession();
    const prompt = `cancel while writing ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'the whole answer' });
    const { runId } = await assistant.run(prompt, { sessionId, background: true });
    // The model has answered; the run now waits on its session.
    const deadline = Date.now() + 20_000;
    while ((await h.client.getRunOutput(runId))?.content !== 'the whole answer' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await h.client.getRunOutput(runId))?.status).toBe(RunStatus.running);
    const cancelledAt = Date.now();
    expect(await h.client.cancelRun(runId)).toBe(true);
    const output = await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.completed, RunStatus.error);
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect(output).toMatchObject({ status: RunStatus.cancelled, content: 'the whole answer' });
  });
});

describe('inputs that weigh more in Temporal than in UTF-8', () => {
  test('300,000 control characters are refused up front, by the client and over HTTP', async () => {
    const input = '\u0001'.repeat(300_000);
    await expect(assistant.run(input, { background: true })).rejects.toThrow(
      'the run input weighs 1800002 bytes as Temporal stores it',
    );
    const server = createServer({ app, client: h.client });
    try {
      const answer = await server.fetch(
        new Request(`http://kern.test/agents/${assistant.id}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: input, stream: false }),
        }),
      );
      // The body itself (1.8 MB of JSON) is over the server's 1 MiB, so it is refused before it is read.
      expect(answer.status).toBe(413);
      const form = await server.fetch(
        new Request(`http://kern.test/agents/${assistant.id}/runs`, {
          method: 'POST',
          body: new URLSearchParams({ message: '\u0001'.repeat(100_000), stream: 'false' }),
        }),
      );
      expect(form.status).toBe(422);
      expect(JSON.stringify(await form.json())).toContain('must weigh at most 524288 bytes as JSON');
    } finally {
      await server.close();
    }
  });

  test('a cancelled run whose input is just under the limit ends CANCELLED, not terminated by Temporal', async () => {
    // 80,000 control characters: 480 KB as JSON, stored in the run's record and again in its output.
    const input = `${'\u0001'.repeat(80_000)} hang ${randomUUID()}`;
    h.model.replyWhen(input.slice(-40), { text: 'a start', hang: true });
    const { runId } = await assistant.run(input, { background: true });
    await h.waitForStatus(runId, RunStatus.running);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await h.client.cancelRun(runId);
    const output = await h.waitForStatus(runId, RunStatus.cancelled, RunStatus.error);
    expect(output.status).toBe(RunStatus.cancelled);
    const description = await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).describe();
    expect(description.status.name).toBe('CANCELLED');
  });
});

describe('a session that never answers', () => {
  test('without a cancel, the run ends ERROR naming the session, after three attempts', async () => {
    const { runId, sessionId } = await unanswered;
    let output = await h.client.getRunOutput(runId);
    const ended: string[] = [RunStatus.error, RunStatus.completed, RunStatus.cancelled];
    for (const deadline = Date.now() + 100_000; !ended.includes(output?.status ?? '') && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      output = await h.client.getRunOutput(runId);
    }
    expect(output?.status).toBe(RunStatus.error);
    expect(output?.error).toMatchObject({
      type: 'SessionWriteFailed',
      message: expect.stringContaining(`could not be written to its session ${sessionId} in 3 attempts of 20 s`),
    });
    // The answer is kept in the output.
    expect(output?.content).toBe('an answer nobody keeps');
  }, 120_000);
});
