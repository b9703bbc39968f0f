import { defaultPayloadConverter } from '@temporalio/workflow';
import { decodePayloadWire, type WorkflowStream } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, RunEvent, type AgentRunEvent } from '../shared/events';

/**
 * The run's events from `fromIndex` on, read from the workflow's own stream log (deltas published by activities
 * included), each with its `eventIndex`. Used by queries: after a run has closed, a query replays it on a worker and
 * this rebuilds the log, so a finished run's events can still be read.
 */
export function readRunEvents(stream: WorkflowStream, fromIndex = 0): AgentRunEvent[] {
  const state = stream.getState();
  const start = Math.max(fromIndex - state.base_offset, 0);
  return state.log.slice(start).flatMap((entry, i) =>
    entry.topic === RUN_EVENTS_TOPIC
      ? [
          {
            ...defaultPayloadConverter.fromPayload<AgentRunEvent>(decodePayloadWire(entry.data)),
            eventIndex: state.base_offset + start + i,
          },
        ]
      : [],
  );
}

/** The text streamed since the last model request started, minus what a failed attempt streamed. */
export function answerSoFar(events: readonly AgentRunEvent[]): string {
  let answer = '';
  for (const event of events) {
    if (event.event === RunEvent.modelRequestStarted || event.event === RunEvent.runContentReset) answer = '';
    else if (event.event === RunEvent.runContent) answer += event.content;
  }
  return answer;
}
