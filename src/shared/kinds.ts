/**
 * The three kinds of run, and what each is called wherever it shows: one table, read by the client (workflow types,
 * listing queries), the server (route segments, 404 texts) and the workflows (child runs, event names). Pure and
 * sandbox-safe.
 */

/** What kind of component a run runs: the discriminant of specs, inputs, outputs, run records and event sources. */
export type RunKind = 'agent' | 'team' | 'workflow';

/** What one kind of run is called: in Temporal, on the HTTP API, and in its event stream. */
interface KindNames {
  /** The Temporal workflow type that runs it. */
  readonly workflowType: string;
  /** The `{kind}` segment of the framework's HTTP routes (`/agents/{id}/runs`). */
  readonly route: string;
  /** The framework's 404 detail for an unknown component of this kind. */
  readonly notFound: string;
  /** What its own events' names start with: `TeamRunContent` is a team's `RunContent`. Workflows have their own names. */
  readonly eventPrefix: string;
  /** The events that end its stream: exactly one of them is published, last, by the run itself. */
  readonly endEvents: readonly string[];
  /** The event it publishes when it pauses for a person, and when it goes on. */
  readonly pauseEvent: string;
  readonly continueEvent: string;
}

export const RUN_KINDS = {
  agent: {
    workflowType: 'agentRun',
    route: 'agents',
    notFound: 'Agent not found',
    eventPrefix: '',
    endEvents: ['RunCompleted', 'RunError', 'RunCancelled'],
    pauseEvent: 'RunPaused',
    continueEvent: 'RunContinued',
  },
  team: {
    workflowType: 'teamRun',
    route: 'teams',
    notFound: 'Team not found',
    eventPrefix: 'Team',
    endEvents: ['TeamRunCompleted', 'TeamRunError', 'TeamRunCancelled'],
    pauseEvent: 'TeamRunPaused',
    continueEvent: 'TeamRunContinued',
  },
  workflow: {
    workflowType: 'workflowRun',
    route: 'workflows',
    notFound: 'Workflow not found',
    eventPrefix: '',
    endEvents: ['WorkflowCompleted', 'WorkflowError', 'WorkflowCancelled'],
    pauseEvent: 'WorkflowPaused',
    continueEvent: 'WorkflowContinued',
  },
} as const satisfies Record<RunKind, KindNames>;

/** Every kind, in the table's order. */
export const RUN_KIND_LIST = Object.keys(RUN_KINDS) as RunKind[];

/** The `{kind}` segment of a route: `agents`, `teams` or `workflows`. */
export type RouteKind = (typeof RUN_KINDS)[RunKind]['route'];

/** The kind a route segment serves, or `undefined` for a segment that is not one. */
export function kindOfRoute(route: string): RunKind | undefined {
  return RUN_KIND_LIST.find((kind) => RUN_KINDS[kind].route === route);
}

/** True for a string that names a kind (`agent`, `team`, `workflow`), as a query parameter may. */
export function isRunKind(value: string): value is RunKind {
  return Object.hasOwn(RUN_KINDS, value);
}
