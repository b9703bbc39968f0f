import { randomUUID } from 'node:crypto';
import { isTerminalEventOf, type KernRunEvent } from '../shared/events';
import { InvalidInputError } from '../shared/errors';
import { slugify } from '../shared/ids';
import { outputFromRecord, runRecordOf } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import {
  AGENT_RUN_INPUT_VERSION,
  type ModelComponentSpec,
  type RunInput,
  type RunInputBase,
  type RunKind,
} from '../shared/specs';
import type { Tool } from './define';
import { KernClient } from './kern-client';
import { OpenAIResponses, type Model } from './models';
import { parseRunRequest, type RunOptions } from './run-options';

/** The model a component uses when it names none. */
export const defaultModel = (): Model => new OpenAIResponses({ id: 'gpt-5-mini' });

/** What every runnable component is defined with. */
export interface ComponentOptions {
  name: string;
  /** Defaults to the slug of the name (`'Research Agent'` → `research-agent`). */
  id?: string;
  /** The kern client to run on; default {@link KernClient.default}, from the environment. */
  client?: KernClient;
}

/** What agents and teams (whose leader is a model) are both defined with. */
export interface ModelComponentOptions extends ComponentOptions {
  /** Default: `OpenAIResponses` with `gpt-5-mini`. */
  model?: Model;
  description?: string;
  role?: string;
  instructions?: string | string[];
  /** Model → tools rounds allowed in one run (default 10). */
  maxToolRounds?: number;
  /** Keep every event on the run's final output (`events`), readable with no worker. */
  storeEvents?: boolean;
}

/** The spec fields an agent and a team share, from their options. */
export function modelComponentSpec(
  component: { id: string; name: string },
  options: ModelComponentOptions,
): Omit<ModelComponentSpec, 'tools'> {
  const { instructions, model, description, role, maxToolRounds, storeEvents } = options;
  return {
    id: component.id,
    name: component.name,
    ...(description !== undefined ? { description } : {}),
    ...(role !== undefined ? { role } : {}),
    instructions: instructions === undefined ? [] : Array.isArray(instructions) ? instructions : [instructions],
    model: (model ?? defaultModel()).toSpec(),
    maxToolRounds: maxToolRounds ?? 10,
    ...(storeEvents ? { storeEvents } : {}),
  };
}

/**
 * What agents, teams and workflows share: running (in the background, streamed, or to the end), polling, cancelling and
 * subscribing, all by run id. Each run is a Temporal workflow that carries the component's definition.
 */
export abstract class Component<Output extends AnyRunOutput, Event extends KernRunEvent> {
  readonly id: string;
  readonly name: string;
  private readonly clientOption: KernClient | undefined;

  protected constructor(options: ComponentOptions) {
    if (!options.name?.trim()) throw new InvalidInputError(`${new.target.name} needs a name`);
    this.name = options.name;
    this.id = options.id ?? slugify(options.name);
    if (!this.id) throw new InvalidInputError(`'${options.name}' makes an empty id; give the component an id`);
    this.clientOption = options.client;
  }

  /** What kind of run this component starts. */
  abstract readonly kind: RunKind;

  /** Every tool this component's runs may call, its members' included: what a worker must register. */
  abstract allTools(): Tool[];

  /** The run input for this component, around the fields every run has. */
  protected abstract runInput(base: RunInputBase): RunInput;

  /**
   * Runs the component on `input`.
   *
   * - `background: true`: resolves to the `PENDING` output as soon as Temporal has the run.
   * - `stream: true`: returns the run's events as they happen, ending with its `…Completed`, `…Error` or
   *   `…Cancelled` event. Stopping early cancels the run, unless `background` is also set (then the run goes on).
   * - neither: resolves to the final output (`COMPLETED`, `CANCELLED` or `ERROR`).
   */
  run(input: string, options: RunOptions & { stream: true }): AsyncIterable<Event>;
  run(input: string, options?: RunOptions & { stream?: false }): Promise<Output>;
  run(input: string, options: RunOptions = {}): Promise<Output> | AsyncIterable<Event> {
    return options?.stream ? this.streamRun(input, options) : this.runToOutput(input, options);
  }

  /**
   * The output of one of this component's runs, or `null` when there is no such run (or it belongs to another
   * component or, when `sessionId` is given, another session).
   */
  async getRunOutput(query: { runId: string; sessionId?: string }): Promise<Output | null> {
    const output = await (await this.client()).getRunOutput(query.runId);
    if (!output || !this.owns(output)) return null;
    if (query.sessionId !== undefined && output.sessionId !== query.sessionId) return null;
    return this.present(output);
  }

  /** Cancels a run by id; see {@link KernClient.cancelRun} for the return value and cancel-before-start. */
  async cancelRun(runId: string): Promise<boolean> {
    return (await this.client()).cancelRun(runId);
  }

  /** The events of one of this component's runs from `fromIndex` on; see {@link KernClient.subscribe}. */
  async *subscribe(runId: string, options: { fromIndex?: number } = {}): AsyncGenerator<Event, void> {
    yield* (await this.client()).subscribe(runId, options) as AsyncGenerator<Event, void>;
  }

  /** Turns a run's output, as Temporal returns it, into what this component's API returns. */
  protected present(output: AnyRunOutput): Output {
    return output as Output;
  }

  protected client(): Promise<KernClient> {
    return this.clientOption ? Promise.resolve(this.clientOption) : KernClient.default();
  }

  private owns(output: AnyRunOutput): boolean {
    if ('workflowId' in output) return this.kind === 'workflow' && output.workflowId === this.id;
    if ('teamId' in output) return this.kind === 'team' && output.teamId === this.id;
    return this.kind === 'agent' && output.agentId === this.id;
  }

  private async runToOutput(input: string, options: RunOptions): Promise<Output> {
    const { runInput, background } = this.prepareRun(input, options);
    const client = await this.client();
    await client.startRun(runInput);
    if (background) return this.present(outputFromRecord(runRecordOf(runInput)));
    return this.present(await client.waitForRun(runInput.runId));
  }

  private async *streamRun(input: string, options: RunOptions): AsyncGenerator<Event, void> {
    const { runInput, background } = this.prepareRun(input, options);
    const client = await this.client();
    await client.startRun(runInput);
    let ended = false;
    try {
      for await (const event of client.subscribe(runInput.runId)) {
        ended = isTerminalEventOf(event, runInput.runId);
        yield event as Event;
      }
    } finally {
      // The consumer stopped reading before the end: a foreground run stops with it.
      if (!ended && !background) await client.cancelRun(runInput.runId);
    }
  }

  private prepareRun(input: string, options: RunOptions): { runInput: RunInput; background: boolean } {
    const request = parseRunRequest(input, options);
    const runInput = this.runInput({
      version: AGENT_RUN_INPUT_VERSION,
      runId: request.options.runId ?? randomUUID(),
      sessionId: request.options.sessionId ?? randomUUID(),
      ...(request.options.userId !== undefined ? { userId: request.options.userId } : {}),
      input: request.input,
      createdAt: new Date().toISOString(),
      ...(request.options.stream ? { liveStream: true } : {}),
    });
    return { runInput, background: request.options.background ?? false };
  }
}
