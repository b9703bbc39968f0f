import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { Agent, OpenAIResponses, RunStatus, Step, Team, Workflow, defineApp } from 'kern';
import { eventually, startHarness, type Harness } from '../support/harness';

/** The protocol's own reference server (`@modelcontextprotocol/server-everything`), over stdio and over HTTP. */
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const model = new OpenAIResponses({ id: 'gpt-test' });

let port: number;
let httpServer: ChildProcess | undefined;
let h: Harness;

/** What the two agents are defined with; the tests' copies run on the harness's client. */
const helperOptions = {
  name: 'Helper',
  model,
  mcpServers: [
    {
      server: 'everything',
      include: ['echo', 'get-sum', 'trigger-long-running-operation'],
      requiresConfirmation: ['get-sum'],
    },
  ],
};
const remoteOptions = {
  name: 'Remote',
  model,
  mcpServers: [{ server: 'remote', include: ['echo', 'trigger-long-running-operation'] }],
};
/** A team whose leader has an MCP server's tool besides delegating to its member. */
const deskOptions = {
  name: 'MCP Desk',
  model,
  members: [new Agent({ name: 'Desk Member', model })],
  mcpServers: [{ server: 'everything', include: ['echo'] }],
};
let helper: Agent;
let remote: Agent;
let desk: Team;

beforeAll(async () => {
  port = await freePort();
  const app = defineApp({
    agents: [new Agent(helperOptions), new Agent(remoteOptions)],
    teams: [new Team(deskOptions)],
    mcpServers: {
      everything: { command: process.execPath, args: [everything, 'stdio'] },
      remote: { url: `http://127.0.0.1:${port}/mcp` },
    },
  });
  h = await startHarness(app);
  helper = new Agent({ ...helperOptions, client: h.client });
  remote = new Agent({ ...remoteOptions, client: h.client });
  desk = new Team({ ...deskOptions, client: h.client });
});
afterAll(async () => {
  httpServer?.kill('SIGKILL');
  await h.close();
});

const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: args }] });

test("an MCP server's tools over stdio: offered with their schemas, called as activities, errors to the model, a confirmation pause", async () => {
  const id = randomUUID();
  h.model.replyWhen(`echo ${id}`, call('echo', { message: `hi ${id}` }), call('echo', { message: 42 }), {
    text: 'Echoed.',
  });
  const output = await helper.run(`echo ${id}`);
  expect(output.status).toBe(RunStatus.completed);
  expect(output.tools.map((tool) => [tool.toolName, tool.result, tool.toolCallError ?? false])).toEqual([
    ['echo', `Echo: hi ${id}`, false],
    ['echo', expect.stringMatching(/^Error: .*message/s), true],
  ]);
  // The model was offered the server's tools, with the JSON schemas the server gave.
  const offered = h.model.requests.find((request) => request.lastUserText === `echo ${id}`)!.body.tools as Array<
    Record<string, unknown>
  >;
  expect(offered.map((tool) => tool.name).sort()).toEqual(['echo', 'get-sum', 'trigger-long-running-operation']);
  expect(JSON.stringify(offered.find((tool) => tool.name === 'echo'))).toContain('Message to echo');
  // The run's history records what it was offered, under a summary the Temporal UI shows.
  const history = JSON.stringify(await h.client.temporal.workflow.getHandle(`kern-run-${output.runId}`).fetchHistory());
  expect(history).toContain('"listMcpTools"');
  expect(history).toContain(Buffer.from('"Helper · list the tools of MCP everything"').toString('base64'));

  // A tool that needs confirmation pauses the run; confirmed, it runs over MCP.
  h.model.replyWhen(`sum ${id}`, call('get-sum', { a: 2, b: 3 }), { text: 'Summed.' });
  const paused = await helper.run(`sum ${id}`);
  expect(paused.status).toBe(RunStatus.paused);
  const done = await helper.continueRun(paused.runId, {
    requirements: [{ id: paused.requirements![0]!.id, confirmation: true }],
  });
  await h.waitForStatus(done.runId, RunStatus.completed);
  expect((await h.client.getRunOutput(paused.runId))!.tools[0]!.result).toMatch(/5/);
});

