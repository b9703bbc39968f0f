import type { AnyAgent } from '../client/agent';
import type { KernApp } from '../client/define';
import type { AnyTeam } from '../client/team';
import type { Workflow } from '../client/workflow';
import type { AgentSpec, ModelSpec, RunKind, TeamSpec, ToolSpec } from '../shared/specs';
import type { WireObject } from './wire';

/** The `{kind}` segment of the framework's routes. */
export type RouteKind = 'agents' | 'teams' | 'workflows';

export const RUN_KIND_OF: Readonly<Record<RouteKind, RunKind>> = {
  agents: 'agent',
  teams: 'team',
  workflows: 'workflow',
};

/** The framework's 404 detail for an unknown component of each kind. */
export const NOT_FOUND_DETAIL: Readonly<Record<RouteKind, string>> = {
  agents: 'Agent not found',
  teams: 'Team not found',
  workflows: 'Workflow not found',
};

type Runnable = AnyAgent | AnyTeam | Workflow;

/** The app's agents, teams and workflows by route kind and id, and their descriptions as the framework lists them. */
export class Catalog {
  private readonly byKind: Readonly<Record<RouteKind, ReadonlyMap<string, Runnable>>>;

  constructor(private readonly app: KernApp) {
    this.byKind = {
      agents: new Map(app.agents.map((agent) => [agent.id, agent])),
      teams: new Map(app.teams.map((team) => [team.id, team])),
      workflows: new Map(app.workflows.map((workflow) => [workflow.id, workflow])),
    };
  }

  find(kind: RouteKind, id: string): Runnable | undefined {
    return this.byKind[kind].get(id);
  }

  /** The ids of this kind's components. */
  ids(kind: RouteKind): string[] {
    return [...this.byKind[kind].keys()];
  }

  /** `GET /{kind}/{id}`: one component as the framework describes it, or `undefined`. */
  describe(kind: RouteKind, id: string): WireObject | undefined {
    const component = this.find(kind, id);
    return component && describe(component);
  }

  /** `GET /agents`, `/teams`, `/workflows`. */
  list(kind: RouteKind): WireObject[] {
    return [...this.byKind[kind].values()].map(describe);
  }

  /** `GET /config`: what this server serves. */
  config(): WireObject {
    const models = new Map<string, WireObject>();
    for (const component of [...this.app.agents, ...this.app.teams]) {
      const model = component.spec().model;
      models.set(model.id, { id: model.id, provider: 'OpenAI' });
    }
    const brief = (component: Runnable): WireObject => {
      const { id, name, description, model } = describe(component) as WireObject & { model?: WireObject };
      return {
        id: id ?? null,
        name: name ?? null,
        ...(description !== undefined ? { description } : {}),
        ...(model ? { model: { id: model.model ?? null, provider: 'OpenAI' } } : {}),
      };
    };
    return {
      os_id: 'kern',
      name: 'kern',
      description: 'kern: durable agents, teams and workflows on Temporal',
      // Temporal is kern's only store: no databases of the framework's kind.
      os_database: null,
      databases: [],
      available_models: [...models.values()],
      agents: this.app.agents.map(brief),
      teams: this.app.teams.map((team) => ({ ...brief(team), mode: team.spec().mode })),
      workflows: this.app.workflows.map(brief),
      interfaces: [],
      // Every run is a Temporal workflow: runs are queued durably, survive restarts, and need no database.
      queue: { durable: true, queue_per_session: false },
    };
  }
}

function describe(component: Runnable): WireObject {
  switch (component.kind) {
    case 'agent':
      return describeModelComponent(component.spec());
    case 'team': {
      const spec = component.spec();
      return {
        ...describeModelComponent(spec),
        mode: spec.mode,
        members: spec.members.map((member) =>
          member.kind === 'agent' ? describeModelComponent(member.agent) : describeTeamSpec(member.team),
        ),
      };
    }
    case 'workflow': {
      const spec = component.spec();
      return { id: spec.id, name: spec.name, ...(spec.description ? { description: spec.description } : {}) };
    }
  }
}

function describeTeamSpec(spec: TeamSpec): WireObject {
  return { ...describeModelComponent(spec), mode: spec.mode };
}

function describeModelComponent(spec: AgentSpec | TeamSpec): WireObject {
  return {
    id: spec.id,
    name: spec.name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ...(spec.role !== undefined ? { role: spec.role } : {}),
    model: describeModel(spec.model),
    ...(spec.tools.length > 0 ? { tools: { tools: spec.tools.map(describeTool) } } : {}),
    ...(spec.instructions.length > 0 ? { system_message: { instructions: spec.instructions } } : {}),
  };
}

function describeModel(model: ModelSpec): WireObject {
  return {
    name: model.provider === 'openai-chat' ? 'OpenAIChat' : 'OpenAIResponses',
    model: model.id,
    provider: 'OpenAI',
  };
}

function describeTool(tool: ToolSpec): WireObject {
  return { name: tool.name, description: tool.description, parameters: tool.parameters as WireObject };
}
