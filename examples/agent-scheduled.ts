/**
 * An agent that runs on a schedule: a Temporal Schedule starts one of its runs at each firing (here every 3
 * seconds, so the demo sees two), and each firing is a normal run (poll it, stream it, cancel it), listed by
 * the schedule. The schedule is visible in the Temporal UI's Schedules page while it exists.
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-scheduled.ts
 */
import { Agent, KernClient, OpenAIResponses, RunStatus, isTerminalStatus } from 'kern';

const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

export const newsDesk = new Agent({
  name: 'News Desk',
  model: new OpenAIResponses({ id: 'gpt-5-mini' }),
  instructions: 'Write a one-line news summary.',
});

export async function main(): Promise<void> {
  banner('An agent run every 3 seconds, as a Temporal Schedule');
  const client = await KernClient.default();
  const schedule = await newsDesk.schedule({
    id: `news-every-3s-${Date.now()}`,
    interval: '3 seconds',
    input: 'Summarize the latest technology news in one line',
  });
  try {
    const info = await schedule.describe();
    console.log(`schedule ${info.scheduleId}: next firing at ${info.nextRunAt[0]}, overlap ${info.overlap}`);
    // Wait for two of its runs to end. Each has the id `<schedule id>-<firing time>`.
    let runs = (await client.listRuns({ scheduleId: schedule.scheduleId })).runs;
    while (runs.filter((run) => isTerminalStatus(run.status)).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      runs = (await client.listRuns({ scheduleId: schedule.scheduleId })).runs;
    }
    await schedule.pause('the demo has seen two runs');
    for (const run of runs.filter((r) => r.status === RunStatus.completed).reverse()) {
      console.log(`${run.runId}: ${run.status}, ${String(run.content).slice(0, 70)}`);
    }
    const paused = await schedule.describe();
    console.log(`paused (${paused.note}) after ${paused.runCount} runs`);
  } finally {
    await schedule.delete();
  }
  console.log();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
