import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, defineApp, defineTool } from 'kern';
import { createServer, OpenServerRefused } from 'kern/server';
import { contentWorkflow, researcher, storytellingTeam } from '../fixtures/http-app';
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { openSocket, postForm, statusAndJson } from '../support/http';

/**
 * The server's defences, each shown over real HTTP and a real WebSocket: where it listens, what it refuses from a web
 * page elsewhere, what it tells a caller about its failures, and what a WebSocket client may cost it.
 */

const appPath = path.resolve(__dirname, '../fixtures/http-app.ts');
const WORKFLOW = 'content-creation-workflow';

/** The HTTP tests' app, with an agent whose runs may pause (so a blocking request for one watches for the pause). */
const guarded = new Agent({
  name: 'Guarded',
  model: new OpenAIResponses({ id: 'gpt-test' }),
  tools: [
    defineTool({
      name: 'drop_table',
      description: 'Drop a table.',
      parameters: z.object({ table: z.string() }),
      requiresConfirmation: true,
      execute: ({ table }) => `dropped ${table}`,
    }),
  ],
});
const app = defineApp({ agents: [researcher, guarded], teams: [storytellingTeam], workflows: [contentWorkflow] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const json = statusAndJson;

/** The machine's IPv4 addresses other machines may reach (none in some containers). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)
    .map((entry) => entry!.address);
}

/** True when a TCP connection to `host:port` is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** POSTs a background run to `url` with `Host` (and `Origin`) naming `host`, as a browser at that name would. */
function postNamingHost(url: string, host: string, headers: Record<string, string> = {}) {
  const target = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          host: `${host}:${target.port}`,
          origin: `http://${host}:${target.port}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += String(chunk)));
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      },
    );
    request.once('error', reject);
    request.end('message=hi&stream=false&background=true');
  });
}

/** The text a `console` method is given while `body` runs. */
async function capture(method: 'warn' | 'error', body: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
    lines.push(args.map((arg) => (arg instanceof Error ? arg.stack : String(arg))).join(' '));
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('where the server listens', () => {
  test('by default on 127.0.0.1 only, and the URL it prints says so', async () => {
    const server = createServer({ app, client: h.client });
    const { url, server: listening } = await server.listen({ port: 0 });
    try {
      const address = listening.address() as AddressInfo;
      expect(address.address).toBe('127.0.0.1');
      expect(url).toBe(`http://127.0.0.1:${address.port}`);
      // From the machine's other addresses, nothing answers on that port.
      for (const other of externalAddresses()) expect(await connects(other, address.port)).toBe(false);
    } finally {
      await server.close();
    }
  });

  test('not on an address other machines reach without authentication, unless told so, and then with a warning', async () => {
    const open = createServer({ app, client: h.client });
    await expect(open.listen({ port: 0, hostname: '0.0.0.0' })).rejects.toThrow(OpenServerRefused);
    await expect(open.listen({ port: 0, hostname: '0.0.0.0' })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 with no authentication.*OS_SECURITY_KEY.*--allow-unauthenticated/,
    );
    await open.close();

    const told = createServer({ app, client: h.client, allowUnauthenticated: true });
    let url = '';
    const warning = await capture('warn', async () => {
      ({ url } = await told.listen({ port: 0, hostname: '0.0.0.0' }));
    });
    try {
      expect(warning).toMatch(/WARNING: listening on 0\.0\.0\.0 with no authentication/);
      expect((await fetch(url.replace('0.0.0.0', '127.0.0.1') + '/health')).status).toBe(200);
    } finally {
      await told.close();
    }

    const keyed = createServer({ app, client: h.client, securityKey: 'a-key' });
    const quiet = await capture('warn', async () => {
      await keyed.listen({ port: 0, hostname: '0.0.0.0' });
    });
    await keyed.close();
    expect(quiet).toBe('');
  });

  test('`kern serve --host 0.0.0.0` with no key exits 2 and says what to set', async () => {
    const child = spawn(
      process.execPath,
      [path.resolve(__dirname, '../../bin/kern.js'), 'serve', '--app', appPath, '--host', '0.0.0.0', '--port', '0'],
      {
        env: { ...process.env, OS_SECURITY_KEY: '', KERN_SECURITY_KEY: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output).toMatch(/kern serve: refusing to listen on 0\.0\.0\.0 with no authentication/);
    expect(output).toMatch(/OS_SECURITY_KEY/);
  });
});

