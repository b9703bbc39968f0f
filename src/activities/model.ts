import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import OpenAI, { APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import { KernError, ModelRequestRejected, ModelUnavailable, redactSecrets } from '../shared/errors';
import type { ModelCallCancelledDetails, ModelCallInput, ModelCallResult } from '../shared/model-call';
import type { ModelProvider, OutputSchemaSpec } from '../shared/specs';
import { DeltaPublisher } from './delta-publisher';
import { HEARTBEAT_INTERVAL_MS } from './heartbeats';
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

/** How model answers are streamed to subscribers, and when a stream counts as hung. */
export interface StreamingOptions {
  /** Tokens are coalesced into one `RunContent` event per window, for runs someone streams (default 80 ms). */
  liveWindowMs?: number;
  /** The window for background runs, whose deltas only serve polls of partial content (default 1,000 ms). */
  backgroundWindowMs?: number;
  /**
   * A streamed answer that sends nothing (no text, no event) for this long is abandoned and the model call retried
   * (default 120,000 ms). Raise it for models that think silently for longer before they answer.
   */
  idleTimeoutMs?: number;
}

/** The default of {@link StreamingOptions.idleTimeoutMs}. */
const DEFAULT_MODEL_IDLE_TIMEOUT_MS = 120_000;

/** The longest `Retry-After` a model call honours; a longer one is cut to this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Statuses worth retrying: rate limits, timeouts, conflicts and server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Builds the `callModel` activity around one lazily created OpenAI client. */
export function createCallModel(options: ModelProviderOptions = {}, streaming: StreamingOptions = {}) {
  let openai: OpenAI | undefined;
  const apiKey = (): string | undefined => options.apiKey ?? process.env.OPENAI_API_KEY;
  const client = (): OpenAI => {
    const key = apiKey();
    if (!key) throw new ModelRequestRejected('OPENAI_API_KEY is not set in the worker environment');
    // Temporal owns retries (visible in history, durable across crashes), so the client does not retry.
    openai ??= new OpenAI({ apiKey: key, baseURL: options.baseURL ?? process.env.OPENAI_BASE_URL, maxRetries: 0 });
    return openai;
  };
  const idleTimeoutMs = streaming.idleTimeoutMs ?? DEFAULT_MODEL_IDLE_TIMEOUT_MS;

  /**
   * One model request. Heartbeats while it runs; a cancel aborts the HTTP request and reports the partial text; a
   * stream that goes quiet for `idleTimeoutMs` is aborted and retried.
   */
  return async function callModel(input: ModelCallInput): Promise<ModelCallResult> {
    const ctx = Context.current();
    const startedAt = Date.now();
    let partial = '';
    let firstTokenAt: number | undefined;
    let lastEventAt = startedAt;
    const context = input.eventContext;
    const windowMs = context?.live ? (streaming.liveWindowMs ?? 80) : (streaming.backgroundWindowMs ?? 1_000);
    const deltas = context ? new DeltaPublisher(context, windowMs, ctx.info.attempt) : undefined;
    if (ctx.info.attempt > 1) deltas?.announceRetry();
    const sink: ModelStreamSink = {
      onEvent() {
        lastEventAt = Date.now();
      },
      onDelta(text) {
        firstTokenAt ??= Date.now();
        partial += text;
        deltas?.add(text);
        ctx.heartbeat();
      },
    };
    const idle = new AbortController();
    const streamed = input.model.stream !== false;
    const ticker = setInterval(() => {
      ctx.heartbeat();
      if (streamed && Date.now() - lastEventAt > idleTimeoutMs) idle.abort();
    }, HEARTBEAT_INTERVAL_MS);
    const signal = AbortSignal.any([ctx.cancellationSignal, idle.signal]);
    try {
      const answer = await providers[input.model.provider](client(), input, sink, signal);
      // The openai stream ends quietly (no throw) when its signal aborts, so an abort is checked here too.
      if (signal.aborted) throw new APIUserAbortError();
      await deltas?.closeLeavingTail();
      const structured =
        input.outputSchema && answer.toolCalls.length === 0
          ? checkStructuredAnswer(answer.content, input.outputSchema)
          : undefined;
      return {
        ...answer,
        ...(structured ? { structured } : {}),
        streamedChars: deltas?.publishedChars ?? 0,
        ...(firstTokenAt !== undefined ? { timeToFirstToken: (firstTokenAt - startedAt) / 1000 } : {}),
      };
    } catch (err) {
      if (ctx.cancellationSignal.aborted) {
        // The answer so far goes out whole before the cancel is reported, so the stream says what the output says.
        await deltas?.close().catch(() => undefined);
        const details: ModelCallCancelledDetails = { partialContent: partial };
        throw new CancelledFailure('the model request was cancelled', [details]);
      }
      await deltas?.abandon();
      if (idle.signal.aborted) {
        throw new ModelUnavailable(`the model stream sent nothing for ${idleTimeoutMs / 1000} s; retrying`);
      }
      throw toModelError(err, apiKey());
    } finally {
      clearInterval(ticker);
    }
  };
}

/**
 * Maps a provider error to a kern error: rejected requests end the run, anything else is retried (after the
 * provider's `Retry-After`, when it sends one). Key-like strings are redacted from the message, which goes into
 * the run's history and output.
 */
function toModelError(err: unknown, apiKey: string | undefined): KernError {
  if (err instanceof KernError) return err;
  const message = redactSecrets(err instanceof Error ? err.message : String(err), apiKey);
  if (err instanceof APIError && err.status !== undefined && !isRetryableStatus(err.status)) {
    return new ModelRequestRejected(message, err.status);
  }
  if (!(err instanceof APIError)) return new ModelUnavailable(message);
  return new ModelUnavailable(message, err.status, retryAfterMs(err.headers));
}

/** How long the provider asked to wait before the next request (`retry-after-ms`, or `retry-after` in s or a date). */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  const after = headers?.get('retry-after');
  let wait = Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  if (wait === undefined && after) {
    const seconds = Number(after);
    wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - Date.now();
  }
  if (wait === undefined || !Number.isFinite(wait) || wait <= 0) return undefined;
  return Math.min(wait, MAX_RETRY_AFTER_MS);
}

/** Parses a structured answer and checks it against its JSON schema, with zod (`z.fromJSONSchema`). */
function checkStructuredAnswer(
  content: string,
  outputSchema: OutputSchemaSpec,
): { value: unknown } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(stripJsonFence(content));
  } catch {
    return { problem: `the answer is not JSON: ${content.slice(0, 200)}` };
  }
  const parsed = schemaOf(outputSchema).safeParse(value);
  if (parsed.success) return { value: parsed.data };
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return { problem: issues.join('; ') };
}

/** Models asked for JSON without a strict format sometimes wrap it in a Markdown fence: the JSON is inside. */
function stripJsonFence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return fenced ? fenced[1]! : text;
}

/** The zod schema of a run's output schema, built once per schema text. */
const schemas = new Map<string, z.ZodType>();
function schemaOf(outputSchema: OutputSchemaSpec): z.ZodType {
  const key = JSON.stringify(outputSchema.schema);
  let schema = schemas.get(key);
  if (!schema) {
    schema = z.fromJSONSchema(outputSchema.schema as Parameters<typeof z.fromJSONSchema>[0]);
    if (schemas.size > 1_000) schemas.clear();
    schemas.set(key, schema);
  }
  return schema;
}
