/**
 * A two-turn session: the second run remembers the first, and the session keeps a small state between runs. The
 * TypeScript form of what every seed does with the Python framework's `session_id` and database
 * (`add_history_to_context`, `num_history_runs`, `session_state`), with Temporal as the only store.
 *
 * Needs a Temporal server and a kern worker whose app has the `add_to_list` tool: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-session.ts
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, defineTool } from 'kern';

const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

/** A tool that changes the session state: tools get it as `context.sessionState`, a plain object to change. */
export const addToList = defineTool({
  name: 'add_to_list',
  description: "Add an item to the user's shopping list.",
  parameters: z.object({ item: z.string() }),
  execute: ({ item }, { sessionState }) => {
    const list = Array.isArray(sessionState.shoppingList) ? (sessionState.shoppingList as string[]) : [];
    sessionState.shoppingList = [...list, item];
    return `The list is now: ${(sessionState.shoppingList as string[]).join(', ')}`;
  },
});

export const sessionAgent = new Agent({
  name: 'SessionAgent',
  model: new OpenAIResponses({ id: 'gpt-5-mini' }),
  instructions: ['Use the shopping list tool when asked to add something.', 'Answer in one or two sentences.'],
  tools: [addToList],
  // The last three completed runs of the session (their input and answer) go before each new input.
  addHistoryToContext: true,
  numHistoryRuns: 3,
});

export async function main(): Promise<void> {
  banner('A session of two runs');
  const sessionId = `shopping-${randomUUID()}`;

  const first = await sessionAgent.run('My name is Ada. Please add milk to my shopping list.', {
    sessionId,
    userId: 'ada',
    sessionState: { shoppingList: ['bread'] },
  });
  console.log(`Turn 1 (${first.status}): ${first.content}`);
  const called = first.tools.some((tool) => tool.toolName === addToList.name);
  console.log(`  the model ${called ? 'called' : 'did not call'} ${addToList.name}; the session state after turn 1 is`);
  console.log(`  ${JSON.stringify(first.sessionState)} (run() gave it ${JSON.stringify({ shoppingList: ['bread'] })})`);

  // Same session id: the model gets turn 1 before this input, and the tools get the state turn 1 left.
  const second = await sessionAgent.run("What's my name, and what is on my shopping list?", { sessionId });
  const fromHistory = second.messages.filter((message) => 'fromHistory' in message && message.fromHistory);
  console.log(`Turn 2 (${second.status}): ${second.content}`);
  console.log(
    `  it was given ${fromHistory.length} messages from turn 1, and the state ${JSON.stringify(second.sessionState)}`,
  );

  // The session, from Temporal: its runs come from visibility, which follows a run by a moment.
  const client = await KernClient.default();
  let session = await client.getSession(sessionId);
  for (let i = 0; i < 20 && (session?.runs.length ?? 0) < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    session = await client.getSession(sessionId);
  }
  console.log(`\nSession ${sessionId} (user ${session?.userId}):`);
  for (const run of session?.runs ?? []) console.log(`  ${run.createdAt}  ${run.status}  ${run.input}`);
  console.log(`  state: ${JSON.stringify(session?.sessionState)}`);
  const { sessions } = await client.listSessions({ userId: 'ada', limit: 3 });
  console.log(`Ada's newest sessions: ${sessions.map((s) => `${s.sessionId} (${s.runCount} runs)`).join(', ')}`);
  console.log();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
