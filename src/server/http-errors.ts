import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { KernError } from '../shared/errors';
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

/** The status of each of kern's errors that a caller can fix or retry; any other kern error is a 500. */
const STATUS_OF_KERN_ERROR: Readonly<Record<string, ContentfulStatusCode>> = {
  InvalidInputError: 422,
  RequirementAnswersInvalid: 400,
  RunNotPaused: 409,
  RunIdInUseError: 409,
  ScheduleIdInUseError: 409,
  TemporalUnreachable: 503,
};

/** The server's one `onError`: every error a route throws becomes the framework's answer. */
export function errorAnswer(err: Error, c: Context): Response {
  if (err instanceof HttpProblem) return c.json({ detail: err.detail }, err.status);
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof KernError) return c.json({ detail: err.message }, STATUS_OF_KERN_ERROR[err.name] ?? 500);
  if (isTemporalUnavailable(err)) {
    return c.json({ detail: 'the Temporal server is unreachable; try again once it is up' }, 503);
  }
  console.error('kern server:', err);
  return c.json({ detail: 'Internal server error' }, 500);
}

function problemsText(problems: FieldProblem[]): string {
  return problems.map((problem) => `${problem.loc.join('.')}: ${problem.msg}`).join('; ');
}
