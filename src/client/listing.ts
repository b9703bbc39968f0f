import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { InvalidInputError } from '../shared/errors';
import { runIdOfWorkflow, temporalScheduleIdFor } from '../shared/ids';
import { RUN_KINDS, RUN_KIND_LIST, type RunKind } from '../shared/kinds';
import type { AnyRunOutput } from '../shared/run-output';
import type { RunStatus } from '../shared/run-status';
import { SESSION_WORKFLOW_TYPE } from '../shared/session-workflow';
import { SESSION_WORKFLOW_ID_PREFIX } from '../shared/sessions';
import { getRunOutput } from './run-outputs';
import type { TemporalAccess } from './temporal-access';

/**
 * Listing runs and sessions from Temporal's visibility store, by the `Kern…` search attributes. Values a caller
 * passes are quoted in the query ({@link visibilityString}), so an id like `x' OR KernKind='team` matches only a
 * run or session whose id is exactly that. Visibility follows a run's start (and each status change) by up to a
 * second or so; a session's own state and history never lag (see `shared/sessions.ts`).
 */

/** Which runs {@link KernClient.listRuns} returns: top-level runs unless `parentRunId` is given; every field must match. */
export interface RunListFilter {
  kind?: RunKind;
  componentId?: string;
  sessionId?: string;
  userId?: string;
  status?: RunStatus;
  /** The member or step runs of this run, instead of top-level runs. */
  parentRunId?: string;
  /** The runs this schedule started. */
  scheduleId?: string;
  /** At most this many runs (default 20, at most 100). */
  limit?: number;
  /** From a previous page's `nextPageToken`, with the same filter. */
  pageToken?: string;
  /** Skip this many runs first (read as ids only), for numbered pages. */
  offset?: number;
}

/** One page of runs, newest first. `nextPageToken` is there when more may follow. */
export interface RunPage {
  runs: AnyRunOutput[];
  nextPageToken?: string;
}

/** Which sessions {@link KernClient.listSessions} returns; every field given must match. */
export interface SessionListFilter {
  /** Sessions whose first run was this component's (or, given several ids, any of theirs). */
  componentId?: string | string[];
  userId?: string;
  /** At most this many sessions (default 20, at most 100). */
  limit?: number;
  /** From a previous page's `nextPageToken`, with the same filter. */
  pageToken?: string;
  /** Skip this many sessions first (after `pageToken`, if given): for page numbers, as the HTTP API takes them. */
  offset?: number;
}

/** A string literal for a visibility query: quotes and backslashes escaped, so the value cannot end the literal. */
export function visibilityString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const RUN_TYPES = RUN_KIND_LIST.map((kind) => visibilityString(RUN_KINDS[kind].workflowType)).join(', ');

