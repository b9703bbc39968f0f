/**
 * Background execution with a Team: the TypeScript twin of the Python framework's
 * `cookbook/03_teams/other/background_execution.py`.
 *
 * A background team run returns at once with status PENDING while the leader and its members work in Temporal
 * workflows (each member run is a child workflow); poll it with getRunOutput, or cancel it with cancelRun.
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/team-background-execution.ts
 */
import { Agent, OpenAIResponses, RunStatus, Team } from 'kern';

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

/** Start a team background run and poll until complete. */
export async function exampleTeamBackgroundRun(): Promise<void> {
  banner('Team Background Run with Polling');

  const researcher = new Agent({
    name: 'Researcher',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    role: 'Research topics and provide factual information.',
  });
  const writer = new Agent({
    name: 'Writer',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    role: 'Write clear and concise summaries.',
  });
  const team = new Team({
    name: 'ResearchTeam',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    members: [researcher, writer],
    instructions: ['First, have the researcher gather key facts.', 'Then, have the writer create a concise summary.'],
  });

  // Start a background run: returns immediately with PENDING status.
  const runOutput = await team.run('What are the three laws of thermodynamics? Summarize each in one sentence.', {
    background: true,
  });
  console.log(`Run ID: ${runOutput.runId}`);
  console.log(`Session ID: ${runOutput.sessionId}`);
  console.log(`Status: ${runOutput.status}`);
  if (runOutput.status !== RunStatus.pending) throw new Error(`Expected PENDING, got ${runOutput.status}`);

  console.log('\nPolling for completion...');
  for (let i = 0; i < 60; i++) {
    await sleep(1);
    const result = await team.getRunOutput({ runId: runOutput.runId, sessionId: runOutput.sessionId });
    if (result === null) {
      console.log(`  [${i + 1}s] Run not found yet`);
      continue;
    }
    console.log(`  [${i + 1}s] Status: ${result.status}`);
    if (result.status === RunStatus.completed) {
      console.log(`\nCompleted! Content:\n${result.content}`);
      const members = result.memberResponses.map(
        (member) => `${member.kind === 'agent' ? member.agentName : member.teamName} ${member.status}`,
      );
      console.log(`Member runs: ${members.join(', ')}`);
      return;
    }
    if (result.status === RunStatus.error) {
      console.log(`\nFailed! Content: ${result.content} (${result.error?.message})`);
      return;
    }
  }
  console.log('\nTimed out waiting for completion');
}

/** Start a team background run and cancel it. */
export async function exampleCancelTeamBackgroundRun(): Promise<void> {
  console.log();
  banner('Cancel a Team Background Run');

  const researcher = new Agent({
    name: 'Researcher',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    role: 'Research topics thoroughly.',
  });
  const writer = new Agent({
    name: 'Writer',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    role: 'Write detailed essays.',
  });
  const team = new Team({
    name: 'EssayTeam',
    model: new OpenAIResponses({ id: 'gpt-5-mini' }),
    members: [researcher, writer],
    instructions: [
      'Have the researcher gather comprehensive information.',
      'Then have the writer create a detailed essay.',
    ],
  });

  // Start a long background run.
  const runOutput = await team.run(
    'Write a detailed essay about the history of artificial intelligence. Make it at least 3000 words.',
    { background: true },
  );
  console.log(`Run ID: ${runOutput.runId}`);
  console.log(`Status: ${runOutput.status}`);

  // Wait a moment, then cancel.
  await sleep(3);
  console.log('Cancelling run...');
  const cancelled = await team.cancelRun(runOutput.runId);
  console.log(`Cancel result: ${cancelled}`);

  // Check the final state.
  await sleep(1);
  const result = await team.getRunOutput({ runId: runOutput.runId, sessionId: runOutput.sessionId });
  if (result) {
    console.log(`Final status: ${result.status}`);
    for (const member of result.memberResponses) {
      console.log(`  member ${member.kind === 'agent' ? member.agentName : member.teamName}: ${member.status}`);
    }
  }
}

export async function main(): Promise<void> {
  await exampleTeamBackgroundRun();
  await exampleCancelTeamBackgroundRun();
  console.log('\nAll examples completed!');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
