import { InvalidInputError } from '../shared/errors';
import type { TeamRunOutput } from '../shared/run-output';
import type { MemberSpec, RunInputBase, TeamMode, TeamRunInput, TeamSpec } from '../shared/specs';
import type { Agent } from './agent';
import {
  Component,
  historyRunsOption,
  modelComponentSpec,
  pauseTimeoutOption,
  type ModelComponentOptions,
} from './component';
import type { Tool } from './define';

/** How a team is defined. */
export interface TeamOptions extends ModelComponentOptions {
  /** The agents and teams the leader delegates to. Their ids must differ. */
  members: Array<Agent | Team>;
  /**
   * `coordinate` (default): the leader delegates and answers from the members' answers. `route`: the leader picks
   * one member, whose answer is the team's. `broadcast`: every member gets the task at once.
   */
  mode?: TeamMode;
  /** The leader's own tools, besides delegation. */
  tools?: Tool[];
}

/**
 * A team: a leader model that delegates tasks to member agents and teams. Each `run` is a Temporal workflow
 * (`teamRun`); each delegation is a child workflow, with the team's run id as its `parentRunId`.
 */
export class Team extends Component<'team'> {
  readonly kind = 'team';
  readonly members: ReadonlyArray<Agent | Team>;
  private readonly options: TeamOptions;
  private resolvedSpec: TeamSpec | undefined;

  constructor(options: TeamOptions) {
    super(options);
    if (!options.members?.length) throw new InvalidInputError(`team '${options.name}' needs at least one member`);
    const ids = options.members.map((member) => member.id);
    const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (repeated) throw new InvalidInputError(`team '${options.name}' has two members with the id '${repeated}'`);
    historyRunsOption(options.name, options);
    pauseTimeoutOption(options.name, options.pauseTimeout);
    this.options = options;
    this.members = options.members;
  }

  /** The team as plain data, members included, as its runs carry it. */
  spec(): TeamSpec {
    this.resolvedSpec ??= {
      ...modelComponentSpec(this, this.options),
      mode: this.options.mode ?? 'coordinate',
      members: this.members.map((member): MemberSpec =>
        member.kind === 'team' ? { kind: 'team', team: member.spec() } : { kind: 'agent', agent: member.spec() },
      ),
      tools: (this.options.tools ?? []).map((tool) => tool.toSpec()),
    };
    return this.resolvedSpec;
  }

  allTools(): Tool[] {
    return [...(this.options.tools ?? []), ...this.members.flatMap((member) => member.allTools())];
  }

  protected runInput(base: RunInputBase): TeamRunInput {
    return { ...base, kind: 'team', team: this.spec() };
  }

  protected present(output: TeamRunOutput): TeamRunOutput {
    return output;
  }
}
