import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { MAX_HISTORY_RUNS } from '../shared/sessions';
import type { McpToolSource, ModelComponentSpec, OutputSchemaSpec } from '../shared/specs';
import type { KernClient } from '../client/kern-client';
import { durationMs } from '../client/run-options';
import { OpenAIResponses, type Model } from './models';

/** Earlier runs `addHistoryToContext` puts before the input when `numHistoryRuns` is not given (as the framework). */
const DEFAULT_HISTORY_RUNS = 3;

/** The model a component uses when it names none. */
export const defaultModel = (): Model => new OpenAIResponses({ id: 'gpt-5-mini' });

/** What every runnable component is defined with. */
export interface ComponentOptions {
  name: string;
  /** Defaults to the slug of the name (`'Research Agent'` → `research-agent`). */
  id?: string;
  /** The kern client to run on; default {@link KernClient.default}, from the environment. */
  client?: KernClient;
}

/** What agents and teams (whose leader is a model) are both defined with. */
export interface ModelComponentOptions extends ComponentOptions {
  /** Default: `OpenAIResponses` with `gpt-5-mini`. */
  model?: Model;
  description?: string;
  role?: string;
  instructions?: string | string[];
  /** Model → tools rounds allowed in one run (default 10). */
  maxToolRounds?: number;
  /** Keep every event on the run's final output (`events`), readable with no worker. */
  storeEvents?: boolean;
  /**
   * Put earlier completed runs of the session (this component's: their input and answer) before a run's input.
   * Needs a `sessionId` on the run to find them.
   */
  addHistoryToContext?: boolean;
  /** How many earlier runs `addHistoryToContext` puts in, newest kept (default 3, at most 20). */
  numHistoryRuns?: number;
  /**
   * How long a run paused for a person waits (milliseconds, or a duration such as `'2 days'`) before it ends `ERROR`
   * (`PauseTimedOut`). Default: it waits for ever, at no cost.
   */
  pauseTimeout?: number | string;
  /**
   * The shape of the answer: the model is asked for JSON of this shape, the worker checks it (asking the model again,
   * up to twice, when it does not fit; then the run ends `ERROR`, `OutputInvalid`), and the completed run's `content`
   * is the parsed value. Its JSON schema travels with the run; a zod `.meta({ title })` names it for the model.
   */
  outputSchema?: z.ZodType;
  /**
   * MCP servers whose tools the model is offered besides `tools`: a server's name in the app (`defineApp({
   * mcpServers })`), or which of its tools (`include`, `exclude`) and which wait for a person
   * (`requiresConfirmation`). Each run lists them when it starts; each call is an activity. See docs/mcp.md.
   */
  mcpServers?: Array<string | McpToolSource>;
}

/** The spec fields an agent and a team share, from their options. */
export function modelComponentSpec(
  component: { id: string; name: string },
  options: ModelComponentOptions,
): Omit<ModelComponentSpec, 'tools'> {
  const { instructions, model, description, role, maxToolRounds, storeEvents } = options;
  const numHistoryRuns = historyRunsOption(component.name, options);
  const pauseTimeoutMs = pauseTimeoutOption(component.name, options.pauseTimeout);
  return {
    id: component.id,
    name: component.name,
    ...(description !== undefined ? { description } : {}),
    ...(role !== undefined ? { role } : {}),
    instructions: instructions === undefined ? [] : Array.isArray(instructions) ? instructions : [instructions],
    model: (model ?? defaultModel()).toSpec(),
    maxToolRounds: maxToolRounds ?? 10,
    ...(storeEvents ? { storeEvents } : {}),
    ...(numHistoryRuns !== undefined ? { numHistoryRuns } : {}),
    ...(pauseTimeoutMs !== undefined ? { pauseTimeoutMs } : {}),
    ...(options.outputSchema ? { outputSchema: outputSchemaSpec(component.name, options.outputSchema) } : {}),
    ...(options.mcpServers?.length
      ? { mcp: options.mcpServers.map((source) => (typeof source === 'string' ? { server: source } : source)) }
      : {}),
  };
}

/**
 * An output schema as a run carries it: its JSON schema, and a name for the model (the schema's `title`, else
 * `output`). A zod schema is turned into JSON schema; a JSON schema (from HTTP) is checked to be one zod can read,
 * since the worker checks answers with it. Throws {@link InvalidInputError} for one that is neither.
 */
export function outputSchemaSpec(owner: string, schema: z.ZodType | Record<string, unknown>): OutputSchemaSpec {
  let json: Record<string, unknown>;
  try {
    json = schema instanceof z.ZodType ? (z.toJSONSchema(schema) as Record<string, unknown>) : schema;
    z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    throw new InvalidInputError(`${owner}: outputSchema is not a schema kern can check answers with: ${String(err)}`);
  }
  const title = typeof json.title === 'string' ? json.title.replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 64) : '';
  // The dialect marker says nothing the provider needs, and strict structured outputs refuse unknown keywords.
  const rest = { ...json };
  delete rest.$schema;
  return { name: title || 'output', schema: rest };
}

/**
 * Checks an agent's or team's options when it is defined, so a bad one fails there and not at its first run: throws
 * {@link InvalidInputError} for a `numHistoryRuns`, `pauseTimeout` or `outputSchema` that cannot be used.
 */
export function checkModelComponentOptions(name: string, options: ModelComponentOptions): void {
  historyRunsOption(name, options);
  pauseTimeoutOption(name, options.pauseTimeout);
  if (options.outputSchema) outputSchemaSpec(name, options.outputSchema);
}

/** `pauseTimeout` in milliseconds; {@link InvalidInputError} for one that is not a positive duration. */
export function pauseTimeoutOption(name: string, pauseTimeout: number | string | undefined): number | undefined {
  if (pauseTimeout === undefined) return undefined;
  const ms = durationMs(pauseTimeout);
  if (!Number.isFinite(ms) || ms < 1) {
    throw new InvalidInputError(`${name}: pauseTimeout must be a positive duration (milliseconds, or like '2 days')`);
  }
  return Math.round(ms);
}

/**
 * How many earlier runs a component's runs put before their input: `undefined` without `addHistoryToContext`.
 * Throws {@link InvalidInputError} for a `numHistoryRuns` out of range; agents and teams check it when defined.
 */
export function historyRunsOption(name: string, options: ModelComponentOptions): number | undefined {
  if (!options.addHistoryToContext) return undefined;
  const numHistoryRuns = options.numHistoryRuns ?? DEFAULT_HISTORY_RUNS;
  if (!Number.isInteger(numHistoryRuns) || numHistoryRuns < 1 || numHistoryRuns > MAX_HISTORY_RUNS) {
    throw new InvalidInputError(`${name}: numHistoryRuns must be a whole number from 1 to ${MAX_HISTORY_RUNS}`);
  }
  return numHistoryRuns;
}
