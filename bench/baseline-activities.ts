import { Context } from '@temporalio/activity';
import OpenAI from 'openai';

/** The baseline's one activity: the same streamed Responses request kern makes, read to the end, heartbeating. */
export function createBaselineActivities(baseURL: string) {
  const openai = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  return {
    async bareModelCall(prompt: string): Promise<string> {
      const ctx = Context.current();
      const ticker = setInterval(() => ctx.heartbeat(), 1_000);
      try {
        let text = '';
        const stream = await openai.responses.create(
          { model: 'bench', input: [{ role: 'user', content: prompt }], stream: true },
          { signal: ctx.cancellationSignal },
        );
        for await (const event of stream) {
          if (event.type === 'response.output_text.delta') {
            text += event.delta;
            ctx.heartbeat();
          }
        }
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        return text;
      } finally {
        clearInterval(ticker);
      }
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
