import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Agent, OpenAIResponses, RunStatus } from 'kern';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.stopWorker();
});
afterAll(() => h.close());

test('a worker process killed mid-answer loses nothing: another worker retries the model call and completes', async () => {
  const prompt = `crash ${randomUUID()}`;
  h.model.replyWhen(prompt, { text: 'Half an answer', tokenDelayMs: 50, hang: true }, { text: 'The full answer.' });

  // A real `kern worker` process, as a user would run it.
  const root = path.resolve(__dirname, '..');
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/kern.js'), 'worker', '--app', 'examples/app.ts', '--log-level', 'error'],
    {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: process.env.KERN_TEST_TEMPORAL_ADDRESS,
        KERN_TASK_QUEUE: h.taskQueue,
        OPENAI_BASE_URL: h.model.url,
        OPENAI_API_KEY: 'test-key',
      },
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));

  const agent = new Agent({ name: 'Crash Agent', model: new OpenAIResponses({ id: 'gpt-test' }), client: h.client });
  const run = await agent.run(prompt, { background: true });
  await h.model.waitFor(() => h.model.requestsFor(prompt).length === 1, 30_000);
  child.kill('SIGKILL');
  await exited;

  await h.startWorker();
  const output = await h.waitForStatus(run.runId, RunStatus.completed, RunStatus.error, RunStatus.cancelled);
  expect(output).toMatchObject({ status: RunStatus.completed, content: 'The full answer.' });
  expect(h.model.requestsFor(prompt)).toHaveLength(2);
}, 90_000);
