import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import { Agent, OpenAIResponses, RunStatus, defineApp, defineTool, type RunOutput } from 'kern';
import { startWorker, type KernWorker } from 'kern/worker';
import { workflowIdForRun } from '../../src/shared/ids';
import { startHarness, type Harness } from '../support/harness';

/** Which build ran the tool, by call: both builds run in this process, so each tags what it does. */
const sentBy: string[] = [];
const sendEmailOn = (build: string) =>
  defineTool({
    name: 'send_email',
    description: 'Send an email.',
    parameters: z.object({ to: z.string() }),
    requiresConfirmation: true,
    execute: (args) => {
      sentBy.push(build);
      return `sent to ${args.to} by build ${build}`;
    },
  });

let h: Harness;
let connection: NativeConnection;
const deploymentName = `kern-upgrade-${randomUUID().slice(0, 8)}`;
const workers: KernWorker[] = [];

/** A worker of build `buildId` of this test's deployment, on the harness's task queue. */
async function startBuild(buildId: string): Promise<KernWorker> {
  const worker = await startWorker({
    app: defineApp({ tools: [sendEmailOn(buildId)] }),
    taskQueue: h.taskQueue,
    connection,
    workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! },
    modelProvider: { baseURL: h.model.url, apiKey: 'test-key' },
    deployment: { name: deploymentName, buildId },
  });
  workers.push(worker);
  return worker;
}

/** `RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED` (Temporal's protos are a dependency of its SDK's). */
const ROUTING_UPDATE_COMPLETED: temporal.api.enums.v1.RoutingConfigUpdateState = 2;

/**
 * What an operator does to roll a version out: `temporal worker deployment set-current-version`, then waits until
 * `temporal worker deployment describe` shows the routing change reached every task queue.
 */
async function makeCurrent(buildId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const service = h.client.temporal.workflowService;
  for (;;) {
    try {
      await service.setWorkerDeploymentCurrentVersion({
        namespace: 'default',
        deploymentName,
        buildId,
        identity: 'test',
      });
      break;
    } catch (err) {
      // The version exists once the server has seen its worker poll.
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  for (;;) {
    const { workerDeploymentInfo: info } = await service.describeWorkerDeployment({
      namespace: 'default',
      deploymentName,
    });
    const propagated = info?.routingConfigUpdateState === ROUTING_UPDATE_COMPLETED;
    if (propagated && info?.routingConfig?.currentDeploymentVersion?.buildId === buildId) return;
    if (Date.now() > deadline) throw new Error(`version ${buildId} did not become current everywhere within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The build id that completed each of the run's workflow tasks, in order. */
async function buildsOfWorkflowTasks(runId: string): Promise<string[]> {
  const history = await h.client.temporal.workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
  return history
    .events!.filter((event) => event.workflowTaskCompletedEventAttributes)
    .map((event) => event.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId ?? 'unversioned');
}

beforeAll(async () => {
  h = await startHarness();
  await h.stopWorker();
  connection = await NativeConnection.connect({ address: process.env.KERN_TEST_TEMPORAL_ADDRESS });
});
afterAll(async () => {
  for (const worker of workers) await worker.shutdown();
  await connection.close();
  await h.close();
});

test('a run paused on build 1 finishes on build 2 once build 2 is current, and build 1, still up, gets none of it', async () => {
  h.model.replyWhen(
    'Email Ada about the upgrade',
    { toolCalls: [{ name: 'send_email', arguments: { to: 'ada' } }] },
    {
      text: 'Sent.',
    },
  );
  await startBuild('1');
  await makeCurrent('1');
  const agent = new Agent({
    name: 'Mailer',
    model: new OpenAIResponses({ id: 'gpt-test' }),
    tools: [sendEmailOn('app')],
    client: h.client,
  });
  const run = await agent.run('Email Ada about the upgrade', { background: true });
  const paused = (await h.waitForStatus(run.runId, RunStatus.paused)) as RunOutput;
  expect(await buildsOfWorkflowTasks(run.runId)).not.toContain('2');

  // Build 2 rolls out while the run waits; build 1 keeps polling, as it would until it is drained.
  await startBuild('2');
  await makeCurrent('2');
  await agent.continueRun(run.runId, { requirements: [{ id: paused.requirements![0]!.id, confirmation: true }] });
  const done = (await h.client.waitForRun(run.runId)) as RunOutput;

  expect(done).toMatchObject({ status: RunStatus.completed, content: 'Sent.' });
  expect(done.tools).toEqual([expect.objectContaining({ result: 'sent to ada by build 2' })]);
  expect(sentBy).toEqual(['2']);
  const builds = await buildsOfWorkflowTasks(run.runId);
  const firstOnTwo = builds.indexOf('2');
  expect(firstOnTwo).toBeGreaterThan(0);
  expect(builds.slice(0, firstOnTwo).every((build) => build === '1')).toBe(true);
  expect(builds.slice(firstOnTwo).every((build) => build === '2')).toBe(true);
  const described = await h.client.temporal.workflow.getHandle(workflowIdForRun(run.runId)).describe();
  expect(described.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe('2');

  // New runs go to the current version only.
  h.model.replyWhen('Hello after the upgrade', { text: 'Hi.' });
  const next = await agent.run('Hello after the upgrade', { background: true });
  await h.waitForStatus(next.runId, RunStatus.completed);
  expect(new Set(await buildsOfWorkflowTasks(next.runId))).toEqual(new Set(['2']));
}, 120_000);

test('a versioned worker needs both a deployment name and a build id', async () => {
  await expect(
    startWorker({
      app: defineApp({}),
      taskQueue: h.taskQueue,
      connection,
      workflowBundle: { codePath: process.env.KERN_TEST_WORKFLOW_BUNDLE! },
      deployment: { name: deploymentName, buildId: '' },
    }),
  ).rejects.toThrow('needs both a deployment name and a build id');
});

test('`kern worker --deployment-name --build-id` serves its version, reached with --address over the environment', async () => {
  const child = spawn(
    process.execPath,
    [
      path.resolve(__dirname, '../../bin/kern.js'),
      'worker',
      '--app',
      'examples/app.ts',
      '--address',
      process.env.KERN_TEST_TEMPORAL_ADDRESS!,
      '--deployment-name',
      deploymentName,
      '--build-id',
      '3',
      // The suite's bundle of kern's workflow code, rather than one made at start from the source.
      '--workflow-bundle',
      process.env.KERN_TEST_WORKFLOW_BUNDLE!,
      '--log-level',
      'error',
    ],
    {
      cwd: path.resolve(__dirname, '../..'),
      // The flag wins over the environment, which points nowhere.
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        KERN_TASK_QUEUE: h.taskQueue,
        OPENAI_BASE_URL: h.model.url,
        OPENAI_API_KEY: 'test-key',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  try {
    await makeCurrent('3');
    h.model.replyWhen('Hello from build 3', { text: 'Hi from 3.' });
    const agent = new Agent({ name: 'Greeter', model: new OpenAIResponses({ id: 'gpt-test' }), client: h.client });
    const run = await agent.run('Hello from build 3', { background: true });
    expect(await h.waitForStatus(run.runId, RunStatus.completed)).toMatchObject({ content: 'Hi from 3.' });
    expect(new Set(await buildsOfWorkflowTasks(run.runId))).toEqual(new Set(['3']));
    expect(output).toContain(`build 3 of deployment '${deploymentName}'`);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 60_000);
