import { patched } from '@temporalio/workflow';

/**
 * The first run input format whose runs take every change of kern's workflow code up to it from their format, not from
 * Temporal patch markers (see `RUN_INPUT_VERSION`).
 */
const FORMAT_WITHOUT_MARKERS = 12;

/**
 * The format of the run this workflow runs. Module state is the workflow's own: Temporal's TypeScript worker gives
 * each workflow execution its own instance of the workflow bundle's modules. Set by `runInputOf`, before anything
 * asks {@link hasPatch}; a session's workflow never asks.
 */
let runFormat = 0;

/** Takes the run's format (see {@link hasPatch}). */
export function takeRunFormat(version: number): void {
  runFormat = version;
}

/**
 * True when this run takes the change named `patchId`. A run of format 12 or later takes every change kern's workflow
 * code made through format 12, and records nothing for it. A run of an older format asks Temporal, as it always
 * has: `patched` records a marker (and a `TemporalChangeVersion` search attribute) the first time it says yes, and
 * on replay says yes where the history has the marker, so a run recorded before the change replays the code it ran.
 *
 * A change made after format 12 bumps the format, and asks `version >= N` of the run's input: a worker of an older
 * format does not take such a run (`readRunInput`), so a run's code never depends on which worker ran it first.
 */
export function hasPatch(patchId: string): boolean {
  return runFormat >= FORMAT_WITHOUT_MARKERS || patched(patchId);
}
