import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../shared/errors';
import { slugify } from '../shared/ids';
import { outputFromRecord, runRecordOf } from '../shared/run-record';
import type { RunOutput } from '../shared/run-output';
import { AGENT_RUN_INPUT_VERSION, type AgentRunInput, type AgentSpec } from '../shared/specs';
import type { Tool } from './define';
import { KernClient } from './kern-client';
import type { Model } from './models';
import { parseRunRequest, type RunOptions } from './run-options';

/** How an agent is defined. */
export interface AgentOptions {
  name: string;
  /** Defaults to the slug of the name (`'Research Agent'` → `research-agent`). */
  id?: string;
  model: Model;
  description?: string;
  role?: string;
  instructions?: string | string[];
  tools?: Tool[];
  /** Model → tools rounds allowed in one run (default 10). */
  maxToolRounds?: number;
  /** The kern client to run on; default {@link KernClient.default}, from the environment. */
  client?: KernClient;
}

/**
 * An agent: a model with instructions and tools. Each `run` is a durable Temporal workflow that carries this
 * definition, so a run never depends on a config that changed after it started.
 */
export class Agent {
  readonly id: string;
  readonly name: string;
  readonly tools: readonly Tool[];
  private readonly options: AgentOptions;
  private resolvedSpec: AgentSpec | undefined;

  constructor(options: AgentOptions) {
    if (!options.name?.trim()) throw new InvalidInputError('an agent needs a name');
    this.options = options;
    this.name = options.name;
    this.id = options.id ?? slugify(options.name);
    this.tools = options.tools ?? [];
  }

  /** The agent as plain data, as its runs carry it. */
  spec(): AgentSpec {
    const { instructions, model, description, role, maxToolRounds } = this.options;
    this.resolvedSpec ??= {
      id: this.id,
      name: this.name,
      ...(description !== undefined ? { description } : {}),
      ...(role !== undefined ? { role } : {}),
      instructions: instructions === undefined ? [] : Array.isArray(instructions) ? instructions : [instructions],
      model: model.toSpec(),
      tools: this.tools.map((tool) => tool.toSpec()),
      maxToolRounds: maxToolRounds ?? 10,
    };
    return this.resolvedSpec;
  }

  /**
   * Runs the agent on `input`. With `background: true` it returns the `PENDING` output as soon as Temporal has the
   * run; otherwise it waits for the end and returns the final output (`COMPLETED`, `CANCELLED` or `ERROR`).
   */
  async run(input: string, options: RunOptions = {}): Promise<RunOutput> {
    const request = parseRunRequest(input, options);
    if (request.options.stream) {
      throw new InvalidInputError('stream: true is not available yet; poll with getRunOutput instead');
    }
    const runInput: AgentRunInput = {
      version: AGENT_RUN_INPUT_VERSION,
      runId: request.options.runId ?? randomUUID(),
      sessionId: request.options.sessionId ?? randomUUID(),
      ...(request.options.userId !== undefined ? { userId: request.options.userId } : {}),
      input: request.input,
      agent: this.spec(),
      createdAt: new Date().toISOString(),
    };
    const client = await this.client();
    await client.startAgentRun(runInput);
    if (request.options.background) return outputFromRecord(runRecordOf(runInput));
    return client.waitForRun(runInput.runId);
  }

  /**
   * The output of one of this agent's runs, or `null` when there is no such run (or it belongs to another agent
   * or, when `sessionId` is given, another session).
   */
  async getRunOutput(query: { runId: string; sessionId?: string }): Promise<RunOutput | null> {
    const output = await (await this.client()).getRunOutput(query.runId);
    if (!output || output.agentId !== this.id) return null;
    if (query.sessionId !== undefined && output.sessionId !== query.sessionId) return null;
    return output;
  }

  /** Cancels a run by id; see {@link KernClient.cancelRun} for the return value and cancel-before-start. */
  async cancelRun(runId: string): Promise<boolean> {
    return (await this.client()).cancelRun(runId);
  }

  private client(): Promise<KernClient> {
    return this.options.client ? Promise.resolve(this.options.client) : KernClient.default();
  }
}
