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
  type PollInput,
  type PollResult,
} from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, type AnyRunEvent } from '../shared/events';
import type { RunInput } from '../shared/specs';
import { EventForwarder } from './event-forwarder';
import { runEventsQuery } from './messages';

/** The patch under which a run's stream ends its subscribers' polls cleanly (see `RunStream.close`). */
const POLLS_END_CLEANLY = 'kern-stream-polls-end-cleanly';

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

  constructor(input: RunInput) {
    this.forwarder = new EventForwarder(input.forwardEventsTo ?? [], `run-${input.runId}`);
    // After a run has closed, the query replays it on a worker, which rebuilds the log: finished runs' events can
    // still be read.
    setHandler(runEventsQuery, (fromIndex) => this.read(fromIndex));
    this.pollOutsideCancellation();
  }

  publish(event: AnyRunEvent): void {
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
