import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { RunKey } from '../client/run-options';
import {
  PAUSE_TIMED_OUT,
  type RequirementAnswer,
  type RequirementNeed,
  type RunRequirement,
} from '../shared/requirements';
import { componentIdentityOf, type AnyRunOutput, type ToolExecution } from '../shared/run-output';
import { RunStatus } from '../shared/run-status';
import { callerIn, ownedBy } from './auth';
import type { ServerDeps } from './deps';
import { Conflict, InvalidRequest, NotFound, invalidFields } from './http-errors';
import { optionalInteger } from './run-request';
import { wireOutput, type WireObject } from './wire';

/**
 * The framework's approvals inbox (`/approvals`), answered from kern's pauses: an approval is a top-level run that
 * waits for a person (`PAUSED`, with its requirements), and its id is the run's. There is no second store: pending
 * approvals are listed from Temporal visibility, and one that has been answered says how from its run (approved,
 * rejected, expired when its `pauseTimeout` passed, cancelled with the run). Resolving one answers the run's
 * requirements, so the run goes on at once. What kern does not keep: who resolved an approval and when, once the
 * answer has been given, and approvals of no run (the framework's audit records).
 */
export function approvalRoutes(connect: () => Promise<ServerDeps>): Hono {
  return new Hono()
    .get('/', (c) => listApprovals(c, connect))
    .get('/count', async (c) => {
      const { client } = await connect();
      const userId = callerIn(c).owner ?? (c.req.query('user_id') || undefined);
      const count = await client.countRuns({ status: RunStatus.paused, ...(userId ? { userId } : {}) });
      return c.json({ count });
    })
    .get('/:approvalId', async (c) => {
      const { run, status } = await approvalIn(c, connect);
      return c.json(wireApproval(run, status));
    })
    .get('/:approvalId/status', async (c) => {
      const { run, status } = await approvalIn(c, connect);
      return c.json({ approval_id: run.runId, status, run_id: run.runId, resolved_at: null, resolved_by: null });
    })
    .post('/:approvalId/resolve', (c) => resolveApproval(c, connect))
    .delete('/:approvalId', async (c) => {
      await approvalIn(c, connect);
      throw new Conflict(
        "kern keeps no approval records: an approval is a paused run's wait, which ends when the run is continued " +
          '(resolve it) or cancelled',
      );
    });
}

/** What an approval can be, as the framework says it. */
type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

/** The framework's pause types, by what a requirement needs. */
const PAUSE_TYPES: Readonly<Record<RequirementNeed, string>> = {
  confirmation: 'confirmation',
  userInput: 'user_input',
  externalExecution: 'external_execution',
};

const ListQuery = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'cancelled']).optional(),
  source_type: z.enum(['agent', 'team', 'workflow']).optional(),
  approval_type: z.enum(['required', 'audit']).optional(),
  pause_type: z.enum(['confirmation', 'user_input', 'external_execution']).optional(),
  agent_id: RunKey.optional(),
  team_id: RunKey.optional(),
  workflow_id: RunKey.optional(),
  user_id: RunKey.optional(),
  run_id: RunKey.optional(),
});

/**
 * `GET /approvals`: the pending approvals (paused runs), newest first, a page at a time, as the framework pages
 * them. Kern keeps no resolved approvals to list: asking for another status, or for audit records, gets none.
 */
