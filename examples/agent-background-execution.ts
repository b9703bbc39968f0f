/**
 * Background execution with polling and cancellation: the TypeScript twin of the Python framework's
 * `cookbook/02_agents/other/background_execution.py`.
 *
 * A background run returns at once with status PENDING while the work goes on in a Temporal workflow; poll it
 * with getRunOutput, cancel it with cancelRun, even before it has started.
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-background-execution.ts
 */
import { randomUUID } from 'node:crypto';
import { Agent, OpenAIResponses, RunStatus, cancelRun } from 'kern';

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

/** Start a background run and poll until complete. */
export async function exampleBackgroundRunWithPolling(): Promise<void> {
  banner('Example 1: Background run with polling');

  const agent = new Agent({
    name: 'BackgroundAgent',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    description: 'An agent that runs in the background',
  });

  // Start a background run: returns immediately with PENDING status.
  const runOutput = await agent.run('What is the capital of France? Answer in one sentence.', { background: true });

  console.log(`Run ID: ${runOutput.runId}`);
  console.log(`Session ID: ${runOutput.sessionId}`);
  console.log(`Status: ${runOutput.status}`);
  if (runOutput.status !== RunStatus.pending) throw new Error(`Expected PENDING, got ${runOutput.status}`);

  console.log('\nPolling for completion...');
  for (let i = 0; i < 30; i++) {
    await sleep(1);
    const result = await agent.getRunOutput({ runId: runOutput.runId, sessionId: runOutput.sessionId });
    if (result === null) {
      console.log(`  [${i + 1}s] Run not found yet`);
      continue;
    }
    console.log(`  [${i + 1}s] Status: ${result.status}`);
    if (result.status === RunStatus.completed) {
      console.log(`\nCompleted! Content: ${result.content}`);
      console.log();
      return;
    }
    if (result.status === RunStatus.error) {
      console.log(`\nFailed! Content: ${result.content} (${result.error?.message})`);
      console.log();
      return;
    }
  }
  console.log('\nTimed out waiting for completion\n');
}

/** Start a background run and cancel it before completion. */
export async function exampleCancelBackgroundRun(): Promise<void> {
  banner('Example 2: Cancel a background run');

  const agent = new Agent({
    name: 'CancellableAgent',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    description: 'An agent whose run can be cancelled',
  });

  // Start a long background run.
  const runOutput = await agent.run(
    'Write a very detailed essay about the history of computing. ' +
      'Make it at least 5000 words with sections and subsections.',
    { background: true },
  );
  console.log(`Run ID: ${runOutput.runId}`);
  console.log(`Status: ${runOutput.status}`);

  // Wait a moment for the run to start.
  await sleep(2);

  console.log('Cancelling run...');
  const cancelled = await agent.cancelRun(runOutput.runId);
  console.log(`Cancel result: ${cancelled}`);

  // Check the final state.
  await sleep(1);
  const result = await agent.getRunOutput({ runId: runOutput.runId, sessionId: runOutput.sessionId });
  if (result) {
    console.log(`Final status: ${result.status}`);
    console.log(`Content before the cancel: ${preview(result.content)}`);
  }
  console.log();
}

/** Cancel a run before it even starts (cancel-before-start semantics). */
export async function exampleCancelBeforeStart(): Promise<void> {
  banner('Example 3: Cancel-before-start');

  const agent = new Agent({
    name: 'PreCancelAgent',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    description: 'An agent whose run is cancelled before starting',
  });

  // Pre-generate a run id, and cancel the run BEFORE it starts.
  const runId = randomUUID();
  console.log(`Pre-cancelling run ${runId}...`);
  await cancelRun(runId);

  // Now start the run with that id: it detects the cancellation and never calls the model.
  const runOutput = await agent.run('This should be cancelled before it runs.', { background: true, runId });
  console.log(`Run ID: ${runOutput.runId}`);
  console.log(`Initial status: ${runOutput.status}`);

  await sleep(2);
  const result = await agent.getRunOutput({ runId: runOutput.runId, sessionId: runOutput.sessionId });
  if (result) console.log(`Final status: ${result.status}`);
  console.log();
}

function preview(content: string | null): string {
  if (!content) return '(none)';
  return content.length > 120 ? `${content.slice(0, 120)}…` : content;
}

export async function main(): Promise<void> {
  await exampleBackgroundRunWithPolling();
  await exampleCancelBackgroundRun();
  await exampleCancelBeforeStart();
  console.log('All examples completed!');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
