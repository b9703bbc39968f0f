/**
 * An agent that asks before it sends an email. Its `send_email` tool has `requiresConfirmation`, so when the model
 * calls it the run pauses (`PAUSED`, with the call in `output.requirements`) and waits, in Temporal, holding no
 * worker, until a person answers with `continueRun`: approve it (the tool runs), or refuse it with a note (the model
 * gets the note instead). The TypeScript form of the Python framework's `requires_confirmation` tools and its
 * `continue_run`.
 *
 * Needs a Temporal server and a kern worker whose app has the `send_email` tool: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/agent-human-in-the-loop.ts
 */
import { z } from 'zod';
import { Agent, KernClient, OpenAIResponses, RunEvent, RunStatus, defineTool, type RunOutput } from 'kern';

const banner = (title: string) => console.log(`${'='.repeat(60)}\n${title}\n${'='.repeat(60)}`);

/** Pretends to send an email (nothing leaves the machine); a person confirms each call first. */
export const sendEmail = defineTool({
  name: 'send_email',
  description: 'Send an email.',
  parameters: z.object({
    to: z.string().describe('The address'),
    subject: z.string(),
    body: z.string(),
  }),
  requiresConfirmation: true,
  execute: ({ to, subject }) => `The email "${subject}" was sent to ${to}.`,
});

export const emailAgent = new Agent({
  name: 'EmailAgent',
  model: new OpenAIResponses({ id: 'gpt-5-mini' }),
  instructions: ['Send the emails you are asked to send with the send_email tool.', 'Answer in one sentence.'],
  tools: [sendEmail],
});

const REQUEST =
  'Send an email to "ada@example.com" with the subject "Lunch on Friday?" and the body "Are you free for lunch?"';

export async function main(): Promise<void> {
  banner('An agent that asks before it sends an email');
  const run = await emailAgent.run(REQUEST, { background: true, userId: 'ada' });
  console.log(`Run ${run.runId}: ${run.status}`);
  const paused = await untilPausedOrDone(run.runId);
  if (paused.status !== RunStatus.paused) {
    console.log(`The model answered without calling send_email (${paused.status}): ${paused.content}`);
    return;
  }
  for (const requirement of paused.requirements ?? []) {
    const { toolName, toolArgs } = requirement.toolExecution;
    console.log(`Paused: it waits for a ${requirement.needs} of ${toolName}(${JSON.stringify(toolArgs)})`);
  }

  // The approvals inbox: paused runs, found in Temporal's visibility (it follows a run by a moment).
  const client = await KernClient.default();
  let inbox = await client.listRuns({ status: RunStatus.paused, userId: 'ada' });
  for (let i = 0; i < 20 && !inbox.runs.some((r) => r.runId === run.runId); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    inbox = await client.listRuns({ status: RunStatus.paused, userId: 'ada' });
  }
  console.log(`Ada's approvals inbox: ${inbox.runs.map((r) => r.runId).join(', ') || '(not listed yet)'}`);

  // A person approves (this could be days later, from another process: the pause lives in Temporal).
  const requirements = (paused.requirements ?? []).map((requirement) => ({ id: requirement.id, confirmation: true }));
  await emailAgent.continueRun(run.runId, { requirements });
  const done = await client.waitForRun(run.runId);
  console.log(`Approved, so the tool ran: ${done.tools.map((tool) => tool.result).join(' ')}`);
  console.log(`Final (${done.status}): ${done.content}\n`);

  banner('The same, streamed, and refused');
  let runId = '';
  for await (const event of emailAgent.run(REQUEST, { stream: true })) {
    runId = event.runId;
    if (event.event === RunEvent.runPaused) {
      console.log(`${event.event}: ${event.requirements.map((r) => r.toolExecution.toolName).join(', ')} waits`);
    } else if (event.event !== RunEvent.runContent) {
      console.log(event.event);
    }
  }
  // The stream ended at the pause; the run waits. Refuse the call: the model gets the note as the tool's result.
  const waiting = await client.getRunOutput(runId);
  if (waiting?.status !== RunStatus.paused) return;
  const refusals = (waiting.requirements ?? []).map((requirement) => ({
    id: requirement.id,
    confirmation: false,
    confirmationNote: 'Do not email Ada today.',
  }));
  for await (const event of emailAgent.continueRun(runId, { requirements: refusals, stream: true })) {
    if (event.event === RunEvent.runCompleted) console.log(`${event.event}: ${event.content}`);
    else if (event.event !== RunEvent.runContent) console.log(event.event);
  }
  console.log();
}

/** Polls the run until it pauses for a person or ends. */
async function untilPausedOrDone(runId: string): Promise<RunOutput> {
  for (;;) {
    const output = await emailAgent.getRunOutput({ runId });
    if (output && (output.status === RunStatus.paused || output.status === RunStatus.completed)) return output;
    if (output && (output.status === RunStatus.error || output.status === RunStatus.cancelled)) return output;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