async function listApprovals(c: Context, connect: () => Promise<ServerDeps>): Promise<Response> {
  const given = c.req.query();
  const parsed = ListQuery.safeParse(given);
  if (!parsed.success) throw invalidFields(parsed.error.issues, 'query', given);
  const query = parsed.data;
  const limit = optionalInteger(c.req.query('limit'), ['query', 'limit']) ?? 100;
  const page = optionalInteger(c.req.query('page'), ['query', 'page']) ?? 1;
  // At most 100 (the framework takes 1,000): each listed approval is its run, read whole.
  if (limit < 1 || limit > 100) throw queryProblem('limit', 'Input should be between 1 and 100', limit);
  if (page < 1) throw queryProblem('page', 'Input should be greater than or equal to 1', page);
  const empty = { data: [], meta: { page, limit, total_pages: 0, total_count: 0 } };
  if ((query.status ?? 'pending') !== 'pending' || (query.approval_type ?? 'required') !== 'required') {
    return c.json(empty);
  }
  const { client } = await connect();
  const userId = callerIn(c).owner ?? query.user_id;
  const [componentKind, componentId] = query.agent_id
    ? (['agent', query.agent_id] as const)
    : query.team_id
      ? (['team', query.team_id] as const)
      : query.workflow_id
        ? (['workflow', query.workflow_id] as const)
        : [undefined, undefined];
  const kind = query.source_type ?? componentKind;
  if (kind !== undefined && componentKind !== undefined && kind !== componentKind) return c.json(empty);
  const filter = {
    status: RunStatus.paused,
    ...(kind !== undefined ? { kind } : {}),
    ...(componentId !== undefined ? { componentId } : {}),
    ...(userId !== undefined ? { userId } : {}),
  };
  let pending: AnyRunOutput[];
  let total: number;
  if (query.run_id !== undefined) {
    const run = await client.getRunOutput(query.run_id);
    const matches =
      run !== null &&
      run.status === RunStatus.paused &&
      run.parentRunId === undefined &&
      (kind === undefined || run.kind === kind) &&
      (componentId === undefined || componentIdentityOf(run).id === componentId) &&
      (userId === undefined || run.userId === userId);
    pending = matches && page === 1 ? [run] : [];
    total = matches ? 1 : 0;
  } else {
    // The earlier pages are skipped as ids only.
    [total, { runs: pending }] = await Promise.all([
      client.countRuns(filter),
      client.listRuns({ ...filter, limit, ...(page > 1 ? { offset: (page - 1) * limit } : {}) }),
    ]);
  }
  const shown = pending
    .filter((run) => run.status === RunStatus.paused)
    .filter((run) => query.pause_type === undefined || pauseTypeOf(run) === query.pause_type);
  return c.json({
    data: shown.map((run) => wireApproval(run, 'pending')),
    meta: { page, limit, total_pages: Math.ceil(total / limit), total_count: total },
  });
}

