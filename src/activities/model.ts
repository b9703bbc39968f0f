import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import OpenAI, { APIError, APIUserAbortError } from 'openai';
import { KernError, ModelRequestRejected, ModelUnavailable } from '../shared/errors';
import type { ModelCallCancelledDetails, ModelCallInput, ModelCallResult } from '../shared/model-call';
import type { ModelProvider } from '../shared/specs';
import { DeltaPublisher } from './delta-publisher';
import type { ModelAnswer, ModelStreamSink } from './model-stream';
import { callChatCompletions } from './openai-chat';
import { callResponses } from './openai-responses';

/** One implementation per protocol a model speaks. */
const providers: Record<
  ModelProvider,
  (openai: OpenAI, input: ModelCallInput, sink: ModelStreamSink, signal: AbortSignal) => Promise<ModelAnswer>
> = {
  'openai-responses': callResponses,
  'openai-chat': callChatCompletions,
};

/**
 * Where the worker's model calls go. Defaults come from the worker's environment (`OPENAI_API_KEY`,
 * `OPENAI_BASE_URL`); the key never enters a workflow input, event or history.
 */
export interface ModelProviderOptions {
  apiKey?: string;
  baseURL?: string;
}

/** How model answers are streamed to subscribers. */
export interface StreamingOptions {
  /** Tokens are coalesced into one `RunContent` event per window, for runs someone streams (default 100 ms). */
  liveWindowMs?: number;
  /** The window for background runs, whose deltas only serve polls of partial content (default 1,000 ms). */
  backgroundWindowMs?: number;
}

/** Milliseconds between heartbeats while a model call waits for tokens; each chunk heartbeats too. */
const HEARTBEAT_INTERVAL_MS = 1_000;

/** Statuses worth retrying: rate limits, timeouts, conflicts and server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Builds the `callModel` activity around one lazily created OpenAI client. */
export function createCallModel(options: ModelProviderOptions = {}, streaming: StreamingOptions = {}) {
  let openai: OpenAI | undefined;
  const client = (): OpenAI => {
    const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
    if (!apiKey) throw new ModelRequestRejected('OPENAI_API_KEY is not set in the worker environment');
    // Temporal owns retries (visible in history, durable across crashes), so the client does not retry.
    openai ??= new OpenAI({ apiKey, baseURL: options.baseURL ?? process.env.OPENAI_BASE_URL, maxRetries: 0 });
    return openai;
  };

  /** One model request. Heartbeats while it runs; a cancel aborts the HTTP request and reports the partial text. */
  return async function callModel(input: ModelCallInput): Promise<ModelCallResult> {
    const ctx = Context.current();
    const startedAt = Date.now();
    let partial = '';
    let firstTokenAt: number | undefined;
    const context = input.eventContext;
    const windowMs = context?.live ? (streaming.liveWindowMs ?? 100) : (streaming.backgroundWindowMs ?? 1_000);
    const deltas = context ? new DeltaPublisher(context, windowMs) : undefined;
    if (ctx.info.attempt > 1) deltas?.announceRetry(ctx.info.attempt);
    const sink: ModelStreamSink = {
      onDelta(text) {
        firstTokenAt ??= Date.now();
        partial += text;
        deltas?.add(text);
        ctx.heartbeat();
      },
    };
    const ticker = setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS);
    try {
      const answer = await providers[input.model.provider](client(), input, sink, ctx.cancellationSignal);
      // The openai stream ends quietly (no throw) when its signal aborts, so a cancel is checked here too.
      if (ctx.cancellationSignal.aborted) throw new APIUserAbortError();
      await deltas?.closeLeavingTail();
      return {
        ...answer,
        streamedChars: deltas?.publishedChars ?? 0,
        ...(firstTokenAt !== undefined ? { timeToFirstToken: (firstTokenAt - startedAt) / 1000 } : {}),
      };
    } catch (err) {
      if (ctx.cancellationSignal.aborted || err instanceof APIUserAbortError) {
        // The answer so far goes out whole before the cancel is reported, so the stream says what the output says.
        await deltas?.close().catch(() => undefined);
        const details: ModelCallCancelledDetails = { partialContent: partial };
        throw new CancelledFailure('the model request was cancelled', [details]);
      }
      await deltas?.abandon();
      throw toModelError(err);
    } finally {
      clearInterval(ticker);
    }
  };
}

/** Maps a provider error to a kern error: rejected requests end the run, anything else is retried. */
function toModelError(err: unknown): KernError {
  if (err instanceof KernError) return err;
  if (err instanceof APIError && err.status !== undefined && !isRetryableStatus(err.status)) {
    return new ModelRequestRejected(err.message, err.status);
  }
  const status = err instanceof APIError ? err.status : undefined;
  return new ModelUnavailable(err instanceof Error ? err.message : String(err), status);
}
