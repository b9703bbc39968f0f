import { hostname } from 'node:os';
import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowUpdateFailedError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowStartOptions,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import {
  FINAL_OUTPUT_MEMO,
  PAUSE_MEMO,
  continueRunUpdate,
  exactPartialOnCancelSignal,
  runEventsQuery,
  runOutputQuery,
  sessionQuery,
} from '../workflows/messages';
import {
  RequirementAnswersInvalid,
  RunEventsUnavailable,
  RunIdInUseError,
  RunNotFound,
  RunNotPaused,
  SessionUnavailable,
  TemporalUnreachable,
} from '../shared/errors';
import { isTerminalEventOf, type AnyRunEvent } from '../shared/events';
import { runIdOfWorkflow, workflowIdForRun } from '../shared/ids';
import { RUN_RECORD_MEMO, outputFromRecord, runRecordOf, type RunRecord } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import {
  ANSWERS_INVALID,
  RUN_NOT_PAUSED,
  answersProblem,
  type ContinueRequest,
  type RequirementAnswer,
  type RunRequirement,
} from '../shared/requirements';
import { readRunOutput, recordOfExecution } from '../shared/saved-runs';
import {
  kernComponentIdKey,
  kernKindKey,
  kernStatusKey,
  kernUserIdKey,
  runSearchAttributes,
} from '../shared/search-attributes';
import {
  SESSION_MEMO,
  SESSION_START_DELAY,
  SESSION_WORKFLOW_TYPE,
  neverWritten,
  sessionWorkflowOptions,
  type SessionMemo,
} from '../shared/session-workflow';
import { newSession, workflowIdForSession, type SessionState, type SessionSummary } from '../shared/sessions';
import {
  countExecutions,
  listPage,
  pageLimit,
  runsQuery,
  sessionIdOfWorkflow,
  sessionsQuery,
  type RunListFilter,
  type RunPage,
  type SessionInfo,
  type SessionListFilter,
  type SessionPage,
} from './listing';

import { tracingPlugin, type TracingOptions } from './tracing';
import { KernSchedule, createSchedule, listSchedules, type ScheduleInfo } from './schedules';
export type { RunListFilter, RunPage, SessionInfo, SessionListFilter, SessionPage } from './listing';

/** A session as {@link KernClient.getSession} reads it. */
export interface Session {
  sessionId: string;
  /** The start of the input of the run that created the session. */
  name?: string;
  /** The component whose run created the session. */
  componentId?: string;
  userId?: string;
  /** The state as it stands: what completed runs and their tools left in it. */
  sessionState: SessionState;
  /** Its newest top-level runs, at most 100, oldest first. */
  runs: AnyRunOutput[];
  createdAt: string;
  updatedAt: string;
}
import { runDetails, runSummary } from '../shared/run-labels';
import { RUN_WORKFLOW_TYPES, type RunInput, type RunKind } from '../shared/specs';

/** How to reach Temporal. Unset fields come from the environment, then from the defaults. */
export interface KernClientOptions {
  /** `TEMPORAL_ADDRESS`, default `localhost:7233`. */
  address?: string;
  /** `TEMPORAL_NAMESPACE`, default `default`. */
  namespace?: string;
  /** `KERN_TASK_QUEUE`, default `kern`: where runs are started, and what workers listen on. */
  taskQueue?: string;
  /** An existing Temporal client to use instead of connecting. */
  client?: Client;
  /** Who this client is in Temporal's history (who cancelled a run, for example); default `kern client @ <host>`. */
  identity?: string;
  /**
   * OpenTelemetry tracing of what this client asks Temporal (`StartWorkflow:agentRun`, queries, cancels), as the
   * parents of the workers' spans (see `TracingOptions`; `recordContent` is the worker's). Not with `client`: give
   * that one Temporal's `OpenTelemetryPlugin` yourself.
   */
  tracing?: Omit<TracingOptions, 'recordContent'>;
}

/** Who cancelled before a run started, as far as the caller knows: the kind and id of the component. */
export interface CancelIntent {
  kind: RunKind;
  componentId: string;
}

/** How {@link KernClient.cancelRun} cancels. */
export interface CancelOptions {
  /**
   * Keep the exact answer so far as the run's `content`. By default a cancelled run ends at once, with the answer its
   * stream carried (all but the last batch window of text: 80 ms for a streamed run, up to a second or more for a
   * background one). With this, it ends once its model call has stopped and reported every token it had: about a
   * heartbeat interval (250 ms by default) later, and one signal more in its history. Applies to the run's own model
   * call; its members' and steps' runs keep what they streamed.
   */
  exactPartial?: boolean;
  /** What the run will be, when the caller knows: the record of a cancel before start shows it in the Temporal UI. */
  intent?: CancelIntent;
}

