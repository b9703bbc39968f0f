import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import { InvalidInputError, ScheduleIdInUseError, ScheduleNotFound } from '../shared/errors';
import { SCHEDULE_ID_PREFIX, runIdOfWorkflow, temporalScheduleIdFor, workflowIdForRun } from '../shared/ids';
import { RUN_KINDS, type RunKind } from '../shared/kinds';
import { RUN_RECORD_MEMO, runRecordOf } from '../shared/run-record';
import { runDetails, runSummary } from '../shared/run-labels';
import { runSearchAttributes } from '../shared/search-attributes';
import type { RunInput } from '../shared/specs';
import { OVERLAP_POLICIES, type ScheduleOptions, type ScheduleOverlap, type ScheduleTimesOf } from './schedule-options';
import { withStoreMark } from './start';

export type { ScheduleOptions, ScheduleOverlap, ScheduleTimes } from './schedule-options';

/**
 * Scheduled runs, as Temporal Schedules. A schedule holds one run input, written when the schedule is created, and
 * Temporal starts a run's workflow with it at each firing: a normal kern run (pollable, cancellable, streamed) whose
 * run id is `<schedule id>-<firing time>` (Temporal appends the time to the schedule's workflow id, and the run takes
 * its id from there; see `runInputOf`). The overlap policy therefore sees the runs themselves, and the Temporal UI's
 * Schedules page lists the schedule with its runs.
 */

/** A schedule as kern shows it. Times are ISO strings. */
export interface ScheduleInfo {
  scheduleId: string;
  kind: RunKind;
  componentId: string;
  componentName: string;
  input: string;
  sessionId: string;
  userId?: string;
  cron: string[];
  interval?: { everyMs: number; offsetMs: number };
  timezone: string;
  overlap: ScheduleOverlap;
  paused: boolean;
  note?: string;
  /** The next firings, as many as Temporal lists. */
  nextRunAt: string[];
  /** The newest runs it started, newest first (Temporal keeps the last 10): run id and when it fired. */
  recentRuns: { runId: string; firedAt: string }[];
  /** Runs of it that are still going (with `describe` only; a listing has `[]`). */
  runningRunIds: string[];
  /** How many runs it has started (with `describe` only; a listing has 0). */
  runCount: number;
  createdAt: string;
  updatedAt?: string;
}

/** The schedule's own memo key: what it runs and when, as given (Temporal keeps cron expressions only compiled). */
const SCHEDULE_MEMO = 'kernSchedule';

type ScheduleMemo = Pick<
  ScheduleInfo,
  'kind' | 'componentId' | 'componentName' | 'input' | 'sessionId' | 'userId' | 'cron' | 'interval' | 'timezone'
> & { createdAt: string; updatedAt?: string };

/**
 * Creates the Temporal Schedule that starts `input` (a run input written for a schedule: `scheduleId` set) at the
 * given times. Refuses an id a kern schedule already has with {@link ScheduleIdInUseError}.
 */
