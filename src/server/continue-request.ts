import { z } from 'zod';
import { ListedKey } from '../client/run-options';
import type { RequirementAnswer, RunRequirement } from '../shared/requirements';
import type { ContinueFrom, ForkRequest } from '../shared/forks';
import { BadRequest, InvalidRequest, type FieldProblem } from './http-errors';
import { formBoolean, optionalKey, rejectUnknownFields } from './run-request';

/**
 * The body of `POST /{kind}/{id}/runs/{run_id}/continue`, as the Python framework's client sends it: the paused tool
 * executions with their answers (`tools`, JSON text), or the requirements with theirs (`requirements`, or
 * `step_requirements` for workflows), and `session_id`, `user_id`, `stream` (default true), `background` (default
 * false). And for a fork (see `forkRun`): `continue_from` (`end`, `last_user` or a message index), `fork`,
 * `regenerate`, `replace_original`, and `input` (or `additional_instructions`, its name with `regenerate`).
 */
const ContinueFields = z.object({
  tools: z.string().optional(),
  requirements: z.string().optional(),
  step_requirements: z.string().optional(),
  stream: formBoolean.default(true),
  background: formBoolean.default(false),
  session_id: optionalKey(ListedKey),
  user_id: optionalKey(ListedKey),
  continue_from: z.string().optional(),
  fork: formBoolean.default(false),
  regenerate: formBoolean.default(false),
  replace_original: z.preprocess((value) => (value === '' ? undefined : value), formBoolean.optional()),
  input: z.string().optional(),
  additional_instructions: z.string().optional(),
});

/** A continue request, its answers still in the framework's shapes. */
export interface ContinueHttpRequest {
  stream: boolean;
  background: boolean;
  sessionId?: string;
  /** Tool executions (`tools`) and requirements (`requirements`, `step_requirements`), parsed. */
  tools: WireRecord[];
  requirements: WireRecord[];
  /** What to fork, when the request asks for a new run (`fork`, `regenerate`, a `continue_from` other than `end`). */
  fork?: ForkRequest;
  /** The fork fields as given, for a run that is forked because it has ended (then the request need not say so). */
  forkFields: ForkRequest;
}

type WireRecord = Record<string, unknown>;

/** Reads a continue request's fields: 422 for fields of the wrong shape, 400 for JSON that does not parse (as there). */
export function parseContinueRequest(fields: Record<string, unknown>): ContinueHttpRequest {
  rejectUnknownFields(fields, ContinueFields.shape, {});
  const parsed = ContinueFields.safeParse(fields);
  if (!parsed.success) throw new InvalidRequest(parsed.error.issues.map(bodyProblem));
  const { tools, requirements, step_requirements, stream, background, session_id } = parsed.data;
  const { fork, regenerate, replace_original, additional_instructions } = parsed.data;
  if (additional_instructions !== undefined && parsed.data.input !== undefined) {
    throw new BadRequest('Provide either `additional_instructions` or `input`, not both.');
  }
  if (regenerate && fork) {
    throw new BadRequest('`regenerate` forks by itself; do not pass `fork` with it.');
  }
  const continueFrom = continueFromOf(parsed.data.continue_from);
  const input = additional_instructions ?? parsed.data.input;
  const forkFields: ForkRequest = {
    ...(continueFrom !== undefined ? { continueFrom } : {}),
    ...(input !== undefined && input !== '' ? { input } : {}),
    ...(regenerate ? { regenerate } : {}),
    ...(replace_original !== undefined ? { replaceOriginal: replace_original } : {}),
  };
  const asksFork = fork || regenerate || (continueFrom !== undefined && continueFrom !== 'end');
  return {
    stream,
    background,
    ...(session_id !== undefined ? { sessionId: session_id } : {}),
    tools: jsonList(tools, 'tools'),
    requirements: [...jsonList(requirements, 'requirements'), ...jsonList(step_requirements, 'step_requirements')],
    ...(asksFork ? { fork: forkFields } : {}),
    forkFields,
  };
}

/** `continue_from` as the framework reads it: `end`, `last_user`, or a whole number (a message index). */
function continueFromOf(text: string | undefined): ContinueFrom | undefined {
  const value = text?.trim();
  if (value === undefined || value === '') return undefined;
  if (value === 'end' || value === 'last_user') return value;
  if (/^-?\d+$/.test(value)) return Number(value);
  throw new BadRequest("Invalid continue_from. Use 'end', 'last_user', or a numeric message index.");
}

function bodyProblem(issue: z.core.$ZodIssue): FieldProblem {
  return {
    type: 'value_error',
    loc: ['body', ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))],
    msg: issue.message,
    input: null,
  };
}

function jsonList(text: string | undefined, field: string): WireRecord[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest(`Invalid JSON in ${field} field`);
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null)) {
    throw new BadRequest(`${field} must be a JSON list of objects`);
  }
  return value as WireRecord[];
}

/**
 * The answers a continue request gives to what the run waits for. A tool execution answers the requirement of its
 * `tool_call_id` (`confirmed` and `confirmation_note`, the filled `user_input_schema`, or `result`); a requirement
 * answers by its `id` (its own fields, or its `tool_execution`'s). Executions and requirements that match nothing
 * the run waits for are passed over: the framework's client sends all of a run's tools.
 */
export function answersOf(request: ContinueHttpRequest, open: RunRequirement[]): RequirementAnswer[] {
  const answers = new Map<string, RequirementAnswer>();
  for (const tool of request.tools) {
    const requirement = open.find((candidate) => candidate.toolExecution.toolCallId === tool.tool_call_id);
    if (requirement) answers.set(requirement.id, answerFrom(requirement, tool, tool));
  }
  for (const wire of request.requirements) {
    const requirement = open.find((candidate) => candidate.id === wire.id);
    if (!requirement) continue;
    const tool = (typeof wire.tool_execution === 'object' && wire.tool_execution) || {};
    answers.set(requirement.id, answerFrom(requirement, wire, tool as WireRecord));
  }
  return [...answers.values()];
}

/** One answer, from the wire fields the framework's client fills in for the kind of requirement. */
function answerFrom(requirement: RunRequirement, wire: WireRecord, tool: WireRecord): RequirementAnswer {
  const answer: RequirementAnswer = { id: requirement.id };
  switch (requirement.needs) {
    case 'confirmation': {
      const confirmation = wire.confirmation ?? tool.confirmed;
      const note = wire.confirmation_note ?? tool.confirmation_note;
      if (confirmation !== undefined && confirmation !== null) answer.confirmation = confirmation as boolean;
      if (note !== undefined && note !== null) answer.confirmationNote = note as string;
      return answer;
    }
    case 'userInput': {
      const fields = (wire.user_input_schema ?? tool.user_input_schema) as unknown;
      if (Array.isArray(fields)) {
        answer.userInput = Object.fromEntries(
          fields
            .filter((field): field is { name: string; value: unknown } => typeof field?.name === 'string')
            .filter((field) => field.value !== undefined && field.value !== null)
            .map((field) => [field.name, field.value]),
        );
      }
      return answer;
    }
    case 'externalExecution': {
      const result = wire.external_execution_result ?? tool.result;
      if (result !== undefined && result !== null) answer.externalExecutionResult = result as string;
      return answer;
    }
    default:
      return answer;
  }
}
