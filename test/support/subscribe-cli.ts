// A second client process for the tests: prints a run's events from an index on, one JSON line each.
import { KernClient } from 'kern';

async function main(): Promise<void> {
  const [runId, fromIndex] = process.argv.slice(2);
  const client = await KernClient.connect({ address: process.env.KERN_TEST_TEMPORAL_ADDRESS });
  for await (const event of client.subscribe(runId!, { fromIndex: Number(fromIndex ?? 0) })) {
    console.log(JSON.stringify(event));
  }
  await client.close();
}

void main();
