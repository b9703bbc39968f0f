import type { AnyAgent } from '../define/agent';
import type { KernApp } from '../define/app';
import type { AnyTeam } from '../define/team';
import type { Workflow } from '../define/workflow';
import { RUN_KINDS, type RunKind } from '../shared/kinds';
import { unreachable } from '../shared/never';
import type { AgentSpec, MemberSpec, ModelSpec, TeamSpec, ToolSpec } from '../shared/specs';
import { allows, missingScope, type Caller } from './auth';
import type { WireObject } from './wire';

/** A component of each kind, as the app defines it. */
interface ComponentOf {
  agent: AnyAgent;
  team: AnyTeam;
  workflow: Workflow;
}

/** Any component the app serves. */
export type Runnable = ComponentOf[RunKind];

/** The app's agents, teams and workflows by kind and id, and their descriptions as the framework lists them. */
export class Catalog {
  private readonly byKind: { readonly [K in RunKind]: ReadonlyMap<string, ComponentOf[K]> };

  constructor(private readonly app: KernApp) {
    this.byKind = {
      agent: new Map(app.agents.map((agent) => [agent.id, agent])),
      team: new Map(app.teams.map((team) => [team.id, team])),
      workflow: new Map(app.workflows.map((workflow) => [workflow.id, workflow])),
    };
  }

  find<K extends RunKind>(kind: K, id: string): ComponentOf[K] | undefined {
    return this.byKind[kind].get(id);
  }

  /** The ids of this kind's components. */
  ids(kind: RunKind): string[] {
    return [...this.byKind[kind].keys()];
  }

  /** `GET /{kind}/{id}`: one component as the framework describes it, or `undefined`. */
  describe(kind: RunKind, id: string): WireObject | undefined {
    const component = this.find(kind, id);
    return component && describe(component);
  }

  /**
   * `GET /agents`, `/teams`, `/workflows`: the components the caller may read. A JWT caller with no `read` scope for
   * any of them gets the framework's 403.
   */
  list(kind: RunKind, caller: Caller): WireObject[] {
    const family = RUN_KINDS[kind].route;
    const readable = [...this.byKind[kind].values()].filter((component) =>
      allows(caller, family, 'read', component.id),
    );
    if (readable.length === 0 && !allows(caller, family, 'read', '*')) {
      throw missingScope([{ family, action: 'read' }]);
    }
    return readable.map(describe);
  }

  /** `GET /config`: what this server serves, of what the caller may read. */
  config(caller: Caller): WireObject {
    const readable = <T extends Runnable>(kind: RunKind, components: readonly T[]) =>
      components.filter((component) => allows(caller, RUN_KINDS[kind].route, 'read', component.id));
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
        db_id: KERN_DB_ID,
        ...(model ? { model: { id: model.model ?? null, provider: 'OpenAI' } } : {}),
      };
    };
    return {
      os_id: 'kern',
      name: 'kern',
      description: 'kern: durable agents, teams and workflows on Temporal',
      // Temporal is kern's only store, and it keeps runs and sessions only: none of the framework's other databases
      // (memories, knowledge, evals, learnings, traces, metrics) is served.
      os_database: KERN_DB_ID,
      databases: [KERN_DB_ID],
      session: { dbs: [{ db_id: KERN_DB_ID, domain_config: { display_name: 'Temporal' }, tables: [] }] },
      available_models: [...models.values()],
      agents: readable('agent', this.app.agents).map(brief),
      teams: readable('team', this.app.teams).map((team) => ({ ...brief(team), mode: team.spec().mode })),
      workflows: readable('workflow', this.app.workflows).map(brief),
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
      return { ...describeModelComponent(spec), mode: spec.mode, members: spec.members.map(describeMember) };
    }
    case 'workflow': {
      const spec = component.spec();
      return {
        id: spec.id,
        name: spec.name,
        ...(spec.description ? { description: spec.description } : {}),
        db_id: KERN_DB_ID,
      };
    }
    default:
      return unreachable(component, 'component');
  }
}

/** A team's member as the framework lists it: an agent, or a nested team with its mode (its members not repeated). */
function describeMember(member: MemberSpec): WireObject {
  switch (member.kind) {
    case 'agent':
      return describeModelComponent(member);
    case 'team':
      return { ...describeModelComponent(member), mode: member.mode };
    default:
      return unreachable(member, 'member');
  }
}

/**
 * The `db_id` kern gives its agents, teams and workflows, and `/config` its one database: Temporal, where their runs
 * and sessions are. The framework's clients send it back on the session routes (its chat UI calls none without one),
 * which take it and change nothing.
 */
export const KERN_DB_ID = 'kern-temporal';

function describeModelComponent(spec: AgentSpec | TeamSpec): WireObject {
  return {
    id: spec.id,
    name: spec.name,
    db_id: KERN_DB_ID,
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