describe('requests a web page elsewhere sends', () => {
  test('a cross-site form post cannot start a run; the same post from a program, or from the page itself, can', async () => {
    const runs = `${base}/agents/researcher/runs`;
    const fields = (runId: string) => ({ message: 'hi', stream: 'false', background: 'true', run_id: runId });

    const forged = randomUUID();
    const fromElsewhere = await postForm(runs, fields(forged), { origin: 'https://evil.example' });
    expect(await json(fromElsewhere)).toEqual({
      status: 403,
      body: {
        detail:
          'Cross-origin request refused: https://evil.example is not an allowed origin ' +
          '(the server allows the origins in KERN_CORS_ORIGINS)',
      },
    });
    // A browser that sends no Origin still says where the request comes from.
    const noOrigin = randomUUID();
    expect((await postForm(runs, fields(noOrigin), { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const cancelled = await fetch(`${runs}/${randomUUID()}/cancel`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(cancelled.status).toBe(403);
    expect(await h.client.getRunOutput(forged)).toBeNull();
    expect(await h.client.getRunOutput(noOrigin)).toBeNull();

    const fromProgram = await postForm(runs, fields(randomUUID()));
    expect(fromProgram.status).toBe(202);
    const samePage = await postForm(runs, fields(randomUUID()), { origin: base, 'sec-fetch-site': 'same-origin' });
    expect(samePage.status).toBe(202);
  });

  test('on loopback with no auth, a request naming another host is refused (DNS rebinding)', async () => {
    // A page at rebind.example whose name now points at 127.0.0.1: its requests name its own host.
    const answer = await postNamingHost(`${base}/agents/researcher/runs`, 'rebind.example');
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).detail).toMatch(/^Host 'rebind\.example' refused: this server listens on loopback/);

    // With authentication, a reverse proxy on the machine may forward its own host name.
    const keyed = createServer({ app, client: h.client, securityKey: 'proxy-key' });
    const { url } = await keyed.listen({ port: 0 });
    try {
      const proxied = await postNamingHost(`${url}/agents/researcher/runs`, 'kern.example.com', {
        authorization: 'Bearer proxy-key',
      });
      expect(proxied.status).toBe(202);
    } finally {
      await keyed.close();
    }
  });

  test('an origin configured for CORS may post; a WebSocket from any other origin is refused', async () => {
    const server = createServer({ app, client: h.client, corsOrigins: ['https://app.example'] });
    const { url } = await server.listen({ port: 0 });
    try {
      const allowed = await postForm(
        `${url}/agents/researcher/runs`,
        { message: 'hi', stream: 'false', background: 'true' },
        { origin: 'https://app.example', 'sec-fetch-site': 'cross-site' },
      );
      expect(allowed.status).toBe(202);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');

      const socket = await openSocket(`${url}/workflows/ws`, { origin: 'https://app.example' });
      await socket.waitFor((m) => m.includes('"event": "connected"'));
      socket.close();
      await expect(openSocket(`${url}/workflows/ws`, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    } finally {
      await server.close();
    }
  });
});

describe('what a caller learns of a failure', () => {
  test('/ready answers 200 once Temporal answers, without authentication', async () => {
    expect(await json(await fetch(`${base}/ready`))).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('an id no run or session can have is a 404 before it reaches Temporal, not a 500', async () => {
    const logged = await capture('error', async () => {
      const long = 's'.repeat(1_001);
      expect(await json(await fetch(`${base}/sessions/${long}`))).toEqual({
        status: 404,
        body: { detail: `Session with id '${long}' not found` },
      });
      expect(await json(await fetch(`${base}/sessions/${long}/runs`))).toEqual({
        status: 404,
        body: { detail: `Session with ID ${long} not found` },
      });
      expect(await json(await fetch(`${base}/sessions/bad%01id`))).toEqual({
        status: 404,
        body: { detail: "Session with id 'bad\u0001id' not found" },
      });
      expect(await json(await fetch(`${base}/agents/researcher/runs/bad%00id`))).toEqual({
        status: 404,
        body: { detail: 'Run not found' },
      });
      expect(await json(await fetch(`${base}/schedules/${'x'.repeat(300)}`))).toEqual({
        status: 404,
        body: { detail: 'Schedule not found' },
      });
    });
    expect(logged).toBe('');
  });

  test('Temporal unreachable: 503 that names no address; the log has it', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createTcpServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = `127.0.0.1:${closedPort}`;
    const server = createServer({ app });
    try {
      let answer: Awaited<ReturnType<typeof json>> | undefined;
      const logged = await capture('error', async () => {
        answer = await json(await server.fetch(new Request('http://kern.test/sessions')));
      });
      expect(answer).toEqual({
        status: 503,
        body: { detail: 'The server cannot reach its Temporal service right now; try again in a moment' },
      });
      expect(JSON.stringify(answer)).not.toContain(String(closedPort));
      expect(logged).toContain(`127.0.0.1:${closedPort}`);
      // Alive, not ready: what an orchestrator asks.
      await capture('error', async () => {
        expect((await server.fetch(new Request('http://kern.test/ready'))).status).toBe(503);
      });
      expect((await server.fetch(new Request('http://kern.test/health'))).status).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved;
      await server.close();
    }
  });

  test('an unexpected failure: 500 with an error id and no internals; the log has the details under that id', async () => {
    // A client set up for a namespace that does not exist: every call fails with an error of Temporal's own.
    const misconfigured = await KernClient.connect({
      address: process.env.KERN_TEST_TEMPORAL_ADDRESS!,
      namespace: `no-such-namespace-${randomUUID()}`,
      taskQueue: h.taskQueue,
    });
    const server = createServer({ app, client: misconfigured });
    let answer: Awaited<ReturnType<typeof json>> | undefined;
    const logged = await capture('error', async () => {
      answer = await json(await server.fetch(new Request('http://kern.test/sessions')));
    });
    expect(answer?.status).toBe(500);
    expect(answer?.body).toEqual({
      detail: expect.stringMatching(/^Internal server error \(error id [0-9a-f]{12}\)$/),
      error_id: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(logged).toContain(`error ${answer?.body.error_id} on GET /sessions`);
    expect(logged).toMatch(/no-such-namespace/);
    expect(JSON.stringify(answer)).not.toMatch(/namespace|grpc|at /i);
    await misconfigured.close();
  });
});

describe('WebSocket limits', () => {
  test('before authentication: a big message closes the socket unparsed, and so does waiting too long', async () => {
    const server = createServer({
      app,
      client: h.client,
      securityKey: 'ws-key',
      webSocket: { authTimeoutMs: 500, maxMessageBytes: 64 * 1024 },
    });
    const { url } = await server.listen({ port: 0 });
    try {
      const big = await openSocket(`${url}/workflows/ws`);
      await big.waitFor((m) => m.includes('"requires_auth": true'));
      big.send({ action: 'start-workflow', workflow_id: WORKFLOW, message: 'x'.repeat(20_000) });
      expect(await big.closed).toEqual({ code: 1009, reason: 'message too big before authentication' });
      expect(big.received.some((m) => m.includes('auth_required'))).toBe(false);

      const idle = await openSocket(`${url}/workflows/ws`);
      expect(await idle.closed).toEqual({ code: 1008, reason: 'authentication timeout' });

      // Authenticated in time: the timer is off; a message over the limit still closes the socket.
      const good = await openSocket(`${url}/workflows/ws`);
      good.send({ action: 'authenticate', token: 'ws-key' });
      await good.waitFor((m) => m.includes('"event": "authenticated"'));
      await new Promise((resolve) => setTimeout(resolve, 700));
      good.send({ action: 'ping' });
      await good.waitFor((m) => m === '{"event": "pong"}');
      good.send({ action: 'ping', padding: 'x'.repeat(70 * 1024) });
      expect((await good.closed).code).toBe(1009);

      // The protocol is text: a binary frame is refused unread, before authentication too.
      const binary = await openSocket(`${url}/workflows/ws`);
      binary.socket.send(Buffer.alloc(1024));
      expect((await binary.closed).code).toBe(1003);
    } finally {
      await server.close();
    }
  });

  test('a cap on sockets per server and on runs followed per socket', async () => {
    const server = createServer({ app, client: h.client, webSocket: { maxSockets: 2, maxRunsPerSocket: 1 } });
    const { url } = await server.listen({ port: 0 });
    try {
      const first = await openSocket(`${url}/workflows/ws`);
      const second = await openSocket(`${url}/workflows/ws`);
      await expect(openSocket(`${url}/workflows/ws`)).rejects.toThrow(/503/);
      second.close();
      await second.closed;

      const prompt = `capped ${randomUUID()}`;
      h.model.replyWhen(prompt, { text: 'slowly told', tokenDelayMs: 400 });
      first.send({ action: 'start-workflow', workflow_id: WORKFLOW, message: prompt });
      const started = await first.waitFor((m) => m.startsWith('event: WorkflowStarted'));
      const runId = JSON.parse(started.split('\ndata: ')[1]!).run_id as string;
      first.send({ action: 'reconnect', run_id: runId, last_event_index: 0 });
      await first.waitFor(
        (m) =>
          m ===
          '{"event": "error", "error": "This socket already follows 1 runs; open another, or wait for one to end"}',
      );
      // Once the run has ended, the socket may follow another.
      await first.waitFor((m) => m.startsWith('event: WorkflowCompleted'));
      first.send({ action: 'reconnect', run_id: runId, last_event_index: 0 });
      await first.waitFor((m) => m.includes('"event": "replay"'));
      first.close();

      const third = await openSocket(`${url}/workflows/ws`);
      third.close();
    } finally {
      await server.close();
    }
  });

  test('a client that does not read is cut off before the server buffers without bound', async () => {
    const server = createServer({
      app,
      client: h.client,
      webSocket: { maxRunsPerSocket: 1_000, maxBufferedBytes: 256 * 1024 },
    });
    const { url } = await server.listen({ port: 0 });
    try {
      // A finished run with about 300 KB of events, replayed to the socket as often as it asks.
      const prompt = `unread ${randomUUID()}`;
      h.model.replyWhen(prompt, {
        text: Array.from({ length: 10 }, () => 'w'.repeat(10_000)).join(' '),
        tokenDelayMs: 0,
      });
      const starter = await openSocket(`${url}/workflows/ws`);
      starter.send({ action: 'start-workflow', workflow_id: WORKFLOW, message: prompt });
      const started = await starter.waitFor((m) => m.startsWith('event: WorkflowStarted'));
      const runId = JSON.parse(started.split('\ndata: ')[1]!).run_id as string;
      await starter.waitFor((m) => m.startsWith('event: WorkflowCompleted'), 30_000);
      starter.close();

      const reader = await openSocket(`${url}/workflows/ws`);
      reader.socket.pause();
      for (let i = 0; i < 80; i++) reader.send({ action: 'reconnect', run_id: runId, last_event_index: -1 });
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      reader.socket.resume();
      // What was in flight arrives, then the connection ends without a close handshake.
      const stillOpen = new Promise((resolve) => setTimeout(() => resolve({ code: 'still open after 20 s' }), 20_000));
      expect(((await Promise.race([reader.closed, stillOpen])) as { code: unknown }).code).toBe(1006);
      const replays = reader.received.filter((m) => m.includes('"event": "replay"')).length;
      console.log(
        'replays',
        replays,
        reader.received.reduce((n, m) => n + m.length, 0),
      );
      expect(replays).toBeLessThan(80);
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe('nothing left running', () => {
  /** A kern client whose queries and describes of runs are counted: what a server's viewers cost the runs' workers. */
  async function countingClient() {
    const calls = { query: 0, describe: 0 };
    const connection = await Connection.connect({ address: process.env.KERN_TEST_TEMPORAL_ADDRESS! });
    const temporal = new Client({
      connection,
      interceptors: {
        workflow: [
          {
            query: (input, next) => ((calls.query += 1), next(input)),
            describe: (input, next) => ((calls.describe += 1), next(input)),
          },
        ],
      },
    });
    const client = await KernClient.connect({ client: temporal, taskQueue: h.taskQueue });
    return { client, calls, close: () => connection.close() };
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('viewers that leave a quiet run leave no poller behind', async () => {
    const counting = await countingClient();
    const server = createServer({ app, client: counting.client });
    const { url } = await server.listen({ port: 0 });
    const prompt = `quiet ${randomUUID()}`;
    // One word, then a long quiet model call.
    h.model.replyWhen(prompt, { text: 'first second', tokenDelayMs: 15_000 });
    try {
      const started = await json(
        await postForm(`${url}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
      );
      const runId = started.body.run_id as string;
      for (let viewer = 0; viewer < 5; viewer++) {
        const controller = new AbortController();
        const response = await postForm(
          `${url}/agents/researcher/runs/${runId}/resume`,
          { last_event_index: '-1' },
          {},
          controller.signal,
        );
        const reader = response.body!.getReader();
        await reader.read(); // the first frame: this viewer follows the run
        await sleep(300);
        controller.abort();
      }
      await sleep(1_000);
      const before = { ...counting.calls };
      await sleep(3_000);
      // The run is still going (its model call is quiet): nobody watches it, nothing reads it.
      expect((await h.client.peekRun(runId))?.status).toBe('RUNNING');
      expect(counting.calls).toEqual(before);
      await h.client.cancelRun(runId);
    } finally {
      await server.close();
      await counting.close();
    }
  }, 30_000);

  test('a wait whose signal has already aborted does not start', async () => {
    const prompt = `aborted wait ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'slow', tokenDelayMs: 2_000 });
    const started = await json(
      await postForm(`${base}/agents/researcher/runs`, { message: prompt, stream: 'false', background: 'true' }),
    );
    const runId = started.body.run_id as string;
    const signal = AbortSignal.abort(new Error('the client left'));
    await expect(h.client.waitForRun(runId, { signal })).rejects.toThrow('the client left');
    await expect(h.client.waitForRunOrPause(runId, { signal })).rejects.toThrow('the client left');
    await h.client.cancelRun(runId);
  });

  test('a blocking request whose client went away stops waiting for its run (which goes on)', async () => {
    const counting = await countingClient();
    const server = createServer({ app, client: counting.client });
    const { url } = await server.listen({ port: 0 });
    const prompt = `blocking ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'slow answer here', tokenDelayMs: 5_000 });
    const runId = randomUUID();
    try {
      const controller = new AbortController();
      const answer = postForm(
        `${url}/agents/guarded/runs`,
        { message: prompt, stream: 'false', run_id: runId },
        {},
        controller.signal,
      );
      // The server looks for a pause twice a second while it waits.
      for (let tries = 0; counting.calls.describe < 3 && tries < 50; tries++) await sleep(100);
      expect(counting.calls.describe).toBeGreaterThanOrEqual(3);
      controller.abort();
      await expect(answer).rejects.toThrow();
      await sleep(500);
      const before = counting.calls.describe;
      await sleep(2_000);
      expect(counting.calls.describe).toBe(before);
      expect((await h.client.peekRun(runId))?.status).toBe('RUNNING');
      await h.client.cancelRun(runId);
    } finally {
      await server.close();
      await counting.close();
    }
  }, 30_000);
});

describe('Idempotency-Key', () => {
  test('concurrent retries with one key get one run; another user or another request gets its own or a 422', async () => {
    const prompt = `idempotent ${randomUUID()}`;
    h.model.replyWhen(prompt, { text: 'only once', tokenDelayMs: 50 });
    const key: string = randomUUID();
    const post = (fields: Record<string, string>, idempotencyKey: string = key) =>
      postForm(
        `${base}/agents/researcher/runs`,
        { message: prompt, stream: 'false', background: 'true', ...fields },
        { 'idempotency-key': idempotencyKey },
      );
    const answers = await Promise.all(Array.from({ length: 5 }, () => post({ user_id: 'ada' }).then(json)));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const [{ run_id: runId, session_id: sessionId }] = answers.map((answer) => answer.body);
    for (const answer of answers) expect(answer.body).toMatchObject({ run_id: runId, session_id: sessionId });
    await h.waitForStatus(runId, 'COMPLETED');
    // One run, one model call, one session with one run.
    expect(h.model.requests.filter((request) => request.lastUserText.includes(prompt))).toHaveLength(1);
    const session = await h.client.getSession(sessionId);
    expect(session?.runs.map((run) => run.runId)).toEqual([runId]);

    // A blocking retry after the end answers with the run's output.
    const blocking = await json(await post({ user_id: 'ada', background: 'false' }));
    expect(blocking.body).toMatchObject({ run_id: runId, content: 'only once', status: 'COMPLETED' });

    // The same key from another user is another run; the same key for another message is refused.
    const other = await json(await post({ user_id: 'bob' }));
    expect(other.status).toBe(202);
    expect(other.body.run_id).not.toBe(runId);
    const reused = await json(
      await postForm(
        `${base}/agents/researcher/runs`,
        { message: 'something else', stream: 'false', background: 'true', user_id: 'ada' },
        { 'idempotency-key': key },
      ),
    );
    expect(reused).toEqual({
      status: 422,
      body: {
        detail: [
          {
            type: 'value_error',
            loc: ['header', 'idempotency-key'],
            msg: 'this Idempotency-Key was used for another request; use a new key for a new request',
            input: key,
          },
        ],
      },
    });
    expect((await post({}, 'x'.repeat(201))).status).toBe(422);
  });
});
