import { Context } from '@temporalio/activity';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import { RUN_EVENTS_TOPIC, RunEvent, eventFrom, type EventBody, type RunEventContext } from '../shared/events';

/**
 * Publishes a model answer's text to the run's stream as `RunContent` deltas while it is generated (and to the
 * streams of the teams above the run, so their subscribers see members' answers too).
 *
 * Tokens are coalesced: one event per batch window, so the cost in Temporal history (one signal per batch) follows
 * time, not tokens. The window is short for runs someone streams and long for background runs (whose deltas only
 * serve polls of partial content), and it widens as an answer goes on (see {@link DeltaPublisher.batchWindowMs}).
 * When the answer is complete, its tail is not flushed here: the workflow publishes whatever the activity did not,
 * with the events it publishes anyway, which saves a signal per model call (see `run-lifecycle.ts`).
 */
export class DeltaPublisher {
  private readonly streams: WorkflowStreamClient[];
  private readonly startedAt = Date.now();
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private published = 0;

  constructor(
    private readonly context: RunEventContext,
    private readonly baseWindowMs: number,
    /** The model call's attempt: deltas of a retried call carry it, so the run can drop a superseded attempt's. */
    private readonly attempt = 1,
  ) {
    const activity = Context.current();
    this.streams = [
      WorkflowStreamClient.fromWithinActivity(),
      ...(context.forwardTo ?? []).map((workflowId) => WorkflowStreamClient.create(activity.client, workflowId)),
    ];
  }

  /**
   * A retried attempt says so first, so subscribers drop what the failed attempt streamed instead of seeing two
   * versions of the answer one after the other.
   */
  announceRetry(): void {
    this.publish({ event: RunEvent.runContentReset, attempt: this.attempt });
  }

  add(text: string): void {
    this.pending += text;
    this.timer ??= setTimeout(() => this.flushPending(), this.batchWindowMs());
  }

  /** How much of the answer (UTF-16 code units from its start) went out as deltas. */
  get publishedChars(): number {
    return this.published;
  }

  /**
   * Stops, leaving the unpublished tail to the workflow (which gets the whole answer as the activity's result), and
   * waits until the workflows have every batch, so the deltas come before whatever the run publishes next.
   */
  async closeLeavingTail(): Promise<void> {
    this.dropPending();
    await this.flushAndDispose();
  }

  /** Publishes what is pending, then stops as {@link closeLeavingTail} does: for an answer cut short by a cancel. */
  async close(): Promise<void> {
    this.flushPending();
    await this.flushAndDispose();
  }

  /** Drops what is pending and stops, for an attempt that failed. */
  async abandon(): Promise<void> {
    this.dropPending();
    await this.dispose().catch(() => undefined);
  }

  /** The base window for the first 10 s of an answer, 2.5× up to 60 s, then 10×, but never past 2.5 s. */
  private batchWindowMs(): number {
    const elapsed = Date.now() - this.startedAt;
    const widened = this.baseWindowMs * (elapsed < 10_000 ? 1 : elapsed < 60_000 ? 2.5 : 10);
    return Math.min(widened, Math.max(this.baseWindowMs, 2_500));
  }

  private dropPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }

  private flushPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    this.publish({
      event: RunEvent.runContent,
      content: this.pending,
      ...(this.attempt > 1 ? { attempt: this.attempt } : {}),
    });
    this.published += this.pending.length;
    this.pending = '';
  }

  private publish(body: EventBody): void {
    const event = eventFrom(this.context.source, body, new Date().toISOString());
    for (const stream of this.streams) stream.topic(RUN_EVENTS_TOPIC).publish(event, { forceFlush: true });
  }

  /**
   * Best-effort: a stream that refuses the deltas (a team above that has closed, a run at Temporal's signal limit)
   * costs its subscribers that text, never the model call, which has its answer and is not repeated for this.
   */
  private async flushAndDispose(): Promise<void> {
    await Promise.all(this.streams.map((stream) => stream.flush().catch(() => undefined)));
    await this.dispose().catch(() => undefined);
  }

  private async dispose(): Promise<void> {
    await Promise.all(this.streams.map((stream) => stream[Symbol.asyncDispose]()));
  }
}