test("a team's leader calls its MCP server's tool as well as delegating", async () => {
  const id = randomUUID();
  h.model.replyWhen(`desk ${id}`, call('echo', { message: `desk ${id}` }), { text: 'The leader echoed.' });
  const output = await desk.run(`desk ${id}`);
  expect(output.status).toBe(RunStatus.completed);
  expect(output.tools.map((tool) => [tool.toolName, tool.result])).toEqual([['echo', `Echo: desk ${id}`]]);
  const offered = h.model.requests.find((request) => request.lastUserText === `desk ${id}`)!.body.tools as Array<
    Record<string, unknown>
  >;
  expect(offered.map((tool) => tool.name).sort()).toEqual(['delegate_task_to_member', 'echo']);
});

test('an app is refused when an agent, a member or a step names an MCP server it does not configure', () => {
  const lost = new Agent({ name: 'Lost', model, mcpServers: ['nowhere'] });
  const team = new Team({ name: 'Lost Team', model, members: [lost] });
  expect(() => defineApp({ teams: [team] })).toThrow("'Lost' names MCP server 'nowhere', which mcpServers lacks");
  const workflow = new Workflow({ name: 'Lost Flow', steps: [new Step({ name: 'Ask', agent: lost })] });
  expect(() => defineApp({ workflows: [workflow] })).toThrow(
    "'Lost' names MCP server 'nowhere', which mcpServers lacks",
  );
  const leader = new Team({ ...deskOptions, name: 'Leader Lost', mcpServers: ['nowhere'] });
  expect(() => defineApp({ teams: [leader], mcpServers: {} })).toThrow(
    "'Leader Lost' names MCP server 'nowhere', which mcpServers lacks",
  );
});

test('a cancel during a long MCP call ends the call and the run CANCELLED', async () => {
  const id = randomUUID();
  h.model.replyWhen(`long ${id}`, call('trigger-long-running-operation', { duration: 60, steps: 60 }), {
    text: 'never',
  });
  const run = await helper.run(`long ${id}`, { background: true });
  await eventually(
    async () => (await h.client.getRunOutput(run.runId))?.tools.length ?? 0,
    (started) => started > 0,
  );
  expect(await h.client.cancelRun(run.runId)).toBe(true);
  const ended = await h.waitForStatus(run.runId, RunStatus.cancelled, RunStatus.completed);
  // Ended by the cancel, not by the 60-second operation: the call's activity was cancelled, which aborts its request.
  expect(ended.status).toBe(RunStatus.cancelled);
  expect(ended.tools[0]).toMatchObject({ toolName: 'trigger-long-running-operation' });
  expect(ended.tools[0]!.result).toBeUndefined();
});

test('over Streamable HTTP: a server killed mid-call is reached again on a new connection, and the call completes', async () => {
  httpServer = startHttpServer();
  const id = randomUUID();
  h.model.replyWhen(
    `remote ${id}`,
    call('echo', { message: `far ${id}` }),
    call('trigger-long-running-operation', { duration: 3, steps: 3 }),
    {
      text: 'Done remotely.',
    },
  );
  const run = await remote.run(`remote ${id}`, { background: true });
  await eventually(
    async () => (await h.client.getRunOutput(run.runId))?.tools.length ?? 0,
    (started) => started > 1,
  );
  httpServer.kill('SIGKILL');
  httpServer = startHttpServer();
  const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error);
  expect(output.status).toBe(RunStatus.completed);
  expect(output.tools.map((tool) => tool.result)).toEqual([
    `Echo: far ${id}`,
    'Long running operation completed. Duration: 3 seconds, Steps: 3.',
  ]);
});

function startHttpServer(): ChildProcess {
  return spawn(process.execPath, [everything, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
}
