import type { z } from 'zod';
import type { RunOutput } from '../shared/run-output';
import type { AgentRunInput, AgentSpec, RunInputBase } from '../shared/specs';
import { Component } from './component';
import { checkModelComponentOptions, modelComponentSpec, type ModelComponentOptions } from './component-options';
import type { Tool } from './contracts';

/** How an agent is defined. `C` is its content's type: text, or what its `outputSchema` parses to. */
export interface AgentOptions<C = string> extends ModelComponentOptions {
  tools?: Tool[];
  outputSchema?: z.ZodType<C>;
}

/**
 * An agent: a model with instructions and tools. Each `run` is a durable Temporal workflow (`agentRun`) that carries
 * this definition, so a run never depends on a config that changed after it started.
 */
export class Agent<C = string> extends Component<'agent', RunOutput<C>> {
  readonly kind = 'agent';
  readonly tools: readonly Tool[];
  private readonly options: AgentOptions<C>;
  private resolvedSpec: AgentSpec | undefined;

  constructor(options: AgentOptions<C>) {
    super(options);
    checkModelComponentOptions(options.name, options);
    this.options = options;
    this.tools = options.tools ?? [];
  }

  /** The agent as plain data, as its runs carry it. */
  spec(): AgentSpec {
    this.resolvedSpec ??= {
      kind: 'agent',
      ...modelComponentSpec(this, this.options),
      tools: this.tools.map((tool) => tool.toSpec()),
    };
    return this.resolvedSpec;
  }

  allTools(): Tool[] {
    return [...this.tools];
  }

  protected runInput(base: RunInputBase): AgentRunInput {
    return { ...base, kind: 'agent', agent: this.spec() };
  }

  protected present(output: RunOutput): RunOutput<C> {
    // A completed run with an `outputSchema` has the parsed answer as its content (checked on the worker).
    return output as RunOutput<C>;
  }
}

/** An agent whatever its content type: what steps, teams and apps take. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAgent = Agent<any>;