/** See {@link KernClient.listRuns}. */
export async function listRuns(access: TemporalAccess, filter: RunListFilter = {}): Promise<RunPage> {
  const { limit, pageToken, offset, ...match } = filter;
  const query = runsQuery(match);
  const token = await skipped(access, query, offset, pageToken);
  if (token === null) return { runs: [] };
  const page = await access.visibility(() => listPage(access.temporal, query, pageLimit(limit), token));
  const runIds = page.executions.flatMap((execution) => runIdOfWorkflow(execution.workflowId) ?? []);
  const outputs = await Promise.all(runIds.map((runId) => getRunOutput(access, runId)));
  return {
    runs: outputs.filter((output): output is AnyRunOutput => output !== null),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** How many skipped executions a listing reads in one visibility page (`offset`). */
const SKIP_PAGE = 1_000;

/**
 * The page token after skipping `offset` executions of `query` from `pageToken`, or `null` when there are no more.
 * Skipped executions are read as ids only, a thousand at a time: none of them costs a describe, a query or a count.
 */
export async function skipped(
  access: TemporalAccess,
  query: string,
  offset: number | undefined,
  pageToken: string | undefined,
): Promise<string | undefined | null> {
  let token = pageToken;
  for (let skip = offset ?? 0; skip > 0; skip -= SKIP_PAGE) {
    const page = await access.visibility(() => listPage(access.temporal, query, Math.min(skip, SKIP_PAGE), token));
    if (!page.nextPageToken) return null;
    token = page.nextPageToken;
  }
  return token;
}

/** See {@link KernClient.countRuns}. */
export function countRuns(
  access: TemporalAccess,
  filter: Omit<RunListFilter, 'limit' | 'pageToken' | 'offset'> = {},
): Promise<number> {
  return access.visibility(() => countExecutions(access.temporal, runsQuery(filter)));
}

/** The visibility query for runs matching `filter`. */
export function runsQuery(filter: Omit<RunListFilter, 'limit' | 'pageToken' | 'offset'>): string {
  // A run that continued as new has an execution per stretch; its newest stands for it.
  const conditions = [`WorkflowType IN (${RUN_TYPES})`, `ExecutionStatus != 'ContinuedAsNew'`];
  conditions.push(
    filter.parentRunId !== undefined
      ? `KernParentRunId = ${visibilityString(filter.parentRunId)}`
      : 'KernParentRunId IS NULL',
  );
  if (filter.kind !== undefined) conditions.push(`KernKind = ${visibilityString(filter.kind)}`);
  if (filter.componentId !== undefined) conditions.push(`KernComponentId = ${visibilityString(filter.componentId)}`);
  if (filter.sessionId !== undefined) conditions.push(`KernSessionId = ${visibilityString(filter.sessionId)}`);
  if (filter.userId !== undefined) conditions.push(`KernUserId = ${visibilityString(filter.userId)}`);
  if (filter.status !== undefined) conditions.push(`KernStatus = ${visibilityString(filter.status)}`);
  if (filter.scheduleId !== undefined) {
    // Temporal sets it on every workflow a schedule starts.
    conditions.push(`TemporalScheduledById = ${visibilityString(temporalScheduleIdFor(filter.scheduleId))}`);
  }
  return conditions.join(' AND ');
}

/** The visibility query for sessions matching `filter`: their open entity workflows (one per session). */
export function sessionsQuery(filter: Omit<SessionListFilter, 'limit' | 'pageToken' | 'offset'>): string {
  const conditions = [`WorkflowType = ${visibilityString(SESSION_WORKFLOW_TYPE)}`, `ExecutionStatus = 'Running'`];
  if (filter.componentId !== undefined) {
    // No ids match nothing: the empty id is no component's.
    const ids = [filter.componentId].flat();
    conditions.push(`KernComponentId IN (${(ids.length > 0 ? ids : ['']).map(visibilityString).join(', ')})`);
  }
  if (filter.userId !== undefined) conditions.push(`KernUserId = ${visibilityString(filter.userId)}`);
  return conditions.join(' AND ');
}

/** A page size a caller asked for, in 1 to 100 (default 20). */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 20;
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError('limit must be a whole number of at least 1');
  return Math.min(limit, 100);
}

/** One execution of a listing page: its workflow id and times. */
export interface ListedExecution {
  workflowId: string;
  startTime?: Date;
  closeTime?: Date;
}

/**
 * One page of executions matching `query`, newest first, from `pageToken`: an opaque string that wraps Temporal's page
 * token with a digest of the query it belongs to. A token that is not one, or that belongs to another filter, is an
 * {@link InvalidInputError} at once (Temporal answers a token it did not issue with an error its client retries for
 * 20 s).
 */
export async function listPage(
  temporal: Client,
  query: string,
  limit: number,
  pageToken: string | undefined,
): Promise<{ executions: ListedExecution[]; nextPageToken?: string }> {
  const token = pageToken === undefined ? undefined : readPageToken(pageToken, query);
  const response = await temporal.workflowService.listWorkflowExecutions({
    namespace: temporal.options.namespace,
    query,
    pageSize: limit,
    ...(token ? { nextPageToken: token } : {}),
  });
  const executions = (response.executions ?? []).map((raw) => ({
    workflowId: raw.execution?.workflowId ?? '',
    ...(raw.startTime ? { startTime: timestampToDate(raw.startTime) } : {}),
    ...(raw.closeTime ? { closeTime: timestampToDate(raw.closeTime) } : {}),
  }));
  const next = response.nextPageToken;
  return { executions, ...(next && next.length > 0 ? { nextPageToken: writePageToken(next, query) } : {}) };
}

/** kern's page token: the query's digest, a dot, and Temporal's token (both base64url). */
function writePageToken(temporalToken: Uint8Array, query: string): string {
  return `${queryDigest(query)}.${Buffer.from(temporalToken).toString('base64url')}`;
}

function readPageToken(pageToken: string, query: string): Uint8Array {
  const [digest, token] = pageToken.split('.');
  if (digest !== queryDigest(query) || !token) {
    throw new InvalidInputError('pageToken is not one that this listing, with this filter, returned');
  }
  return Buffer.from(token, 'base64url');
}

function queryDigest(query: string): string {
  return createHash('sha256').update(query).digest('base64url').slice(0, 16);
}

/** How many executions match `query`. */
export async function countExecutions(temporal: Client, query: string): Promise<number> {
  const response = await temporal.workflowService.countWorkflowExecutions({
    namespace: temporal.options.namespace,
    query,
  });
  return Number(response.count ?? 0);
}

/** The session id of a session's workflow id. */
export function sessionIdOfWorkflow(workflowId: string): string | undefined {
  return workflowId.startsWith(SESSION_WORKFLOW_ID_PREFIX)
    ? workflowId.slice(SESSION_WORKFLOW_ID_PREFIX.length)
    : undefined;
}

function timestampToDate(ts: { seconds?: unknown; nanos?: number | null }): Date {
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}
