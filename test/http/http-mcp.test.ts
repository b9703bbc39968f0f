import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { Agent, OpenAIResponses, Step, Team, Workflow, defineApp } from 'kern';
import { createServer } from 'kern/server';
import { postForm, statusAndJson } from '../support/http';
import { deleteRowsTool } from '../fixtures/confirmed-tools';
import { eventually, startServedHarness, type Harness, type ServedHarness } from '../support/harness';

/**
 * kern's `/mcp`, driven by the MCP SDK's own client over Streamable HTTP: each tool a kern run or a read of one, with
 * the server's authentication and scopes.
 */

const ran: string[] = [];
const deleteRows = deleteRowsTool(ran);
const model = new OpenAIResponses({ id: 'gpt-test' });
const assistant = new Agent({ name: 'Assistant', model, description: 'Answers questions.', tools: [deleteRows] });
const writer = new Agent({ name: 'Writer', model });
const desk = new Team({ name: 'Help Desk', model, members: [writer] });
const pipeline = new Workflow({ name: 'Pipeline', steps: [new Step({ name: 'Write', agent: writer })] });
const app = defineApp({ agents: [assistant, writer], teams: [desk], workflows: [pipeline] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

/** An MCP client of the server at `url`, with these request headers. */
async function mcpClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'kern-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown>, options = {}) =>
  (await client.callTool({ name, arguments: args }, undefined, options)) as CallToolResult & {
    structuredContent?: Record<string, unknown>;
  };
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

test("the MCP SDK's client lists kern's tools and the app, runs an agent to its end and a team and a workflow", async () => {
  const client = await mcpClient(base);
  try {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'cancel_run',
      'continue_run',
      'get_agentos_config',
      'get_run',
      'get_session_runs',
      'get_sessions',
      'run_agent',
      'run_team',
      'run_workflow',
    ]);
    expect(tools.find((tool) => tool.name === 'run_agent')?.inputSchema.required).toEqual(['agent_id', 'message']);

    const config = await call(client, 'get_agentos_config', {});
    expect(config.structuredContent).toMatchObject({
      os_id: 'kern',
      agents: [
        { id: 'assistant', name: 'Assistant', description: 'Answers questions.' },
        { id: 'writer', name: 'Writer' },
      ],
      teams: [{ id: 'help-desk', name: 'Help Desk' }],
      workflows: [{ id: 'pipeline', name: 'Pipeline' }],
    });

    const prompt = `What is kern? ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'A durable agent framework.' });
    const notes: string[] = [];
    const done = await call(
      client,
      'run_agent',
      { agent_id: 'assistant', message: prompt },
      {
        onprogress: (note: { message?: string }) => notes.push(note.message ?? ''),
      },
    );
    expect(done.isError).toBeFalsy();
    expect(textOf(done)).toBe('A durable agent framework.');
    const runId = done.structuredContent!.run_id as string;
    expect(done.structuredContent).toEqual({
      run_id: runId,
      session_id: expect.any(String),
      status: 'COMPLETED',
      content: 'A durable agent framework.',
      agent_id: 'assistant',
    });
    // The first progress note names the run, so a client that loses the call can read it with get_run.
    expect(notes).toEqual([`Starting run ${runId}`]);
    // The run is a kern run like any other: the TypeScript client reads it.
    expect(await h.client.getRunOutput(runId)).toMatchObject({
      status: 'COMPLETED',
      content: 'A durable agent framework.',
    });

    const teamPrompt = `Team question ${randomUUID()}`;
    h.model.replyWhen(teamPrompt, { text: 'The team answers.' });
    const team = await call(client, 'run_team', { team_id: 'help-desk', message: teamPrompt });
    expect(team.structuredContent).toMatchObject({
      status: 'COMPLETED',
      content: 'The team answers.',
      team_id: 'help-desk',
    });

    const stepPrompt = `Write a line ${randomUUID()}`;
    h.model.replyWhen(stepPrompt, { text: 'A line.' });
    const workflow = await call(client, 'run_workflow', { workflow_id: 'pipeline', message: stepPrompt });
    expect(workflow.structuredContent).toMatchObject({
      status: 'COMPLETED',
      content: 'A line.',
      workflow_id: 'pipeline',
    });
  } finally {
    await client.close();
  }
});

test('a background run answers PENDING at once; get_run reads it to its end, also from another server after the first is gone; its session lists it', async () => {
  const prompt = `Slow answer ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: 'one two three four five six', tokenDelayMs: 150 });
  const first = createServer({ app, client: h.client });
  const { url } = await first.listen({ port: 0 });
  const client = await mcpClient(url);
  const started = await call(client, 'run_agent', { agent_id: 'assistant', message: prompt, background: true });
  expect(started.structuredContent).toMatchObject({ status: 'PENDING', agent_id: 'assistant' });
  expect(textOf(started)).toMatch(/started in the background: read it with get_run/);
  const { run_id: runId, session_id: sessionId } = started.structuredContent as { run_id: string; session_id: string };
  await client.close();
  await first.close();

  const other = await mcpClient(base);
  try {
    const done = await eventually(
      () => call(other, 'get_run', { run_id: runId, agent_id: 'assistant' }),
      (result) => result.structuredContent?.status === 'COMPLETED',
    );
    expect(done.structuredContent).toMatchObject({
      run_id: runId,
      session_id: sessionId,
      content: 'one two three four five six',
    });

    const sessions = await eventually(
      () => call(other, 'get_sessions', { component_id: 'assistant', limit: 100 }),
      (result) => JSON.stringify(result.structuredContent).includes(sessionId),
    );
    expect((sessions.structuredContent!.data as Array<{ session_id: string }>).map((s) => s.session_id)).toContain(
      sessionId,
    );
    const history = await call(other, 'get_session_runs', { session_id: sessionId });
    // As the framework's (a list, which its MCP server wraps as `result`).
    expect(history.structuredContent).toEqual({
      result: [
        expect.objectContaining({
          run_id: runId,
          run_input: prompt,
          content: 'one two three four five six',
          status: 'COMPLETED',
          agent_id: 'assistant',
        }),
      ],
    });
    expect(Object.keys((history.structuredContent!.result as object[])[0]!)).not.toContain('messages');
  } finally {
    await other.close();
  }
});

