import { defaultPayloadConverter } from '@temporalio/workflow';
import { decodePayloadWire, type WorkflowStream } from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, RunEvent, baseEventName, type KernRunEvent } from '../shared/events';

/**
 * The run's events from `fromIndex` on, read from the workflow's own stream log (deltas published by activities and
 * events forwarded by member runs included), each with its `eventIndex`. Used by queries: after a run has closed, a
 * query replays it on a worker and this rebuilds the log, so a finished run's events can still be read.
 */
export function readRunEvents(stream: WorkflowStream, fromIndex = 0): KernRunEvent[] {
  const state = stream.getState();
  const start = Math.max(fromIndex - state.base_offset, 0);
  return state.log.slice(start).flatMap((entry, i) =>
    entry.topic === RUN_EVENTS_TOPIC
      ? [
          {
            ...defaultPayloadConverter.fromPayload<KernRunEvent>(decodePayloadWire(entry.data)),
            eventIndex: state.base_offset + start + i,
          },
        ]
      : [],
  );
}

/** The text run `runId` has streamed since its last model request started, minus what a failed attempt streamed. */
export function answerSoFar(events: readonly KernRunEvent[], runId: string): string {
  let answer = '';
  for (const event of events) {
    if (event.runId !== runId || 'workflowId' in event) continue;
    const name = baseEventName(event);
    if (name === RunEvent.modelRequestStarted || name === RunEvent.runContentReset) answer = '';
    else if (name === RunEvent.runContent && 'content' in event) answer += event.content;
  }
  return answer;
}

/** What a member run said before it was cancelled, from its forwarded `RunCancelled` event. */
export function cancelledContent(events: readonly KernRunEvent[], runId: string): string | null | undefined {
  const cancelled = events.find(
    (event) => event.runId === runId && !('workflowId' in event) && baseEventName(event) === RunEvent.runCancelled,
  );
  return cancelled && 'content' in cancelled ? cancelled.content : undefined;
}
