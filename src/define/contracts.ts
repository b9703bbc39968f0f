import type { z } from 'zod';
import type { RequirementNeed } from '../shared/requirements';
import type { StepOutput } from '../shared/run-output';
import type { ToolSpec } from '../shared/specs';
import type { StepInput } from '../shared/step-functions';

/**
 * What the worker needs of the definitions: the tools and the workflow step functions it runs. Types only, importing
 * nothing but shared contracts, so the activities can take them without reaching into the rest of the definitions.
 */

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
   * seen by the session's next runs; see docs/sessions.md for how concurrent runs merge.
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

/**
 * A function a workflow runs on the worker, as an activity: a step executor (returns the step's content, or
 * `{ content, success }`), an evaluator (returns a boolean), a selector (returns a step name or names) or an end
 * condition (gets the iteration's outputs, returns true to stop the loop). It is registered by its name, so it must
 * have one (a named function, or a `const` it is assigned to).
 */
export type StepFunction = (input: StepInput) => unknown;

/** Ends a loop: gets the outputs of the iteration that just ended and its number (from 1). */
export type EndCondition = (outputs: StepOutput[], iteration: number) => boolean | Promise<boolean>;

/**
 * How a worker reaches an MCP server (`defineApp({ mcpServers })`): a command it starts (stdio), or a Streamable
 * HTTP URL. Read where the app is loaded, on the worker, so secrets (`env`, `headers`) come from the worker's
 * environment and never enter a run.
 */
export type McpServerConfig =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string; headers?: Record<string, string> };
