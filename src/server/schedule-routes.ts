import { Hono, type Context } from 'hono';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { KernClient } from '../client/kern-client';
import { RunKey } from '../client/run-options';
import type { ScheduleInfo } from '../client/schedules';
import { ScheduleIdInUseError, ScheduleNotFound } from '../shared/errors';
import { temporalScheduleIdFor, workflowIdForRun } from '../shared/ids';
import { RUN_KINDS, kindOfRoute, type RunKind } from '../shared/kinds';
import type { AnyRunOutput } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { allows, callerIn, missingScope, ownedBy, refuseOthersSession, startedAs, type Caller } from './auth';
import type { Catalog } from './catalog';
import type { ServerDeps } from './deps';
import { Conflict, InvalidRequest, NotFound } from './http-errors';
import { optionalInteger } from './run-request';
import type { WireObject } from './wire';

/** What a schedule route knows besides its request: the app (whose run routes schedules name) and Temporal. */
interface ScheduleRoute {
  catalog: Catalog;
  connect: () => Promise<ServerDeps>;
}

/**
 * The framework's schedule routes, on kern's Temporal Schedules. The framework's schedules call one of its own HTTP
 * routes at each firing; kern's start a run directly, so a schedule created here must name a run route of this
 * server (`POST /agents/{id}/runs`, and the same for teams and workflows) with the run's form fields as `payload`.
 * A schedule's `name` is its id. Paths take that id.
 */
export function scheduleRoutes(catalog: Catalog, connect: () => Promise<ServerDeps>): Hono {
  const route: ScheduleRoute = { catalog, connect };
  const routes = new Hono()
    .get('/', (c) => listSchedules(c, route))
    .post('/', (c) => createSchedule(c, route))
    .get('/:scheduleId', async (c) => c.json(wireSchedule(await describe(c, route))))
    .patch('/:scheduleId', (c) => updateSchedule(c, route))
    .delete('/:scheduleId', (c) => deleteSchedule(c, route))
    .post('/:scheduleId/trigger', (c) => triggerSchedule(c, route))
    .get('/:scheduleId/runs', (c) => listScheduleRuns(c, route))
    .get('/:scheduleId/runs/:runId', (c) => getScheduleRun(c, route));
  for (const [action, paused] of [
    ['enable', false],
    ['disable', true],
  ] as const) {
    routes.post(`/:scheduleId/${action}`, (c) => pauseSchedule(c, route, paused));
  }
  return routes;
}

/** `GET /schedules?enabled=&limit=&page=`: kern's schedules, by id. */
async function listSchedules(c: Context, { connect }: ScheduleRoute): Promise<Response> {
  const { limit, page } = paging(c, 100, 1000);
  const enabled = c.req.query('enabled');
  const { client } = await connect();
  const caller = callerIn(c);
  const all = (await client.listSchedules()).filter(
    (schedule) => ownedBy(caller, schedule) && (enabled === undefined || schedule.paused === (enabled === 'false')),
  );
  return c.json({
    data: all.slice((page - 1) * limit, page * limit).map(wireSchedule),
    meta: { page, limit, total_pages: Math.ceil(all.length / limit), total_count: all.length },
  });
}

