import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { DEFAULT_MAX_TOOL_RESULT_CHARS } from '../shared/limits';
import { userInputFieldsOf, type RequirementNeed } from '../shared/requirements';
import type { ToolSpec } from '../shared/specs';
import type { Tool, ToolContext } from './contracts';

export type { Tool, ToolContext } from './contracts';

/** What a tool is defined with. */
export interface ToolDefinition<P extends z.ZodType, U extends z.ZodObject> {
  name: string;
  description: string;
  parameters: P;
  /** Runs on the worker with the model's arguments (and, for `requiresUserInput`, the person's fields). */
  execute?: (args: z.infer<P> & z.infer<U>, context: ToolContext) => unknown;
  /** Default 100,000. Results go into the run's history and every later model request, so keep them small. */
  maxResultChars?: number;
  /** The run pauses at each call until a person confirms it (it runs) or refuses it (the model is told so). */
  requiresConfirmation?: boolean;
  /** The run pauses at each call until a person fills in `userInputFields`; the tool then runs with them. */
  requiresUserInput?: boolean;
  /** What the person fills in (a zod object, checked on the worker); the model never sees these fields. */
  userInputFields?: U;
  /** The caller runs the tool: the run pauses until it hands back the result. Such a tool has no `execute`. */
  externalExecution?: boolean;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Defines a tool. The parameters become JSON schema for the model, and the model's arguments are validated
 * against them on the worker before `execute` runs. A tool may need a person first (`requiresConfirmation`,
 * `requiresUserInput`, `externalExecution`): its calls pause the run until `continueRun` answers them.
 */
export function defineTool<P extends z.ZodType, U extends z.ZodObject = z.ZodObject<Record<never, never>>>(
  definition: ToolDefinition<P, U>,
): Tool<P> {
  const { name } = definition;
  if (!TOOL_NAME.test(name)) {
    throw new InvalidInputError(`tool name '${name}' must be 1-64 letters, digits, '_' or '-'`);
  }
  const maxResultChars = definition.maxResultChars ?? DEFAULT_MAX_TOOL_RESULT_CHARS;
  if (!Number.isInteger(maxResultChars) || maxResultChars < 1 || maxResultChars > DEFAULT_MAX_TOOL_RESULT_CHARS * 5) {
    throw new InvalidInputError(
      `tool '${name}': maxResultChars must be a whole number from 1 to ${DEFAULT_MAX_TOOL_RESULT_CHARS * 5}`,
    );
  }
  const needs = needsOf(definition);
  let spec: ToolSpec | undefined;
  return {
    name,
    description: definition.description,
    parameters: definition.parameters,
    maxResultChars,
    needs,
    userInputFields: definition.userInputFields,
    execute: definition.execute as Tool<P>['execute'],
    toSpec() {
      spec ??= {
        name,
        description: definition.description,
        parameters: z.toJSONSchema(definition.parameters) as Record<string, unknown>,
        ...(needs ? { needs } : {}),
        ...(definition.userInputFields
          ? {
              userInputFields: userInputFieldsOf(z.toJSONSchema(definition.userInputFields) as Record<string, unknown>),
            }
          : {}),
      };
      return spec;
    },
  };
}

/** What a tool's definition says it needs from a person, checked: one need at most, with what it takes. */
function needsOf(definition: ToolDefinition<z.ZodType, z.ZodObject>): RequirementNeed | undefined {
  const { name, requiresConfirmation, requiresUserInput, userInputFields, externalExecution, execute } = definition;
  const flags = [
    requiresConfirmation && 'requiresConfirmation',
    requiresUserInput && 'requiresUserInput',
    externalExecution && 'externalExecution',
  ].filter((flag): flag is string => Boolean(flag));
  if (flags.length > 1) throw new InvalidInputError(`tool '${name}': choose one of ${flags.join(', ')}`);
  if (Boolean(requiresUserInput) !== (userInputFields !== undefined)) {
    throw new InvalidInputError(`tool '${name}': requiresUserInput and userInputFields go together`);
  }
  if (userInputFields !== undefined && !(userInputFields instanceof z.ZodObject)) {
    throw new InvalidInputError(`tool '${name}': userInputFields must be a zod object`);
  }
  if (externalExecution ? execute !== undefined : typeof execute !== 'function') {
    throw new InvalidInputError(
      externalExecution
        ? `tool '${name}': an externalExecution tool is run by the caller, so it has no execute`
        : `tool '${name}' needs an execute function`,
    );
  }
  if (requiresConfirmation) return 'confirmation';
  if (requiresUserInput) return 'userInput';
  return externalExecution ? 'externalExecution' : undefined;
}
