import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Agent, OpenAIResponses, Team, defineApp, defineTool } from 'kern';
import { deleteRowsTool } from '../fixtures/confirmed-tools';
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm, readFrames, statusAndJson, type Wire } from '../support/http';

const ran: string[] = [];
const deleteRows = deleteRowsTool(ran);
const payInvoice = defineTool({
  name: 'pay_invoice',
  description: 'Pay an invoice.',
  parameters: z.object({ invoice: z.string() }),
  requiresUserInput: true,
  userInputFields: z.object({ approver: z.string().min(2) }),
  execute: ({ invoice, approver }) => {
    ran.push(`pay ${invoice} by ${approver}`);
    return `paid ${invoice}`;
  },
});

const model = new OpenAIResponses({ id: 'gpt-test' });
const admin = new Agent({ name: 'Admin', model, tools: [deleteRows, payInvoice] });
const office = new Team({
  name: 'Back Office',
  model,
  members: [new Agent({ name: 'Clerk', model, tools: [deleteRows] })],
});
const app = defineApp({ agents: [admin], teams: [office] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());
beforeEach(() => {
  ran.length = 0;
});

const json = statusAndJson;
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });

describe('POST /{kind}/{id}/runs/{run_id}/continue, as the framework takes it', () => {
  test('a run that pauses answers PAUSED with its tools and requirements; continuing with the confirmed tools answers the final output', async () => {
    const prompt = `Drop the logs ${randomUUID()}`;
    h.model.replyWhen(prompt, call('delete_rows', { table: 'logs' }), { text: 'The logs are gone.' });
    const paused = await json(await postForm(`${base}/agents/admin/runs`, { message: prompt, stream: 'false' }));
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      status: 'PAUSED',
      tools: [{ tool_name: 'delete_rows', tool_args: { table: 'logs' }, requires_confirmation: true }],
      requirements: [
        { needs: 'confirmation', tool_execution: { tool_name: 'delete_rows', requires_confirmation: true } },
      ],
    });
    expect(ran).toEqual([]);
    const { run_id: runId, session_id: sessionId } = paused.body;

    // The framework's client sends back the run's tools, with `confirmed` set.
    const tools = paused.body.tools.map((tool: Wire) => ({ ...tool, confirmed: true }));
    const done = await json(
      await postForm(`${base}/agents/admin/runs/${runId}/continue`, {
        tools: JSON.stringify(tools),
        session_id: sessionId,
        stream: 'false',
      }),
    );
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ run_id: runId, status: 'COMPLETED', content: 'The logs are gone.' });
    expect(done.body.requirements).toBeUndefined();
    expect(ran).toEqual(['delete logs']);
  });

  test('refusals: 404 for an unknown run or another session, 409 when the run is not paused, 400 for bad JSON or answers that do not fit', async () => {
    const continueRun = (runId: string, fields: Record<string, string>) =>
      postForm(`${base}/agents/admin/runs/${runId}/continue`, { stream: 'false', ...fields });
    expect(await json(await continueRun('no-such-run', { tools: '[]' }))).toEqual({
      status: 404,
      body: { detail: 'Run not found' },
    });

    const prompt = `Pay INV-1 ${randomUUID()}`;
    h.model.replyWhen(prompt, call('pay_invoice', { invoice: 'INV-1' }), { text: 'Paid.' });
    const paused = (await json(await postForm(`${base}/agents/admin/runs`, { message: prompt, stream: 'false' }))).body;
    expect(paused.requirements[0].user_input_schema).toEqual([
      { name: 'approver', field_type: 'str', description: null, value: null },
    ]);
    const runId = paused.run_id;
    expect((await json(await continueRun(runId, { tools: '[', session_id: paused.session_id }))).body).toEqual({
      detail: 'Invalid JSON in tools field',
    });
    expect((await continueRun(runId, { tools: '[]', session_id: 'another-session' })).status).toBe(404);
    const filled = (value: string) =>
      JSON.stringify(paused.tools.map((tool: Wire) => ({ ...tool, user_input_schema: [{ name: 'approver', value }] })));
    const tooShort = await json(await continueRun(runId, { tools: filled('A') }));
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.detail).toMatch(/approver/);
    const nothing = await json(await continueRun(runId, { tools: '[]' }));
    expect(nothing).toEqual({ status: 400, body: { detail: 'no answers were given' } });
    expect(ran).toEqual([]);
    expect((await json(await fetch(`${base}/agents/admin/runs/${runId}`))).body.status).toBe('PAUSED');

    const done = await json(await continueRun(runId, { tools: filled('Grace') }));
    expect(done.body).toMatchObject({ status: 'COMPLETED', content: 'Paid.' });
    expect(ran).toEqual(['pay INV-1 by Grace']);
    const again = await json(await continueRun(runId, { tools: filled('Grace') }));
    expect(again).toEqual({ status: 409, body: { detail: `run '${runId}' is not paused: it is COMPLETED` } });
  });

  test('a streamed run ends its response at RunPaused; a streamed continue sends RunContinued to the end', async () => {
    const prompt = `Drop the cache ${randomUUID()}`;
    h.model.replyWhen(prompt, call('delete_rows', { table: 'cache' }), { text: 'Cache dropped.' });
    const first = await readFrames(await postForm(`${base}/agents/admin/runs`, { message: prompt }));
    const paused = first.at(-1)!;
    expect(paused.event).toBe('RunPaused');
    expect(paused.json).toMatchObject({
      requirements: [{ needs: 'confirmation' }],
      tools: [{ tool_name: 'delete_rows', requires_confirmation: true }],
    });
    const runId = String(paused.json.run_id);
    const requirement = (paused.json.requirements as Wire[])[0];
    const rest = await readFrames(
      await postForm(`${base}/agents/admin/runs/${runId}/continue`, {
        requirements: JSON.stringify([{ ...requirement, confirmation: true }]),
      }),
    );
    expect(rest.map((frame) => frame.event)).toEqual([
      'RunContinued',
      'ToolCallStarted',
      'ToolCallCompleted',
      'ModelRequestStarted',
      'RunContent',
      'ModelRequestCompleted',
      'RunCompleted',
    ]);
    expect(rest.at(-1)!.json.content).toBe('Cache dropped.');
    expect(ran).toEqual(['delete cache']);
  });

  test("a team paused by its member's tool is continued with the framework's requirements", async () => {
    const prompt = `Team, clear the queue ${randomUUID()}`;
    h.model
      .replyWhen(
        (request) => request.lastUserText === prompt,
        {
          toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: 'clerk', task: `clear ${prompt}` } }],
        },
        { text: 'The queue is clear.' },
      )
      .replyWhen(`clear ${prompt}`, call('delete_rows', { table: 'queue' }), { text: 'Cleared.' });
    const started = await json(
      await postForm(`${base}/teams/back-office/runs`, { message: prompt, stream: 'false', background: 'true' }),
    );
    expect(started).toMatchObject({ status: 202, body: { status: 'PENDING' } });
    const runId = started.body.run_id;
    let team: Wire;
    for (let i = 0; i < 100; i++) {
      team = (await json(await fetch(`${base}/teams/back-office/runs/${runId}`))).body;
      if (team.status === 'PAUSED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(team.requirements).toEqual([
      expect.objectContaining({ needs: 'confirmation', member_agent_id: 'clerk', member_agent_name: 'Clerk' }),
    ]);
    const requirements = team.requirements.map((requirement: Wire) => ({
      ...requirement,
      tool_execution: { ...requirement.tool_execution, confirmed: true },
    }));
    const done = await json(
      await postForm(`${base}/teams/back-office/runs/${runId}/continue`, {
        requirements: JSON.stringify(requirements),
        stream: 'false',
      }),
    );
    expect(done.body).toMatchObject({ status: 'COMPLETED', content: 'The queue is clear.' });
    expect(ran).toEqual(['delete queue']);
  });
});
