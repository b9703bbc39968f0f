import { randomUUID } from 'node:crypto';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { z } from 'zod';
import { Agent, OpenAIResponses, RunStatus, Team, defineApp, defineTool } from 'kern';
import { createServer } from 'kern/server';
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm, statusAndJson, type Wire } from '../support/http';

/** The framework's approvals inbox, answered from kern's paused runs. */

const ran: string[] = [];
const refund = defineTool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.object({ order: z.string() }),
  requiresConfirmation: true,
  execute: ({ order }) => {
    ran.push(`refund ${order}`);
    return `refunded ${order}`;
  },
});
const ship = defineTool({
  name: 'ship',
  description: 'Ship an order.',
  parameters: z.object({ order: z.string() }),
  requiresUserInput: true,
  userInputFields: z.object({ carrier: z.string().min(2) }),
  execute: ({ order, carrier }) => {
    ran.push(`ship ${order} by ${carrier}`);
    return `shipped ${order}`;
  },
});

const model = new OpenAIResponses({ id: 'gpt-test' });
const clerk = new Agent({ name: 'Clerk', model, tools: [refund, ship] });
const desk = new Team({ name: 'Desk', model, members: [new Agent({ name: 'Cashier', model, tools: [refund] })] });
const app = defineApp({ agents: [clerk], teams: [desk] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const get = async (path: string) => statusAndJson(await fetch(`${base}${path}`));
const resolve = async (approvalId: string, body: unknown) =>
  statusAndJson(
    await fetch(`${base}/approvals/${approvalId}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });

/** Starts a run in the background that pauses on `tool`; returns its id once it is paused and listed. */
async function pausedRun(user: string, prompt: string, tool: string, args: unknown, path = '/agents/clerk/runs') {
  h.model.replyWhen(prompt, call(tool, args), { text: `Done: ${prompt}` });
  const started = await statusAndJson(
    await postForm(`${base}${path}`, { message: prompt, stream: 'false', background: 'true', user_id: user }),
  );
  const runId = started.body.run_id as string;
  await h.waitForStatus(runId, RunStatus.paused);
  return runId;
}

async function listed(path: string, count: number): Promise<Wire> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await get(path);
    if (body.data?.length === count || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('paused runs are the pending approvals: listed, counted, read; resolving one continues its run', async () => {
  const user = `approver-${randomUUID()}`;
  const refundRun = await pausedRun(user, `refund A-1 ${user}`, 'refund', { order: 'A-1' });
  const shipRun = await pausedRun(user, `ship B-2 ${user}`, 'ship', { order: 'B-2' });

  const page = await listed(`/approvals?user_id=${user}`, 2);
  expect(page.meta).toEqual({ page: 1, limit: 100, total_pages: 1, total_count: 2 });
  expect(page.data.map((approval: Wire) => approval.run_id)).toEqual([shipRun, refundRun]);
  expect(page.data[1]).toEqual({
    id: refundRun,
    run_id: refundRun,
    session_id: expect.any(String),
    status: 'pending',
    source_type: 'agent',
    approval_type: 'required',
    pause_type: 'confirmation',
    tool_name: 'refund',
    tool_args: { order: 'A-1' },
    expires_at: null,
    agent_id: 'clerk',
    team_id: null,
    workflow_id: null,
    user_id: user,
    schedule_id: null,
    schedule_run_id: null,
    source_name: 'Clerk',
    requirements: [expect.objectContaining({ needs: 'confirmation', run_id: refundRun })],
    context: { tool_names: ['refund'], source_name: 'Clerk' },
    resolution_data: null,
    resolved_by: null,
    resolved_at: null,
    created_at: expect.any(Number),
    updated_at: null,
    run_status: 'PAUSED',
  });
  expect((await get(`/approvals?user_id=${user}&pause_type=user_input`)).body.data).toEqual([
    expect.objectContaining({ run_id: shipRun, tool_name: 'ship', pause_type: 'user_input' }),
  ]);
  expect((await get(`/approvals?user_id=${user}&status=approved`)).body.data).toEqual([]);
  expect((await get(`/approvals?user_id=${user}&limit=1&page=2`)).body.data.map((a: Wire) => a.run_id)).toEqual([
    refundRun,
  ]);
  expect((await get(`/approvals/count?user_id=${user}`)).body).toEqual({ count: 2 });
  expect((await get(`/approvals?limit=101`)).body).toEqual({
    detail: [{ type: 'value_error', loc: ['query', 'limit'], msg: 'Input should be between 1 and 100', input: '101' }],
  });
  expect((await get(`/approvals/${refundRun}`)).body).toEqual(page.data[1]);
  expect((await get(`/approvals/${refundRun}/status`)).body).toEqual({
    approval_id: refundRun,
    status: 'pending',
    run_id: refundRun,
    resolved_at: null,
    resolved_by: null,
  });

  // Approving runs the tool, and the run completes.
  const approved = await resolve(refundRun, { status: 'approved', resolved_by: 'ops' });
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({ id: refundRun, status: 'approved', resolved_by: 'ops' });
  expect((await h.waitForStatus(refundRun, RunStatus.completed)).status).toBe(RunStatus.completed);
  expect(ran).toContain('refund A-1');
  expect((await get(`/approvals/${refundRun}/status`)).body.status).toBe('approved');
  expect(await resolve(refundRun, { status: 'rejected' })).toEqual({
    status: 409,
    body: { detail: "Approval is already 'approved' and cannot be resolved" },
  });

  // Input a tool needs comes as resolution_data; without it, the caller is told what to send.
  expect((await resolve(shipRun, { status: 'approved' })).status).toBe(422);
  expect((await resolve(shipRun, { status: 'maybe' })).status).toBe(422);
  const shipped = await resolve(shipRun, { status: 'approved', resolution_data: { values: { carrier: 'DHL' } } });
  expect(shipped.body.status).toBe('approved');
  expect((await h.waitForStatus(shipRun, RunStatus.completed)).status).toBe(RunStatus.completed);
  expect(ran).toContain('ship B-2 by DHL');
  expect((await listed(`/approvals?user_id=${user}`, 0)).data).toEqual([]);
  expect((await get(`/approvals/count?user_id=${user}`)).body).toEqual({ count: 0 });
});

test("rejecting refuses the tool; a team's approval is its member's tool call; no record to delete; unknown ids 404", async () => {
  const user = `rejecter-${randomUUID()}`;
  const runId = await pausedRun(user, `refund C-3 ${user}`, 'refund', { order: 'C-3' });
  expect((await resolve(runId, { status: 'rejected' })).body.status).toBe('rejected');
  expect((await h.waitForStatus(runId, RunStatus.completed)).status).toBe(RunStatus.completed);
  expect(ran).not.toContain('refund C-3');
  expect((await get(`/approvals/${runId}`)).body).toMatchObject({ status: 'rejected', run_status: 'COMPLETED' });

  const prompt = `desk refund D-4 ${user}`;
  h.model.replyWhen(prompt, call('delegate_task_to_member', { member_id: 'cashier', task: `refund D-4 for ${user}` }), {
    text: 'Handled.',
  });
  h.model.replyWhen(`refund D-4 for ${user}`, call('refund', { order: 'D-4' }), { text: 'Refunded.' });
  const started = await statusAndJson(
    await postForm(`${base}/teams/desk/runs`, { message: prompt, stream: 'false', background: 'true', user_id: user }),
  );
  const teamRun = started.body.run_id as string;
  await h.waitForStatus(teamRun, RunStatus.paused);
  const [approval] = (await listed(`/approvals?user_id=${user}&source_type=team`, 1)).data;
  expect(approval).toMatchObject({ id: teamRun, source_type: 'team', team_id: 'desk', tool_name: 'refund' });
  expect((await resolve(teamRun, { status: 'approved' })).body.status).toBe('approved');
  expect((await h.waitForStatus(teamRun, RunStatus.completed)).status).toBe(RunStatus.completed);
  expect(ran).toContain('refund D-4');

  const removed = await statusAndJson(await fetch(`${base}/approvals/${teamRun}`, { method: 'DELETE' }));
  expect(removed.status).toBe(409);
  expect(removed.body.detail).toMatch(/^kern keeps no approval records/);
  for (const path of [`/approvals/nope-${user}`, `/approvals/nope-${user}/status`]) {
    expect(await get(path)).toEqual({ status: 404, body: { detail: 'Approval not found' } });
  }
  h.model.replyWhen(`plain ${user}`, { text: 'Nothing to approve.' });
  const plain = await statusAndJson(
    await postForm(`${base}/agents/clerk/runs`, { message: `plain ${user}`, stream: 'false' }),
  );
  expect((await get(`/approvals/${plain.body.run_id}`)).status).toBe(404);
});

test('under JWT each user sees only their own approvals, and only an admin resolves one, as on the framework', async () => {
  const pair = await generateKeyPair('RS256');
  const secured = createServer({
    app,
    client: h.client,
    jwt: { verificationKeys: [await exportSPKI(pair.publicKey)], audience: 'kern-tests', issuer: 'https://kern.test' },
  });
  const { url } = await secured.listen({ port: 0 });
  const token = (sub: string, scopes: string[]) =>
    new SignJWT({ sub, scopes, iss: 'https://kern.test', aud: 'kern-tests' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(pair.privateKey);
  const as = async (jwt: string, path: string, init: RequestInit = {}) =>
    statusAndJson(
      await fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      }),
    );
  try {
    const ada = `ada-${randomUUID()}`;
    const runId = await pausedRun(ada, `refund E-5 ${ada}`, 'refund', { order: 'E-5' });
    await listed(`/approvals?user_id=${ada}`, 1);
    const reader = ['approvals:read', 'approvals:write'];
    const adaToken = await token(ada, reader);
    const bobToken = await token(`bob-${randomUUID()}`, reader);
    expect((await as(adaToken, '/approvals')).body.data.map((a: Wire) => a.run_id)).toEqual([runId]);
    expect((await as(adaToken, '/approvals/count')).body).toEqual({ count: 1 });
    // Bob asks for Ada's by user_id, and by id: his own are none, hers are not found.
    expect((await as(bobToken, `/approvals?user_id=${ada}`)).body.data).toEqual([]);
    expect((await as(bobToken, `/approvals/${runId}`)).status).toBe(404);
    expect((await as(await token(ada, ['agents:read']), '/approvals')).status).toBe(403);
    // Resolving is an admin's, as on the framework's server: Ada gets the 404 of an approval that does not exist.
    const body = JSON.stringify({ status: 'approved', resolved_by: 'someone else' });
    expect((await as(adaToken, `/approvals/${runId}/resolve`, { method: 'POST', body })).status).toBe(404);
    const adminToken = await token('root', ['agent_os:admin']);
    const resolved = await as(adminToken, `/approvals/${runId}/resolve`, { method: 'POST', body });
    // Who resolved it is the token's user, whatever the body says.
    expect(resolved.body).toMatchObject({ status: 'approved', resolved_by: 'root' });
    expect((await h.waitForStatus(runId, RunStatus.completed)).status).toBe(RunStatus.completed);
  } finally {
    await secured.close();
  }
});
