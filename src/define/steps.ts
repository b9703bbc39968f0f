import { InvalidInputError } from '../shared/errors';
import type { StepSpec } from '../shared/specs';
import { Agent, type AnyAgent } from './agent';
import type { EndCondition, StepFunction, Tool } from './contracts';
import { Team, type AnyTeam } from './team';

export type { EndCondition, StepFunction } from './contracts';

/** Anything a workflow's `steps` may hold: a step of any kind, or an agent or team (run as a step). */
export type WorkflowStep = Step | Steps | Parallel | Condition | Loop | Router | AnyAgent | AnyTeam;

/** What every step kind provides to the workflow that holds it. */
interface StepNode {
  readonly name: string;
  toSpec(): StepSpec;
  /** Named functions it runs, its inner steps' included, for the worker to register. */
  functions(): Map<string, StepFunction | EndCondition>;
  /** Tools of the agents and teams it runs. */
  tools(): Tool[];
}

function functionName(fn: (...args: never[]) => unknown, role: string, step: string): string {
  if (!fn.name) throw new InvalidInputError(`the ${role} of step '${step}' needs a name: use a named function`);
  return fn.name;
}

function nodeOf(step: WorkflowStep): StepNode {
  if (step instanceof Agent) return new Step({ name: step.name, agent: step });
  if (step instanceof Team) return new Step({ name: step.name, team: step });
  return step;
}

function specsOf(steps: WorkflowStep[]): StepSpec[] {
  return steps.map((step) => nodeOf(step).toSpec());
}

function functionsOf(steps: WorkflowStep[], own: Array<[string, StepFunction | EndCondition]> = []) {
  return new Map([...own, ...steps.flatMap((step) => [...nodeOf(step).functions()])]);
}

function toolsOf(steps: WorkflowStep[]): Tool[] {
  return steps.flatMap((step) => nodeOf(step).tools());
}

/** One step: an agent, a team, or a function executor. */
export class Step implements StepNode {
  readonly name: string;

  constructor(
    private readonly options: {
      name: string;
      agent?: AnyAgent;
      team?: AnyTeam;
      executor?: StepFunction;
      /** Extra attempts for an executor that throws (default 0). */
      maxRetries?: number;
      /** If the step still fails, record it as failed and go on with the next step. */
      skipOnFailure?: boolean;
    },
  ) {
    const given = [options.agent, options.team, options.executor].filter(Boolean).length;
    if (given !== 1) throw new InvalidInputError(`step '${options.name}' needs exactly one of agent, team or executor`);
    this.name = options.name;
  }

  toSpec(): StepSpec {
    const { name, agent, team, executor, maxRetries, skipOnFailure } = this.options;
    const component = agent ?? team;
    return {
      type: 'step',
      name,
      ...(component ? { component: component.spec() } : {}),
      ...(executor ? { executor: functionName(executor, 'executor', name) } : {}),
      ...(maxRetries !== undefined ? { maxRetries } : {}),
      ...(skipOnFailure ? { skipOnFailure } : {}),
    };
  }

  functions(): Map<string, StepFunction> {
    const { executor, name } = this.options;
    return new Map(executor ? [[functionName(executor, 'executor', name), executor]] : []);
  }

  tools(): Tool[] {
    return this.options.agent?.allTools() ?? this.options.team?.allTools() ?? [];
  }
}

/** A group of steps: run one after another (`Steps`) or side by side (`Parallel`). */
abstract class StepGroup implements StepNode {
  readonly name: string;
  constructor(
    private readonly type: 'steps' | 'parallel',
    private readonly options: { name: string; steps: WorkflowStep[] },
  ) {
    this.name = options.name;
  }
  toSpec(): StepSpec {
    return { type: this.type, name: this.name, steps: specsOf(this.options.steps) };
  }
  functions() {
    return functionsOf(this.options.steps);
  }
  tools() {
    return toolsOf(this.options.steps);
  }
}

/** A named sequence of steps. */
export class Steps extends StepGroup {
  constructor(options: { name: string; steps: WorkflowStep[] }) {
    super('steps', options);
  }
}

/** Steps that run side by side; its content joins theirs. */
export class Parallel extends StepGroup {
  constructor(options: { name: string; steps: WorkflowStep[] }) {
    super('parallel', options);
  }
}

/** Runs `steps` when the evaluator says true, else `elseSteps` (if any). */
export class Condition implements StepNode {
  readonly name: string;
  constructor(
    private readonly options: {
      name: string;
      evaluator: StepFunction;
      steps: WorkflowStep[];
      elseSteps?: WorkflowStep[];
    },
  ) {
    this.name = options.name;
  }
  toSpec(): StepSpec {
    const { name, evaluator, steps, elseSteps } = this.options;
    return {
      type: 'condition',
      name,
      evaluator: functionName(evaluator, 'evaluator', name),
      steps: specsOf(steps),
      ...(elseSteps ? { elseSteps: specsOf(elseSteps) } : {}),
    };
  }
  functions() {
    const { name, evaluator, steps, elseSteps = [] } = this.options;
    return functionsOf([...steps, ...elseSteps], [[functionName(evaluator, 'evaluator', name), evaluator]]);
  }
  tools() {
    return toolsOf([...this.options.steps, ...(this.options.elseSteps ?? [])]);
  }
}

/** Runs its steps again and again: at most `maxIterations` times (default 3), until `endCondition` says true. */
export class Loop implements StepNode {
  readonly name: string;
  constructor(
    private readonly options: {
      name: string;
      steps: WorkflowStep[];
      maxIterations?: number;
      endCondition?: EndCondition;
    },
  ) {
    if (options.maxIterations !== undefined && !(options.maxIterations >= 1)) {
      throw new InvalidInputError(`loop '${options.name}' needs maxIterations of at least 1`);
    }
    this.name = options.name;
  }
  toSpec(): StepSpec {
    const { name, steps, maxIterations, endCondition } = this.options;
    return {
      type: 'loop',
      name,
      steps: specsOf(steps),
      maxIterations: maxIterations ?? 3,
      ...(endCondition ? { endCondition: functionName(endCondition, 'end condition', name) } : {}),
    };
  }
  functions() {
    const { name, steps, endCondition } = this.options;
    return functionsOf(steps, endCondition ? [[functionName(endCondition, 'end condition', name), endCondition]] : []);
  }
  tools() {
    return toolsOf(this.options.steps);
  }
}

/** Runs the steps its selector chooses among `choices` (by name), in the order chosen. */
export class Router implements StepNode {
  readonly name: string;
  constructor(private readonly options: { name: string; selector: StepFunction; choices: WorkflowStep[] }) {
    this.name = options.name;
  }
  toSpec(): StepSpec {
    const { name, selector, choices } = this.options;
    return { type: 'router', name, selector: functionName(selector, 'selector', name), choices: specsOf(choices) };
  }
  functions() {
    const { name, selector, choices } = this.options;
    return functionsOf(choices, [[functionName(selector, 'selector', name), selector]]);
  }
  tools() {
    return toolsOf(this.options.choices);
  }
}

export { specsOf, functionsOf, toolsOf };
