/**
 * Runs tasks side by side and waits for all of them, so a cancel or failure never leaves one running; then rethrows
 * the first failure, if any.
 */
export async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