/** `POST /schedules`: a cron schedule that starts runs of one of this server's components. */
async function createSchedule(c: Context, { catalog, connect }: ScheduleRoute): Promise<Response> {
  const body = ScheduleCreate.safeParse(await c.req.json().catch(() => undefined));
  if (!body.success) throw bodyProblems(body.error);
  const { name, cron_expr, endpoint, method, payload, timezone } = body.data;
  const component = runTarget(catalog, endpoint, method);
  if (!cron_expr) throw fieldProblem('cron_expr', 'kern schedules need a cron expression', cron_expr);
  const caller = callerIn(c);
  mayRun(caller, component.kind, component.id);
  const { message, session_state } = payload;
  const { userId: user_id, sessionId: session_id } = startedAs(caller, {
    userId: payload.user_id,
    sessionId: payload.session_id,
  });
  const { client } = await connect();
  // Its runs would read and write that session: another user's is not found, as for a run.
  await refuseOthersSession(client, caller, session_id);
  const { input, settings } = component.scheduleFor({
    id: name,
    cron: cron_expr,
    timezone,
    input: message,
    ...(session_id !== undefined ? { sessionId: session_id } : {}),
    ...(user_id !== undefined ? { userId: user_id } : {}),
    ...(session_state !== undefined ? { sessionState: session_state } : {}),
  });
  try {
    const schedule = await client.createSchedule(input, settings);
    return c.json(wireSchedule(await schedule.describe()), 201);
  } catch (err) {
    if (err instanceof ScheduleIdInUseError)
      throw new Conflict(`Schedule with name '${err.scheduleId}' already exists`);
    throw err;
  }
}

/** The component whose run route `endpoint` is, or the 422 that says what a kern schedule can call. */
function runTarget(catalog: Catalog, endpoint: string, method: string) {
  const target = /^\/([a-z]+)\/([^/]+)\/runs$/.exec(endpoint);
  const kind = target ? kindOfRoute(target[1]!) : undefined;
  const component = kind && catalog.find(kind, decodeURIComponent(target![2]!));
  if (method !== 'POST' || !component) {
    throw fieldProblem(
      'endpoint',
      "kern schedules start runs: endpoint must be POST /agents/{id}/runs (or teams, workflows) of one of this server's components",
      endpoint,
    );
  }
  return component;
}

/**
 * `PATCH /schedules/{id}`: new times (`cron_expr`, `timezone`), or a new run to start (`payload`, `endpoint`); what
 * is not given stays. The schedule keeps its id, pause and creation time (see `KernClient.updateSchedule`).
 */
async function updateSchedule(c: Context, route: ScheduleRoute): Promise<Response> {
  const info = await describe(c, route);
  const body = ScheduleChange.safeParse(await c.req.json().catch(() => undefined));
  if (!body.success) throw bodyProblems(body.error);
  const { name, cron_expr, endpoint, method, payload, timezone } = body.data;
  if (name != null && name !== info.scheduleId) {
    throw fieldProblem('name', "a kern schedule's name is its id, which cannot change: create a new schedule", name);
  }
  if (cron_expr === '') throw fieldProblem('cron_expr', 'kern schedules need a cron expression', cron_expr);
  const newRun = endpoint != null || method != null || payload != null;
  const component = newRun
    ? runTarget(route.catalog, endpoint ?? `/${RUN_KINDS[info.kind].route}/${info.componentId}/runs`, method ?? 'POST')
    : route.catalog.find(info.kind, info.componentId);
  if (!component) {
    throw fieldProblem(
      'endpoint',
      "the schedule's component is not served here: give a new endpoint",
      info.componentId,
    );
  }
  const caller = callerIn(c);
  mayRun(caller, component.kind, component.id);
  const { client } = await route.connect();
  const times = {
    cron: cron_expr ?? info.cron,
    timezone: timezone ?? info.timezone,
    ...(info.interval ? { interval: info.interval.everyMs, offset: info.interval.offsetMs } : {}),
  };
  // New times alone keep the run input the schedule has.
  let input: ReturnType<typeof component.scheduleFor>['input'] | undefined;
  if (newRun) {
    const { userId: user_id, sessionId: session_id } = startedAs(caller, {
      userId: payload?.user_id ?? info.userId,
      sessionId: payload?.session_id ?? info.sessionId,
    });
    await refuseOthersSession(client, caller, session_id);
    input = component.scheduleFor({
      id: info.scheduleId,
      ...times,
      input: payload?.message ?? info.input,
      ...(session_id !== undefined ? { sessionId: session_id } : {}),
      ...(user_id !== undefined ? { userId: user_id } : {}),
      ...(payload?.session_state !== undefined ? { sessionState: payload.session_state } : {}),
    }).input;
  }
  const schedule = await found(() => client.updateSchedule(info.scheduleId, { times, ...(input ? { input } : {}) }));
  return c.json(wireSchedule(await found(() => schedule.describe())));
}

