import { randomUUID } from 'node:crypto';
import { isTerminalEventOf, pauseRequirementsOf, type AnyRunEvent } from '../shared/events';
import { ForkRefused, InvalidInputError, RunNotFound } from '../shared/errors';
import { forkSeed, type ForkRequest } from '../shared/forks';
import { PAYLOAD_BUDGET_BYTES, jsonBytes, withinPayloadBudget } from '../shared/limits';
import type { ContinueRequest } from '../shared/requirements';
import { slugify } from '../shared/ids';
import { outputFromRecord, runRecordOf } from '../shared/run-record';
import { componentIdentityOf, isRunOutputOf, type AnyRunOutput, type RunOutputOf } from '../shared/run-output';
import {
  historyRunsOf,
  mayPause,
  RUN_INPUT_VERSION,
  type RunInputBase,
  type RunInputOf,
  type RunKind,
} from '../shared/specs';
import { KernClient, type CancelOptions } from '../client/kern-client';
import { parseRunRequest, type RunOptions } from '../client/run-options';
import type { KernSchedule } from '../client/schedules';
import type { SubscribeOptions } from '../client/subscription';
import {
  defaultScheduleSession,
  scheduleIdOption,
  scheduleTimesOf,
  type ScheduleOptions,
} from '../client/schedule-options';
import { outputSchemaSpec, type ComponentOptions } from './component-options';
import type { Tool } from './contracts';

/** Options of `forkRun`: where to fork and what to add (see {@link ForkRequest}), and how to run the fork. */
export type ForkOptions = ForkRequest & Pick<RunOptions, 'background' | 'stream' | 'runId' | 'userId'>;

/** A run input ready to start, and whether its caller wants it in the background. */
interface PreparedRun<K extends RunKind> {
  runInput: RunInputOf<K>;
  background: boolean;
}

/**
 * What agents, teams and workflows share: running (in the background, streamed, or to the end), polling, cancelling and
 * subscribing, all by run id. Each run is a Temporal workflow that carries the component's definition. `K` is the
 * kind of run it starts; `Output` what its API returns for one (the kind's output, or more).
 */
export abstract class Component<K extends RunKind, Output = RunOutputOf<K>> {
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
  abstract readonly kind: K;

  /** Every tool this component's runs may call, its members' included: what a worker must register. */
  abstract allTools(): Tool[];

  /** The run input for this component, around the fields every run has. */
  protected abstract runInput(base: RunInputBase): RunInputOf<K>;

  /** Turns one of this component's run outputs, as Temporal returns it, into what this component's API returns. */
  protected abstract present(output: RunOutputOf<K>): Output;

  /**
   * Runs the component on `input`.
   *
   * - `background: true`: resolves to the `PENDING` output as soon as Temporal has the run.
   * - `stream: true`: returns the run's events as they happen, ending with its `…Completed`, `…Error` or
   *   `…Cancelled` event, or with its `…Paused` event when it pauses for a person. Stopping early cancels the run,
   *   unless `background` is also set (then the run goes on).
   * - neither: resolves to the final output (`COMPLETED`, `CANCELLED` or `ERROR`), or the `PAUSED` one when the run
   *   pauses for a person (`continueRun` answers it).
   */
  run(input: string, options: RunOptions & { stream: true }): AsyncIterable<AnyRunEvent>;
  run(input: string, options?: RunOptions & { stream?: false }): Promise<Output>;
  run(input: string, options: RunOptions = {}): Promise<Output> | AsyncIterable<AnyRunEvent> {
    const prepare = async () => this.prepareRun(input, options);
    return options?.stream ? this.streamRun(prepare) : this.runToOutput(prepare);
  }

  /**
   * Forks one of this component's runs: starts a new run, in the same session, from the earlier run's conversation up
   * to `continueFrom` (default: all of it), with `input` as a new user message. `regenerate: true` asks the model again
   * for the run's last answer; the new answer takes the old one's place in the session's history unless
   * `replaceOriginal: false`. The earlier run stays as it was. Answers as `run` does, for the new run (its output
   * says `forkedFrom`). Agents and teams; a cancelled run is not forked (`RunNotContinuable`), nor a request that
   * does not make sense (`ForkRefused`).
   */
  forkRun(runId: string, options: ForkOptions & { stream: true }): AsyncIterable<AnyRunEvent>;
  forkRun(runId: string, options?: ForkOptions & { stream?: false }): Promise<Output>;
  forkRun(runId: string, options: ForkOptions = {}): Promise<Output> | AsyncIterable<AnyRunEvent> {
    const prepare = () => this.prepareFork(runId, options);
    return options.stream ? this.streamRun(prepare) : this.runToOutput(prepare);
  }

  /**
   * The run input of a fork of one of this component's runs (see {@link forkRun}), given that run's output, for code
   * that starts runs with its own client (kern's HTTP server).
   */
  forkInputFor(source: AnyRunOutput, options: ForkOptions = {}): RunInputOf<K> {
    if (!this.own(source)) throw new RunNotFound(source.runId);
    return this.prepareForkOf(source, options).runInput;
  }

