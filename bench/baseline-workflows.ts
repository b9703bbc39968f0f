// The bare-Temporal baseline the benchmark compares kern with: the same work, with nothing of kern around it.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-activities';

const { bareModelCall } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Does nothing: what starting any workflow costs. */
export async function emptyWorkflow(): Promise<void> {}

/** One activity that makes the model request kern's agent would make. */
export async function modelCallWorkflow(prompt: string): Promise<string> {
  return bareModelCall(prompt);
}
