import { InvalidInputError } from '../shared/errors';
import type { AnyAgent } from './agent';
import type { EndCondition, StepFunction, Tool } from './contracts';
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
