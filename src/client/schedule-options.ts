import { ScheduleOverlapPolicy } from '@temporalio/client';
import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { durationMs } from './run-options';

/** What a schedule is created with, checked: its id, when it fires, what it does on overlap. */

/** What a schedule does when a firing comes while its previous run is still going. */
export type ScheduleOverlap = 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther' | 'allowAll';

/**
 * Temporal's policy for each overlap kern offers. Temporal's `TERMINATE_OTHER` is not offered: a terminated run ends
 * without kern's finish (its status and output would not say it ended); `cancelOther` cancels it instead.
 */
export const OVERLAP_POLICIES: Record<ScheduleOverlap, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  bufferOne: ScheduleOverlapPolicy.BUFFER_ONE,
  bufferAll: ScheduleOverlapPolicy.BUFFER_ALL,
  cancelOther: ScheduleOverlapPolicy.CANCEL_OTHER,
  allowAll: ScheduleOverlapPolicy.ALLOW_ALL,
};

/** A schedule id: it becomes part of its runs' ids (and so of URLs), so it is kept to a plain set of characters. */
const ScheduleKey = z
  .string()
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, . _ and -');

/** When a schedule fires: cron expressions and intervals, all of them (at least one). */
export const ScheduleTimes = z.strictObject({
  /** Cron expressions (`'0 9 * * MON-FRI'`), in `timezone`. */
  cron: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Every this long (milliseconds, or a duration such as `'1 hour'`), from the Unix epoch, plus `offset`. */
  interval: z.union([z.number(), z.string()]).optional(),
  /** Shifts the interval's firings (`interval: '1 day', offset: '9 hours'` fires at 09:00 UTC). */
  offset: z.union([z.number(), z.string()]).optional(),
  /** The IANA time zone of the cron expressions (default UTC). */
  timezone: z.string().min(1).optional(),
});
export type ScheduleTimes = z.infer<typeof ScheduleTimes>;

/** What a schedule is created with, besides its run's input and run options. */
export interface ScheduleOptions extends ScheduleTimes {
  /** The schedule's id, unique among kern schedules; its runs' ids start with it. */
  id: string;
  /** What each run is given. */
  input: string;
  /** Default `skip`: a firing while the previous run is still going starts nothing. */
  overlap?: ScheduleOverlap;
  /** Create it paused: it fires once resumed (or when triggered). */
  paused?: boolean;
  /** Why it is paused, or any note; shown in the Temporal UI. */
  note?: string;
  /** The session every run of the schedule is in (default `schedule-<id>`): runs that keep history see earlier runs'. */
  sessionId?: string;
  userId?: string;
  sessionState?: Record<string, unknown>;
  /** The runs' answer shape, as `run(input, { outputSchema })`. */
  outputSchema?: z.ZodType | Record<string, unknown>;
}

/** When a schedule fires, as checked and kept: cron expressions, an interval in milliseconds, the time zone. */
export interface ScheduleTimesOf {
  cron: string[];
  interval?: { everyMs: number; offsetMs: number };
  timezone: string;
}

/** The session a schedule's runs are in unless it names one. */
export function defaultScheduleSession(scheduleId: string): string {
  return `schedule-${scheduleId}`;
}

/** The schedule id from {@link ScheduleOptions}, checked; {@link InvalidInputError} for one kern does not take. */
export function scheduleIdOption(id: unknown): string {
  const parsed = ScheduleKey.safeParse(id);
  if (!parsed.success) throw new InvalidInputError(`schedule id: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The times of a schedule, checked: at least one cron expression or an interval, with durations that are ones. */
export function scheduleTimesOf(options: ScheduleTimes): ScheduleTimesOf {
  const parsed = ScheduleTimes.safeParse(options);
  if (!parsed.success) {
    throw new InvalidInputError(`schedule: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)}`);
  }
  const { cron, interval, offset, timezone } = parsed.data;
  const crons = cron === undefined ? [] : [cron].flat();
  if (crons.length === 0 && interval === undefined) {
    throw new InvalidInputError('schedule: give `cron` or `interval` (or both)');
  }
  if (offset !== undefined && interval === undefined)
    throw new InvalidInputError('schedule: `offset` needs `interval`');
  return {
    cron: crons,
    ...(interval !== undefined
      ? {
          interval: {
            everyMs: durationOption('interval', interval, 1000),
            offsetMs: durationOption('offset', offset ?? 0, 0),
          },
        }
      : {}),
    timezone: timezone ?? 'UTC',
  };
}

function durationOption(field: string, value: number | string, least: number): number {
  const ms = durationMs(value);
  if (!Number.isFinite(ms) || ms < least) {
    throw new InvalidInputError(`schedule: ${field} must be a duration of at least ${least} ms (like '1 hour')`);
  }
  return Math.round(ms);
}
