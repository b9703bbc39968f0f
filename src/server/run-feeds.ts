import type { KernClient } from '../client/kern-client';
import type { AnyRunEvent } from '../shared/events';

/** What {@link RunFeeds.join} yields once a viewer has every event the feed held after its first read. */
export const CAUGHT_UP = Symbol('caught up');

/**
 * One live Temporal subscription per run in this process, shared by every SSE and WebSocket viewer of the run.
 *
 * A run's stream is read by query, which costs the run's history nothing, but each query is work for a worker. So
 * however many viewers a run has here, its worker answers the queries of one. Each viewer reads the feed's buffer
 * at its own pace: a slow or departed viewer never holds up the run or the others.
 * The feed stops, and its buffer is dropped, when its last viewer leaves or the run ends: then it reads nothing more,
 * also from a quiet run (paused, or in a long tool call).
 */
export class RunFeeds {
  private readonly feeds = new Map<string, RunFeed>();

  constructor(private readonly client: KernClient) {}

  /**
   * The run's events from `fromIndex` on (inclusive), then live ones until the run ends: each exactly once, in order.
   * Ends early when `signal` aborts (the viewer left).
   */
  async *follow(runId: string, fromIndex: number, signal: AbortSignal): AsyncGenerator<AnyRunEvent, void> {
    for await (const item of this.join(runId, fromIndex, signal)) if (item !== CAUGHT_UP) yield item;
  }

  /**
   * {@link follow}, with {@link CAUGHT_UP} once between the events that were there to read when the viewer joined
   * (those this process held, or the feed's first read brought) and the ones that came after: a resumed stream's
   * `catch_up`, then `subscribed`. A feed started for this viewer reads the run once to know; joining never costs
   * the run a read of its own.
   */
  async *join(runId: string, fromIndex: number, signal: AbortSignal): AsyncGenerator<AnyRunEvent | typeof CAUGHT_UP> {
    let feed = this.feeds.get(runId);
    if (!feed || feed.closed) {
      feed = new RunFeed(this.client, runId, fromIndex, () => {
        if (this.feeds.get(runId) === feed) this.feeds.delete(runId);
      });
      this.feeds.set(runId, feed);
    }
    yield* feed.follow(fromIndex, signal);
  }

  /** Stops every feed; their viewers end. */
  close(): void {
    for (const feed of this.feeds.values()) feed.stop();
    this.feeds.clear();
  }
}

/** One run's shared subscription and the events it has read, from `start` on. */
class RunFeed {
  private readonly events: AnyRunEvent[] = [];
  /** Aborted when the feed stops: its subscription reads nothing more, even from a quiet run. */
  private readonly reading = new AbortController();
  private viewers = 0;
  private ended = false;
  private stopped = false;
  /** True once the subscription has read the run once: what was there to read is in `events`. */
  private read = false;
  private failure: unknown;
  private wake: () => void = () => {};
  private changed: Promise<void> = this.nextChange();

  constructor(
    private readonly client: KernClient,
    private readonly runId: string,
    private readonly start: number,
    private readonly onClose: () => void,
  ) {
    void this.pump();
  }

  /** True once the feed has stopped reading; a new viewer then needs a new feed. */
  get closed(): boolean {
    return this.ended || this.stopped;
  }

  async *follow(fromIndex: number, signal: AbortSignal): AsyncGenerator<AnyRunEvent | typeof CAUGHT_UP, void> {
    const left = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.viewers += 1;
    try {
      let caughtUp = false;
      let next = fromIndex;
      if (next < this.start) {
        // This viewer wants events from before the feed began (it joined a feed another viewer started later in the
        // run): read those once, then go on from the feed's buffer.
        const earlier = await this.client.eventsSoFar(this.runId, next);
        for (const event of earlier?.events ?? []) {
          if ((event.eventIndex ?? 0) >= this.start) break;
          yield event;
          next = (event.eventIndex ?? next) + 1;
        }
        next = Math.max(next, this.start);
      }
      for (;;) {
        while (next - this.start < this.events.length) {
          const event = this.events[next - this.start];
          next += 1;
          if (event) yield event;
          if (signal.aborted) return;
        }
        if (!caughtUp && (this.read || this.ended)) {
          caughtUp = true;
          yield CAUGHT_UP;
          continue;
        }
        if (this.ended) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        if (this.stopped || signal.aborted) return;
        await Promise.race([this.changed, left]);
      }
    } finally {
      this.viewers -= 1;
      if (this.viewers === 0) this.stop();
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reading.abort();
    this.onClose();
    this.notify();
  }

  private async pump(): Promise<void> {
    try {
      const signal = this.reading.signal;
      const afterRead = () => {
        if (this.read) return;
        this.read = true;
        this.notify();
      };
      for await (const event of this.client.subscribe(this.runId, { fromIndex: this.start, signal, afterRead })) {
        this.events.push(event);
        this.notify();
      }
    } catch (err) {
      this.failure = err;
    } finally {
      this.ended = true;
      this.onClose();
      this.notify();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.changed = this.nextChange();
    wake();
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}
