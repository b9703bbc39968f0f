import type { AgentRunEvent } from '../shared/events';
import type { RunOutput } from '../shared/run-output';
import type { AgentRunInput, AgentSpec, RunInputBase } from '../shared/specs';
import { Component, defaultModel, type ComponentOptions } from './component';
import type { Tool } from './define';
import type { Model } from './models';

/** How an agent is defined. */
export interface AgentOptions extends ComponentOptions {
  /** Default: `OpenAIResponses` with `gpt-5-mini`. */
  model?: Model;
  description?: string;
  role?: string;
  instructions?: string | string[];
  tools?: Tool[];
  /** Model → tools rounds allowed in one run (default 10). */
  maxToolRounds?: number;
  /** Keep every event on the run's final output (`events`), readable with no worker. */
  storeEvents?: boolean;
}

/**
 * An agent: a model with instructions and tools. Each `run` is a durable Temporal workflow (`agentRun`) that carries
 * this definition, so a run never depends on a config that changed after it started.
 */
export class Agent extends Component<RunOutput, AgentRunEvent> {
  readonly kind = 'agent';
  readonly tools: readonly Tool[];
  private readonly options: AgentOptions;
  private resolvedSpec: AgentSpec | undefined;

  constructor(options: AgentOptions) {
    super(options);
    this.options = options;
    this.tools = options.tools ?? [];
  }

  /** The agent as plain data, as its runs carry it. */
  spec(): AgentSpec {
    const { instructions, model, description, role, maxToolRounds, storeEvents } = this.options;
    this.resolvedSpec ??= {
      id: this.id,
      name: this.name,
      ...(description !== undefined ? { description } : {}),
      ...(role !== undefined ? { role } : {}),
      instructions: instructions === undefined ? [] : Array.isArray(instructions) ? instructions : [instructions],
      model: (model ?? defaultModel()).toSpec(),
      tools: this.tools.map((tool) => tool.toSpec()),
      maxToolRounds: maxToolRounds ?? 10,
      ...(storeEvents ? { storeEvents } : {}),
    };
    return this.resolvedSpec;
  }

  allTools(): Tool[] {
    return [...this.tools];
  }

  protected runInput(base: RunInputBase): AgentRunInput {
    return { ...base, agent: this.spec() };
  }
}
