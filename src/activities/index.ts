import type { StepFunction, Tool } from '../define/contracts';
import { KernError, toApplicationFailure } from '../shared/errors';
import { createCallModel, type ModelProviderOptions, type StreamingOptions } from './model';
import { createSessionActivities } from './sessions';
import { createRunStepFunction } from './step-functions';
import { createCheckUserInput, createExecuteTool } from './tools';
import { McpServerUnavailable, type McpConnections } from './mcp';
import type { McpToolSource, ToolSpec } from '../shared/specs';
import { tracedCallModel, tracedExecuteTool, type ActivityTracing } from './tracing';

export type { ModelProviderOptions, StreamingOptions } from './model';

/** What the worker needs to build kern's activities. */
export interface ActivityDependencies {
  tools: ReadonlyMap<string, Tool>;
  /** Workflow step functions (executors, evaluators, selectors, end conditions) by name. */
  stepFunctions?: ReadonlyMap<string, StepFunction>;
  modelProvider?: ModelProviderOptions;
  streaming?: StreamingOptions;
  /** kern's model and tool spans (off unless the worker is started with `tracing`). */
  tracing?: ActivityTracing;
  /** The worker's connections to the app's MCP servers. */
  mcp?: McpConnections;
}

/** kern's activities, bound to the worker's tools and model provider. */
export function createActivities(deps: ActivityDependencies) {
  return {
    callModel: atBoundary(tracedCallModel(createCallModel(deps.modelProvider, deps.streaming), deps.tracing)),
    executeTool: atBoundary(tracedExecuteTool(createExecuteTool(deps.tools, deps.mcp), deps.tracing)),
    listMcpTools: atBoundary(async (input: { sources: McpToolSource[] }): Promise<ToolSpec[]> => {
      if (!deps.mcp) throw new McpServerUnavailable(input.sources[0]?.server ?? '', 'this worker has no MCP servers');
      return deps.mcp.listTools(input.sources);
    }),
    checkUserInput: atBoundary(createCheckUserInput(deps.tools)),
    runStepFunction: atBoundary(createRunStepFunction(deps.stepFunctions ?? new Map())),
    ...createSessionActivities(),
  };
}

/** The activity boundary: a kern error leaves as the `ApplicationFailure` of its class (type, retryable or not). */
function atBoundary<Input, Result>(activity: (input: Input) => Promise<Result>): (input: Input) => Promise<Result> {
  return async (input) => {
    try {
      return await activity(input);
    } catch (err) {
      throw err instanceof KernError ? toApplicationFailure(err) : err;
    }
  };
}

/** The activity interface workflows proxy (type-only import in workflow code). */
export type KernActivities = ReturnType<typeof createActivities>;
