import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../shared/errors';
import { terminalRunEvents, type AgentRunEvent } from '../shared/events';
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
  /** Keep every event on the run's final output (`events`), readable with no worker. */
  storeEvents?: boolean;
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
    const { instructions, model, description, role, maxToolRounds, storeEvents } = this.options;
    this.resolvedSpec ??= {
      id: this.id,
      name: this.name,
      ...(description !== undefined ? { description } : {}),
      ...(role !== undefined ? { role } : {}),
      instructions: instructions === undefined ? [] : Array.isArray(instructions) ? instructions : [instructions],
      model: model.toSpec(),
      tools: this.tools.map((tool) => tool.toSpec()),
      maxToolRounds: maxToolRounds ?? 10,
      ...(storeEvents ? { storeEvents } : {}),
    };
    return this.resolvedSpec;
  }

  /**
   * Runs the agent on `input`.
   *
   * - `background: true`: resolves to the `PENDING` output as soon as Temporal has the run.
   * - `stream: true`: returns the run's events as they happen, ending with `RunCompleted`, `RunError` or
   *   `RunCancelled`. Stopping early cancels the run, unless `background` is also set (then the run goes on).
   * - neither: resolves to the final output (`COMPLETED`, `CANCELLED` or `ERROR`).
   */
  run(input: string, options: RunOptions & { stream: true }): AsyncIterable<AgentRunEvent>;
  run(input: string, options?: RunOptions & { stream?: false }): Promise<RunOutput>;
  run(input: string, options: RunOptions = {}): Promise<RunOutput> | AsyncIterable<AgentRunEvent> {
    return options?.stream ? this.streamRun(input, options) : this.runToOutput(input, options);
  }

  /** The events of one of this agent's runs from `fromIndex` on; see {@link KernClient.subscribe}. */
  async *subscribe(runId: string, options: { fromIndex?: number } = {}): AsyncGenerator<AgentRunEvent, void> {
    yield* (await this.client()).subscribe(runId, options);
  }

  private async runToOutput(input: string, options: RunOptions): Promise<RunOutput> {
    const { runInput, background } = this.prepareRun(input, options);
    const client = await this.client();
    await client.startAgentRun(runInput);
    if (background) return outputFromRecord(runRecordOf(runInput));
    return client.waitForRun(runInput.runId);
  }

  private async *streamRun(input: string, options: RunOptions): AsyncGenerator<AgentRunEvent, void> {
    const { runInput, background } = this.prepareRun(input, options);
    const client = await this.client();
    await client.startAgentRun(runInput);
    let ended = false;
    try {
      for await (const event of client.subscribe(runInput.runId)) {
        ended = terminalRunEvents.has(event.event);
        yield event;
      }
    } finally {
      // The consumer stopped reading before the end: a foreground run stops with it.
      if (!ended && !background) await client.cancelRun(runInput.runId);
    }
  }

  private prepareRun(input: string, options: RunOptions): { runInput: AgentRunInput; background: boolean } {
    const request = parseRunRequest(input, options);
    const runInput: AgentRunInput = {
      version: AGENT_RUN_INPUT_VERSION,
      runId: request.options.runId ?? randomUUID(),
      sessionId: request.options.sessionId ?? randomUUID(),
      ...(request.options.userId !== undefined ? { userId: request.options.userId } : {}),
      input: request.input,
      agent: this.spec(),
      createdAt: new Date().toISOString(),
    };
    return { runInput, background: request.options.background ?? false };
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