const ResolveBody = z.object({
  status: z.enum(['approved', 'rejected']),
  resolved_by: z.string().max(255).nullish(),
  resolution_data: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * `POST /approvals/{id}/resolve`: answers the run's requirements and the run goes on. Approved confirms its tool
 * calls, and gives a tool that needs input its values (`resolution_data.values`, or `resolution_data` itself) and
 * one run elsewhere its result (`resolution_data.result`); rejected refuses its tool calls. Under JWT, as on the
 * framework's server, only an admin resolves (another caller gets the 404 of an approval that does not exist).
 */
async function resolveApproval(c: Context, connect: () => Promise<ServerDeps>): Promise<Response> {
  const given = ((await c.req.json().catch(() => undefined)) ?? {}) as Record<string, unknown>;
  const body = ResolveBody.safeParse(given);
  if (!body.success) throw invalidFields(body.error.issues, 'body', given);
  const caller = callerIn(c);
  if (caller.owner !== undefined) throw new NotFound('Approval not found');
  const { run, status } = await approvalIn(c, connect);
  if (status !== 'pending') throw new Conflict(`Approval is already '${status}' and cannot be resolved`);
  const { status: resolution, resolution_data: data } = body.data;
  const answers = (run.requirements ?? []).map((requirement) => answerOf(requirement, resolution, data ?? undefined));
  const { client } = await connect();
  await client.continueRun(run.runId, { requirements: answers });
  const resolvedAt = Math.floor(Date.now() / 1000);
  return c.json({
    ...wireApproval(run, resolution),
    resolution_data: (data ?? null) as WireObject | null,
    resolved_by: caller.userId ?? body.data.resolved_by ?? null,
    resolved_at: resolvedAt,
    updated_at: resolvedAt,
    run_status: RunStatus.running,
  });
}

/** The answer an approval's resolution gives one requirement; one it cannot give is the caller's to fix. */
function answerOf(
  requirement: RunRequirement,
  resolution: 'approved' | 'rejected',
  data: Record<string, unknown> | undefined,
): RequirementAnswer {
  const tool = requirement.toolExecution.toolName;
  switch (requirement.needs) {
    case 'confirmation':
      return { id: requirement.id, confirmation: resolution === 'approved' };
    case 'userInput': {
      const values = (data?.values ?? data) as Record<string, unknown> | undefined;
      if (resolution === 'approved' && values && typeof values === 'object')
        return { id: requirement.id, userInput: values };
      throw bodyProblem(`${tool} needs input: approve with resolution_data.values, or cancel the run to refuse it`);
    }
    case 'externalExecution':
      if (resolution === 'approved' && typeof data?.result === 'string') {
        return { id: requirement.id, externalExecutionResult: data.result };
      }
      throw bodyProblem(`${tool} runs elsewhere: approve with its result as resolution_data.result, or cancel the run`);
  }
}

/** The approval in the path: its run and its status; the framework's 404 for what is not one, or is another user's. */
async function approvalIn(
  c: Context,
  connect: () => Promise<ServerDeps>,
): Promise<{ run: AnyRunOutput; status: ApprovalStatus }> {
  const approvalId = c.req.param('approvalId') ?? '';
  const notFound = new NotFound('Approval not found');
  if (!RunKey.safeParse(approvalId).success) throw notFound;
  const { client } = await connect();
  const run = await client.getRunOutput(approvalId);
  if (!run || run.parentRunId !== undefined || !ownedBy(callerIn(c), run)) throw notFound;
  const status = approvalStatusOf(run);
  if (!status) throw notFound;
  return { run, status };
}

/** What became of a run's wait for a person, or `undefined` for a run that never waited for one. */
function approvalStatusOf(run: AnyRunOutput): ApprovalStatus | undefined {
  if (run.status === RunStatus.paused) return 'pending';
  const asked = toolsOf(run).filter(
    (tool) => tool.requiresConfirmation || tool.requiresUserInput || tool.externalExecutionRequired,
  );
  if (asked.length === 0) return undefined;
  if (run.error?.type === PAUSE_TIMED_OUT) return 'expired';
  if (asked.some((tool) => tool.confirmed === false)) return 'rejected';
  if (asked.every((tool) => tool.confirmed === true || tool.answered === true || tool.result !== undefined)) {
    return 'approved';
  }
  return run.status === RunStatus.cancelled ? 'cancelled' : undefined;
}

/** An approval as the framework's `ApprovalResponse` has it, every field there (`null` for none). */
function wireApproval(run: AnyRunOutput, status: ApprovalStatus): WireObject {
  const requirements = run.status === RunStatus.paused ? (run.requirements ?? []) : [];
  const first = requirements[0];
  const { id: componentId, name } = componentIdentityOf(run);
  const toolNames = requirements.map((requirement) => requirement.toolExecution.toolName);
  const wired = wireOutput(run).requirements;
  return {
    id: run.runId,
    run_id: run.runId,
    session_id: run.sessionId,
    status,
    source_type: run.kind,
    approval_type: 'required',
    pause_type: first ? PAUSE_TYPES[first.needs] : null,
    tool_name: first?.toolExecution.toolName ?? null,
    tool_args: (first?.toolExecution.toolArgs ?? null) as WireObject | null,
    expires_at: null,
    agent_id: run.kind === 'agent' ? componentId : null,
    team_id: run.kind === 'team' ? componentId : null,
    workflow_id: run.kind === 'workflow' ? componentId : null,
    user_id: run.userId ?? null,
    schedule_id: null,
    schedule_run_id: null,
    source_name: name,
    requirements: status === 'pending' && Array.isArray(wired) ? wired : null,
    context: toolNames.length > 0 ? { tool_names: toolNames, source_name: name } : { source_name: name },
    resolution_data: null,
    resolved_by: null,
    resolved_at: null,
    created_at: Math.floor(Date.parse(first?.createdAt ?? run.createdAt) / 1000),
    updated_at: null,
    run_status: run.status,
  };
}

/** A run's tool calls, and those of its members (a team's pause is its member's tool call). */
function toolsOf(run: AnyRunOutput): ToolExecution[] {
  return [...run.tools, ...(run.kind === 'team' ? run.memberResponses.flatMap(toolsOf) : [])];
}

function pauseTypeOf(run: AnyRunOutput): string | undefined {
  const need = run.requirements?.[0]?.needs;
  return need === undefined ? undefined : PAUSE_TYPES[need];
}

function queryProblem(name: string, msg: string, input: number): InvalidRequest {
  return new InvalidRequest([{ type: 'value_error', loc: ['query', name], msg, input: String(input) }]);
}

function bodyProblem(msg: string): InvalidRequest {
  return new InvalidRequest([{ type: 'value_error', loc: ['body', 'resolution_data'], msg, input: null }]);
}
