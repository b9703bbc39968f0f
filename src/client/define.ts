import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { DEFAULT_MAX_TOOL_RESULT_CHARS } from '../shared/limits';
import { userInputFieldsOf, type RequirementNeed } from '../shared/requirements';
import type { ToolSpec } from '../shared/specs';
import type { AnyAgent } from './agent';
import type { EndCondition, StepFunction } from './steps';
import type { AnyTeam } from './team';
import type { Workflow } from './workflow';

/** What a tool's `execute` learns about the call. */
export interface ToolContext {
  runId: string;
  toolCallId: string;
  /**
   * Aborts when the run is cancelled (or the call timed out). Pass it on to `fetch` and other I/O. A tool that
   * ignores it is not waited for: the run ends at once, and the tool's code runs on in the worker, its result dropped.
   */
  signal: AbortSignal;
  /**
   * The session's state (a JSON object), to read and change in place. Changes are kept when the run completes and
   * seen by the session's next runs; see the README's Sessions section for how concurrent runs merge.
   */
  readonly sessionState: Record<string, unknown>;
}

/** A tool: a name and description for the model, zod parameters, and the function the worker runs. */
export interface Tool<P extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly parameters: P;
  /** The longest result the model and the run get, in characters; a longer one is cut, saying so. */
  readonly maxResultChars: number;
  /** What a call of this tool needs from a person before it goes on; `undefined`: nothing, it just runs. */
  readonly needs: RequirementNeed | undefined;
  /** For `requiresUserInput`: what the person fills in. */
  readonly userInputFields: z.ZodObject | undefined;
  /** Absent for an `externalExecution` tool, which the caller runs. */
  readonly execute: ((args: z.infer<P>, context: ToolContext) => unknown) | undefined;
  /** The tool as the model sees it: the parameters as JSON schema. */
  toSpec(): ToolSpec;
}

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

/** An app: what a worker registers. Built with {@link defineApp}; the default export of `--app` modules. */
export interface KernApp {
  readonly agents: readonly AnyAgent[];
  readonly teams: readonly AnyTeam[];
  readonly workflows: readonly Workflow[];
  /** Every tool by name: the ones given and the ones the agents use. */
  readonly tools: ReadonlyMap<string, Tool>;
  /** Every workflow step function by name (executors, evaluators, selectors, end conditions). */
  readonly stepFunctions: ReadonlyMap<string, StepFunction | EndCondition>;
}

/**
 * Collects the agents, teams, workflows and tools a worker serves (members' and steps' tools included, and the
 * workflows' step functions). Two different tools, or two different step functions, with one name are an error.
 */
export function defineApp(definition: {
  agents?: AnyAgent[];
  teams?: AnyTeam[];
  workflows?: Workflow[];
  tools?: Tool[];
}): KernApp {
  const agents = definition.agents ?? [];
  const teams = definition.teams ?? [];
  const workflows = definition.workflows ?? [];
  const components = [...agents, ...teams, ...workflows];
  const tools = byName(
    'tools',
    [...(definition.tools ?? []), ...components.flatMap((component) => component.allTools())].map((tool) => [
      tool.name,
      tool,
    ]),
  );
  const stepFunctions = byName(
    'step functions',
    workflows.flatMap((workflow) => [...workflow.stepFunctions()]),
  );
  return { agents, teams, workflows, tools, stepFunctions };
}

function byName<T>(what: string, entries: Array<[string, T]>): Map<string, T> {
  const map = new Map<string, T>();
  for (const [name, value] of entries) {
    const existing = map.get(name);
    if (existing !== undefined && existing !== value) {
      throw new InvalidInputError(`two different ${what} are named '${name}'`);
    }
    map.set(name, value);
  }
  return map;
}
