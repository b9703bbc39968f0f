/** The Temporal workflow id of a run. Derived from the run id alone, so every operation works from a run id. */
export function workflowIdForRun(runId: string): string {
  return `${RUN_WORKFLOW_ID_PREFIX}${runId}`;
}

/** What a run's workflow id starts with; the rest is the run id. */
export const RUN_WORKFLOW_ID_PREFIX = 'kern-run-';

/** The run id of a run's workflow id, or `undefined` for an execution that is not a run. */
export function runIdOfWorkflow(workflowId: string): string | undefined {
  return workflowId.startsWith(RUN_WORKFLOW_ID_PREFIX) ? workflowId.slice(RUN_WORKFLOW_ID_PREFIX.length) : undefined;
}

/** The Temporal schedule id of a kern schedule. */
export function temporalScheduleIdFor(scheduleId: string): string {
  return `${SCHEDULE_ID_PREFIX}${scheduleId}`;
}

/** What a kern schedule's Temporal schedule id starts with; the rest is the schedule id. */
export const SCHEDULE_ID_PREFIX = 'kern-schedule-';

/** `'Storytelling Team'` → `'storytelling-team'`: the default id of an agent, team or workflow. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