  /**
   * The output of one of this component's runs, or `null` when there is no such run (or it belongs to another
   * component or, when `sessionId` is given, another session).
   */
  async getRunOutput(query: { runId: string; sessionId?: string }): Promise<Output | null> {
    const output = await (await this.client()).getRunOutput(query.runId);
    if (!output || (query.sessionId !== undefined && output.sessionId !== query.sessionId)) return null;
    return this.own(output);
  }

  /**
   * Answers what one of this component's `PAUSED` runs waits for (see {@link KernClient.continueRun}): each of
   * `requirements` by the `id` of a requirement on the paused output. Without `stream`, resolves to the output once
   * the run has taken the answers and goes on; with `stream: true`, returns the rest of the run's events, from its
   * `RunContinued` to its end.
   */
  continueRun(runId: string, options: ContinueRequest & { stream: true }): AsyncIterable<AnyRunEvent>;
  continueRun(runId: string, options: ContinueRequest & { stream?: false }): Promise<Output>;
  continueRun(
    runId: string,
    options: ContinueRequest & { stream?: boolean },
  ): Promise<Output> | AsyncIterable<AnyRunEvent> {
    const { stream, ...request } = options;
    return stream ? this.streamContinued(runId, request) : this.continueToOutput(runId, request);
  }

  /**
   * Schedules runs of this component: a Temporal Schedule that starts a run with `input` at each of the times given
   * (`cron`, `interval`), under the `overlap` policy (default `skip`). Each run is a normal run, with the id
   * `<id>-<firing time>`, in the schedule's session. Resolves to the schedule's handle (pause, resume, trigger,
   * delete, describe); `listRuns({ scheduleId })` lists its runs.
   */
  async schedule(options: ScheduleOptions): Promise<KernSchedule> {
    const { input, settings } = this.scheduleFor(options);
    return (await this.client()).createSchedule(input, settings);
  }

  /**
   * The run input and settings a schedule of this component is created with, for code that creates schedules with its
   * own client (kern's HTTP server): `client.createSchedule(input, settings)`. Checks them as `schedule` does.
   */
  scheduleFor(options: ScheduleOptions): {
    input: RunInputOf<K> & { scheduleId: string };
    settings: Parameters<KernClient['createSchedule']>[1];
  } {
    const { id, input, overlap, paused, note, sessionId, userId, sessionState, outputSchema, ...times } = options;
    const scheduleId = scheduleIdOption(id);
    const when = scheduleTimesOf(times);
    const { runInput } = this.prepareRun(input, {
      runId: scheduleId,
      sessionId: sessionId ?? defaultScheduleSession(scheduleId),
      ...(userId !== undefined ? { userId } : {}),
      ...(sessionState !== undefined ? { sessionState } : {}),
      ...(outputSchema !== undefined ? { outputSchema } : {}),
    });
    const scheduled = { ...runInput, scheduleId };
    return {
      input: scheduled,
      settings: {
        ...when,
        ...(overlap !== undefined ? { overlap } : {}),
        ...(paused !== undefined ? { paused } : {}),
        ...(note !== undefined ? { note } : {}),
      },
    };
  }

  /** Cancels a run by id; see {@link KernClient.cancelRun} for the return value, cancel-before-start and options. */
  async cancelRun(runId: string, options: Pick<CancelOptions, 'exactPartial'> = {}): Promise<boolean> {
    return (await this.client()).cancelRun(runId, { ...options, intent: { kind: this.kind, componentId: this.id } });
  }

  /** The events of one of this component's runs from `fromIndex` on; see {@link KernClient.subscribe}. */
  async *subscribe(runId: string, options: SubscribeOptions = {}): AsyncGenerator<AnyRunEvent, void> {
    yield* (await this.client()).subscribe(runId, options);
  }

  /**
   * The workflow input a run of this component starts with, for code that starts runs with its own client (kern's
   * HTTP server): `client.startRun(component.runInputFor(input, options))`. Checks the input and options as `run`
   * does.
   */
  runInputFor(input: string, options: RunOptions = {}): RunInputOf<K> {
    return this.prepareRun(input, options).runInput;
  }

  protected client(): Promise<KernClient> {
    return this.clientOption ? Promise.resolve(this.clientOption) : KernClient.default();
  }

  /** The output as this component presents it, or `null` when it is a run of another component. */
  private own(output: AnyRunOutput): Output | null {
    if (!isRunOutputOf(output, this.kind) || componentIdentityOf(output).id !== this.id) return null;
    return this.present(output);
  }

  /** The output of a run this component started. */
  private ownRun(output: AnyRunOutput): Output {
    const own = this.own(output);
    if (!own) throw new Error(`kern: run ${output.runId} is not a run of ${this.kind} '${this.id}'`);
    return own;
  }

