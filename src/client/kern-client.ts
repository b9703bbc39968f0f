import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { TemporalUnreachable } from '../shared/errors';
import type { AnyRunEvent } from '../shared/events';
import type { ContinueRequest } from '../shared/requirements';
import { runRecordOf, type RunRecord } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import type { RunInput } from '../shared/specs';
import { cancelRun, type CancelOptions } from './cancel';
import { continueRun } from './continue';
import { countRuns, listRuns, type RunListFilter, type RunPage, type SessionListFilter } from './listing';
import { getRunOutput, peekRun, waitForRun, waitForRunOrPause, type WaitOptions } from './run-outputs';
import { KernSchedule, createSchedule, listSchedules, updateSchedule, type ScheduleInfo } from './schedules';
import { scheduleTimesOf, type ScheduleTimes } from './schedule-options';
import {
  countSessions,
  createSession,
  deleteSession,
  forkSession,
  updateSession,
  getSession,
  getSessionInfo,
  listSessions,
  type NewSession,
  type Session,
  type SessionChanges,
  type SessionInfo,
  type SessionFork,
  type SessionPage,
} from './sessions';
import { startRun, startSession } from './start';
import { eventsSoFar, subscribe, type SubscribeOptions } from './subscription';
import { resolveConnection } from './connection-settings';
import { kernDataConverter, payloadSettingsFromEnv, type PayloadSettings } from './data-converter';
import { TemporalAccess } from './temporal-access';
import { tracingPlugin, type TracingOptions } from './tracing';

export type { CancelIntent, CancelOptions } from './cancel';
export type { RunListFilter, RunPage, SessionListFilter } from './listing';
export type { NewSession, Session, SessionChanges, SessionFork, SessionInfo, SessionPage } from './sessions';

/** How to reach Temporal. Unset fields come from the environment, then from the defaults. */
export interface KernClientOptions {
  /**
   * `host:port`; default `TEMPORAL_ADDRESS`, the config file profile's, else `localhost:7233`. TLS, an API key and
   * gRPC metadata come from the environment and the profile as Temporal defines them (`TEMPORAL_API_KEY`,
   * `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE`, `temporal.toml`): see docs/deploy.md.
   */
  address?: string;
  /** Default `TEMPORAL_NAMESPACE`, the profile's, else `default`. */
  namespace?: string;
  /** The profile of Temporal's config file to connect with; default `TEMPORAL_PROFILE`, else `default`. */
  profile?: string;
  /** `KERN_TASK_QUEUE`, default `kern`: where runs are started, and what workers listen on. */
  taskQueue?: string;
  /**
   * Payloads encrypted and large ones kept outside history (see docs/payloads.md); default from the environment
   * (`KERN_ENCRYPTION_KEYS`, `KERN_PAYLOAD_DIR`). Workers need the same. Not with `client`: give that one the data
   * converter (`kernDataConverter`) yourself.
   */
  payloads?: PayloadSettings;
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

/**
 * kern's connection to Temporal: starts runs, polls them, cancels them. Every operation works from a run id alone,
 * from any process, whether or not a worker is running. Each concern lives in a module of its own beside this file
 * (starting, reading outputs, cancelling, continuing, subscribing, sessions, listing, schedules); this class is the
 * one door to them.
 */
export class KernClient {
  private static shared: Promise<KernClient> | undefined;
  private readonly access: TemporalAccess;

  private constructor(
    /** The underlying Temporal client. */
    readonly temporal: Client,
    /** The task queue runs are started on. */
    readonly taskQueue: string,
    private readonly ownedConnection: Connection | undefined,
    address?: string,
  ) {
    this.access = new TemporalAccess(temporal, taskQueue, address);
  }

