import { Context } from '@temporalio/activity';

/** Milliseconds between heartbeats while an activity waits on user code or a model; the worker throttles them. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * Runs `work`, heartbeating until it settles, so a lost worker is noticed within the heartbeat timeout and a cancel
 * reaches the activity. A cancel rejects at once (with the activity's `CancelledFailure`), whether or not `work`
 * listens to the activity's signal.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const ticker = setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    return await Promise.race([work(), ctx.cancelled]);
  } finally {
    clearInterval(ticker);
  }
}