  /** Sends the answers to one of this component's runs (another's is not found). */
  private async continueOwn(runId: string, request: ContinueRequest): Promise<{ fromIndex: number }> {
    const client = await this.client();
    // Whose run it is, from Temporal's server alone: `continueRun` then asks the run itself what it waits for.
    const run = await client.peekRun(runId);
    if (!run || !this.own(run)) throw new RunNotFound(runId);
    return client.continueRun(runId, request);
  }

  private async continueToOutput(runId: string, request: ContinueRequest): Promise<Output> {
    await this.continueOwn(runId, request);
    const output = await (await this.client()).getRunOutput(runId);
    if (!output) throw new RunNotFound(runId);
    return this.ownRun(output);
  }

  private async *streamContinued(runId: string, request: ContinueRequest): AsyncGenerator<AnyRunEvent, void> {
    const { fromIndex } = await this.continueOwn(runId, request);
    yield* (await this.client()).subscribe(runId, { fromIndex });
  }

  private async runToOutput(prepare: () => Promise<PreparedRun<K>>): Promise<Output> {
    const { runInput, background } = await prepare();
    const client = await this.client();
    await client.startRun(runInput);
    if (background) return this.ownRun(outputFromRecord(runRecordOf(runInput)));
    // A run that may pause for a person returns then, `PAUSED`, as the framework's does.
    if (mayPause(runInput)) return this.ownRun(await client.waitForRunOrPause(runInput.runId));
    return this.ownRun(await client.waitForRun(runInput.runId));
  }

  private async *streamRun(prepare: () => Promise<PreparedRun<K>>): AsyncGenerator<AnyRunEvent, void> {
    const { runInput, background } = await prepare();
    const client = await this.client();
    await client.startRun(runInput);
    let ended = false;
    let paused = false;
    try {
      for await (const event of client.subscribe(runInput.runId)) {
        ended = isTerminalEventOf(event, runInput.runId);
        paused = event.runId === runInput.runId && pauseRequirementsOf(event) !== undefined;
        yield event;
        // The run waits for a person: the stream ends here, as the framework's does, and the run stays paused.
        // `continueRun(…, { stream: true })` streams the rest; `subscribe` follows a run through its pauses.
        if (paused) return;
      }
    } finally {
      // The consumer stopped reading before the end: a foreground run stops with it (not one that waits for a person).
      if (!ended && !paused && !background) await client.cancelRun(runInput.runId);
    }
  }

  private async prepareFork(runId: string, options: ForkOptions): Promise<PreparedRun<K>> {
    const source = await (await this.client()).getRunOutput(runId);
    if (!source || !this.own(source)) throw new RunNotFound(runId);
    return this.prepareForkOf(source, options);
  }

  private prepareForkOf(source: AnyRunOutput, options: ForkOptions): PreparedRun<K> {
    const { continueFrom, input, regenerate, replaceOriginal, ...runOptions } = options;
    const fork = forkSeed(source, {
      ...(continueFrom !== undefined ? { continueFrom } : {}),
      ...(input !== undefined ? { input } : {}),
      ...(regenerate !== undefined ? { regenerate } : {}),
      ...(replaceOriginal !== undefined ? { replaceOriginal } : {}),
    });
    const prepared = this.prepareRun(fork.input, {
      ...runOptions,
      sessionId: source.sessionId,
      ...(source.userId !== undefined && runOptions.userId === undefined ? { userId: source.userId } : {}),
    });
    const runInput = { ...prepared.runInput, seed: fork.seed };
    if (!withinPayloadBudget(runInput)) {
      throw new ForkRefused(
        `the conversation up to message ${fork.seed.messageIndex} weighs ${jsonBytes(fork.seed.messages)} bytes, ` +
          `more than a run's input may carry (${PAYLOAD_BUDGET_BYTES}); fork from an earlier message`,
      );
    }
    return { ...prepared, runInput };
  }

  private prepareRun(input: string, options: RunOptions): PreparedRun<K> {
    const request = parseRunRequest(input, options);
    const { sessionId, sessionState, runId, userId, stream, background, outputSchema } = request.options;
    const runInput = this.runInput({
      version: RUN_INPUT_VERSION,
      runId: runId ?? randomUUID(),
      sessionId: sessionId ?? randomUUID(),
      ...(userId !== undefined ? { userId } : {}),
      input: request.input,
      createdAt: new Date().toISOString(),
      ...(stream ? { liveStream: true } : {}),
      ...(sessionState !== undefined ? { sessionState } : {}),
      ...(outputSchema !== undefined ? { outputSchema: outputSchemaSpec('run', outputSchema) } : {}),
    });
    // A session the caller names may hold history and state; a new one (no id given) holds nothing to read yet. A run
    // that neither keeps history nor has tools nor was given state has no use for it.
    const mayUseSession = historyRunsOf(runInput) > 0 || sessionState !== undefined || this.allTools().length > 0;
    if (sessionId !== undefined && mayUseSession) runInput.readSession = true;
    return { runInput, background: background ?? false };
  }
}
