import type { Context } from 'hono';
import { z } from 'zod';
import { ListedKey, MAX_INPUT_BYTES, RunKey, RunOptions, inputTooLarge } from '../client/run-options';
import { InvalidRequest, type FieldProblem } from './http-errors';

/** Booleans as the framework's server (pydantic) reads form fields. */
const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

export const formBoolean = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  ctx.addIssue({ code: 'custom', message: 'Input should be a valid boolean, unable to interpret input' });
  return z.NEVER;
});

/** An optional id field: an empty form value counts as absent, as there. */
export const optionalKey = <T extends z.ZodType>(key: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), key.optional());

/**
 * The body of `POST /{kind}/{id}/runs`: the framework's form fields that kern honours. `stream` defaults to true
 * and `background` to false, as there.
 */
export const RunRequest = z.object({
  message: z
    .string()
    .refine((value) => value.trim() !== '', 'must not be empty')
    .refine(
      (value) => inputTooLarge(value) === undefined,
      `must weigh at most ${MAX_INPUT_BYTES} bytes as JSON (a control character takes 6)`,
    ),
  stream: formBoolean.default(true),
  background: formBoolean.default(false),
  session_id: optionalKey(ListedKey),
  user_id: optionalKey(ListedKey),
  run_id: optionalKey(RunKey),
  /** A JSON object, sent as JSON text in a form (as the framework's client sends it) or as an object in JSON. */
  session_state: z.preprocess(
    (value) => (value === '' ? undefined : typeof value === 'string' ? parseJsonOrKeep(value) : value),
    RunOptions.shape.sessionState,
  ),
  /** A JSON schema for a structured answer, as JSON text (as the framework's client sends it) or an object in JSON. */
  output_schema: z.preprocess(
    (value) => (value === '' ? undefined : typeof value === 'string' ? parseJsonOrKeep(value) : value),
    z.record(z.string(), z.unknown()).optional(),
  ),
});
export type RunRequest = z.infer<typeof RunRequest>;

/**
 * Fields the framework's server takes that change nothing for kern: accepted and left unused. `stream_events` and
 * `stream_intermediate_steps` ask for what kern always streams; `metadata` is not kept (kern has no metadata yet).
 */
const NEUTRAL_FIELDS = new Set(['stream_events', 'stream_intermediate_steps', 'metadata']);

/**
 * Fields the framework's server takes that would change the result and kern cannot honour yet: refused, so
 * nothing a caller sends is silently dropped.
 */
const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
  files: 'file uploads are not supported by kern yet',
  files_metadata: 'file uploads are not supported by kern yet',
  images: 'images are not supported by kern yet',
  audio: 'audio is not supported by kern yet',
  videos: 'videos are not supported by kern yet',
  input_files: 'files are not supported by kern yet',
  dependencies: 'dependencies are not supported by kern',
  knowledge_filters: 'knowledge is not supported by kern',
  use_json_schema: 'structured output is not supported by kern yet',
  version: 'kern components have no versions; a run always uses the definition the server was started with',
  factory_input: 'kern has no component factories',
  add_history_to_context:
    'history is set on the agent or team (addHistoryToContext); kern has no per-run override of it yet',
};

/** The fields of a request body: form (urlencoded or multipart) as the framework reads them, or a JSON object. */
export async function readBodyFields(c: Context): Promise<Record<string, unknown>> {
  const contentType = c.req.header('content-type') ?? '';
  if (/^application\/json\b/i.test(contentType)) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new InvalidRequest([{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', input: null }]);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidRequest([
        { type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a JSON object', input: null },
      ]);
    }
    return body as Record<string, unknown>;
  }
  if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(contentType)) {
    return (await c.req.parseBody({ all: true })) as Record<string, unknown>;
  }
  return {};
}

/** Checks a run request's fields: the framework's 422 problems for what is missing, wrong or unsupported. */
export function parseRunRequest(fields: Record<string, unknown>): RunRequest {
  const problems = fieldNameProblems(fields, RunRequest.shape, UNSUPPORTED_FIELDS);
  const parsed = RunRequest.safeParse(fields);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => fieldProblem(issue, fields)));
  if (problems.length > 0 || !parsed.success) throw new InvalidRequest(problems);
  return parsed.data;
}

/**
 * The problems with a body's field names: a field kern does not take (`unsupported`, with the reason when the
 * framework has the field), and one given more than once. The neutral fields are taken and left unused.
 */
function fieldNameProblems(
  fields: Record<string, unknown>,
  known: Record<string, unknown>,
  unsupported: Readonly<Record<string, string>>,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name in known || NEUTRAL_FIELDS.has(name)) {
      if (Array.isArray(value)) {
        problems.push({ type: 'string_type', loc: ['body', name], msg: 'Field given more than once', input: null });
      }
      continue;
    }
    const reason = unsupported[name] ?? 'unknown field';
    problems.push({ type: 'unsupported', loc: ['body', name], msg: reason, input: null });
  }
  return problems;
}

/** Refuses (422) a body with a field kern does not take, or one given more than once; see {@link fieldNameProblems}. */
export function rejectUnknownFields(
  fields: Record<string, unknown>,
  known: Record<string, unknown>,
  unsupported: Readonly<Record<string, string>>,
): void {
  const problems = fieldNameProblems(fields, known, unsupported);
  if (problems.length > 0) throw new InvalidRequest(problems);
}

/** JSON text as its value; text that is not JSON stays as it is (and fails the object check with the field's name). */
function parseJsonOrKeep(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Reads an optional integer form or query field (`last_event_index`), as the framework's 422 says when it is not. */
export function optionalInteger(value: unknown, loc: string[]): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (!Number.isInteger(number)) {
    throw new InvalidRequest([
      {
        type: 'int_parsing',
        loc,
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        input: typeof value === 'string' ? value : null,
      },
    ]);
  }
  return number;
}

function fieldProblem(issue: z.core.$ZodIssue, fields: Record<string, unknown>): FieldProblem {
  const name = String(issue.path[0] ?? '');
  const input = fields[name];
  if (input === undefined) return { type: 'missing', loc: ['body', name], msg: 'Field required', input: null };
  const shown = typeof input === 'string' && input.length <= 200 ? input : null;
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
    return { type: 'type_error', loc: ['body', name], msg: `Input should be a ${expectedType(name)}`, input: shown };
  }
  return { type: 'value_error', loc: ['body', name], msg: issue.message, input: shown };
}

function expectedType(name: string): string {
  if (name === 'stream' || name === 'background') return 'valid boolean';
  return name === 'session_state' || name === 'output_schema' ? 'JSON object' : 'valid string';
}
