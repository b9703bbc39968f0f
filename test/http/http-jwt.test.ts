import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { Agent, OpenAIResponses, RunStatus, defineApp } from 'kern';
import { workflowIdForRun } from '../../src/shared/ids';
import { createServer, type KernServer } from 'kern/server';
import { contentWorkflow, researcher, storytellingTeam } from '../fixtures/http-app';
import { idempotentIds } from '../../src/server/idempotency';
import { startHarness, type Harness } from '../support/harness';
import { openSocket, postForm, readFrames, statusAndJson } from '../support/http';

/**
 * JWT as the framework's server does it, over real HTTP and a real WebSocket: tokens verified (signature, expiry,
 * audience, issuer), scopes checked per route and per component, and every user kept to their own runs, sessions and
 * schedules, on every route kind.
 */

const writer = new Agent({ name: 'Writer', model: new OpenAIResponses({ id: 'gpt-test' }) });
const app = defineApp({ agents: [researcher, writer], teams: [storytellingTeam], workflows: [contentWorkflow] });
const AUDIENCE = 'kern-tests';
const ISSUER = 'https://issuer.kern.test';

let h: Harness;
let server: KernServer;
let base: string;
let signingKey: CryptoKey;
beforeAll(async () => {
  h = await startHarness(app);
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  server = createServer({
    app,
    client: h.client,
    jwt: { verificationKeys: [await exportSPKI(pair.publicKey)], audience: AUDIENCE, issuer: ISSUER },
  });
  ({ url: base } = await server.listen({ port: 0 }));
});
afterAll(async () => {
  await server.close();
  await h.close();
});

/** A token as an identity provider would sign it; `claims` change or add claims, `key` signs with another key. */
async function token(
  sub: string | undefined,
  scopes: string[],
  options: { claims?: Record<string, unknown>; key?: CryptoKey } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    ...(sub !== undefined ? { sub } : {}),
    scopes,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...options.claims,
  }).setProtectedHeader({ alg: 'RS256' });
  return jwt.sign(options.key ?? signingKey);
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
const json = statusAndJson;
const get = async (path: string, jwt: string) => json(await fetch(`${base}${path}`, { headers: bearer(jwt) }));

const USER = ['agents:read', 'agents:run', 'workflows:read', 'workflows:run', 'sessions:read'];

