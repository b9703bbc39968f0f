import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  defaultPayloadConverter,
  log,
  setHandler,
  type Payload,
} from '@temporalio/workflow';
import {
  WorkflowStream,
  decodePayloadWire,
  workflowStreamPollUpdate,
  workflowStreamPublishSignal,
  type PollInput,
  type PublishInput,
  type WorkflowStreamState,
  type WorkflowTopicHandle,
} from '@temporalio/workflow-streams/workflow';
import { RUN_EVENTS_TOPIC, RunEvent, TeamRunEvent, isTerminalEvent, type AnyRunEvent } from '../shared/events';
import type { RunInput } from '../shared/specs';
import { EventForwarder } from './event-forwarder';
import { runEventsQuery } from '../shared/messages';
import { missingStreamInternals, streamLog, streamPollHandler, streamPublishHandler } from './stream-internals';
import { hasPatch } from './patches';

/** The patch under which a run's stream ends its subscribers' polls cleanly (see `RunStream.close`). */
const POLLS_END_CLEANLY = 'kern-stream-polls-end-cleanly';

/**
 * The patch under which a member or step run forwards its `RunContent` to the runs above only when the run is streamed
 * live (see `RunStream.publish`). Runs started before it forwarded all of it; they replay so.
 */
const CONTENT_FORWARDED_ONLY_LIVE = 'kern-member-content-forwarded-only-live';

/** The patch under which a run's stream drops the deltas of a superseded model call attempt (see `RunStream`). */
const DROPS_SUPERSEDED_DELTAS = 'kern-drop-superseded-deltas';

/** What one carried log entry adds to its base64 data as JSON (`{"topic":"events","data":"…","offset":0}`). */
const LOG_ENTRY_JSON_BYTES = 48;

/** About how much of the run's events one `runEvents` query answers (the events' encoded sizes added up). */
const MAX_EVENTS_PAGE_BYTES = 1_000_000;

/** What a run's stream carries into its next execution: the stream's state, and its forwarder's batch count. */
export interface CarriedStream {
  stream: WorkflowStreamState;
  forwardedBatches: number;
}

/** One event of the log, decoded, with its index and encoded size. */
interface DecodedEntry {
  event: AnyRunEvent;
  bytes: number;
}

function isContentEvent(event: AnyRunEvent): boolean {
  return event.event === RunEvent.runContent || event.event === TeamRunEvent.runContent;
}