test('a run that pauses for a confirmation answers PAUSED with its requirements; continue_run with them confirmed completes it', async () => {
  const client = await mcpClient(base);
  try {
    const prompt = `Drop the logs ${randomUUID()}`;
    h.model.replyWhen(
      prompt,
      { toolCalls: [{ name: 'delete_rows', arguments: { table: 'logs' } }] },
      { text: 'The logs are gone.' },
    );
    const paused = await call(client, 'run_agent', { agent_id: 'assistant', message: prompt });
    expect(paused.structuredContent).toMatchObject({
      status: 'PAUSED',
      content: 'Run paused: 1 requirement(s) awaiting resolution.',
      requirements: [{ needs: 'confirmation', tool_execution: { tool_name: 'delete_rows' } }],
    });
    expect(ran).not.toContain('delete logs');
    const { run_id, session_id, requirements } = paused.structuredContent as {
      run_id: string;
      session_id: string;
      requirements: object[];
    };
    const done = await call(client, 'continue_run', {
      run_id,
      session_id,
      agent_id: 'assistant',
      requirements: requirements.map((requirement) => ({ ...requirement, confirmation: true })),
    });
    expect(done.structuredContent).toMatchObject({ run_id, status: 'COMPLETED', content: 'The logs are gone.' });
    expect(ran).toContain('delete logs');
    // Without answers it is refused (the HTTP route would fork the ended run); sent again, the answer is refused
    // rather than given twice.
    const empty = await call(client, 'continue_run', { run_id, session_id, agent_id: 'assistant' });
    expect(textOf(empty)).toBe('continue_run needs the requirements of the PAUSED result, each with its resolution');
    const again = await call(client, 'continue_run', { run_id, session_id, agent_id: 'assistant', requirements });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/is not paused/);
  } finally {
    await client.close();
  }
});

