import { InvalidInputError } from '../shared/errors';
import type { z } from 'zod';
import type { TeamRunOutput } from '../shared/run-output';
import type { MemberSpec, RunInputBase, TeamMode, TeamRunInput, TeamSpec } from '../shared/specs';
import type { AnyAgent } from './agent';
import { Component } from './component';
import { checkModelComponentOptions, modelComponentSpec, type ModelComponentOptions } from './component-options';
import type { Tool } from './contracts';

/** How a team is defined. `C` is its content's type: text, or what its `outputSchema` parses to. */
export interface TeamOptions<C = string> extends ModelComponentOptions {
  /** The agents and teams the leader delegates to. Their ids must differ. */
  members: Array<AnyAgent | AnyTeam>;
  outputSchema?: z.ZodType<C>;
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
export class Team<C = string> extends Component<'team', TeamRunOutput<C>> {
  readonly kind = 'team';
  readonly members: ReadonlyArray<AnyAgent | AnyTeam>;
  private readonly options: TeamOptions<C>;
  private resolvedSpec: TeamSpec | undefined;

  constructor(options: TeamOptions<C>) {
    super(options);
    if (!options.members?.length) throw new InvalidInputError(`team '${options.name}' needs at least one member`);
    const ids = options.members.map((member) => member.id);
    const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (repeated) throw new InvalidInputError(`team '${options.name}' has two members with the id '${repeated}'`);
    checkModelComponentOptions(options.name, options);
    this.options = options;
    this.members = options.members;
  }

  /** The team as plain data, members included, as its runs carry it. */
  spec(): TeamSpec {
    this.resolvedSpec ??= {
      kind: 'team',
      ...modelComponentSpec(this, this.options),
      mode: this.options.mode ?? 'coordinate',
      members: this.members.map((member): MemberSpec => member.spec()),
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

  protected present(output: TeamRunOutput): TeamRunOutput<C> {
    // A completed run with an `outputSchema` has the parsed answer as its content (checked on the worker).
    return output as TeamRunOutput<C>;
  }
}

/** A team whatever its content type: what steps, teams and apps take. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTeam = Team<any>;
