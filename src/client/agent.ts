import type { RunOutput } from '../shared/run-output';
import type { AgentRunInput, AgentSpec, RunInputBase } from '../shared/specs';
import {
  Component,
  historyRunsOption,
  modelComponentSpec,
  pauseTimeoutOption,
  type ModelComponentOptions,
} from './component';
import type { Tool } from './define';

/** How an agent is defined. */
export interface AgentOptions extends ModelComponentOptions {
  tools?: Tool[];
}

/**
 * An agent: a model with instructions and tools. Each `run` is a durable Temporal workflow (`agentRun`) that carries
 * this definition, so a run never depends on a config that changed after it started.
 */
export class Agent extends Component<'agent'> {
  readonly kind = 'agent';
  readonly tools: readonly Tool[];
  private readonly options: AgentOptions;
  private resolvedSpec: AgentSpec | undefined;

  constructor(options: AgentOptions) {
    super(options);
    historyRunsOption(options.name, options);
    pauseTimeoutOption(options.name, options.pauseTimeout);
    this.options = options;
    this.tools = options.tools ?? [];
  }

  /** The agent as plain data, as its runs carry it. */
  spec(): AgentSpec {
    this.resolvedSpec ??= {
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

  protected present(output: RunOutput): RunOutput {
    return output;
  }
}
