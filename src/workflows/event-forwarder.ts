import { CancellationScope, defaultPayloadConverter, getExternalWorkflowHandle } from '@temporalio/workflow';
import { encodePayloadWire, workflowStreamPublishSignal } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, type KernRunEvent } from '../shared/events';

/**
 * Forwards a member run's events to the streams of the teams above it, so a team's subscribers see its members'
 * runs. Events published in one go are sent as one batch (one signal per team), through the streams' own publish
 * signal, whose publisher id and sequence number let a stream drop a batch it already has.
 */
export class EventForwarder {
  private pending: KernRunEvent[] = [];
  private sequence = 0;
  private inFlight: Array<Promise<void>> = [];

  constructor(
    private readonly targets: readonly string[],
    private readonly publisherId: string,
  ) {}

  forward(event: KernRunEvent): void {
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
    for (const target of this.targets) {
      // Not cancellable: a cancelled member must still tell its team that it was cancelled. A team that has
      // already closed cannot be told; its subscribers read what it recorded.
      const sent = CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(target).signal(workflowStreamPublishSignal, input),
      ).catch(() => undefined);
      this.inFlight.push(sent);
    }
  }

  /**
   * Sends what is pending and waits until every batch has been delivered. A member run calls this before it closes:
   * signal delivery and the child's completion reach the team independently, so without it the team could see its
   * member finish before the member's last events.
   */
  async drain(): Promise<void> {
    this.flush();
    const sending = this.inFlight;
    this.inFlight = [];
    await Promise.all(sending);
  }
}
