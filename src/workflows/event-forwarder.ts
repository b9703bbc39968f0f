import { CancellationScope, defaultPayloadConverter, getExternalWorkflowHandle, patched } from '@temporalio/workflow';
import { encodePayloadWire, workflowStreamPublishSignal } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, type AnyRunEvent } from '../shared/events';

/**
 * Runs started before this patch sent batches side by side (and could lose one that overtook another); they replay
 * that way. Runs started since send them in order.
 */
const ORDERED_FORWARDING = 'kern-ordered-event-forwarding';

/**
 * Forwards a member run's events to the streams of the teams above it, so a team's subscribers see its members'
 * runs. Events published in one go are sent as one batch (one signal per team), through the streams' own publish
 * signal, whose publisher id and sequence number let a stream drop a batch it already has. Because a stream drops
 * any batch whose sequence number is not above the last one it took, batches go out strictly one after another.
 */
export class EventForwarder {
  private pending: AnyRunEvent[] = [];
  private sequence = 0;
  /** The last batch sent: the next one is sent once it has been delivered. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly targets: readonly string[],
    private readonly publisherId: string,
  ) {}

  forward(event: AnyRunEvent): void {
    if (this.targets.length === 0) return;
    this.pending.push(event);
    // Flush once the current synchronous burst of events is done (a microtask: deterministic in the sandbox).
    if (this.pending.length === 1) void Promise.resolve().then(() => this.flush());
  }

  /** Sends what is pending now, without waiting for delivery. */
  flush(): void {
    if (this.pending.length === 0) return;
    const input = {
      items: this.pending.map((event) => ({
        topic: RUN_EVENTS_TOPIC,
        data: encodePayloadWire(defaultPayloadConverter.toPayload(event)),
      })),
      publisher_id: this.publisherId,
      sequence: ++this.sequence,
    };
    this.pending = [];
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
    if (patched(ORDERED_FORWARDING)) this.sending = this.sending.then(send);
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
