import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  defaultPayloadConverter,
  patched,
  setHandler,
} from '@temporalio/workflow';
import {
  WorkflowStream,
  decodePayloadWire,
  workflowStreamPollUpdate,
  workflowStreamPublishSignal,
  type PollInput,
  type PollResult,
  type PublishInput,
} from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, RunEvent, TeamRunEvent, type AnyRunEvent } from '../shared/events';
import type { RunInput } from '../shared/specs';
import { EventForwarder } from './event-forwarder';
import { runEventsQuery } from './messages';

/** The patch under which a run's stream ends its subscribers' polls cleanly (see `RunStream.close`). */
const POLLS_END_CLEANLY = 'kern-stream-polls-end-cleanly';

/** The patch under which a run's stream drops the deltas of a superseded model call attempt (see `RunStream`). */
const DROPS_SUPERSEDED_DELTAS = 'kern-drop-superseded-deltas';

/** A run's event log, as its state sees it: where it publishes, and what it has published so far. */
export interface RunEventLog {
  publish(event: AnyRunEvent): void;
  /**
   * The events from `fromIndex` on, each with its `eventIndex`: the run's own, the content deltas its model
   * activities published, and the events its members forwarded.
   */
  read(fromIndex?: number): AnyRunEvent[];
}

/**
 * The run's stream (`@temporalio/workflow-streams`, topic `events`): what subscribers poll, and what the `runEvents`
 * query reads. Events the run publishes also go to the streams of the teams above it. Created first thing in a
 * workflow, because the stream registers its signal and update handlers.
 */
export class RunStream implements RunEventLog {
  private readonly stream = new WorkflowStream();
  private readonly topic = this.stream.topic<AnyRunEvent>(RUN_EVENTS_TOPIC);
  private readonly forwarder: EventForwarder;
  private closed = false;
  /** Runs started before this patch leave polls open when they end (and fail them on a cancel); they replay so. */
  private readonly endsPollsCleanly = patched(POLLS_END_CLEANLY);
  /** By run id (this run's and its members'): the attempt of the model call now streaming, once one was retried. */
  private readonly streamingAttempts = new Map<string, number>();

  constructor(input: RunInput) {
    this.forwarder = new EventForwarder(input.forwardEventsTo ?? [], `run-${input.runId}`);
    // After a run has closed, the query replays it on a worker, which rebuilds the log: finished runs' events can
    // still be read.
    setHandler(runEventsQuery, (fromIndex) => this.read(fromIndex));
    this.pollOutsideCancellation();
    this.dropSupersededDeltas();
  }

  publish(event: AnyRunEvent): void {
    // The run's own events are all kept; its ModelRequestStarted ends the previous call's attempts.
    this.admit(event);
    this.topic.publish(event);
    this.forwarder.forward(event);
  }

  read(fromIndex = 0): AnyRunEvent[] {
    const state = this.stream.getState();
    const start = Math.max(fromIndex - state.base_offset, 0);
    return state.log.slice(start).flatMap((entry, i) =>
      entry.topic === RUN_EVENTS_TOPIC
        ? [
            {
              ...defaultPayloadConverter.fromPayload<AnyRunEvent>(decodePayloadWire(entry.data)),
              eventIndex: state.base_offset + start + i,
            },
          ]
        : [],
    );
  }

  /**
   * Waits until every event was delivered to the teams above. A member calls it before it closes: signals and the
   * child's completion reach the team independently, so without it the team could see its member end first.
   */
  drain(): Promise<void> {
    return this.forwarder.drain();
  }

  /**
   * Ends the stream as the run ends, after its last event: the polls that wait return what is there, new ones are
   * refused (subscribers then read the closed run), and the run waits until every poll has been answered. So no
   * poll is left open to fail when the run closes.
   */
  async close(): Promise<void> {
    if (!this.endsPollsCleanly) return;
    this.closed = true;
    this.stream.detachPollers();
    await condition(allHandlersFinished);
  }

  /**
   * Model activities publish their deltas to the stream themselves, by signal. An attempt that Temporal has given up
   * on (its worker was cut off, its heartbeat timed out) can still publish once it reconnects, while the retried
   * attempt streams: its text would mix into the new answer. Incoming batches are therefore filtered: once an
   * attempt has announced itself (`RunContentReset`), deltas of earlier attempts of that call are dropped, until
   * the run's next model call starts. Like the poll handler below, this replaces the stream's own (private) signal
   * handler, and keeps its sequence numbers, which drop a batch delivered twice.
   */
  private dropSupersededDeltas(): void {
    if (!patched(DROPS_SUPERSEDED_DELTAS)) return;
    const handler = (this.stream as unknown as { onPublish?: (input: PublishInput) => void }).onPublish;
    if (typeof handler !== 'function') return;
    const publish = handler.bind(this.stream);
    setHandler(workflowStreamPublishSignal, (input: PublishInput) => {
      const admitted: AnyRunEvent[] = [];
      const items = input.items.filter((item) => {
        if (item.topic !== RUN_EVENTS_TOPIC) return true;
        const event = defaultPayloadConverter.fromPayload<AnyRunEvent>(decodePayloadWire(item.data));
        if (!this.admit(event)) return false;
        admitted.push(event);
        return true;
      });
      publish({ ...input, items });
      // A batch delivered twice is dropped by the stream, but passed on here again: listeners take events idempotently.
      for (const event of admitted) this.onEventFromBelow?.(event);
    });
  }

  /** Told of each event that reached this run's stream from below: its members' and steps' runs, and its activities. */
  onEventFromBelow?: (event: AnyRunEvent) => void;

  /** Tracks the attempt each run's model call is streaming; false for a delta (or reset) of a superseded attempt. */
  private admit(event: AnyRunEvent): boolean {
    const current = this.streamingAttempts.get(event.runId) ?? 1;
    switch (event.event) {
      case RunEvent.modelRequestStarted:
      case TeamRunEvent.modelRequestStarted:
        this.streamingAttempts.delete(event.runId);
        return true;
      case RunEvent.runContentReset:
      case TeamRunEvent.runContentReset:
        if (event.attempt < current) return false;
        this.streamingAttempts.set(event.runId, event.attempt);
        return true;
      case RunEvent.runContent:
      case TeamRunEvent.runContent:
        return (event.attempt ?? 1) >= current;
      default:
        return true;
    }
  }

  /**
   * Subscribers' polls are update handlers, which run in the workflow's root scope. A cancel of the run cancels that
   * scope, so a waiting poll would fail ("Workflow cancelled", a failed update in the history) instead of getting
   * the run's last events. The stream's own handler is wrapped to wait in a scope that a cancel does not reach.
   * It is a private method of `@temporalio/workflow-streams` 1.23.0 (pinned): without it, the stream's own handler
   * stays, and only the cancel case is affected.
   */
  private pollOutsideCancellation(): void {
    if (!this.endsPollsCleanly) return;
    const handler = (this.stream as unknown as { onPoll?: (input: PollInput) => Promise<PollResult> }).onPoll;
    if (typeof handler !== 'function') return;
    const poll = handler.bind(this.stream);
    setHandler(workflowStreamPollUpdate, (input: PollInput) => CancellationScope.nonCancellable(() => poll(input)), {
      validator: (_input: PollInput) => {
        // The stream's own refusal while it detaches: subscribers know it and read the closed run instead.
        if (this.closed) throw ApplicationFailure.create({ type: 'StreamDraining', message: 'the run has ended' });
      },
    });
  }
}
