/**
 * An agent that answers a typed object instead of text: its `outputSchema` (a zod schema) is sent to the model as a
 * JSON schema, the worker checks the answer against it (asking the model again when it does not fit), and the
 * completed run's `content` is the parsed object. The TypeScript form of the Python framework's `output_schema`.
 *
 * Needs a Temporal server and a kern worker: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-structured-output.ts
 */
import { z } from 'zod';
import { Agent, OpenAIResponses, RunEvent } from 'kern';

const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

const MovieScript = z
  .object({
    name: z.string().describe('The title of the movie'),
    setting: z.string().describe('Where and when it takes place'),
    characters: z.array(z.string()).describe('The main characters'),
    genre: z.string(),
    storyline: z.string().describe('Three sentences of the plot'),
  })
  .meta({ title: 'MovieScript' });

export const scriptWriter = new Agent({
  name: 'Script Writer',
  model: new OpenAIResponses({ id: 'gpt-5-mini' }),
  description: 'You write movie scripts.',
  outputSchema: MovieScript,
});

export async function main(): Promise<void> {
  banner('An agent that answers a typed object');
  const output = await scriptWriter.run('New York');
  // `content` is typed as the schema's object: no parsing, no casts.
  const script = output.content;
  console.log(`${output.status} (${output.contentType}): "${script?.name}", a ${script?.genre}`);
  console.log(`  setting: ${script?.setting}`);
  console.log(`  characters: ${script?.characters.join(', ')}`);

  banner('The same, streamed: the deltas are the raw JSON, the end carries the object');
  let chars = 0;
  for await (const event of scriptWriter.run('Tokyo', { stream: true })) {
    if (event.event === RunEvent.runContent) chars += event.content.length;
    if (event.event === RunEvent.runCompleted) {
      console.log(`${chars} characters of JSON streamed; RunCompleted carries ${JSON.stringify(event.content)}`);
    }
  }
  console.log();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
