/**
 * The status of a run, with the Python framework's values so clients written for it keep working.
 * `PENDING` until a worker starts the run; `COMPLETED`, `CANCELLED` and `ERROR` are terminal.
 */
export const RunStatus = {
  pending: 'PENDING',
  running: 'RUNNING',
  completed: 'COMPLETED',
  paused: 'PAUSED',
  cancelled: 'CANCELLED',
  error: 'ERROR',
} as const;

export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

const terminalStatuses: ReadonlySet<RunStatus> = new Set([RunStatus.completed, RunStatus.cancelled, RunStatus.error]);

/** True for `COMPLETED`, `CANCELLED` and `ERROR`: the run will not change any more. */
export function isTerminalStatus(status: RunStatus): boolean {
  return terminalStatuses.has(status);
}
