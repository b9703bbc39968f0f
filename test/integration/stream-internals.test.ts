import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';

/**
 * kern reaches into three private members of `@temporalio/workflow-streams` (see `src/workflows/stream-internals.ts`).
 * Without them kern's runs still work, but lose what they were for (reading the log cheaply, dropping deltas of a
 * superseded model call attempt, polls that survive a cancel), quietly. This test fails loudly instead: it builds a
 * stream of the installed package inside a real workflow and asks the adapter what is missing.
 */
test('the installed @temporalio/workflow-streams still has the private members kern uses', async () => {
  const address = process.env.KERN_TEST_TEMPORAL_ADDRESS!;
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../fixtures/stream-internals-workflow.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const taskQueue = `stream-internals-${randomUUID()}`;
  const workerConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const worker = await Worker.create({ connection: workerConnection, taskQueue, workflowBundle: bundle });
    const client = new Client({ connection });
    const missing = await worker.runUntil(
      client.workflow.execute('streamInternalsCheck', { taskQueue, workflowId: `stream-internals-${randomUUID()}` }),
    );
    expect(missing).toEqual([]);
  } finally {
    await workerConnection.close();
    await connection.close();
  }
});
