import { CancellationScope, defaultPayloadConverter, getExternalWorkflowHandle } from '@temporalio/workflow';
import { encodePayloadWire, workflowStreamPublishSignal } from '@temporalio/workflow-streams/workflow';
import type { Payload } from '@temporalio/common';
import { RUN_EVENTS_TOPIC, type AnyRunEvent } from '../shared/events';
import { cutStrings, truncateToJsonBytes } from '../shared/limits';
import { hasPatch } from './patches';

/**
 * Runs started before this patch sent batches side by side (and could lose one that overtook another); they replay
 * that way. Runs started since send them in order.
 */
const ORDERED_FORWARDING = 'kern-ordered-event-forwarding';

/** Runs started before this patch sent a burst of events as one signal, however large; they replay that way. */
const BATCHES_WITHIN_BOUND = 'kern-forwarded-batches-within-1mb';

/**
 * Forwards a member run's events to the streams of the teams above it, so a team's subscribers see its members'
 * runs. Events published in one go are sent as one batch (one signal per team; several past 1 MB), through the streams' own publish
 * signal, whose publisher id and sequence number let a stream drop a batch it already has. Because a stream drops
 * any batch whose sequence number is not above the last one it took, batches go out strictly one after another.
 */
export class EventForwarder {
  private pending: AnyRunEvent[] = [];
  /** The last batch sent: the next one is sent once it has been delivered. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly targets: readonly string[],
    private readonly publisherId: string,
    /** How many batches were sent before (by the run's earlier executions): numbering goes on from there. */
    private sequence = 0,
  ) {}

  /** How many batches have been sent so far. */
  get batchesSent(): number {
    return this.sequence;
  }

  forward(event: AnyRunEvent): void {
    if (this.targets.length === 0) return;
    this.pending.push(event);
    // Flush once the current synchronous burst of events is done (a microtask: deterministic in the sandbox).
    if (this.pending.length === 1) void Promise.resolve().then(() => this.flush());
  }

  /**
   * Sends what is pending now, without waiting for delivery: in batches of at most {@link MAX_BATCH_BYTES} (a signal
   * past 2 MB would fail the run's workflow task for good), in order.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    const encoded = events.map((event) => defaultPayloadConverter.toPayload(event));
    const total = encoded.reduce((sum, payload) => sum + (payload.data?.length ?? 0), 0);
    // Runs started before the split sent any burst as one signal; they replay so. The marker is written only when
    // a burst is over the bound, so it costs nothing in the common case.
    if (total <= MAX_BATCH_BYTES || !hasPatch(BATCHES_WITHIN_BOUND)) return this.send(encoded);
    const payloads = events.map((event, i) =>
      (encoded[i]!.data?.length ?? 0) > MAX_BATCH_BYTES ? boundedPayload(event) : encoded[i]!,
    );
    let batch: typeof payloads = [];
    let bytes = 0;
    for (const payload of payloads) {
      const size = payload.data?.length ?? 0;
      if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) {
        this.send(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(payload);
      bytes += size;
    }
    this.send(batch);
  }

  private send(payloads: Payload[]): void {
    const input = {
      items: payloads.map((payload) => ({ topic: RUN_EVENTS_TOPIC, data: encodePayloadWire(payload) })),
      publisher_id: this.publisherId,
      sequence: ++this.sequence,
    };
    const send = () =>
      Promise.all(
        this.targets.map((target) =>
          // Not cancellable: a cancelled member must still tell its team that it was cancelled. A team that has
          // already closed cannot be told; its subscribers read what it recorded.
          CancellationScope.nonCancellable(() =>
            getExternalWorkflowHandle(target).signal(workflowStreamPublishSignal, input),
          ).catch(() => undefined),
        ),
      ).then(() => undefined);
    if (hasPatch(ORDERED_FORWARDING)) this.sending = this.sending.then(send);
    else this.sending = Promise.all([this.sending, send()]).then(() => undefined);
  }

  /**
   * Sends what is pending and waits until every batch has been delivered. A member run calls this before it closes:
   * signal delivery and the child's completion reach the team independently, so without it the team could see its
   * member finish before the member's last events.
   */
  async drain(): Promise<void> {
    this.flush();
    await this.sending;
  }
}

/** The most one forwarding signal carries, well under Temporal's 2 MB payload limit. */
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * An event as a payload of at most {@link MAX_BATCH_BYTES}: one larger than that (a tool result of 100,000 control
 * characters is 600 KB) has every text over a falling bound cut, each cut saying so, until it fits. The member's own
 * stream keeps it whole.
 */
function boundedPayload(event: AnyRunEvent): Payload {
  const bounded = JSON.parse(JSON.stringify(event)) as AnyRunEvent;
  let payload = defaultPayloadConverter.toPayload(bounded);
  for (const maxBytes of [256 * 1024, 64 * 1024, 16 * 1024, 4 * 1024, 1024, 256]) {
    if ((payload.data?.length ?? 0) <= MAX_BATCH_BYTES) return payload;
    cutStrings(bounded, (text) => truncateToJsonBytes(text, maxBytes, 'events forwarded to a team stay under 1 MB'));
    payload = defaultPayloadConverter.toPayload(bounded);
  }
  return payload;
}