/** `DELETE /schedules/{id}`: the schedule goes; its runs stay. */
async function deleteSchedule(c: Context, route: ScheduleRoute): Promise<Response> {
  const info = await describe(c, route);
  const { client } = await route.connect();
  await found(() => client.schedule(info.scheduleId).delete());
  return c.body(null, 204);
}

/** `POST /schedules/{id}/enable` and `/disable`; enabling needs the right to run what it starts, as creating. */
async function pauseSchedule(c: Context, route: ScheduleRoute, paused: boolean): Promise<Response> {
  const info = await describe(c, route);
  if (!paused) mayRun(callerIn(c), info.kind, info.componentId);
  const { client } = await route.connect();
  const schedule = client.schedule(info.scheduleId);
  await found(() => (paused ? schedule.pause() : schedule.resume()));
  return c.json(wireScheduleState(await found(() => schedule.describe())));
}

/** `POST /schedules/{id}/trigger`: fires once now, under the schedule's overlap policy; answers the run it started. */
async function triggerSchedule(c: Context, route: ScheduleRoute): Promise<Response> {
  const info = await describe(c, route);
  mayRun(callerIn(c), info.kind, info.componentId);
  if (info.paused) return c.json({ detail: 'Schedule is disabled' }, 409);
  const { client } = await route.connect();
  const schedule = client.schedule(info.scheduleId);
  await found(() => schedule.trigger(info.overlap));
  const fired = await firedRun(client, info);
  // Skipped by the overlap policy (its previous run still goes), or not started within 5 s.
  if (!fired) return c.json({ detail: 'The schedule did not start a run: its previous run is still going' }, 409);
  return c.json(wireScheduleRun(info, fired));
}