export async function createSchedule(
  temporal: Client,
  taskQueue: string,
  input: RunInput & { scheduleId: string },
  options: Pick<ScheduleOptions, 'overlap' | 'paused' | 'note'> & ScheduleTimesOf,
  made: { createdAt?: string; updatedAt?: string } = {},
): Promise<void> {
  const record = runRecordOf(input);
  const overlap = options.overlap ?? 'skip';
  if (!(overlap in OVERLAP_POLICIES)) {
    throw new InvalidInputError(`schedule: overlap must be one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  }
  const memo: ScheduleMemo = {
    kind: record.kind,
    componentId: record.componentId,
    componentName: record.componentName,
    input: record.input,
    sessionId: record.sessionId,
    ...(record.userId !== undefined ? { userId: record.userId } : {}),
    cron: options.cron,
    ...(options.interval ? { interval: options.interval } : {}),
    timezone: options.timezone,
    createdAt: made.createdAt ?? record.createdAt,
    ...(made.updatedAt !== undefined ? { updatedAt: made.updatedAt } : {}),
  };
  try {
    await temporal.schedule.create({
      scheduleId: temporalScheduleIdFor(input.scheduleId),
      spec: {
        cronExpressions: options.cron,
        intervals: options.interval ? [{ every: options.interval.everyMs, offset: options.interval.offsetMs }] : [],
        timezone: options.timezone,
      },
      action: {
        type: 'startWorkflow',
        workflowType: RUN_KINDS[input.kind].workflowType,
        workflowId: workflowIdForRun(input.scheduleId),
        taskQueue,
        args: [withStoreMark(temporal, input)],
        memo: { [RUN_RECORD_MEMO]: record },
        typedSearchAttributes: runSearchAttributes(record),
        staticSummary: runSummary(record),
        staticDetails: runDetails(record, { namespace: temporal.options.namespace }),
      },
      policies: { overlap: OVERLAP_POLICIES[overlap] },
      state: { paused: options.paused ?? false, ...(options.note !== undefined ? { note: options.note } : {}) },
      memo: { [SCHEDULE_MEMO]: memo },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new ScheduleIdInUseError(input.scheduleId);
    // Temporal's client turns the server's INVALID_ARGUMENT (a cron expression or time zone it cannot read) into this.
    if (err instanceof TypeError) throw new InvalidInputError(`schedule: ${err.message}`);
    throw err;
  }
}

/** A kern schedule by id: pause, resume, trigger, delete, describe, and its runs. Made by `KernClient.schedule(id)`. */
export class KernSchedule {
  constructor(
    private readonly temporal: Client,
    readonly scheduleId: string,
  ) {}

  /** The schedule as it stands; throws {@link ScheduleNotFound} for an id no kern schedule has (or one deleted). */
  async describe(): Promise<ScheduleInfo> {
    return this.call(async (handle) => {
      const description = await handle.describe();
      const info = scheduleInfoOf(this.scheduleId, description, description);
      if (!info) throw new ScheduleNotFound(this.scheduleId);
      return info;
    });
  }

  /** Stops firing until {@link resume}; runs already going go on. `note` says why (the Temporal UI shows it). */
  async pause(note?: string): Promise<void> {
    await this.call((handle) => handle.pause(note));
  }

  async resume(note?: string): Promise<void> {
    await this.call((handle) => handle.unpause(note));
  }

  /**
   * Fires once now, paused or not, under the schedule's overlap policy (`overlap`, when the caller knows it); the run
   * shows in `describe().recentRuns`.
   */
  async trigger(overlap?: ScheduleOverlap): Promise<void> {
    // Temporal's client triggers with `ALLOW_ALL` unless told; the schedule's own policy is what its user chose. A
    // caller that has just described the schedule passes it, saving a second describe.
    await this.call(async (handle) =>
      handle.trigger(overlap ? OVERLAP_POLICIES[overlap] : (await handle.describe()).policies.overlap),
    );
  }

  /** Deletes the schedule; its runs, going or ended, stay (poll, cancel and list them as any run). */
  async delete(): Promise<void> {
    await this.call((handle) => handle.delete());
  }

  private async call<T>(act: (handle: ReturnType<Client['schedule']['getHandle']>) => Promise<T>): Promise<T> {
    try {
      return await act(this.temporal.schedule.getHandle(temporalScheduleIdFor(this.scheduleId)));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new ScheduleNotFound(this.scheduleId);
      throw err;
    }
  }
}

/** Every kern schedule, in the order Temporal lists them (by id), with what a listing shows. */
export async function listSchedules(temporal: Client): Promise<ScheduleInfo[]> {
  const schedules: ScheduleInfo[] = [];
  for await (const summary of temporal.schedule.list()) {
    // A trial of `updateSchedule` is deleted at once, but visibility may list it for a moment after.
    if (!summary.scheduleId.startsWith(SCHEDULE_ID_PREFIX) || summary.scheduleId.includes(TRIAL_MARK)) continue;
    const info = scheduleInfoOf(summary.scheduleId.slice(SCHEDULE_ID_PREFIX.length), summary);
    if (info) schedules.push(info);
  }
  return schedules;
}

/**
 * A schedule's info from its listing row or its description (`described`, which has more: its overlap policy, its runs
 * going, its count); `undefined` for a schedule kern did not create.
 */
function scheduleInfoOf(
  scheduleId: string,
  found: ScheduleDescription | ScheduleSummary,
  described?: ScheduleDescription,
): ScheduleInfo | undefined {
  const memo = found.memo?.[SCHEDULE_MEMO] as ScheduleMemo | undefined;
  if (!memo || typeof memo !== 'object' || !('componentId' in memo)) return undefined;
  const overlap = described ? overlapOf(described) : 'skip';
  const recentRuns = [...found.info.recentActions].reverse().flatMap((action) => {
    const runId = runIdOfWorkflow(action.action.workflow.workflowId);
    return runId ? [{ runId, firedAt: action.takenAt.toISOString() }] : [];
  });
  return {
    scheduleId,
    ...memo,
    overlap,
    paused: found.state.paused,
    ...(found.state.note ? { note: found.state.note } : {}),
    nextRunAt: found.info.nextActionTimes.map((time) => time.toISOString()),
    recentRuns,
    runningRunIds: described
      ? described.info.runningActions.flatMap((action) => runIdOfWorkflow(action.workflow.workflowId) ?? [])
      : [],
    runCount: described?.info.numActionsTaken ?? 0,
    createdAt: createdAtOf(memo, described),
    ...(described?.info.lastUpdatedAt
      ? { updatedAt: described.info.lastUpdatedAt.toISOString() }
      : memo.updatedAt !== undefined
        ? { updatedAt: memo.updatedAt }
        : {}),
  };
}

/** In the id of the throwaway schedule `updateSchedule` tries new settings on. */
const TRIAL_MARK = '-update-check-';

/** A described schedule's overlap policy, by kern's name for it. */
function overlapOf(described: ScheduleDescription): ScheduleOverlap {
  const policies = Object.keys(OVERLAP_POLICIES) as ScheduleOverlap[];
  return policies.find((key) => OVERLAP_POLICIES[key] === described.policies.overlap) ?? 'skip';
}

/** What {@link updateSchedule} changes: the times, the run input, or both; the rest stays. */
export interface ScheduleUpdate {
  times?: ScheduleTimesOf;
  /** The run input its firings start with (written for this schedule: `scheduleId` set to its id). */
  input?: RunInput & { scheduleId: string };
}

/**
 * Changes a schedule's times or run input, keeping its id, pause, note, overlap policy and creation time. Temporal
 * keeps a schedule's memo (where kern keeps the cron text and input as given) as it was created, so the schedule is
 * made again under its id: the new settings are first tried on a paused schedule of a throwaway id (a cron or time
 * zone Temporal refuses changes nothing), then the schedule is deleted and created anew. Temporal's own count and
 * list of the schedule's recent firings start again; its runs, going or ended, stay, and are listed by its id.
 */
export async function updateSchedule(
  temporal: Client,
  taskQueue: string,
  scheduleId: string,
  update: ScheduleUpdate,
): Promise<void> {
  const handle = temporal.schedule.getHandle(temporalScheduleIdFor(scheduleId));
  let old: ScheduleDescription;
  try {
    old = await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new ScheduleNotFound(scheduleId);
    throw err;
  }
  const memo = old.memo?.[SCHEDULE_MEMO] as ScheduleMemo | undefined;
  const oldInput = old.action.type === 'startWorkflow' ? (old.action.args?.[0] as ScheduledInput) : undefined;
  if (!memo || !oldInput) throw new ScheduleNotFound(scheduleId);
  const input = update.input ?? oldInput;
  const oldTimes = { cron: memo.cron, timezone: memo.timezone, ...(memo.interval ? { interval: memo.interval } : {}) };
  const times = update.times ?? oldTimes;
  const kept = {
    overlap: overlapOf(old),
    paused: old.state.paused,
    ...(old.state.note ? { note: old.state.note } : {}),
  };
  const trial = { ...input, scheduleId: `${scheduleId}${TRIAL_MARK}${randomUUID()}` };
  await createSchedule(temporal, taskQueue, trial, { ...times, paused: true });
  await temporal.schedule.getHandle(temporalScheduleIdFor(trial.scheduleId)).delete();
  await handle.delete();
  try {
    await createSchedule(
      temporal,
      taskQueue,
      { ...input, scheduleId },
      { ...times, ...kept },
      {
        // As readers have shown it, so a listing before and after says the same.
        createdAt: createdAtOf(memo, old),
        updatedAt: new Date().toISOString(),
      },
    );
  } catch (err) {
    // Temporal failed between the delete and the create: the schedule is put back as it was, if it can be.
    await createSchedule(temporal, taskQueue, oldInput, { ...oldTimes, ...kept }, memo).catch(() => undefined);
    throw err;
  }
}

type ScheduledInput = RunInput & { scheduleId: string };

/**
 * When a schedule was created: Temporal's record of it, until an update made it again (see `updateSchedule`); from then
 * on its memo, which keeps that time.
 */
function createdAtOf(memo: ScheduleMemo, described: ScheduleDescription | undefined): string {
  return memo.updatedAt === undefined ? (described?.info.createdAt.toISOString() ?? memo.createdAt) : memo.createdAt;
}
