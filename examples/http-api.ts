/**
 * The seeds' HTTP side, over kern's AgentOS-compatible server: what seed 004 does with
 * `curl -X POST http://localhost:7777/teams/storytelling-team/runs/{run_id}/cancel`, and what seed 002 points to for
 * background workflows (a resumable SSE stream and `/resume` after a disconnect).
 *
 * Uses the server at KERN_SERVER_URL when set (`npx kern serve --app examples/app.ts`); otherwise starts one in this
 * process on a free port. Needs a Temporal server and a kern worker, as the other examples: `npm run demo` starts both.
 * By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx kern serve --app examples/app.ts &
 *   KERN_SERVER_URL=http://localhost:7777 npx tsx examples/http-api.ts
 */
import { createServer } from 'kern/server';
import app from './app';

interface Frame {
  event: string;
  data: Record<string, unknown>;
}

/** A server-sent event stream read frame by frame, as any HTTP client would (`curl -N` prints the same text). */
async function* frames(response: Response): AsyncGenerator<Frame, void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) yield { event, data: JSON.parse(data) as Record<string, unknown> };
      }
    }
  } finally {
    await reader.cancel();
  }
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** Seed 004 over HTTP: stream a team run, cancel it from "another terminal" with the seed's curl, see it end. */
async function cancelTeamRunOverHttp(base: string): Promise<void> {
  console.log('POST /teams/storytelling-team/runs (stream=true, background=true)');
  const response = await fetch(
    `${base}/teams/storytelling-team/runs`,
    form({
      // The seed's task: long enough that the cancel lands while the storyteller is still writing.
      message:
        'Write a very long story about a dragon who learns to code. ' +
        'Make it at least 2000 words with detailed descriptions and dialogue.',
      stream: 'true',
      background: 'true',
    }),
  );
  let runId = '';
  let contentEvents = 0;
  for await (const frame of frames(response)) {
    runId ||= String(frame.data.run_id);
    if (frame.event.endsWith('RunContent')) contentEvents += 1;
    if (contentEvents === 5) {
      console.log(`  ${contentEvents} content events so far; cancelling as the seed does:`);
      console.log(`  curl -X POST ${base}/teams/storytelling-team/runs/${runId}/cancel`);
      const cancel = await fetch(`${base}/teams/storytelling-team/runs/${runId}/cancel`, { method: 'POST' });
      console.log(`  -> ${cancel.status} ${await cancel.text()}`);
    }
    if (frame.event === 'TeamRunCancelled' && frame.data.run_id === runId) {
      console.log(`  the stream ends with TeamRunCancelled (event_index ${String(frame.data.event_index)})`);
    }
  }
  const run = await fetch(`${base}/teams/storytelling-team/runs/${runId}`);
  const output = (await run.json()) as {
    status: string;
    member_responses: Array<{ agent_id?: string; status: string; content: string | null }>;
  };
  console.log(`GET /teams/storytelling-team/runs/${runId} -> ${output.status}`);
  for (const member of output.member_responses) {
    const kept = member.status === 'CANCELLED' ? ' kept' : '';
    console.log(
      `  member ${member.agent_id}: ${member.status}, ${member.content?.length ?? 0} chars of its answer${kept}`,
    );
  }
}

/** Seed 002's resumable stream: start a background workflow run, drop the connection, resume from the last index. */
async function resumeWorkflowRunOverHttp(base: string): Promise<void> {
  console.log('\nPOST /workflows/content-creation-workflow/runs (stream=true, background=true)');
  const response = await fetch(
    `${base}/workflows/content-creation-workflow/runs`,
    form({ message: 'AI trends in 2024', stream: 'true', background: 'true' }),
  );
  let runId = '';
  let lastIndex = -1;
  for await (const frame of frames(response)) {
    runId ||= String(frame.data.run_id);
    lastIndex = Number(frame.data.event_index);
    if (lastIndex === 5) break; // the client disconnects; the run goes on in Temporal
  }
  console.log(`  disconnected after event_index ${lastIndex}; the run goes on`);
  const resumed = await fetch(
    `${base}/workflows/content-creation-workflow/runs/${runId}/resume`,
    form({ last_event_index: String(lastIndex) }),
  );
  let received = 0;
  for await (const frame of frames(resumed)) {
    if (frame.data.event_index === undefined) {
      console.log(`  ${frame.event}: ${String(frame.data.message)}`);
      continue;
    }
    received += 1;
    if (frame.event === 'WorkflowCompleted') {
      console.log(`  ${received} more events, from event_index ${lastIndex + 1}, ending with WorkflowCompleted`);
    }
  }
}

export async function main(): Promise<void> {
  const external = process.env.KERN_SERVER_URL;
  const server = external ? undefined : createServer({ app });
  const base = external ?? (await server!.listen({ port: 0 })).url;
  console.log(`kern's HTTP API at ${base} (the Python framework's AgentOS routes)\n`);
  try {
    await cancelTeamRunOverHttp(base);
    await resumeWorkflowRunOverHttp(base);
  } finally {
    await server?.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