/** The run a trigger started: it shows in the schedule's recent runs once Temporal has started it, a moment later. */
async function firedRun(client: KernClient, info: ScheduleInfo): Promise<AnyRunOutput | undefined> {
  const schedule = client.schedule(info.scheduleId);
  const seen = new Set(info.recentRuns.map((run) => run.runId));
  for (let attempt = 0; attempt < 50; attempt++) {
    const fired = (await found(() => schedule.describe())).recentRuns.find((run) => !seen.has(run.runId));
    if (fired) {
      const output = await client.getRunOutput(fired.runId);
      if (output) return output;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

/** `GET /schedules/{id}/runs?limit=&page=`: the runs it started, newest first. */
async function listScheduleRuns(c: Context, route: ScheduleRoute): Promise<Response> {
  const info = await describe(c, route);
  const { limit, page } = paging(c, 100, 100);
  const { client } = await route.connect();
  // The earlier pages are skipped as ids only.
  const { runs, nextPageToken } = await client.listRuns({
    scheduleId: info.scheduleId,
    limit,
    ...(page > 1 ? { offset: (page - 1) * limit } : {}),
  });
  if (page > 1 && runs.length === 0) {
    return c.json({ data: [], meta: { page, limit, total_pages: page - 1, total_count: 0 } });
  }
  const total = (page - 1) * limit + runs.length;
  return c.json({
    data: runs.map((run) => wireScheduleRun(info, run)),
    meta: { page, limit, total_pages: nextPageToken ? page + 1 : page, total_count: total },
  });
}

/** `GET /schedules/{id}/runs/{run_id}`: one run the schedule started, or the framework's 404. */
async function getScheduleRun(c: Context, route: ScheduleRoute): Promise<Response> {
  const info = await describe(c, route);
  const runId = c.req.param('runId') ?? '';
  const notFound = new NotFound('Schedule run not found');
  if (!RunKey.safeParse(runId).success) throw notFound;
  const { client } = await route.connect();
  // Temporal marks every workflow a schedule starts with the schedule's id: a run of the same id started otherwise
  // is not this schedule's.
  let scheduledBy: unknown;
  try {
    const description = await client.temporal.workflow.getHandle(workflowIdForRun(runId)).describe();
    scheduledBy = description.searchAttributes.TemporalScheduledById?.[0];
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound;
    throw err;
  }
  const output = scheduledBy === temporalScheduleIdFor(info.scheduleId) ? await client.getRunOutput(runId) : null;
  if (!output) throw notFound;
  return c.json(wireScheduleRun(info, output));
}

/** The schedule in the path, described; 404 for one no kern schedule has, or that is another user's. */
async function describe(c: Context, { connect }: ScheduleRoute): Promise<ScheduleInfo> {
  const { client } = await connect();
  const info = await found(() => client.schedule(scheduleIdIn(c)).describe());
  if (!ownedBy(callerIn(c), info)) throw new NotFound('Schedule not found');
  return info;
}

/** Refuses a schedule the caller may not run the target of, as the framework does (`agents:run`, …). */
function mayRun(caller: Caller, kind: RunKind, componentId: string): void {
  const family = RUN_KINDS[kind].route;
  if (!allows(caller, family, 'run', componentId)) throw missingScope([{ family, action: 'run' }]);
}

/** The framework's `ScheduleCreate`, for what kern can do: a cron schedule that starts a run of a component. */
const ScheduleCreate = z.object({
  name: z.string().min(1).max(255),
  cron_expr: z.string().max(128).default(''),
  endpoint: z.string().max(512),
  method: z
    .string()
    .max(10)
    .default('POST')
    .transform((value) => value.toUpperCase()),
  description: z.string().max(1024).nullish(),
  payload: z.object({
    message: z.string().min(1),
    session_id: z.string().optional(),
    user_id: z.string().optional(),
    session_state: z.record(z.string(), z.unknown()).optional(),
  }),
  timezone: z.string().max(64).default('UTC'),
  // The framework's HTTP call settings. kern's runs retry through their activities, so only the defaults are taken.
  timeout_seconds: z.literal(3600).default(3600),
  max_retries: z.literal(0).default(0),
  retry_delay_seconds: z.literal(60).default(60),
});

/** The framework's `ScheduleUpdate`: every field optional (what is not given stays); `null` is not given. */
const ScheduleChange = z.object({
  name: ScheduleCreate.shape.name.nullish(),
  cron_expr: z.string().max(128).nullish(),
  endpoint: z.string().max(512).nullish(),
  method: z
    .string()
    .max(10)
    .transform((value) => value.toUpperCase())
    .nullish(),
  description: z.string().max(1024).nullish(),
  payload: ScheduleCreate.shape.payload.nullish(),
  timezone: z.string().max(64).nullish(),
  timeout_seconds: z.literal(3600).nullish(),
  max_retries: z.literal(0).nullish(),
  retry_delay_seconds: z.literal(60).nullish(),
});

/** The schedule id in the path; one no schedule can have (too long, control characters) is a 404 at once. */
function scheduleIdIn(c: Context): string {
  const scheduleId = c.req.param('scheduleId') ?? '';
  if (!RunKey.safeParse(scheduleId).success) throw new NotFound('Schedule not found');
  return scheduleId;
}

/** Runs `act` on a schedule; one that no kern schedule has is a 404, as the framework's. */
async function found<T>(act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (err) {
    if (err instanceof ScheduleNotFound) throw new NotFound('Schedule not found');
    throw err;
  }
}

function paging(c: Context, defaultLimit: number, maxLimit: number): { limit: number; page: number } {
  const limit = optionalInteger(c.req.query('limit'), ['query', 'limit']) ?? defaultLimit;
  const page = optionalInteger(c.req.query('page'), ['query', 'page']) ?? 1;
  if (limit < 1 || limit > maxLimit) {
    throw queryProblem('limit', `Input should be between 1 and ${maxLimit}`, c.req.query('limit'));
  }
  if (page < 1) throw queryProblem('page', 'Input should be greater than or equal to 1', c.req.query('page'));
  return { limit, page };
}

function queryProblem(name: string, msg: string, input: string | undefined): InvalidRequest {
  return new InvalidRequest([{ type: 'value_error', loc: ['query', name], msg, input: input ?? null }]);
}

function fieldProblem(name: string, msg: string, input: string): InvalidRequest {
  return new InvalidRequest([{ type: 'value_error', loc: ['body', name], msg, input }]);
}

function bodyProblems(error: z.ZodError): InvalidRequest {
  return new InvalidRequest(
    error.issues.map((issue) => ({
      type: issue.code,
      loc: ['body', ...issue.path.map(String)],
      msg: issue.message,
      input: null,
    })),
  );
}

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** A schedule as the framework's `ScheduleResponse`: one of its HTTP calls, which is what a kern schedule does. */
function wireSchedule(info: ScheduleInfo): WireObject {
  return {
    id: info.scheduleId,
    user_id: info.userId ?? null,
    name: info.scheduleId,
    description: null,
    method: 'POST',
    endpoint: `/${RUN_KINDS[info.kind].route}/${encodeURIComponent(info.componentId)}/runs`,
    payload: {
      message: info.input,
      session_id: info.sessionId,
      ...(info.userId !== undefined ? { user_id: info.userId } : {}),
    },
    // A schedule of several cron expressions, or an interval (kern's API takes them), shows its first cron or none.
    cron_expr: info.cron[0] ?? null,
    timezone: info.timezone,
    timeout_seconds: 3600,
    max_retries: 0,
    retry_delay_seconds: 60,
    enabled: !info.paused,
    next_run_at: info.nextRunAt[0] ? epochSeconds(info.nextRunAt[0]) : null,
    managed_by: null,
    target_type: info.kind,
    target_id: info.componentId,
    disabled_reason: info.paused ? (info.note ?? null) : null,
    created_at: epochSeconds(info.createdAt),
    updated_at: info.updatedAt ? epochSeconds(info.updatedAt) : null,
  };
}

function wireScheduleState(info: ScheduleInfo): WireObject {
  const { id, name, enabled, next_run_at, updated_at } = wireSchedule(info);
  return { id, name, enabled, next_run_at, updated_at } as WireObject;
}

/** The framework's run statuses of a schedule run, for each kern status. */
const SCHEDULE_RUN_STATUS: Readonly<Record<RunStatus, string>> = {
  [RunStatus.pending]: 'running',
  [RunStatus.running]: 'running',
  [RunStatus.paused]: 'paused',
  [RunStatus.completed]: 'success',
  [RunStatus.cancelled]: 'cancelled',
  [RunStatus.error]: 'failed',
};

/** One run of a schedule as the framework's `ScheduleRunResponse`: its id is the run's. */
function wireScheduleRun(info: ScheduleInfo, run: AnyRunOutput): WireObject {
  const ended = run.status !== RunStatus.pending && run.status !== RunStatus.running;
  return {
    id: run.runId,
    schedule_id: info.scheduleId,
    user_id: run.userId ?? null,
    attempt: 1,
    triggered_at: epochSeconds(run.createdAt),
    completed_at: ended && run.status !== RunStatus.paused ? epochSeconds(run.updatedAt) : null,
    status: SCHEDULE_RUN_STATUS[run.status],
    status_code: null,
    run_id: run.runId,
    session_id: run.sessionId,
    error: run.error?.message ?? null,
    input: { message: run.input },
    output: null,
    requirements: null,
    created_at: epochSeconds(run.createdAt),
  };
}