/** What every run workflow looks like from the client. */
type RunWorkflow = (input: RunInput) => Promise<AnyRunOutput>;

/** Workflow type of the marker that records a cancel for a run id that has not started yet. */
const CANCEL_INTENT_TYPE = 'kernCancelIntent';

/** How often a run started after a recorded cancel looks again while the cancel record is still being written. */
const CANCEL_INTENT_CHECKS = 10;

/** How many skipped sessions `listSessions` reads in one visibility page (`offset`). */
const SKIP_PAGE = 1_000;

/** How often {@link KernClient.waitForRunOrPause} looks whether the run has paused. */
const PAUSE_CHECK_INTERVAL_MS = 500;

/** How long a poll waits for a running run's worker to answer before falling back to what history says. */
const QUERY_TIMEOUT_MS = 5_000;

/** How long reading a closed run's events may wait for a worker to replay it. */
const EVENTS_QUERY_TIMEOUT_MS = 30_000;

/** How often a subscription asks for a run's new events while they come (the live window is 80 ms). */
const STREAM_QUERY_INTERVAL_MS = 20;

/** How long a run (or a new subscription) is asked at that rate after its last events. */
const STREAM_QUIET_AFTER_MS = 1_000;

/** How often, at most, it asks while the run is quiet (it doubles the interval from the above up to this). */
const STREAM_QUERY_QUIET_INTERVAL_MS = 400;

/** How often a subscription to a quiet run looks whether the run has closed without a last event (terminated). */
const STREAM_DESCRIBE_INTERVAL_MS = 2_000;

/**
 * kern's connection to Temporal: starts runs, polls them, cancels them. Every operation works from a run id alone,
 * from any process, whether or not a worker is running.
 */
export class KernClient {
  private static shared: Promise<KernClient> | undefined;

  private constructor(
    /** The underlying Temporal client. */
    readonly temporal: Client,
    /** The task queue runs are started on. */
    readonly taskQueue: string,
    private readonly ownedConnection: Connection | undefined,
    /** Where Temporal is, for error messages; unknown for a client given to `connect`. */
    private readonly address = 'the configured address',
  ) {}

  /** Connects to Temporal (see {@link KernClientOptions} for where the settings come from). */
  static async connect(options: KernClientOptions = {}): Promise<KernClient> {
    const taskQueue = options.taskQueue ?? process.env.KERN_TASK_QUEUE ?? 'kern';
    if (options.client) return new KernClient(options.client, taskQueue, undefined);
    const address = options.address ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
    let connection: Connection;
    try {
      connection = await Connection.connect({ address });
    } catch (err) {
      throw new TemporalUnreachable(address, err);
    }
    const client = new Client({
      connection,
      namespace: options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
      identity: options.identity ?? `kern client @ ${hostname()}`,
      ...(options.tracing ? { plugins: [tracingPlugin(options.tracing, 'kern-client').plugin] } : {}),
    });
    return new KernClient(client, taskQueue, connection, address);
  }

  /**
   * Makes `client` the process-wide default (what components with no `client` use), or, with `undefined`, goes back to
   * connecting from the environment on next use. Tests use it (`startTestEnvironment` from `kern/testing` does).
   */
  static setDefault(client: KernClient | undefined): void {
    KernClient.shared = client ? Promise.resolve(client) : undefined;
  }

  /** The process-wide client from the environment, connected on first use. Used when a component has none. */
  static default(): Promise<KernClient> {
    KernClient.shared ??= KernClient.connect().catch((err: unknown) => {
      KernClient.shared = undefined;
      throw err;
    });
    return KernClient.shared;
  }

