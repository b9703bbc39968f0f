import { defaultPayloadConverter, setHandler } from '@temporalio/workflow';
import { WorkflowStream, decodePayloadWire } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, type AnyRunEvent } from '../shared/events';
import type { RunInput } from '../shared/specs';
import { EventForwarder } from './event-forwarder';
import { runEventsQuery } from './messages';

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

  constructor(input: RunInput) {
    this.forwarder = new EventForwarder(input.forwardEventsTo ?? [], `run-${input.runId}`);
    // After a run has closed, the query replays it on a worker, which rebuilds the log: finished runs' events can
    // still be read.
    setHandler(runEventsQuery, (fromIndex) => this.read(fromIndex));
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
}
