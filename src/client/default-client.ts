import type { ContinueRequest } from '../shared/requirements';
import { KernClient } from './kern-client';

/** What a script does with a run id alone, on the process-wide client from the environment (or the one it names). */

/**
 * Cancels a run by id with the default client (from the environment). `true` when a pending or running run was
 * asked to cancel; `false` for a finished or unknown run. For an unknown id the cancel is recorded, and a run
 * started later with that id ends `CANCELLED` without calling the model. `exactPartial`: see `CancelOptions`.
 */
export async function cancelRun(
  runId: string,
  options: { client?: KernClient; exactPartial?: boolean } = {},
): Promise<boolean> {
  const { client, ...cancel } = options;
  return (client ?? (await KernClient.default())).cancelRun(runId, cancel);
}

/**
 * Answers what a `PAUSED` run waits for, with the default client (from the environment); see
 * {@link KernClient.continueRun}. Resolves once the run has taken the answers.
 */
export async function continueRun(
  runId: string,
  request: ContinueRequest,
  options: { client?: KernClient } = {},
): Promise<void> {
  await (options.client ?? (await KernClient.default())).continueRun(runId, request);
}