test('cancel_run stops a running run, and records the cancel of one not started yet; a call that goes away leaves its run going', async () => {
  const client = await mcpClient(base);
  try {
    const prompt = `Long story ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'word '.repeat(40), tokenDelayMs: 250 });
    const started = await call(client, 'run_agent', { agent_id: 'assistant', message: prompt, background: true });
    const runId = started.structuredContent!.run_id as string;
    await h.model.waitFor(() => h.model.requestsFor(prompt).length > 0);
    const cancelled = await call(client, 'cancel_run', { run_id: runId, agent_id: 'assistant' });
    expect(textOf(cancelled)).toBe(`Run ${runId} cancellation requested`);
    const after = await eventually(
      () => call(client, 'get_run', { run_id: runId, agent_id: 'assistant' }),
      (result) => result.structuredContent?.status === 'CANCELLED',
    );
    expect(after.structuredContent!.status).toBe('CANCELLED');

    expect(textOf(await call(client, 'cancel_run', { run_id: runId, agent_id: 'assistant' }))).toBe(
      `Run ${runId} has already ended (CANCELLED): nothing to cancel`,
    );

    const early = randomUUID();
    expect(textOf(await call(client, 'cancel_run', { run_id: early, agent_id: 'assistant' }))).toBe(
      `Run ${early} is not running: nothing to cancel now. A run of this agent started later with this id ends CANCELLED.`,
    );
    const late = await statusAndJson(
      await postForm(`${base}/agents/assistant/runs`, { message: 'too late', run_id: early, stream: 'false' }),
    );
    expect(late.body).toMatchObject({ run_id: early, status: 'CANCELLED' });

    // A run-to-the-end call the client gives up on: the wait stops, the run does not.
    const patient = `Patient answer ${randomUUID()}`;
    h.model.replyWhen(patient, { text: 'finally here', tokenDelayMs: 400 });
    const notes: string[] = [];
    const aborted = new AbortController();
    const call_ = call(
      client,
      'run_agent',
      { agent_id: 'assistant', message: patient },
      {
        signal: aborted.signal,
        onprogress: (note: { message?: string }) => notes.push(note.message ?? ''),
      },
    );
    await h.model.waitFor(() => h.model.requestsFor(patient).length > 0);
    aborted.abort();
    await expect(call_).rejects.toThrow();
    const lostRunId = /^Starting run (\S+)$/.exec(notes[0] ?? '')?.[1];
    expect(lostRunId).toBeDefined();
    const finished = await eventually(
      () => call(client, 'get_run', { run_id: lostRunId!, agent_id: 'assistant' }),
      (result) => result.structuredContent?.status === 'COMPLETED',
    );
    expect(finished.structuredContent!.content).toBe('finally here');
  } finally {
    await client.close();
  }
});

test('bad input is a tool error that says what to fix, and starts nothing', async () => {
  const client = await mcpClient(base);
  const asked = h.model.requests.length;
  try {
    const unknown = await call(client, 'run_agent', { agent_id: 'nobody', message: 'hi' });
    expect(unknown).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Agent not found' }] });
    const noOwner = await call(client, 'get_run', { run_id: randomUUID() });
    expect(textOf(noOwner)).toBe('Name the component that owns the run: exactly one of agent_id, team_id, workflow_id');
    const missing = await call(client, 'get_run', { run_id: randomUUID(), agent_id: 'assistant' });
    expect(textOf(missing)).toBe('Run not found');
    const noMessage = await call(client, 'run_agent', { agent_id: 'assistant' });
    expect(noMessage.isError).toBe(true);
    expect(textOf(noMessage)).toMatch(/message/);
    // An id a URL would resolve away is not an id.
    const dotted = await call(client, 'get_run', { run_id: '..', agent_id: 'assistant' });
    expect(dotted.isError).toBe(true);
    expect(textOf(dotted)).toMatch(/not \. or \.\./);
    expect(h.model.requests.length).toBe(asked);
  } finally {
    await client.close();
  }
  // Stateless: nothing to open with GET or end with DELETE; a batch is bounded.
  for (const method of ['GET', 'DELETE']) {
    const answer = await fetch(`${base}/mcp`, { method, headers: { accept: 'text/event-stream' } });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  }
  const batch = Array.from({ length: 11 }, (_, n) => ({ jsonrpc: '2.0', id: n, method: 'tools/list' }));
  const tooMany = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(batch),
  });
  expect(tooMany.status).toBe(400);
  expect(await tooMany.json()).toMatchObject({ error: { message: 'A batch holds at most 10 messages' } });
});

test('a run longer than the wait answers RUNNING with its id, and get_run reads it to its end', async () => {
  const patient = createServer({ app, client: h.client, mcp: { maxWaitMs: 500 } });
  const client = await mcpClient((await patient.listen({ port: 0 })).url);
  try {
    const prompt = `Slow ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'slow but sure here', tokenDelayMs: 400 });
    const answered = await call(client, 'run_agent', { agent_id: 'assistant', message: prompt });
    expect(answered.structuredContent).toMatchObject({ status: 'RUNNING', agent_id: 'assistant' });
    const runId = answered.structuredContent!.run_id as string;
    expect(textOf(answered)).toBe(`Run ${runId} is still running: read it with get_run.`);
    const done = await eventually(
      () => call(client, 'get_run', { run_id: runId, agent_id: 'assistant' }),
      (result) => result.structuredContent?.status === 'COMPLETED',
    );
    expect(done.structuredContent!.content).toBe('slow but sure here');
  } finally {
    await client.close();
    await patient.close();
  }
});