function decodeEntry(topic: string, payload: Payload, eventIndex: number): DecodedEntry | null {
  if (topic !== RUN_EVENTS_TOPIC) return null;
  const event = { ...defaultPayloadConverter.fromPayload<AnyRunEvent>(payload), eventIndex };
  return { event, bytes: payload.data?.length ?? 0 };
}

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
  private readonly stream: WorkflowStream;
  private readonly topic: WorkflowTopicHandle<AnyRunEvent>;
  private readonly forwarder: EventForwarder;
  private closed = false;
  /** The run is handing its stream to its next execution (see {@link handOver}). */
  private continuing = false;
  /** Runs started before this patch leave polls open when they end (and fail them on a cancel); they replay so. */
  private readonly endsPollsCleanly = hasPatch(POLLS_END_CLEANLY);
  /** By run id (this run's and its members'): the attempt of the model call now streaming, once one was retried. */
  private readonly streamingAttempts = new Map<string, number>();
  /** True when the run is streamed live (or has no runs above): its text goes to the runs above as it comes. */
  private readonly forwardsContent: boolean;
  /** The runs (this one, its members and steps) whose terminal event the stream has. */
  private readonly endedRuns = new Set<string>();
  /** The log's entries decoded so far, by position (see {@link decoded}). */
  private readonly decodedEntries: Array<DecodedEntry | null> = [];
  /**
   * The index of the log's first entry: 0, unless an earlier execution of the run, continuing as new with a log too
   * large to carry whole, left the events before it behind (see {@link carriedState}).
   */
  private readonly baseOffset: number;

  constructor(input: RunInput) {
    // A run that continued as new goes on with the stream its earlier executions had: every event, the same indexes.
    const continued = input.continued;
    this.stream = new WorkflowStream(continued?.stream);
    this.baseOffset = continued?.stream.base_offset ?? 0;
    this.topic = this.stream.topic<AnyRunEvent>(RUN_EVENTS_TOPIC);
    this.forwardsContent = input.liveStream === true || !input.forwardEventsTo?.length;
    this.forwarder = new EventForwarder(
      input.forwardEventsTo ?? [],
      `run-${input.runId}`,
      continued?.forwardedBatches ?? 0,
    );
    if (continued) for (const event of this.read()) if (isTerminalEvent(event)) this.endedRuns.add(event.runId);
    // After a run has closed, the query replays it on a worker, which rebuilds the log: finished runs' events can
    // still be read.
    setHandler(runEventsQuery, (fromIndex) => this.readPage(fromIndex));
    const missing = missingStreamInternals(this.stream);
    if (missing.length > 0) {
      log.warn(`kern: @temporalio/workflow-streams lacks ${missing.join(', ')}; see workflows/stream-internals.ts`);
    }
    this.pollOutsideCancellation();
    this.dropSupersededDeltas();
  }

  publish(event: AnyRunEvent): void {
    // The run's own events are all kept; its ModelRequestStarted ends the previous call's attempts.
    this.admit(event);
    this.topic.publish(event);
    // The runs above get its text only when someone streams it live (its model activity forwards its deltas then
    // too); otherwise they get its life (start, tools, pauses, end, with the whole answer) and no partial text.
    // The patch is asked for only at the first text held back, so runs with nothing to hold back record no marker.
    const heldBack = !this.forwardsContent && isContentEvent(event) && hasPatch(CONTENT_FORWARDED_ONLY_LIVE);
    if (!heldBack) this.forwarder.forward(event);
  }

  read(fromIndex = 0): AnyRunEvent[] {
    return this.decoded(fromIndex).flatMap((entry) => (entry ? [entry.event] : []));
  }

  /**
   * What the `runEvents` query answers: the events from `fromIndex` on, up to about {@link MAX_EVENTS_PAGE_BYTES}
   * (at least one event), so an answer stays far below Temporal's payload limits however long the run's stream is.
   * Subscribers ask again from the next index when a page was full.
   */
  private readPage(fromIndex = 0): AnyRunEvent[] {
    const page: AnyRunEvent[] = [];
    let bytes = 0;
    for (const entry of this.decoded(fromIndex)) {
      if (!entry) continue;
      bytes += entry.bytes;
      if (page.length > 0 && bytes > MAX_EVENTS_PAGE_BYTES) break;
      page.push(entry.event);
    }
    return page;
  }

  /**
   * The log from `fromIndex` on, decoded: each entry once, the first time it is read (polls and queries read the
   * stream many times a second, and a long answer's log holds thousands of entries). `null` for an entry of another
   * topic. The stream's log is read as the pinned package keeps it (see `stream-internals.ts`); without it, the
   * stream's public state is decoded instead.
   */
  private decoded(fromIndex: number): ReadonlyArray<DecodedEntry | null> {
    // The log holds the events from the base on (see `handOver`): the entry at position i has index base + i.
    const start = Math.max(fromIndex - this.baseOffset, 0);
    const log = streamLog(this.stream);
    if (!log) {
      const entries = this.stream.getState().log.slice(start);
      return entries.map((entry, i) =>
        decodeEntry(entry.topic, decodePayloadWire(entry.data), this.baseOffset + start + i),
      );
    }
    for (let i = this.decodedEntries.length; i < log.length; i++) {
      this.decodedEntries.push(decodeEntry(log[i]!.topic, log[i]!.payload, this.baseOffset + i));
    }
    return this.decodedEntries.slice(start);
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
   * What the stream would carry into the run's next execution now: its whole log when it fits in `maxLogBytes` (as
   * JSON), else as many of its latest entries as fit; the indexes go on from where they were either way.
   */
  carriedState(maxLogBytes = Infinity): CarriedStream {
    const state = this.stream.getState();
    let bytes = 0;
    let first = state.log.length;
    while (first > 0) {
      const size = state.log[first - 1]!.data.length + LOG_ENTRY_JSON_BYTES;
      if (bytes + size > maxLogBytes) break;
      bytes += size;
      first--;
    }
    const stream =
      first === 0 ? state : { ...state, log: state.log.slice(first), base_offset: state.base_offset + first };
    return { stream, forwardedBatches: this.forwarder.batchesSent };
  }

  /**
   * Hands the stream over to the run's next execution (continue-as-new): every event delivered to the teams above,
   * the subscribers' polls answered (they follow the run to its next execution), new ones refused meanwhile. Returns
   * what the next execution starts its stream from (see {@link carriedState}).
   */
  async handOver(maxLogBytes: number): Promise<CarriedStream> {
    await this.drain();
    this.continuing = true;
    this.stream.detachPollers();
    await condition(allHandlersFinished);
    return this.carriedState(maxLogBytes);
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
    if (!hasPatch(DROPS_SUPERSEDED_DELTAS)) return;
    const publish = streamPublishHandler(this.stream);
    if (!publish) return;
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

  /**
   * Tracks the attempt each run's model call is streaming; false for a delta (or reset) of a superseded attempt, and
   * for a delta of a run that has ended: a run cancelled without waiting for its model call (see `untilCancelled` in
   * `model-loop.ts`) can still get the call's last batch, which must not follow its `RunCancelled`.
   */
  private admit(event: AnyRunEvent): boolean {
    if (isTerminalEvent(event)) this.endedRuns.add(event.runId);
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
        return (event.attempt ?? 1) >= current && !this.endedRuns.has(event.runId);
      default:
        return true;
    }
  }

  /**
   * Subscribers' polls are update handlers, which run in the workflow's root scope. A cancel of the run cancels that
   * scope, so a waiting poll would fail ("Workflow cancelled", a failed update in the history) instead of getting
   * the run's last events. The stream's own handler is wrapped to wait in a scope that a cancel does not reach.
   * It is a private method of the pinned package (see `stream-internals.ts`): without it, the stream's own handler
   * stays, and only the cancel case is affected.
   */
  private pollOutsideCancellation(): void {
    if (!this.endsPollsCleanly) return;
    const poll = streamPollHandler(this.stream);
    if (!poll) return;
    setHandler(workflowStreamPollUpdate, (input: PollInput) => CancellationScope.nonCancellable(() => poll(input)), {
      validator: (_input: PollInput) => {
        // The stream's own refusal while it detaches: subscribers know it and read the closed run instead.
        if (this.closed) throw ApplicationFailure.create({ type: 'StreamDraining', message: 'the run has ended' });
        if (this.continuing) {
          throw ApplicationFailure.create({ type: 'StreamDraining', message: 'the run is continuing as new' });
        }
      },
    });
  }
}
