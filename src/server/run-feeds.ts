import type { KernClient } from '../client/kern-client';
import type { AnyRunEvent } from '../shared/events';

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
    let feed = this.feeds.get(runId);
    if (!feed || feed.closed) {
      feed = new RunFeed(this.client, runId, fromIndex, () => {
        if (this.feeds.get(runId) === feed) this.feeds.delete(runId);
      });
      this.feeds.set(runId, feed);
    }
    yield* feed.follow(fromIndex, signal);
  }

  /**
   * The events this process has already read of a live run from `fromIndex` on, or `undefined` when it holds none
   * that far back: a viewer joining a run others watch catches up from here, at no cost to the run.
   */
  buffered(runId: string, fromIndex: number): AnyRunEvent[] | undefined {
    const feed = this.feeds.get(runId);
    return feed && !feed.closed ? feed.bufferedFrom(fromIndex) : undefined;
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

  bufferedFrom(fromIndex: number): AnyRunEvent[] | undefined {
    return fromIndex < this.start ? undefined : this.events.slice(fromIndex - this.start);
  }

  async *follow(fromIndex: number, signal: AbortSignal): AsyncGenerator<AnyRunEvent, void> {
    const left = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.viewers += 1;
    try {
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
      for await (const event of this.client.subscribe(this.runId, { fromIndex: this.start, signal })) {
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
