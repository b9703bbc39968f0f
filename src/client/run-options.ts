import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { jsonBytes } from '../shared/limits';
import { MAX_SESSION_STATE_BYTES, sessionStateBytes } from '../shared/sessions';

/**
 * A run, session or user id: kept exactly as given (never trimmed), so the caller finds the run under the id it chose.
 * Ids with surrounding spaces or control characters are refused rather than changed.
 */
export const RunKey = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => value.trim() === value, 'must not start or end with spaces')
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

/**
 * A session or user id: a {@link RunKey} that Temporal's visibility can also match. Its query language never matches a
 * value holding `"` or a backslash, however it is escaped (server 1.32), so such an id is refused rather than left unlistable.
 */
export const ListedKey = RunKey.refine(
  (value) => !/["\\]/.test(value),
  'must not contain double quotes or backslashes (Temporal visibility cannot match them)',
);

/** Options of `run()`. Unknown keys are an error, so a typo does not silently change what runs. */
export const RunOptions = z.strictObject({
  /** Return `PENDING` as soon as Temporal has the run, instead of waiting for its end. */
  background: z.boolean().optional(),
  /** Return the run's events as they happen instead of an output. */
  stream: z.boolean().optional(),
  /** Use this run id instead of a new UUID. Must not have been used by another run. */
  runId: RunKey.optional(),
  sessionId: ListedKey.optional(),
  userId: ListedKey.optional(),
  /**
   * Session state for this run: merged over what the session holds (nested objects merge, other values replace), handed to tools, and kept
   * with the tools' changes when the run completes.
   */
  sessionState: z
    .record(z.string(), z.unknown())
    .refine(
      (state) => sessionStateBytes(state) <= MAX_SESSION_STATE_BYTES,
      `must be at most ${MAX_SESSION_STATE_BYTES} bytes as JSON`,
    )
    .optional(),
  /**
   * This run's answer shape, instead of its agent's or team's `outputSchema` (a zod schema, or a JSON schema object):
   * see `ModelComponentOptions.outputSchema`. Members and steps keep their own.
   */
  outputSchema: z
    .custom<z.ZodType | Record<string, unknown>>(
      (value) => value instanceof z.ZodType || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      'must be a zod schema or a JSON schema object',
    )
    .optional(),
});
export type RunOptions = z.infer<typeof RunOptions>;

/** A duration option in milliseconds (a number, or a string such as `'2 days'`); `NaN` for one that is not. */
export function durationMs(value: number | string): number {
  try {
    return msToNumber(value as Duration);
  } catch {
    return NaN;
  }
}

/**
 * The largest run input kern accepts, in bytes as Temporal stores it (JSON in UTF-8, where a control character takes
 * 6 bytes and a CJK one 3): Temporal refuses a payload past 2 MB and a memo past 2 MB, and the input is in both.
 */
export const MAX_INPUT_BYTES = 512 * 1024;

/** Why `input` is too large to start a run with, or `undefined` when it is not. */
export function inputTooLarge(input: string): string | undefined {
  if (input.length * 6 + 2 <= MAX_INPUT_BYTES) return undefined;
  const bytes = jsonBytes(input);
  return bytes <= MAX_INPUT_BYTES
    ? undefined
    : `the run input weighs ${bytes} bytes as Temporal stores it (JSON, in which a control character takes 6 bytes); the limit is ${MAX_INPUT_BYTES}`;
}

/** Checks a run's input and options, throwing {@link InvalidInputError} with what is wrong. */
export function parseRunRequest(input: unknown, options: unknown): { input: string; options: RunOptions } {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new InvalidInputError('the run input must be a non-empty string');
  }
  const tooLarge = inputTooLarge(input);
  if (tooLarge) throw new InvalidInputError(tooLarge);
  const parsed = RunOptions.safeParse(options ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `'${key}'`).join(', ')}`
        : `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new InvalidInputError(`invalid run options: ${problems.join('; ')}`);
  }
  return { input, options: parsed.data };
}