  /**
   * Starts a run and returns once Temporal has it (the run is then `PENDING`). A run id already used by another
   * run is refused with {@link RunIdInUseError}; a run id whose cancel was recorded before starts and ends
   * `CANCELLED` without calling the model.
   */
  async startRun(input: RunInput): Promise<void> {
    const record = runRecordOf(input);
    const workflowType = RUN_WORKFLOW_TYPES[input.kind];
    const options = {
      workflowId: workflowIdForRun(input.runId),
      taskQueue: this.taskQueue,
      args: [input] as [RunInput],
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: runSearchAttributes(record),
      memo: { [RUN_RECORD_MEMO]: record },
      staticSummary: runSummary(record),
      staticDetails: runDetails(record, { namespace: this.temporal.options.namespace }),
    };
    const startRun = async () => {
      try {
        await this.temporal.workflow.start<RunWorkflow>(workflowType, options);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw this.unreachableOr(err);
        await this.startAfterCancelIntent(input, options);
      }
    };
    // Side by side: a run in a session that exists costs one more request, which the server answers at once.
    const [run, session] = await Promise.allSettled([
      startRun(),
      input.parentRunId === undefined ? this.startSession(record) : Promise.resolve(),
    ]);
    if (run.status === 'rejected') throw run.reason;
    if (session.status === 'rejected') throw this.unreachableOr(session.reason);
  }

  /**
   * Starts the session's workflow, unless it is running already (then the server changes nothing): every session
   * has one from its first run on, so sessions can be listed and counted from visibility. It starts in its start
   * delay (see `SESSION_START_DELAY`), so until a run writes to it, it is a visibility row and one history event.
   */
  async startSession(record: RunRecord): Promise<void> {
    const session = newSession(record.sessionId, record.createdAt, record.userId);
    await this.temporal.workflow.start(SESSION_WORKFLOW_TYPE, {
      ...sessionWorkflowOptions(session, this.taskQueue, { componentId: record.componentId, input: record.input }),
      workflowIdConflictPolicy: 'USE_EXISTING',
      // It runs no workflow task until a run writes to it: a session nothing writes to costs no worker anything.
      startDelay: SESSION_START_DELAY,
    });
  }

