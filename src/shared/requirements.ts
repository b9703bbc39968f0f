import type { ToolExecution } from './run-output';

/**
 * People in the loop: what a paused run needs from a person before it goes on, and the answers `continueRun` brings.
 * Pure data and checks, shared by the workflows (which pause and validate) and the clients (which answer).
 */

/** What a tool needs from a person before its call goes on. */
export type RequirementNeed = 'confirmation' | 'userInput' | 'externalExecution';

/** A paused run's failure type when nobody answered within its `pauseTimeout`. */
export const PAUSE_TIMED_OUT = 'PauseTimedOut';

/** One field a person fills in for a `requiresUserInput` tool, as the Python framework describes it. */
export interface UserInputField {
  name: string;
  /** The Python framework's type names: `str`, `int`, `float`, `bool`, `list`, `dict`. */
  fieldType: 'str' | 'int' | 'float' | 'bool' | 'list' | 'dict';
  description?: string;
  /** The value the person gave, once the requirement is answered. */
  value?: unknown;
}

/** One thing a paused run waits for: a person's answer about one tool call. */
export interface RunRequirement {
  /** What `continueRun` answers it by. */
  id: string;
  /** The run whose tool call this is, which takes the answer: the paused run itself, or one of its member runs. */
  runId: string;
  needs: RequirementNeed;
  /** The tool call, as the model made it. */
  toolExecution: ToolExecution;
  /** For `userInput`: the fields the person fills in. */
  userInputSchema?: UserInputField[];
  /** For a requirement of a member run (as the team above it shows it): the member. */
  memberAgentId?: string;
  memberAgentName?: string;
  memberRunId?: string;
  createdAt: string;
}

/** A person's answer to one requirement, by its id. */
export interface RequirementAnswer {
  id: string;
  /** For `confirmation`: `true` runs the tool; `false` refuses it, and the model gets `confirmationNote` instead. */
  confirmation?: boolean;
  confirmationNote?: string;
  /** For `userInput`: the fields, validated by the tool's `userInputFields`; the tool gets them with its arguments. */
  userInput?: Record<string, unknown>;
  /** For `externalExecution`: the tool's result, which the caller produced. */
  externalExecutionResult?: string;
}

/** What `continueRun` sends to the paused run (a Temporal update). */
export interface ContinueRequest {
  requirements: RequirementAnswer[];
}

/** The update's failure type when the run is not paused (or is already taking answers). */
export const RUN_NOT_PAUSED = 'RunNotPaused';

/** The update's failure type when the answers do not fit the requirements. */
export const ANSWERS_INVALID = 'RequirementAnswersInvalid';

/** The longest answer text (a confirmation note, an external result) a run takes: as a tool result. */
export const MAX_ANSWER_CHARS = 100_000;

/** The answer that the model gets for a tool call a person refused, when they gave no note. */
export const REJECTED_TOOL_CALL = 'Function call was rejected by the user';

/**
 * Why `answers` do not fit `requirements`, or `undefined` when they do: every requirement answered exactly once, by
 * its id, with the kind of answer it needs. (User input is checked against its schema on a worker, which has the
 * tool's zod schema.)
 */
export function answersProblem(requirements: RunRequirement[], answers: RequirementAnswer[]): string | undefined {
  if (!Array.isArray(answers) || answers.length === 0) return 'no answers were given';
  const byId = new Map(requirements.map((requirement) => [requirement.id, requirement]));
  const seen = new Set<string>();
  for (const answer of answers) {
    const requirement = typeof answer?.id === 'string' ? byId.get(answer.id) : undefined;
    if (!requirement)
      return `unknown requirement '${String(answer?.id)}'; the run waits for: ${[...byId.keys()].join(', ')}`;
    if (seen.has(answer.id)) return `requirement '${answer.id}' is answered twice`;
    seen.add(answer.id);
    const problem = answerProblem(requirement, answer);
    if (problem) return `requirement '${answer.id}' (${requirement.toolExecution.toolName}): ${problem}`;
  }
  const unanswered = requirements.filter((requirement) => !seen.has(requirement.id));
  if (unanswered.length > 0) {
    return `every requirement needs an answer; unanswered: ${unanswered.map((r) => `${r.id} (${r.toolExecution.toolName})`).join(', ')}`;
  }
  return undefined;
}

function answerProblem(requirement: RunRequirement, answer: RequirementAnswer): string | undefined {
  const { confirmation, confirmationNote, userInput, externalExecutionResult } = answer;
  const given = [
    confirmation !== undefined && 'confirmation',
    userInput !== undefined && 'userInput',
    externalExecutionResult !== undefined && 'externalExecutionResult',
  ].filter(Boolean);
  switch (requirement.needs) {
    case 'confirmation':
      if (typeof confirmation !== 'boolean') return 'it needs a confirmation (true or false)';
      if (confirmationNote !== undefined && typeof confirmationNote !== 'string')
        return 'confirmationNote must be text';
      if ((confirmationNote?.length ?? 0) > MAX_ANSWER_CHARS)
        return `confirmationNote is over ${MAX_ANSWER_CHARS} characters`;
      return given.length === 1 ? undefined : `it needs only a confirmation, not ${given.join(' and ')}`;
    case 'userInput':
      if (typeof userInput !== 'object' || userInput === null || Array.isArray(userInput)) {
        return 'it needs userInput (an object with the fields)';
      }
      return given.length === 1 ? undefined : `it needs only userInput, not ${given.join(' and ')}`;
    case 'externalExecution':
      if (typeof externalExecutionResult !== 'string')
        return "it needs the tool's result (externalExecutionResult, text)";
      if (externalExecutionResult.length > MAX_ANSWER_CHARS) {
        return `externalExecutionResult is over ${MAX_ANSWER_CHARS} characters`;
      }
      return given.length === 1 ? undefined : `it needs only externalExecutionResult, not ${given.join(' and ')}`;
    default:
      return `it needs '${String(requirement.needs)}', which this kern does not know`;
  }
}

/** The Python framework's type name for a JSON schema property (what its `UserInputField.field_type` says). */
export function fieldTypeOf(property: unknown): UserInputField['fieldType'] {
  const type = typeof property === 'object' && property !== null ? (property as { type?: unknown }).type : undefined;
  switch (type) {
    case 'integer':
      return 'int';
    case 'number':
      return 'float';
    case 'boolean':
      return 'bool';
    case 'array':
      return 'list';
    case 'object':
      return 'dict';
    default:
      return 'str';
  }
}

/** The fields of a JSON schema object (what `z.toJSONSchema` makes of a zod object), as the framework lists them. */
export function userInputFieldsOf(schema: Record<string, unknown>): UserInputField[] {
  const properties = (schema.properties ?? {}) as Record<string, { description?: unknown }>;
  return Object.entries(properties).map(([name, property]) => ({
    name,
    fieldType: fieldTypeOf(property),
    ...(typeof property?.description === 'string' ? { description: property.description } : {}),
  }));
}
