import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { randomBytes } from 'node:crypto';
import { KernError, TemporalUnreachable } from '../shared/errors';
import { isTemporalUnavailable } from '../client/temporal-access';

/**
 * How the server answers what it refuses, with the framework's bodies: `{"detail": "…"}`, or for 422 a list of field
 * problems. Errors of the HTTP layer know their status (they are Hono's `HTTPException`s); kern's own errors get
 * theirs from one table, by class name; everything else is a 500 whose cause goes to the log, not to the caller.
 */

/** A field the server refused, in the list form of the framework's 422 answers. */
export interface FieldProblem {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
}

/** A refusal with its status and the framework's `{"detail": …}` body. */
export class HttpProblem extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly detail: string | FieldProblem[],
  ) {
    super(status, { message: typeof detail === 'string' ? detail : problemsText(detail) });
  }

  override getResponse(): Response {
    return Response.json({ detail: this.detail }, { status: this.status });
  }
}

/** 404: no such component, run, session or schedule (for this caller). */
export class NotFound extends HttpProblem {
  constructor(detail: string) {
    super(404, detail);
  }
}

/** 400: a body the route cannot read (JSON that does not parse, answers that do not fit). */
export class BadRequest extends HttpProblem {
  constructor(detail: string) {
    super(400, detail);
  }
}

/** 409: the request conflicts with what exists (a schedule name taken). */
export class Conflict extends HttpProblem {
  constructor(detail: string) {
    super(409, detail);
  }
}

/** 422: fields missing, of the wrong type, or not taken by kern, in the framework's list form. */
export class InvalidRequest extends HttpProblem {
  constructor(readonly problems: FieldProblem[]) {
    super(422, problems);
  }
}

/**
 * The 422 of a zod check of a request's `where` (its body or query): each issue at its field, `missing` for a field
 * that `given` does not have, `value_error` otherwise.
 */
export function invalidFields(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
  where: 'body' | 'query',
  given: Record<string, unknown>,
): InvalidRequest {
  return new InvalidRequest(
    issues.map((issue) => {
      const loc = [where, ...issue.path.map(String)];
      return given[String(issue.path[0])] === undefined
        ? { type: 'missing', loc, msg: 'Field required', input: null }
        : { type: 'value_error', loc, msg: issue.message, input: null };
    }),
  );
}

/**
 * The status of each of kern's errors whose message is for the caller: what to fix, or that trying again will do.
 * Any other error is a 500 whose message stays in the log.
 */
const STATUS_OF_KERN_ERROR: Readonly<Record<string, ContentfulStatusCode>> = {
  InvalidInputError: 422,
  RequirementAnswersInvalid: 400,
  RunNotPaused: 409,
  RunNotContinuable: 409,
  ForkRefused: 400,
  RunIdInUseError: 409,
  ScheduleIdInUseError: 409,
  SessionIdInUseError: 409,
  SessionUnavailable: 503,
  RunEventsUnavailable: 503,
};

/** The 503 answer while Temporal is down; its address is the operator's business, not the caller's. */
const TEMPORAL_UNREACHABLE = 'The server cannot reach its Temporal service right now; try again in a moment';

/** An error as a caller may see it: the status, and a message that tells them what to do and nothing else. */
export interface PublicError {
  status: ContentfulStatusCode;
  detail: string;
  /** For a 500: the id the server's log gives the error's details under. */
  errorId?: string;
}

/**
 * What a caller learns of an error: its own message when it is about their request (a {@link HttpProblem}, or one of
 * kern's errors in the table above), a fixed message when Temporal is unreachable, and otherwise "Internal server
 * error" with an error id, logged with the error's details (stack, gRPC text, addresses) under that id. `where`
 * (method and path) goes to the log only.
 */
export function publicError(err: unknown, where: string): PublicError {
  if (err instanceof HttpProblem)
    return { status: err.status, detail: typeof err.detail === 'string' ? err.detail : err.message };
  if (err instanceof KernError && STATUS_OF_KERN_ERROR[err.name] !== undefined) {
    return { status: STATUS_OF_KERN_ERROR[err.name]!, detail: err.message };
  }
  if (err instanceof TemporalUnreachable || isTemporalUnavailable(err)) {
    console.error(`kern server: ${where}: ${err instanceof Error ? err.message : String(err)}`);
    return { status: 503, detail: TEMPORAL_UNREACHABLE };
  }
  const errorId = randomBytes(6).toString('hex');
  console.error(`kern server: error ${errorId} on ${where}:`, err);
  return { status: 500, detail: `Internal server error (error id ${errorId})`, errorId };
}

/** The server's one `onError`: every error a route throws becomes the framework's answer. */
export function errorAnswer(err: Error, c: Context): Response {
  if (err instanceof HttpProblem) return c.json({ detail: err.detail }, err.status);
  if (err instanceof HTTPException) return err.getResponse();
  const { status, detail, errorId } = publicError(err, `${c.req.method} ${c.req.path}`);
  return c.json({ detail, ...(errorId ? { error_id: errorId } : {}) }, status);
}

function problemsText(problems: FieldProblem[]): string {
  return problems.map((problem) => `${problem.loc.join('.')}: ${problem.msg}`).join('; ');
}