describe('tokens', () => {
  test('good, missing, expired, wrong audience, wrong issuer, wrong key: the framework 401 bodies', async () => {
    expect(await json(await fetch(`${base}/agents`))).toEqual({
      status: 401,
      body: { detail: 'Authorization header missing' },
    });
    expect((await get('/agents', await token('ada', ['agents:read']))).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);

    expect(await get('/agents', await token('ada', ['agents:read'], { claims: { exp: 1_000 } }))).toEqual({
      status: 401,
      body: { detail: 'Token has expired' },
    });
    // Expired 5 s ago: within the 10 s leeway.
    const justExpired = await token('ada', ['agents:read'], { claims: { exp: Math.floor(Date.now() / 1000) - 5 } });
    expect((await get('/agents', justExpired)).status).toBe(200);
    expect(await get('/agents', await token('ada', ['agents:read'], { claims: { aud: 'another-app' } }))).toEqual({
      status: 401,
      body: { detail: 'Invalid token audience - token not valid for this AgentOS instance' },
    });
    expect(
      await get('/agents', await token('ada', ['agents:read'], { claims: { iss: 'https://elsewhere.test' } })),
    ).toEqual({
      status: 401,
      body: { detail: `Invalid token: Invalid issuer. Expected: ${ISSUER}, got: https://elsewhere.test` },
    });
    const forger = await generateKeyPair('RS256');
    const forged = await get('/agents', await token('ada', ['agent_os:admin'], { key: forger.privateKey }));
    expect(forged).toEqual({ status: 401, body: { detail: 'Invalid token: signature verification failed' } });
    // A token signed with the public key as an HMAC secret (the algorithm confusion attack) is refused.
    const confused = await new SignJWT({ scopes: ['agent_os:admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .sign(new TextEncoder().encode('any secret'));
    expect((await get('/agents', confused)).status).toBe(401);
    expect((await get('/agents', 'not.a.token')).status).toBe(401);
    // A token that never expires, or that names no user (unless it is an admin's), is refused.
    expect(await get('/agents', await token('ada', ['agents:read'], { claims: { exp: undefined } }))).toEqual({
      status: 401,
      body: { detail: 'Invalid token: missing required "exp" claim' },
    });
    expect(await get('/agents', await token(undefined, ['agents:read']))).toEqual({
      status: 403,
      body: { detail: 'Authenticated request is missing a user identity' },
    });
    expect((await get('/agents', await token(undefined, ['agent_os:admin']))).status).toBe(200);
    // The WebSocket's path is open only to an upgrade, which authenticates by message.
    expect((await fetch(`${base}/workflows/ws`)).status).toBe(401);
  });

  test('JWT counts as authentication for listening openly; a key that does not load is an error at listen', async () => {
    const pair = await generateKeyPair('RS256');
    const open = createServer({ app, client: h.client, jwt: { verificationKeys: [await exportSPKI(pair.publicKey)] } });
    await open.listen({ port: 0, hostname: '0.0.0.0' });
    await open.close();
    const broken = createServer({ app, client: h.client, jwt: { verificationKeys: ['not a key'] } });
    await expect(broken.listen({ port: 0 })).rejects.toThrow(
      /JWT: the verification key is not a PEM public key for RS256 .*JWT_ALGORITHM=HS256/,
    );
    await broken.close();
  });

  test('keys from a JWKS file, chosen by kid; or a shared secret with HS256', async () => {
    const [first, second] = [await generateKeyPair('RS256'), await generateKeyPair('RS256')];
    const dir = mkdtempSync(path.join(tmpdir(), 'kern-jwks-'));
    const jwksFile = path.join(dir, 'jwks.json');
    const keys = [
      { ...(await exportJWK(first.publicKey)), kid: 'first', alg: 'RS256' },
      { ...(await exportJWK(second.publicKey)), kid: 'second', alg: 'RS256' },
    ];
    writeFileSync(jwksFile, JSON.stringify({ keys }));
    const signed = (key: CryptoKey, kid: string) =>
      new SignJWT({ sub: 'ada', scopes: ['agents:read'] })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setExpirationTime('10m')
        .sign(key);
    const withJwks = createServer({ app, client: h.client, jwt: { jwksFile } });
    try {
      const call = async (jwt: string) =>
        (await withJwks.fetch(new Request('http://kern.test/agents', { headers: bearer(jwt) }))).status;
      expect(await call(await signed(second.privateKey, 'second'))).toBe(200);
      expect(await call(await signed(first.privateKey, 'first'))).toBe(200);
      // Signed with one key but naming the other: refused.
      expect(await call(await signed(first.privateKey, 'second'))).toBe(401);
    } finally {
      await withJwks.close();
      rmSync(dir, { recursive: true, force: true });
    }

    const secret = 'a shared secret of at least thirty-two bytes';
    const withSecret = createServer({ app, client: h.client, jwt: { verificationKeys: [secret], algorithm: 'HS256' } });
    try {
      const hs = await new SignJWT({ sub: 'ada', scopes: ['agents:read'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
      const answer = await withSecret.fetch(new Request('http://kern.test/agents', { headers: bearer(hs) }));
      expect(answer.status).toBe(200);
      // An RS256 token is refused where HS256 is the algorithm.
      const rs = await token('ada', ['agents:read']);
      expect((await withSecret.fetch(new Request('http://kern.test/agents', { headers: bearer(rs) }))).status).toBe(
        401,
      );
    } finally {
      await withSecret.close();
    }
  });

  test('a browser may send the token in the access_token cookie', async () => {
    const jwt = await token('ada', ['agents:read']);
    const response = await fetch(`${base}/agents`, { headers: { cookie: `access_token=${jwt}` } });
    expect(response.status).toBe(200);
  });
});

describe('scopes', () => {
  test('each route needs its scope; per-component scopes and wildcards; admin may do everything', async () => {
    const run = (jwt: string, agent = 'researcher') =>
      postForm(`${base}/agents/${agent}/runs`, { message: 'hi', stream: 'false', background: 'true' }, bearer(jwt));

    const readOnly = await token('ada', ['agents:read']);
    expect(await json(await run(readOnly))).toEqual({
      status: 403,
      body: { detail: 'Insufficient permissions. Required scope(s): agents:run' },
    });
    expect((await run(await token('ada', ['agents:researcher:run']))).status).toBe(202);
    expect((await run(await token('ada', ['agents:researcher:run']), 'writer')).status).toBe(403);
    expect((await run(await token('ada', ['agents:*:run']), 'writer')).status).toBe(202);
    expect((await run(await token('ada', ['agent_os:admin']), 'writer')).status).toBe(202);
    // A scope of another kind grants nothing here.
    expect((await run(await token('ada', ['teams:run']))).status).toBe(403);

    expect(await get('/sessions', readOnly)).toEqual({
      status: 403,
      body: { detail: 'Insufficient permissions. Required scope(s): sessions:read' },
    });
    expect((await get('/schedules', readOnly)).status).toBe(403);
    expect((await get('/config', readOnly)).status).toBe(403);
    // Reading a component's runs needs read and run, as there.
    expect((await get('/agents/researcher/runs', readOnly)).status).toBe(403);
    expect((await get('/agents/researcher/runs', await token('ada', ['agents:read', 'agents:run']))).status).toBe(200);
    // A run's checkpoints likewise; forking a session needs the agent's run scope, as there.
    expect((await get('/agents/researcher/runs/r/checkpoints?session_id=s', readOnly)).status).toBe(403);
    const fork = (jwt: string) => postForm(`${base}/agents/researcher/sessions/no-such-session/fork`, {}, bearer(jwt));
    expect(await json(await fork(readOnly))).toEqual({
      status: 403,
      body: { detail: 'Insufficient permissions. Required scope(s): agents:run' },
    });
    expect((await fork(await token('ada', ['agents:researcher:run']))).status).toBe(404);
  });

  test('lists and /config show only the components the token may read', async () => {
    const one = await token('ada', ['agents:researcher:read', 'config:read']);
    expect((await get('/agents', one)).body.map((agent: { id: string }) => agent.id)).toEqual(['researcher']);
    expect((await get('/agents/writer', one)).status).toBe(403);
    const config = (await get('/config', one)).body;
    expect(config.agents.map((agent: { id: string }) => agent.id)).toEqual(['researcher']);
    expect(config.teams).toEqual([]);
    expect((await get('/agents', await token('ada', ['agents:read']))).body).toHaveLength(2);
    expect(await get('/agents', await token('ada', ['agents:researcher:run']))).toEqual({
      status: 403,
      body: { detail: 'Insufficient permissions. Required scope(s): agents:read' },
    });
  });
});

describe('each user sees only their own', () => {
  test("runs and sessions: the token's user, whatever the body says; another user's are not found", async () => {
    const alice = await token('alice', USER);
    const bob = await token('bob', USER);
    const admin = await token('root', ['agent_os:admin']);
    const prompt = `alice ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'for alice only' });
    const started = await json(
      await postForm(
        `${base}/agents/researcher/runs`,
        { message: prompt, stream: 'false', user_id: 'bob' },
        bearer(alice),
      ),
    );
    expect(started.status).toBe(200);
    const { run_id: runId, session_id: sessionId } = started.body;
    expect(started.body.user_id).toBe('alice');

    // Alice sees her run and session.
    expect((await get(`/agents/researcher/runs/${runId}`, alice)).body.content).toBe('for alice only');
    expect((await get(`/sessions/${sessionId}`, alice)).status).toBe(200);

    // Bob does not, on any route kind, and the answers are those of ids that do not exist.
    expect(await get(`/agents/researcher/runs/${runId}`, bob)).toEqual({
      status: 404,
      body: { detail: 'Run not found' },
    });
    expect(await get(`/sessions/${sessionId}`, bob)).toEqual({
      status: 404,
      body: { detail: `Session with id '${sessionId}' not found` },
    });
    expect(await get(`/sessions/${sessionId}/runs`, bob)).toEqual({
      status: 404,
      body: { detail: `Session with ID ${sessionId} not found` },
    });
    const bobsSessions = (await get('/sessions?user_id=alice', bob)).body;
    expect(bobsSessions.data.map((s: { session_id: string }) => s.session_id)).not.toContain(sessionId);
    const bobsRuns = (await get('/agents/researcher/runs', bob)).body;
    expect(bobsRuns.map((r: { run_id: string }) => r.run_id)).not.toContain(runId);
    const cancel = await fetch(`${base}/agents/researcher/runs/${runId}/cancel`, {
      method: 'POST',
      headers: bearer(bob),
    });
    expect(await json(cancel)).toEqual({ status: 200, body: { cancelled: false } });
    const resumed = await readFrames(
      await postForm(`${base}/agents/researcher/runs/${runId}/resume`, { last_event_index: '-1' }, bearer(bob)),
    );
    expect(resumed.map((frame) => frame.json)).toEqual([
      { event: 'error', error: `Run ${runId} not found in buffer or database` },
    ]);
    const continued = await postForm(`${base}/agents/researcher/runs/${runId}/continue`, { tools: '[]' }, bearer(bob));
    expect(await json(continued)).toEqual({ status: 404, body: { detail: 'Run not found' } });
    // Bob cannot add a run to Alice's session.
    const intruding = await postForm(
      `${base}/agents/researcher/runs`,
      { message: 'me too', stream: 'false', background: 'true', session_id: sessionId },
      bearer(bob),
    );
    expect(await json(intruding)).toEqual({ status: 404, body: { detail: 'Session not found' } });

    // Alice's listings have it; an admin sees every user's.
    const alicesRuns = (await get('/agents/researcher/runs', alice)).body;
    expect(alicesRuns.map((r: { run_id: string }) => r.run_id)).toContain(runId);
    expect((await get(`/agents/researcher/runs/${runId}`, admin)).status).toBe(200);
    expect((await get(`/sessions/${sessionId}`, admin)).status).toBe(200);

    // Creating and changing need sessions:write. Bob's session is his whatever the body says; Alice's is not found.
    const bobWrites = await token('bob', [...USER, 'sessions:write']);
    const send = (jwt: string, method: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { ...bearer(jwt), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(json);
    expect((await send(bob, 'POST', '/sessions', { session_name: 'mine' })).status).toBe(403);
    const made = await send(bobWrites, 'POST', '/sessions', { session_name: 'mine', user_id: 'alice' });
    expect(made).toMatchObject({ status: 201, body: { user_id: 'bob', session_name: 'mine' } });
    expect((await get(`/sessions/${made.body.session_id}`, alice)).status).toBe(404);
    expect(await send(bobWrites, 'POST', `/sessions/${sessionId}/rename`, { session_name: 'taken' })).toEqual({
      status: 404,
      body: { detail: `Session with id '${sessionId}' not found` },
    });
    expect((await send(bobWrites, 'PATCH', `/sessions/${sessionId}`, { session_state: {} })).status).toBe(404);
    expect((await get(`/sessions/${sessionId}`, alice)).body.session_name).not.toBe('taken');

    // Deleting needs sessions:delete; Bob's delete of Alice's session touches nothing, and answers as for no session.
    const remove = async (jwt: string) =>
      (await fetch(`${base}/sessions/${sessionId}`, { method: 'DELETE', headers: bearer(jwt) })).status;
    expect(await remove(bob)).toBe(403);
    const bobDeletes = await token('bob', [...USER, 'sessions:delete']);
    expect(await remove(bobDeletes)).toBe(204);
    const several = await fetch(`${base}/sessions`, {
      method: 'DELETE',
      headers: { ...bearer(bobDeletes), 'content-type': 'application/json' },
      body: JSON.stringify({ session_ids: [sessionId], session_types: ['agent'] }),
    });
    expect(several.status).toBe(204);
    expect((await get(`/sessions/${sessionId}`, alice)).status).toBe(200);
    expect(await remove(await token('alice', [...USER, 'sessions:delete']))).toBe(204);
    expect((await get(`/sessions/${sessionId}`, alice)).status).toBe(404);
  });

  test("an Idempotency-Key never answers with another user's run, even one made to match", async () => {
    const key = `k-${randomUUID()}`;
    // Bob knows Alice's key and starts a run with the ids her request would get.
    const forged = idempotentIds('agent', 'researcher', 'alice', key);
    const bobs = await postForm(
      `${base}/agents/researcher/runs`,
      { message: 'hi', stream: 'false', background: 'true', run_id: forged.runId, session_id: forged.sessionId },
      bearer(await token('bob', USER)),
    );
    expect(bobs.status).toBe(202);
    const alices = await postForm(
      `${base}/agents/researcher/runs`,
      { message: 'hi', stream: 'false', background: 'true' },
      { ...bearer(await token('alice', USER)), 'idempotency-key': key },
    );
    expect(alices.status).toBe(422);
  });

  test("a cancel over HTTP records who asked in the run's Temporal history", async () => {
    const prompt = `cancel me ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'slow', hang: true });
    const alice = await token('alice', USER);
    const started = await json(
      await postForm(
        `${base}/agents/researcher/runs`,
        { message: prompt, stream: 'false', background: 'true' },
        bearer(alice),
      ),
    );
    const runId = started.body.run_id as string;
    await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1, 20_000);
    const cancel = await fetch(`${base}/agents/researcher/runs/${runId}/cancel`, {
      method: 'POST',
      headers: bearer(alice),
    });
    expect(await json(cancel)).toEqual({ status: 200, body: { cancelled: true } });
    await h.waitForStatus(runId, RunStatus.cancelled);
    const history = await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
    const requested = history.events?.find((event) => event.workflowExecutionCancelRequestedEventAttributes);
    expect(requested?.workflowExecutionCancelRequestedEventAttributes?.cause).toBe(
      "cancelled over kern's HTTP API by user alice",
    );
  });

  test('the session_id claim puts the runs a token starts in that session', async () => {
    const sessionId = `claimed-${randomUUID()}`;
    const jwt = await token('carol', USER, { claims: { session_id: sessionId } });
    const started = await json(
      await postForm(
        `${base}/agents/researcher/runs`,
        { message: 'hi', stream: 'false', background: 'true', session_id: 'another' },
        bearer(jwt),
      ),
    );
    expect(started.body.session_id).toBe(sessionId);
  });

  test('schedules: created as the token user; another user cannot list, read, fire or delete them', async () => {
    const scopes = ['schedules:read', 'schedules:write', 'schedules:delete', 'agents:run'];
    const alice = await token('alice', scopes);
    const bob = await token('bob', scopes);
    const name = `alice-${randomUUID()}`;
    const created = await fetch(`${base}/schedules`, {
      method: 'POST',
      headers: { ...bearer(alice), 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        cron_expr: '0 3 * * *',
        endpoint: '/agents/researcher/runs',
        payload: { message: 'nightly', user_id: 'bob' },
      }),
    });
    expect(created.status).toBe(201);
    try {
      expect((await get(`/schedules/${name}`, alice)).status).toBe(200);
      expect(await get(`/schedules/${name}`, bob)).toEqual({ status: 404, body: { detail: 'Schedule not found' } });
      const listed = (await get('/schedules', bob)).body.data.map((s: { id: string }) => s.id);
      expect(listed).not.toContain(name);
      const fired = await fetch(`${base}/schedules/${name}/trigger`, { method: 'POST', headers: bearer(bob) });
      expect(fired.status).toBe(404);
      const deleted = await fetch(`${base}/schedules/${name}`, { method: 'DELETE', headers: bearer(bob) });
      expect(deleted.status).toBe(404);
      expect((await get(`/schedules/${name}`, alice)).status).toBe(200);
      // Nor can Bob schedule runs into Alice's session.
      const alicesRun = await json(
        await postForm(
          `${base}/agents/researcher/runs`,
          { message: 'hi', stream: 'false', background: 'true' },
          bearer(await token('alice', ['agents:run'])),
        ),
      );
      const intruding = await fetch(`${base}/schedules`, {
        method: 'POST',
        headers: { ...bearer(bob), 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `bob-${randomUUID()}`,
          cron_expr: '0 3 * * *',
          endpoint: '/agents/researcher/runs',
          payload: { message: 'read her history', session_id: alicesRun.body.session_id },
        }),
      });
      expect(await json(intruding)).toEqual({ status: 404, body: { detail: 'Session not found' } });
      // Without the right to run its target, a schedule cannot be made.
      const noRun = await fetch(`${base}/schedules`, {
        method: 'POST',
        headers: { ...bearer(await token('alice', ['schedules:write'])), 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `${name}-x`,
          cron_expr: '0 3 * * *',
          endpoint: '/agents/researcher/runs',
          payload: { message: 'nightly' },
        }),
      });
      expect(await json(noRun)).toEqual({
        status: 403,
        body: { detail: 'Insufficient permissions. Required scope(s): agents:run' },
      });
    } finally {
      await fetch(`${base}/schedules/${name}`, { method: 'DELETE', headers: bearer(alice) });
    }
  });

  test('the WebSocket: a JWT authenticates; runs start as its user; another user reconnecting finds nothing', async () => {
    const socket = await openSocket(`${base}/workflows/ws`);
    await socket.waitFor((m) => m.includes('"requires_auth": true'));
    socket.send({ action: 'ping' });
    await socket.waitFor((m) => m.includes('Authentication required. Send authenticate action with valid JWT.'));
    socket.send({ action: 'authenticate', token: await token('alice', USER, { claims: { exp: 1_000 } }) });
    await socket.waitFor((m) => m === '{"event": "auth_error", "error": "Token has expired", "error_type": "expired"}');
    socket.send({ action: 'authenticate', token: await token('alice', ['workflows:read']) });
    await socket.waitFor((m) => m.includes('"user_id": "alice"'));
    socket.send({ action: 'start-workflow', workflow_id: 'content-creation-workflow', message: 'no' });
    await socket.waitFor((m) => m.includes('Insufficient permissions to run this workflow'));

    socket.send({ action: 'authenticate', token: await token('alice', USER) });
    const prompt = `ws alice ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'workflow for alice' });
    socket.send({
      action: 'start-workflow',
      workflow_id: 'content-creation-workflow',
      message: prompt,
      user_id: 'bob',
    });
    const started = await socket.waitFor((m) => m.startsWith('event: WorkflowStarted'));
    const runId = JSON.parse(started.split('\ndata: ')[1]!).run_id as string;
    await socket.waitFor((m) => m.startsWith('event: WorkflowCompleted'));
    socket.close();
    expect((await h.client.getRunOutput(runId))?.userId).toBe('alice');

    const other = await openSocket(`${base}/workflows/ws`);
    other.send({ action: 'authenticate', token: await token('bob', USER) });
    await other.waitFor((m) => m.includes('"user_id": "bob"'));
    // A failed authentication undoes the earlier one.
    other.send({ action: 'authenticate', token: 'not a token' });
    await other.waitFor((m) => m.includes('"event": "auth_error"'));
    other.send({ action: 'ping' });
    await other.waitFor((m) => m.includes('"event": "auth_required"'));
    other.send({ action: 'authenticate', token: await token('bob', USER) });
    await other.waitFor(
      (m) =>
        m.split('"user_id": "bob"').length > 1 &&
        other.received.filter((x) => x.includes('"user_id": "bob"')).length === 2,
    );
    other.send({ action: 'reconnect', run_id: runId, last_event_index: -1 });
    await other.waitFor((m) => m === `{"event": "error", "error": "Run ${runId} not found in buffer or database"}`);
    other.close();
  });
});
