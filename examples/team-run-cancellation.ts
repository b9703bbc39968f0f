/**
 * Team run cancellation: the TypeScript twin of the Python framework's team cancellation example.
 *
 * One task streams a team run and prints its content as it arrives; another cancels the run after a delay. The
 * stream ends with the cancel event, and the content streamed so far is kept. (The Python example uses two
 * threads; here they are two concurrent async tasks.)
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/team-run-cancellation.ts
 */
import { Agent, OpenAIResponses, RunEvent, Team, TeamRunEvent } from 'kern';

interface RunResult {
  status: string;
  runId: string | undefined;
  cancelled: boolean;
  content: string;
  error?: string;
}

interface RunIdContainer {
  runId?: string;
  result?: RunResult;
}

const preview = (pieces: string[], none: string) => (pieces.length ? `${pieces.join('').slice(0, 200)}...` : none);

function cancelledResult(runId: string, contentPieces: string[]): RunResult {
  return {
    status: 'cancelled',
    runId,
    cancelled: true,
    content: preview(contentPieces, 'No content before cancellation'),
  };
}

/** Run a long team task, streaming its content, until it completes or is cancelled. */
async function longRunningTask(team: Team, container: RunIdContainer): Promise<void> {
  const contentPieces: string[] = [];
  try {
    for await (const chunk of team.run(
      'Write a very long story about a dragon who learns to code. ' +
        'Make it at least 2000 words with detailed descriptions and dialogue. ' +
        'Take your time and be very thorough.',
      { stream: true },
    )) {
      if (!container.runId) {
        console.log(`Team run started: ${chunk.runId}`);
        container.runId = chunk.runId;
      }
      if (chunk.event === TeamRunEvent.runContent || chunk.event === RunEvent.runContent) {
        process.stdout.write(chunk.content);
        contentPieces.push(chunk.content);
      } else if (chunk.event === RunEvent.runCancelled) {
        console.log(`\nMember run was cancelled: ${chunk.runId}`);
        container.result = cancelledResult(chunk.runId, contentPieces);
        return;
      } else if (chunk.event === TeamRunEvent.runCancelled) {
        console.log(`\nTeam run was cancelled: ${chunk.runId}`);
        container.result = cancelledResult(chunk.runId, contentPieces);
        return;
      } else if (chunk.event === TeamRunEvent.runCompleted) {
        container.result = {
          status: 'completed',
          runId: chunk.runId,
          cancelled: false,
          content: preview(contentPieces, 'No content'),
        };
      }
    }
  } catch (err) {
    console.log(`\nException in run: ${String(err)}`);
    container.result = {
      status: 'error',
      error: String(err),
      runId: container.runId,
      cancelled: true,
      content: 'Error occurred',
    };
  }
}

/** Cancel the team run after a delay. */
async function cancelAfterDelay(team: Team, container: RunIdContainer, delaySeconds = 3): Promise<void> {
  console.log(`Will cancel team run in ${delaySeconds} seconds...`);
  await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
  const runId = container.runId;
  if (!runId) {
    console.log('No run_id found to cancel');
    return;
  }
  console.log(`\nCancelling team run: ${runId}`);
  if (await team.cancelRun(runId)) console.log(`Team run ${runId} marked for cancellation`);
  else console.log(`Failed to cancel team run ${runId} (may not exist or already completed)`);
}

const storytellerAgent = new Agent({
  name: 'StorytellerAgent',
  model: new OpenAIResponses({ id: 'gpt-5.2' }),
  description: 'An agent that writes creative stories',
});
const editorAgent = new Agent({
  name: 'EditorAgent',
  model: new OpenAIResponses({ id: 'gpt-5.2' }),
  description: 'An agent that reviews and improves stories',
});

/** The seed's team; its id is `storytelling-team`, as in the seed's `curl …/teams/storytelling-team/runs/…/cancel`. */
export const storytellingTeam = new Team({
  name: 'Storytelling Team',
  members: [storytellerAgent, editorAgent],
  model: new OpenAIResponses({ id: 'gpt-5.2' }), // Team leader model
  description: 'A team that collaborates to write detailed stories',
});

export async function main(): Promise<void> {
  const team = storytellingTeam;

  console.log('Starting team run cancellation example...');
  console.log('='.repeat(50));
  const container: RunIdContainer = {};
  // The Python example's two threads: one streams the run, one cancels it after 8 seconds.
  await Promise.all([longRunningTask(team, container), cancelAfterDelay(team, container, 8)]);

  console.log(`\n${'='.repeat(50)}\nRESULTS:\n${'='.repeat(50)}`);
  const result = container.result;
  if (result) {
    console.log(`Status: ${result.status}`);
    console.log(`Run ID: ${result.runId}`);
    console.log(`Was Cancelled: ${result.cancelled}`);
    if (result.error) console.log(`Error: ${result.error}`);
    else console.log(`Content Preview: ${result.content}`);
    console.log(
      result.cancelled
        ? '\nSUCCESS: Team run was successfully cancelled!'
        : '\nWARNING: Team run completed before cancellation',
    );
  } else {
    console.log('No result obtained - check if cancellation happened during streaming');
  }
  console.log('\nTeam cancellation example completed!');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