test("with a security key, /mcp needs it; with JWT, each tool needs its route's scopes and a user sees only their own runs", async () => {
  const keyed = createServer({ app, client: h.client, securityKey: 'mcp-secret' });
  const pair = await generateKeyPair('RS256');
  const jwtServer = createServer({
    app,
    client: h.client,
    jwt: { verificationKeys: [await exportSPKI(pair.publicKey)] },
  });
  const keyedUrl = (await keyed.listen({ port: 0 })).url;
  const jwtUrl = (await jwtServer.listen({ port: 0 })).url;
  const token = (sub: string, scopes: string[]) =>
    new SignJWT({ sub, scopes }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('5m').sign(pair.privateKey);
  try {
    await expect(mcpClient(keyedUrl)).rejects.toThrow(/Authorization header required/);
    const withKey = await mcpClient(keyedUrl, { authorization: 'Bearer mcp-secret' });
    expect((await withKey.listTools()).tools.length).toBe(9);
    await withKey.close();

    const reader = await mcpClient(jwtUrl, { authorization: `Bearer ${await token('ada', ['agents:read'])}` });
    const refused = await call(reader, 'run_agent', { agent_id: 'assistant', message: 'hi' });
    expect(textOf(refused)).toBe('Insufficient permissions. Required scope(s): agents:run');
    await reader.close();

    const prompt = `Ada's question ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: "Ada's answer" });
    const ada = await mcpClient(jwtUrl, {
      authorization: `Bearer ${await token('ada', ['agents:read', 'agents:run'])}`,
    });
    const own = await call(ada, 'run_agent', { agent_id: 'assistant', message: prompt, user_id: 'someone-else' });
    expect(own.structuredContent).toMatchObject({ status: 'COMPLETED' });
    // The token's user, not the one the call names.
    expect(await h.client.getRunOutput(own.structuredContent!.run_id as string)).toMatchObject({ userId: 'ada' });
    await ada.close();

    const bob = await mcpClient(jwtUrl, {
      authorization: `Bearer ${await token('bob', ['agents:read', 'agents:run'])}`,
    });
    const peek = await call(bob, 'get_run', { run_id: own.structuredContent!.run_id, agent_id: 'assistant' });
    expect(textOf(peek)).toBe('Run not found');
    await bob.close();
  } finally {
    await keyed.close();
    await jwtServer.close();
  }
});
