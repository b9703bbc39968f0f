import path from 'node:path';
import { InvalidInputError } from '../shared/errors';
import { someModel } from '../shared/specs';
import type { AnyAgent } from './agent';
import type { EndCondition, McpServerConfig, StepFunction, Tool } from './contracts';
import type { AnyTeam } from './team';
import type { Workflow } from './workflow';

/** An app: what a worker registers. Built with {@link defineApp}; the default export of `--app` modules. */
export interface KernApp {
  readonly agents: readonly AnyAgent[];
  readonly teams: readonly AnyTeam[];
  readonly workflows: readonly Workflow[];
  /** Every tool by name: the ones given and the ones the agents use. */
  readonly tools: ReadonlyMap<string, Tool>;
  /** Every workflow step function by name (executors, evaluators, selectors, end conditions). */
  readonly stepFunctions: ReadonlyMap<string, StepFunction | EndCondition>;
  /** How the worker reaches each MCP server the agents name (see {@link McpServerConfig}). */
  readonly mcpServers: Readonly<Record<string, McpServerConfig>>;
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
  mcpServers?: Record<string, McpServerConfig>;
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
  const mcpServers = definition.mcpServers ?? {};
  // Every agent and team leader, members and steps' included, finds its MCP servers in the app.
  for (const component of components) {
    let missing: { owner: string; server: string } | undefined;
    someModel(component.spec(), (model) => {
      const source = model.mcp?.find(({ server }) => !Object.hasOwn(mcpServers, server));
      if (source) missing = { owner: `'${model.name}'`, server: source.server };
      return source !== undefined;
    });
    if (missing) {
      throw new InvalidInputError(`${missing.owner} names MCP server '${missing.server}', which mcpServers lacks`);
    }
  }
  return { agents, teams, workflows, tools, stepFunctions, mcpServers };
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

/**
 * Loads an app module (`.ts` works under tsx): its default export must come from `defineApp`. Here, not with the
 * worker, so that the HTTP server loads an app without loading Temporal's worker.
 */
export function loadApp(modulePath: string): KernApp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path.resolve(modulePath)) as { default?: unknown };
  if (!isApp(loaded.default)) throw new InvalidInputError(`${modulePath} must export default defineApp({ ... })`);
  return loaded.default;
}

function isApp(value: unknown): value is KernApp {
  return typeof value === 'object' && value !== null && 'tools' in value && value.tools instanceof Map;
}