  /**
   * Starts a run whose id is taken: when what holds the id is a recorded cancel, the run starts so it can be polled,
   * and is cancelled at once (the `cancelledBeforeStart` flag keeps the model from being called even if this process
   * dies before the cancel request is sent). Only an execution that did not complete may be replaced, and only when
   * none is open, so of two runs started with one id after a cancel, one starts and the other is refused.
   */
  private async startAfterCancelIntent(input: RunInput, options: WorkflowStartOptions<RunWorkflow>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.describe(input.runId);
      if (existing?.type !== CANCEL_INTENT_TYPE) throw new RunIdInUseError(input.runId);
      try {
        const handle = await this.temporal.workflow.start<RunWorkflow>(RUN_WORKFLOW_TYPES[input.kind], {
          ...options,
          args: [{ ...input, cancelledBeforeStart: true }],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        });
        await handle.cancel();
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw this.unreachableOr(err);
        // The cancel record is still being written (it is open until its recorder terminates it): look again.
        if (attempt >= CANCEL_INTENT_CHECKS) throw new RunIdInUseError(input.runId);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /**
   * Creates a schedule that starts `input` (a run input for a schedule, from `component.schedule`) at the given times;
   * returns its handle. The schedule's session is started once the schedule exists, as a run's is, so it can be listed
   * from the first run; a schedule that is refused leaves nothing behind.
   */
  async createSchedule(
    input: RunInput & { scheduleId: string },
    options: Parameters<typeof createSchedule>[3],
  ): Promise<KernSchedule> {
    try {
      await createSchedule(this.temporal, this.taskQueue, input, options);
      await this.startSession(runRecordOf(input));
    } catch (err) {
      throw this.unreachableOr(err);
    }
    return this.schedule(input.scheduleId);
  }

  /** The handle of a kern schedule by id (not checked: {@link KernSchedule.describe} throws for an unknown one). */
  schedule(scheduleId: string): KernSchedule {
    return new KernSchedule(this.temporal, scheduleId);
  }

  /** Every kern schedule, by id. */
  async listSchedules(): Promise<ScheduleInfo[]> {
    try {
      return await listSchedules(this.temporal);
    } catch (err) {
      throw this.unreachableOr(err);
    }
  }

  /** Waits for a run to end and returns its output, whatever its final status. */
  async waitForRun(runId: string): Promise<AnyRunOutput> {
    try {
      return await this.runHandle(runId).result();
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw this.unreachableOr(err);
      const output = await this.getRunOutput(runId);
      if (!output) throw err;
      return output;
    }
  }

  /**
   * Waits until a run ends or pauses for a person, and returns its output then (`PAUSED`, with what it waits for, or
   * final). For runs that may pause: it looks at the run's status twice a second besides waiting for its result.
   */
  async waitForRunOrPause(runId: string): Promise<AnyRunOutput> {
    const result = this.waitForRun(runId);
    // Kept from failing unheard while this looks for a pause; the caller awaits it below when the run ends.
    result.catch(() => undefined);
    for (;;) {
      const ended = await Promise.race([
        result.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), PAUSE_CHECK_INTERVAL_MS)),
      ]);
      if (ended) return result;
      const description = await this.describe(runId);
      if (description?.typedSearchAttributes.get(kernStatusKey) !== RunStatus.paused) continue;
      const output = await this.getRunOutput(runId);
      if (output?.status === RunStatus.paused) return output;
    }
  }

  /**
   * The output of a run: a live answer from its worker while it runs, the recorded one after it ends (no worker
   * needed then), or `null` for a run id that no run has.
   */
  async getRunOutput(runId: string): Promise<AnyRunOutput | null> {
    const description = await this.describe(runId);
    const record = recordOfExecution(description);
    if (!description || !record) return null;
    const handle = this.runHandle(runId, description.runId);
    const savedOutput = description.memo?.[FINAL_OUTPUT_MEMO];
    const finalOutput = savedOutput === undefined ? undefined : readRunOutput(savedOutput, record);

    switch (description.status.name) {
      case 'RUNNING': {
        const kernStatus = description.typedSearchAttributes.get(kernStatusKey);
        if (kernStatus === RunStatus.pending) return outputFromRecord(record);
        const live = await this.queryOutput(handle);
        if (live) return live;
        // No worker answered: a paused run's memo says what it waits for.
        const pause = description.memo?.[PAUSE_MEMO] as { requirements?: RunRequirement[] } | undefined;
        if (kernStatus === RunStatus.paused && pause?.requirements) {
          return { ...outputFromRecord(record, RunStatus.paused), requirements: pause.requirements };
        }
        return outputFromRecord(record, RunStatus.running);
      }
      case 'COMPLETED':
        return readRunOutput(await handle.result(), record);
      case 'CANCELLED':
        return finalOutput ?? outputFromRecord(record, RunStatus.cancelled);
      case 'FAILED':
        return finalOutput ?? endedWith(record, 'RunFailed', 'the run failed');
      case 'TERMINATED':
        return endedWith(record, 'RunTerminated', 'the run was terminated in Temporal');
      case 'TIMED_OUT':
        return endedWith(record, 'RunTimedOut', 'the run timed out in Temporal');
      default:
        return endedWith(record, 'RunEnded', `the run ended as ${description.status.name}`);
    }
  }

  /**
   * Asks a run to cancel. `true` when a pending or running run was asked; `false` for a finished run or an unknown
   * id. For an unknown id the cancel is recorded, and a run started later with that id ends `CANCELLED` without
   * calling the model. Cancelling twice is harmless. The run shows `CANCELLED` as soon as its worker has taken the
   * cancel, without waiting for its model call to stop (see {@link CancelOptions.exactPartial}).
   */
  async cancelRun(runId: string, options: CancelOptions = {}): Promise<boolean> {
    // Described first: Temporal takes a cancel request for a closed execution without complaint.
    const description = await this.describe(runId);
    if (!description) return this.recordCancelIntent(runId, options.intent);
    if (description.type === CANCEL_INTENT_TYPE || description.status.name !== 'RUNNING') return false;
    const handle = this.runHandle(runId, description.runId);
    try {
      // Before the cancel, so the run has the wish when the cancel reaches it.
      if (options.exactPartial) await handle.signal(exactPartialOnCancelSignal);
      await handle.cancel();
    } catch (err) {
      // It closed since it was described: it had finished.
      if (err instanceof WorkflowNotFoundError) return false;
      throw this.unreachableOr(err);
    }
    return true;
  }

  /**
   * Answers what a `PAUSED` run waits for, each requirement by its `id` (see `RunRequirement`), and resolves once the
   * run has taken the answers and goes on. The answers to a team's or workflow's requirements go to the member or step
   * run that waits for them (each such run takes its own as one Temporal update); this resolves once the run itself
   * no longer shows them. Refused with nothing changed: an unknown run ({@link RunNotFound}), one that is not paused
   * or already taking answers ({@link RunNotPaused}), and answers that do not fit, leave one out or fail a tool's
   * `userInputFields` ({@link RequirementAnswersInvalid}). Returns the index in the run's stream from which the rest
   * of the run's events follow (`subscribe(runId, { fromIndex })`).
   *
   * It needs a worker: with none running, it waits for one.
   */
  async continueRun(runId: string, request: ContinueRequest): Promise<{ fromIndex: number }> {
    const output = await this.getRunOutput(runId);
    if (!output) throw new RunNotFound(runId);
    if (output.status !== RunStatus.paused || !output.requirements) {
      throw new RunNotPaused(runId, `it is ${output.status}`);
    }
    const open = output.requirements;
    const answers: RequirementAnswer[] = Array.isArray(request?.requirements) ? request.requirements : [];
    const problem = answersProblem(open, answers);
    if (problem) throw new RequirementAnswersInvalid(problem);
    const byRun = new Map<string, RequirementAnswer[]>();
    for (const answer of answers) {
      const owner = open.find((requirement) => requirement.id === answer.id)!.runId;
      byRun.set(owner, [...(byRun.get(owner) ?? []), answer]);
    }
    const fromIndex = await this.streamOffset(runId);
    await Promise.all(
      [...byRun].map(async ([owner, ownAnswers]) => {
        try {
          await this.runHandle(owner).executeUpdate(continueRunUpdate, { args: [{ requirements: ownAnswers }] });
        } catch (err) {
          throw this.continueRefusal(owner, err);
        }
      }),
    );
    // The run above the members sees them go on by their forwarded events: wait until it shows the answers taken.
    if ([...byRun.keys()].some((owner) => owner !== runId)) await this.untilTaken(runId, answers);
    return { fromIndex };
  }

  /**
   * Where the run's stream stands now (the index its next event gets), by query: a paused run publishes nothing
   * until it goes on. With no worker answering, it asks again until one does (`continueRun` needs one anyway).
   */
  private async streamOffset(runId: string): Promise<number> {
    const stream = WorkflowStreamClient.create(this.temporal, workflowIdForRun(runId));
    for (;;) {
      try {
        return await this.temporal.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => stream.getOffset());
      } catch (err) {
        if (isTemporalUnavailable(err)) throw this.unreachableOr(err);
        if (err instanceof WorkflowNotFoundError) throw new RunNotFound(runId);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  /** The error a refused `continueRun` update says it is. */
  private continueRefusal(runId: string, err: unknown): unknown {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    const failure = cause instanceof ApplicationFailure ? cause : undefined;
    if (failure?.type === RUN_NOT_PAUSED) return new RunNotPaused(runId, failure.message);
    if (failure?.type === ANSWERS_INVALID) return new RequirementAnswersInvalid(failure.message);
    if (err instanceof WorkflowNotFoundError) return new RunNotPaused(runId, 'it has ended');
    return this.unreachableOr(err);
  }

  /** Waits (up to 10 s) until run `runId` no longer waits for any of `answers`. */
  private async untilTaken(runId: string, answers: RequirementAnswer[]): Promise<void> {
    const ids = new Set(answers.map((answer) => answer.id));
    for (let attempt = 0; attempt < 200; attempt++) {
      const output = await this.getRunOutput(runId);
      if (!output?.requirements?.some((requirement) => ids.has(requirement.id))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * The events of a run from `fromIndex` on (inclusive; default 0, the first), then live ones until the run ends.
   * Works from any process, while the run is pending or running and after it has ended. Each event carries its
   * `eventIndex`: to resume after event `k`, subscribe from `k + 1`; every event comes exactly once.
   */
  async *subscribe(runId: string, options: { fromIndex?: number } = {}): AsyncGenerator<AnyRunEvent, void> {
    let next = options.fromIndex ?? 0;
    let description = await this.describe(runId);
    if (!recordOfExecution(description)) throw new RunNotFound(runId);
    // The run's stream is read by query, which costs its history nothing, however many read it and however long:
    // a poll by update (the stream's own subscription) writes about five events each time. Asked often while events
    // come, less often while the run is quiet; a quiet run is described now and then, to see whether it has closed.
    let interval = STREAM_QUERY_INTERVAL_MS;
    let describedAt = Date.now();
    let eventsAt = Date.now();
    while (description?.status.name === 'RUNNING') {
      const events = await this.queryEvents(runId, next);
      for (const event of events) {
        next = (event.eventIndex ?? next) + 1;
        yield event;
        if (isTerminalEventOf(event, runId)) return;
      }
      if (events.length > 0) eventsAt = Date.now();
      // Quiet for a moment (a tool runs, the model thinks, the run is paused): ask less and less often.
      interval =
        Date.now() - eventsAt < STREAM_QUIET_AFTER_MS
          ? STREAM_QUERY_INTERVAL_MS
          : Math.min(interval * 2, STREAM_QUERY_QUIET_INTERVAL_MS);
      await new Promise((resolve) => setTimeout(resolve, interval));
      if (events.length === 0 && Date.now() - describedAt >= STREAM_DESCRIBE_INTERVAL_MS) {
        description = await this.describe(runId);
        describedAt = Date.now();
      }
    }
    yield* await this.recordedEvents(runId, next);
  }

  /**
   * A run as Temporal's server knows it, without asking a worker: its kind, component, session and ids, with its
   * status (`content` and the rest empty); `null` for a run id that no run has. Cheap enough to call for every viewer
   * of a run; {@link getRunOutput} has the content.
   */
  async peekRun(runId: string): Promise<AnyRunOutput | null> {
    const description = await this.describe(runId);
    const record = recordOfExecution(description);
    if (!description || !record) return null;
    const kernStatus = description.typedSearchAttributes.get(kernStatusKey) as RunStatus | undefined;
    if (description.status.name === 'RUNNING') return outputFromRecord(record, kernStatus ?? RunStatus.running);
    // Every way a run ends sets its KernStatus first; a run Temporal ended on its own (terminated) did not.
    if (kernStatus && isTerminalStatus(kernStatus)) return outputFromRecord(record, kernStatus);
    return outputFromRecord(record, description.status.name === 'CANCELLED' ? RunStatus.cancelled : RunStatus.error);
  }

  /**
   * What a run has published so far from `fromIndex` on, with its output as it stands; `null` for a run id that no run
   * has. Never waits for more events: {@link subscribe} does. While the run is pending, or no worker answers in time,
   * the events read so far may be fewer than were published; a subscription from the next index gets the rest.
   */
  async eventsSoFar(runId: string, fromIndex = 0): Promise<{ output: AnyRunOutput; events: AnyRunEvent[] } | null> {
    const output = await this.getRunOutput(runId);
    if (!output) return null;
    if (isTerminalStatus(output.status)) {
      return { output, events: await this.recordedEvents(runId, fromIndex, output) };
    }
    if (output.status === RunStatus.pending) return { output, events: [] };
    return { output, events: await this.queryEvents(runId, fromIndex) };
  }

  /**
   * Runs newest first, a page at a time, from Temporal's visibility store (see `client/listing.ts`): top-level runs,
   * or the member and step runs of `parentRunId`. Visibility lags a run's start by up to a second or so.
   */
  async listRuns(filter: RunListFilter = {}): Promise<RunPage> {
    const { limit, pageToken, ...match } = filter;
    const page = await this.visibility(() => listPage(this.temporal, runsQuery(match), pageLimit(limit), pageToken));
    const runIds = page.executions.flatMap((execution) => runIdOfWorkflow(execution.workflowId) ?? []);
    const outputs = await Promise.all(runIds.map((runId) => this.getRunOutput(runId)));
    return {
      runs: outputs.filter((output): output is AnyRunOutput => output !== null),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  /**
   * Sessions, newest first, a page at a time: each with its first run's component, its user, how many top-level runs
   * it has and when it was created and last used. From visibility, with no worker.
   */
  async listSessions(filter: SessionListFilter = {}): Promise<SessionPage> {
    const { limit, pageToken, offset, ...match } = filter;
    const query = sessionsQuery(match);
    // Skipped sessions are read as ids only, a thousand at a time: none of them costs a describe or a count.
    let token = pageToken;
    for (let skip = offset ?? 0; skip > 0; skip -= SKIP_PAGE) {
      const skipped = await this.visibility(() => listPage(this.temporal, query, Math.min(skip, SKIP_PAGE), token));
      if (!skipped.nextPageToken) return { sessions: [] };
      token = skipped.nextPageToken;
    }
    const page = await this.visibility(() => listPage(this.temporal, query, pageLimit(limit), token));
    const sessionIds = page.executions.flatMap((execution) => sessionIdOfWorkflow(execution.workflowId) ?? []);
    const sessions = await Promise.all(sessionIds.map((sessionId) => this.getSessionInfo(sessionId)));
    return {
      sessions: sessions.filter((session): session is SessionInfo => session !== null),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  /** How many sessions match `filter` (all of them, not a page). */
  async countSessions(filter: Omit<SessionListFilter, 'limit' | 'pageToken' | 'offset'> = {}): Promise<number> {
    return this.visibility(() => countExecutions(this.temporal, sessionsQuery(filter)));
  }

  /**
   * A session as a listing shows it (its first run's component, its user, run count, creation and last use), or
   * `null` for a session id that no run has used. From Temporal's server alone: no worker needed.
   */
  async getSessionInfo(sessionId: string): Promise<SessionInfo | null> {
    const handle = this.temporal.workflow.getHandle(workflowIdForSession(sessionId));
    const runs = runsQuery({ sessionId });
    let description: WorkflowExecutionDescription;
    let runCount: number;
    let newest: Awaited<ReturnType<typeof listPage>>;
    try {
      [description, runCount, newest] = await Promise.all([
        handle.describe(),
        countExecutions(this.temporal, runs),
        listPage(this.temporal, runs, 1, undefined),
      ]);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw this.unreachableOr(err);
    }
    const lastRun = newest.executions[0];
    const lastUsed = lastRun?.closeTime ?? lastRun?.startTime;
    const { createdAt, ...record } = sessionRecordOf(sessionId, description);
    return {
      ...record,
      runCount,
      createdAt,
      updatedAt: lastUsed && lastUsed.toISOString() > createdAt ? lastUsed.toISOString() : createdAt,
    };
  }

  /**
   * A session: its user, its state as it stands, and its newest top-level runs (at most 100, oldest first; `listRuns`
   * pages through all of them), or `null` for a session id that no run has used. Reading the state asks a worker:
   * with none answering within 5 s, this throws {@link SessionUnavailable}.
   */
  async getSession(sessionId: string): Promise<Session | null> {
    const handle = this.temporal.workflow.getHandle(workflowIdForSession(sessionId));
    let description: WorkflowExecutionDescription;
    let runs: AnyRunOutput[];
    try {
      [description, { runs }] = await Promise.all([handle.describe(), this.listRuns({ sessionId, limit: 100 })]);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw this.unreachableOr(err);
    }
    const record = sessionRecordOf(sessionId, description);
    // A session nothing has written to has not run, so it cannot answer a query: it holds its fresh state.
    const summary = neverWritten(description)
      ? { createdAt: record.createdAt, updatedAt: record.createdAt, sessionState: {}, userId: record.userId }
      : await this.querySession(sessionId);
    runs.reverse();
    const updatedAt = [summary.updatedAt, ...runs.map((run) => run.updatedAt)].sort().at(-1) ?? summary.createdAt;
    return {
      ...record,
      ...(summary.userId !== undefined ? { userId: summary.userId } : {}),
      sessionState: summary.sessionState,
      runs,
      createdAt: summary.createdAt,
      updatedAt,
    };
  }

  /** Closes the connection this client opened (not one it was given). */
  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  /**
   * Temporal's "unavailable" failure (its server is down or unreachable, after the client's own retries) as
   * {@link TemporalUnreachable}, which says so; any other error as it is.
   */
  private unreachableOr(err: unknown): unknown {
    return isTemporalUnavailable(err) ? new TemporalUnreachable(this.address, err) : err;
  }

  /** What a session's workflow says of itself, by query; {@link SessionUnavailable} when no worker answers. */
  private async querySession(sessionId: string): Promise<SessionSummary> {
    const handle = this.temporal.workflow.getHandle(workflowIdForSession(sessionId));
    try {
      return await this.temporal.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
        handle.query(sessionQuery),
      );
    } catch (err) {
      if (isTemporalUnavailable(err)) throw this.unreachableOr(err);
      throw new SessionUnavailable(sessionId, err);
    }
  }

  /** A visibility call, with Temporal being unreachable said as {@link TemporalUnreachable}. */
  private async visibility<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.unreachableOr(err);
    }
  }

  private runHandle(runId: string, temporalRunId?: string): WorkflowHandle<RunWorkflow> {
    return this.temporal.workflow.getHandle<RunWorkflow>(workflowIdForRun(runId), temporalRunId);
  }

  private async describe(runId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.runHandle(runId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw this.unreachableOr(err);
    }
  }

  /**
   * A closed run's events from `fromIndex` on: from its output when it kept them (read here unless given), else
   * replayed by a worker.
   */
  /** A running run's events from `fromIndex` on, by query; none when no worker answers in time. */
  private async queryEvents(runId: string, fromIndex: number): Promise<AnyRunEvent[]> {
    try {
      return await this.temporal.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
        this.runHandle(runId).query(runEventsQuery, fromIndex),
      );
    } catch {
      return [];
    }
  }

  private async recordedEvents(
    runId: string,
    fromIndex: number,
    output: AnyRunOutput | null | undefined = undefined,
  ): Promise<AnyRunEvent[]> {
    output ??= await this.getRunOutput(runId);
    if (output?.events) return output.events.filter((event) => (event.eventIndex ?? 0) >= fromIndex);
    // The query answers a page at a time (about a megabyte): read up to the run's last event (or an empty page, for a
    // run that ended without one: terminated).
    const events: AnyRunEvent[] = [];
    for (let next = fromIndex; ;) {
      let page: AnyRunEvent[];
      try {
        page = await this.temporal.connection.withDeadline(Date.now() + EVENTS_QUERY_TIMEOUT_MS, () =>
          this.runHandle(runId).query(runEventsQuery, next),
        );
      } catch (err) {
        throw new RunEventsUnavailable(runId, err);
      }
      events.push(...page);
      const last = page[page.length - 1];
      if (!last || isTerminalEventOf(last, runId)) return events;
      next = (last.eventIndex ?? next) + 1;
    }
  }

  private async queryOutput(handle: WorkflowHandle<RunWorkflow>): Promise<AnyRunOutput | undefined> {
    try {
      return await this.temporal.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
        handle.query(runOutputQuery),
      );
    } catch {
      // No worker answered in time (all down, or busy): the caller falls back to what history records.
      return undefined;
    }
  }

  /**
   * Records a cancel for a run id nothing has started: a marker execution under the run's workflow id, terminated
   * at once, so no worker ever runs it and a later start with that id finds it. In the Temporal UI it is a row of its
   * own (a second one once the run has started), with `KernStatus` `CANCELLED`, and the kind and component when the
   * caller knows them.
   */
  private async recordCancelIntent(runId: string, intent?: CancelIntent): Promise<boolean> {
    try {
      const marker = await this.temporal.workflow.start(CANCEL_INTENT_TYPE, {
        workflowId: workflowIdForRun(runId),
        taskQueue: `${this.taskQueue}-cancel-intents`,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: kernStatusKey, value: RunStatus.cancelled },
          ...(intent
            ? [
                { key: kernKindKey, value: intent.kind },
                { key: kernComponentIdKey, value: intent.componentId },
              ]
            : []),
        ],
        staticSummary: `cancel of run ${runId}, requested before it started`,
        staticDetails:
          `Records that run \`${runId}\` was cancelled before it started. This execution never runs: when the run ` +
          `starts, it finds this record and ends \`CANCELLED\` without calling the model.`,
      });
      await marker.terminate('kern: cancel requested before the run started');
      return false;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // A run with this id appeared meanwhile: cancel it instead.
      const description = await this.describe(runId);
      if (description?.type === CANCEL_INTENT_TYPE || description?.status.name !== 'RUNNING') return false;
      await this.runHandle(runId, description.runId).cancel();
      return true;
    }
  }
}

/** gRPC status 14, UNAVAILABLE: the Temporal server cannot be reached. */
const GRPC_UNAVAILABLE = 14;

/** True for Temporal's "unavailable" failure, on the error or on its cause (the client wraps it in a ServiceError). */
export function isTemporalUnavailable(err: unknown): boolean {
  const codeOf = (value: unknown) =>
    typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
  return codeOf(err) === GRPC_UNAVAILABLE || codeOf((err as { cause?: unknown } | null)?.cause) === GRPC_UNAVAILABLE;
}

/** What a session's workflow description says of it: its name, first component, user and creation time. */
function sessionRecordOf(sessionId: string, description: WorkflowExecutionDescription) {
  const memo = description.memo?.[SESSION_MEMO] as Partial<SessionMemo> | undefined;
  const componentId = description.typedSearchAttributes.get(kernComponentIdKey);
  const userId = description.typedSearchAttributes.get(kernUserIdKey);
  return {
    sessionId,
    ...(memo?.name !== undefined ? { name: memo.name } : {}),
    ...(componentId !== undefined ? { componentId } : {}),
    ...(userId !== undefined ? { userId } : {}),
    createdAt: memo?.createdAt ?? description.startTime.toISOString(),
  };
}

function endedWith(record: RunRecord, type: string, message: string): AnyRunOutput {
  return { ...outputFromRecord(record, RunStatus.error), error: { type, message } };
}
