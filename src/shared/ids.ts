/** The Temporal workflow id of a run. Derived from the run id alone, so every operation works from a run id. */
export function workflowIdForRun(runId: string): string {
  return `${RUN_WORKFLOW_ID_PREFIX}${runId}`;
}

/** What a run's workflow id starts with; the rest is the run id. */
export const RUN_WORKFLOW_ID_PREFIX = 'kern-run-';

/** `'Storytelling Team'` → `'storytelling-team'`: the default id of an agent, team or workflow. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