  /** Connects to Temporal (see {@link KernClientOptions} for where the settings come from). */
  static async connect(options: KernClientOptions = {}): Promise<KernClient> {
    const taskQueue = options.taskQueue ?? process.env.KERN_TASK_QUEUE ?? 'kern';
    if (options.client) return new KernClient(options.client, taskQueue, undefined);
    const { address, namespace, connectionOptions } = resolveConnection(options);
    let connection: Connection;
    try {
      connection = await Connection.connect(connectionOptions);
    } catch (err) {
      throw new TemporalUnreachable(address, err);
    }
    const dataConverter = kernDataConverter(options.payloads ?? payloadSettingsFromEnv());
    const client = new Client({
      connection,
      namespace,
      ...(dataConverter ? { dataConverter } : {}),
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
   * run is refused with `RunIdInUseError`; a run id whose cancel was recorded before starts and ends `CANCELLED`
   * without calling the model.
   */
  startRun(input: RunInput): Promise<void> {
    return startRun(this.access, input);
  }

  /**
   * Starts the session's workflow, unless it is running already (then the server changes nothing): every session
   * has one from its first run on, so sessions can be listed and counted from visibility. It starts in its start
   * delay (see `SESSION_START_DELAY`), so until a run writes to it, it is a visibility row and one history event.
   */
  startSession(record: RunRecord): Promise<void> {
    return startSession(this.access, record);
  }

  /**
   * Waits for a run to end and returns its output, whatever its final status. `signal` stops the wait (not the run):
   * the promise then fails with the signal's reason.
   */
  waitForRun(runId: string, options: WaitOptions = {}): Promise<AnyRunOutput> {
    return waitForRun(this.access, runId, options);
  }

  /**
   * Waits until a run ends or pauses for a person, and returns its output then (`PAUSED`, with what it waits for, or
   * final). For runs that may pause: it looks at the run's status twice a second besides waiting for its result.
   * `signal` stops the wait, as for {@link waitForRun}.
   */
  waitForRunOrPause(runId: string, options: WaitOptions = {}): Promise<AnyRunOutput> {
    return waitForRunOrPause(this.access, runId, options);
  }

  /**
   * The output of a run: a live answer from its worker while it runs, the recorded one after it ends (no worker
   * needed then), or `null` for a run id that no run has.
   */
  getRunOutput(runId: string): Promise<AnyRunOutput | null> {
    return getRunOutput(this.access, runId);
  }

  /**
   * A run as Temporal's server knows it, without asking a worker: its kind, component, session and ids, with its
   * status (`content` and the rest empty); `null` for a run id that no run has. Cheap enough to call for every viewer
   * of a run; {@link getRunOutput} has the content.
   */
  peekRun(runId: string): Promise<AnyRunOutput | null> {
    return peekRun(this.access, runId);
  }

  /**
   * Asks a run to cancel. `true` when a pending or running run was asked; `false` for a finished run or an unknown
   * id. For an unknown id the cancel is recorded, and a run started later with that id ends `CANCELLED` without
   * calling the model. Cancelling twice is harmless. The run shows `CANCELLED` as soon as its worker has taken the
   * cancel, without waiting for its model call to stop (see {@link CancelOptions.exactPartial}).
   */
  cancelRun(runId: string, options: CancelOptions = {}): Promise<boolean> {
    return cancelRun(this.access, runId, options);
  }

  /**
   * Answers what a `PAUSED` run waits for, each requirement by its `id` (see `RunRequirement`), and resolves once the
   * run has taken the answers and goes on. The answers to a team's or workflow's requirements go to the member or step
   * run that waits for them (each such run takes its own as one Temporal update); this resolves once the run itself
   * no longer shows them. Refused with nothing changed: an unknown run (`RunNotFound`), one that is not paused or
   * already taking answers (`RunNotPaused`), and answers that do not fit, leave one out or fail a tool's
   * `userInputFields` (`RequirementAnswersInvalid`). Returns the index in the run's stream from which the rest of the
   * run's events follow (`subscribe(runId, { fromIndex })`).
   *
   * It needs a worker: with none running, it waits for one.
   */
  continueRun(runId: string, request: ContinueRequest): Promise<{ fromIndex: number }> {
    return continueRun(this.access, runId, request);
  }

  /**
   * The events of a run from `fromIndex` on (inclusive; default 0, the first), then live ones until the run ends.
   * Works from any process, while the run is pending or running and after it has ended. Each event carries its
   * `eventIndex`: to resume after event `k`, subscribe from `k + 1`; every event comes exactly once. `signal` ends
   * the subscription (not the run) at once, also while the run is quiet: no read of the run follows.
   */
  subscribe(runId: string, options: SubscribeOptions = {}): AsyncGenerator<AnyRunEvent, void> {
    return subscribe(this.access, runId, options);
  }

  /**
   * What a run has published so far from `fromIndex` on, with its output as it stands; `null` for a run id that no run
   * has. Never waits for more events: {@link subscribe} does. While the run is pending, or no worker answers in time,
   * the events read so far may be fewer than were published; a subscription from the next index gets the rest.
   */
  eventsSoFar(runId: string, fromIndex = 0): Promise<{ output: AnyRunOutput; events: AnyRunEvent[] } | null> {
    return eventsSoFar(this.access, runId, fromIndex);
  }

  /**
   * Runs newest first, a page at a time, from Temporal's visibility store (see `client/listing.ts`): top-level runs,
   * or the member and step runs of `parentRunId`. Visibility lags a run's start by up to a second or so.
   */
  listRuns(filter: RunListFilter = {}): Promise<RunPage> {
    return listRuns(this.access, filter);
  }

  /**
   * Sessions, newest first, a page at a time: each with its first run's component, its user, how many top-level runs
   * it has and when it was created and last used. From visibility, with no worker.
   */
  listSessions(filter: SessionListFilter = {}): Promise<SessionPage> {
    return listSessions(this.access, filter);
  }

  /** How many runs match `filter` (all of them, not a page), from visibility. */
  countRuns(filter: Omit<RunListFilter, 'limit' | 'pageToken' | 'offset'> = {}): Promise<number> {
    return countRuns(this.access, filter);
  }

  /** How many sessions match `filter` (all of them, not a page). */
  countSessions(filter: Omit<SessionListFilter, 'limit' | 'pageToken' | 'offset'> = {}): Promise<number> {
    return countSessions(this.access, filter);
  }

  /**
   * A session as a listing shows it (its first run's component, its user, run count, creation and last use), or
   * `null` for a session id that no run has used. From Temporal's server alone: no worker needed.
   */
  getSessionInfo(sessionId: string): Promise<SessionInfo | null> {
    return getSessionInfo(this.access, sessionId);
  }

  /**
   * Deletes a session and its runs (their members and steps too), as the framework's `delete_session` does: the
   * session's workflow and every run's execution. A run still going is stopped as it is deleted, without a final
   * status, since nothing of it is kept. Returns `false` for a session id that no run has used. From the moment it
   * returns, the session is not found and not listed; Temporal removes the executions in the background (once it has
   * acknowledged their close, every 30 s by default), and until then `listRuns({ sessionId })` may still list them.
   */
  deleteSession(sessionId: string): Promise<boolean> {
    return deleteSession(this.access, sessionId);
  }

  /**
   * Makes a session before any run, with a name, state and metadata if given (the framework's `POST /sessions`);
   * throws `SessionIdInUseError` for an id a session has. Its runs then find what it was given.
   */
  createSession(session: NewSession = {}): Promise<Session> {
    return createSession(this.access, session);
  }

  /**
   * Forks a session (the framework's `POST /agents/{id}/sessions/{session_id}/fork`): a new session, with a new id,
   * that holds a copy of what the given session's runs of one agent or team left in it (their turns, which the
   * model sees as history, and the session state), its name and metadata. The source is untouched. The new session's
   * run list starts empty: Temporal keeps each run as the execution that ran it, which cannot be copied. Resolves to
   * `null` for a session that does not exist; throws `ForkRefused` when it has no finished runs of the component.
   */
  forkSession(sessionId: string, fork: SessionFork): Promise<Session | null> {
    return forkSession(this.access, sessionId, fork);
  }

  /**
   * Renames a session, replaces its metadata, or replaces its state whole (the framework's rename and `PATCH`); each
   * field given replaces what the session had, the others stay. Returns the session as it then is, or `null` for a
   * session id that no run has used. A change past the bounds (a name over 1,000 characters, metadata over 16 KB,
   * a state over 256 KB) throws `InvalidInputError` and changes nothing. Reading the result back asks a worker.
   */
  updateSession(sessionId: string, changes: SessionChanges): Promise<Session | null> {
    return updateSession(this.access, sessionId, changes);
  }

  /**
   * A session: its user, its state as it stands, and its newest top-level runs (at most 100, oldest first; `listRuns`
   * pages through all of them), or `null` for a session id that no run has used. Reading the state asks a worker:
   * with none answering within 5 s, this throws `SessionUnavailable`.
   */
  getSession(sessionId: string): Promise<Session | null> {
    return getSession(this.access, sessionId);
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
      throw this.access.unreachableOr(err);
    }
    return this.schedule(input.scheduleId);
  }

  /**
   * Changes a kern schedule's times (`cron`, `interval`, `offset`, `timezone`, as `schedule` takes them) or the run
   * input its firings start with (`input`, from a component's `scheduleFor` with the schedule's id), keeping its id,
   * pause, note, overlap policy and creation time (see `updateSchedule` in `client/schedules.ts` for how, on
   * Temporal). Throws `ScheduleNotFound` for an unknown id, `InvalidInputError` for times kern or Temporal refuses
   * (then nothing changed).
   */
  async updateSchedule(
    scheduleId: string,
    update: { times?: ScheduleTimes; input?: RunInput & { scheduleId: string } },
  ): Promise<KernSchedule> {
    const times = update.times && scheduleTimesOf(update.times);
    try {
      await updateSchedule(this.temporal, this.taskQueue, scheduleId, {
        ...(times ? { times } : {}),
        ...(update.input ? { input: update.input } : {}),
      });
      if (update.input) await this.startSession(runRecordOf(update.input));
    } catch (err) {
      throw this.access.unreachableOr(err);
    }
    return this.schedule(scheduleId);
  }

  /** The handle of a kern schedule by id (not checked: {@link KernSchedule.describe} throws for an unknown one). */
  schedule(scheduleId: string): KernSchedule {
    return new KernSchedule(this.temporal, scheduleId);
  }

  /** Every kern schedule, by id. */
  listSchedules(): Promise<ScheduleInfo[]> {
    return this.access.visibility(() => listSchedules(this.temporal));
  }

  /** Closes the connection this client opened (not one it was given). */
  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }
}
