import type { AnyRunEvent } from '../shared/events';
import type { UserInputField } from '../shared/requirements';
import { componentIdentityOf, type AnyRunOutput, type Message, type StepOutput } from '../shared/run-output';

/**
 * kern's camelCase outputs and events as the Python framework's server sends them: snake_case keys, times in epoch
 * seconds, `input` as `{input_content}` on agent and team outputs, `content_type`, `model_provider`, and messages in
 * OpenAI's tool-call shape. Values a user or model supplied (`tool_args`) are passed through untouched.
 */
export type WireObject = { [key: string]: WireValue };
export type WireValue = string | number | boolean | null | WireValue[] | WireObject;

/** Every kern model speaks an OpenAI protocol; the framework names that provider `OpenAI`. */
const MODEL_PROVIDER = 'OpenAI';

/** A run's output as the framework's server answers `GET …/runs/{run_id}`. */
export function wireOutput(output: AnyRunOutput): WireObject {
  const { kind, input, messages, events, createdAt, updatedAt, ...rest } = output;
  const wire: WireObject = {
    ...(snakeKeys(omit(rest, ['memberResponses', 'stepResults', 'contentType', 'forkedFrom'])) as WireObject),
    ...wireForkedFrom(output),
    content_type: output.contentType ?? 'str',
    model_provider: MODEL_PROVIDER,
    created_at: epochSeconds(createdAt),
    updated_at: epochSeconds(updatedAt),
    messages: messages.map(wireMessage),
    ...(events ? { events: events.map((event) => wireEvent(event)) } : {}),
  };
  switch (kind) {
    case 'agent':
      return { ...wire, input: { input_content: input } };
    case 'team':
      return { ...wire, input: { input_content: input }, member_responses: output.memberResponses.map(wireOutput) };
    case 'workflow':
      return {
        ...wire,
        input,
        step_results: output.stepResults.map(wireStepOutput),
        metrics: wireWorkflowMetrics(output.stepResults, output.metrics.duration),
      };
  }
}

/** Where a fork or regenerate started (the framework's lineage fields), or nothing for any other run. */
function wireForkedFrom(output: AnyRunOutput): WireObject {
  const from = output.forkedFrom;
  if (!from) return {};
  return {
    forked_from_run_id: from.runId,
    forked_from_message_index: from.messageIndex,
    ...(from.regenerate ? { regenerated_from: from.runId } : {}),
  };
}

/** The framework's empty media lists, which its run schemas always fill. */
const NO_MEDIA: WireObject = { images: [], videos: [], audio: [], files: [] };

/** What a run's input had of media (kern takes text only): `input_media` as the framework's run schemas have it. */
const NO_INPUT_MEDIA: WireObject = { images: [], videos: [], audios: [], files: [] };

/**
 * A run as the framework's session routes answer it (`GET /sessions/{id}/runs` and `…/runs/{run_id}`): its run
 * schemas (`RunSchema`, `TeamRunSchema`, `WorkflowRunSchema`), which differ from a run route's output. The input is
 * `run_input`, `created_at` an ISO datetime, the fields those schemas always fill are there (empty), and the ones
 * that would be `null` are left out, as the framework leaves them out.
 */
export function wireSessionRun(output: AnyRunOutput): WireObject {
  const createdAt = `${output.createdAt.slice(0, 19)}Z`;
  const content: WireObject = output.content !== null ? { content: output.content as WireValue } : {};
  const events: WireObject = output.events?.length ? { events: output.events.map((event) => wireEvent(event)) } : {};
  const reasoning: WireObject = { reasoning_content: '', reasoning_steps: [] };
  const sources: WireObject = { references: [], reasoning_messages: [] };
  const sessionState: WireObject = output.sessionState ? { session_state: output.sessionState as WireObject } : {};
  const format: WireObject = { run_response_format: (output.contentType ?? 'str') === 'str' ? 'text' : 'json' };
  const said: WireObject = {
    ...(output.tools.length ? { tools: output.tools.map((tool) => snakeKeys(tool)) } : {}),
    ...(output.messages.length ? { messages: output.messages.map(wireMessage) } : {}),
    ...wireForkedFrom(output),
  };
  switch (output.kind) {
    case 'agent':
      return {
        run_id: output.runId,
        parent_run_id: output.parentRunId ?? '',
        agent_id: output.agentId,
        user_id: output.userId ?? '',
        status: output.status,
        run_input: output.input,
        ...content,
        ...format,
        ...reasoning,
        metrics: snakeKeys(output.metrics),
        ...said,
        ...events,
        created_at: createdAt,
        ...sources,
        ...sessionState,
        ...NO_MEDIA,
        input_media: NO_INPUT_MEDIA,
      };
    case 'team':
      return {
        run_id: output.runId,
        parent_run_id: output.parentRunId ?? '',
        team_id: output.teamId,
        ...(output.userId !== undefined ? { user_id: output.userId } : {}),
        status: output.status,
        ...content,
        ...reasoning,
        run_input: output.input,
        ...format,
        metrics: snakeKeys(output.metrics),
        ...said,
        ...events,
        created_at: createdAt,
        ...sources,
        ...sessionState,
        input_media: NO_INPUT_MEDIA,
        ...NO_MEDIA,
      };
    case 'workflow':
      return {
        run_id: output.runId,
        run_input: output.input,
        events: events.events ?? [],
        workflow_id: output.workflowId,
        user_id: output.userId ?? '',
        ...content,
        content_type: output.contentType ?? 'str',
        status: output.status,
        step_results: output.stepResults.map(wireStepOutput),
        step_executor_runs: [],
        metrics: wireWorkflowMetrics(output.stepResults, output.metrics.duration),
        created_at: createdAt,
        ...reasoning,
        ...sources,
        ...NO_MEDIA,
      };
  }
}

/**
 * One of a run's checkpoints as the framework lists them (`GET …/runs/{run_id}/checkpoints`): a message boundary to
 * fork from (`continue_from`), numbered from 1 in order; `reason` is `end` for the end of the conversation,
 * `checkpoint` for the boundary a fork started from, `snapshot` for one asked for by index.
 */
export function wireCheckpoint(
  output: AnyRunOutput,
  messageIndex: number,
  reason: 'checkpoint' | 'end' | 'snapshot',
  checkpointId: string | null,
): WireObject {
  const message = messageIndex > 0 ? output.messages[messageIndex - 1] : undefined;
  return {
    checkpoint_id: checkpointId,
    run_id: output.runId,
    session_id: output.sessionId,
    message_index: messageIndex,
    continue_from: messageIndex,
    status: output.status,
    reason,
    created_at: epochSeconds(output.createdAt),
    message_id: null,
    message_role: message?.role ?? null,
    message_preview: message ? messagePreview(message.content) : null,
    is_latest: messageIndex === output.messages.length,
  };
}

/** A message on one line, cut to the framework's 120 characters for a checkpoint's preview. */
function messagePreview(content: string): string {
  const text = content.replace(/\n/g, ' ').trim();
  return text.length <= 120 ? text : `${text.slice(0, 119)}...`;
}

/** How much of a run's input and answer a preview keeps, as the framework's previews keep. */
const PREVIEW_CHARS = 280;

/** A run as the framework's `GET /sessions/{id}/run-previews` lists it: ids, status, time, and the text cut short. */
export function wireRunPreview(output: AnyRunOutput): WireObject {
  const componentKey = `${output.kind}_id`;
  const content =
    output.content === null
      ? undefined
      : typeof output.content === 'string'
        ? output.content
        : JSON.stringify(output.content);
  return {
    run_id: output.runId,
    ...(output.parentRunId !== undefined ? { parent_run_id: output.parentRunId } : {}),
    [componentKey]: componentIdentityOf(output).id,
    ...(output.userId !== undefined ? { user_id: output.userId } : {}),
    status: output.status,
    run_input: output.input.slice(0, PREVIEW_CHARS),
    ...(content !== undefined ? { content_preview: content.slice(0, PREVIEW_CHARS) } : {}),
    created_at: `${output.createdAt.slice(0, 19)}Z`,
  };
}

/**
 * An event as the framework's server streams it. `withIndex` adds `event_index`, which that server sends only on
 * resumable (background) streams.
 */
export function wireEvent(event: AnyRunEvent, options: { withIndex?: boolean } = {}): WireObject {
  const { createdAt, eventIndex, ...rest } = event;
  const wire: WireObject = {
    created_at: epochSeconds(createdAt),
    ...(snakeKeys(omit(rest, ['kind'])) as WireObject),
    nested_depth: 0,
  };
  switch (event.event) {
    case 'RunStarted':
    case 'TeamRunStarted':
    case 'ModelRequestStarted':
    case 'TeamModelRequestStarted':
    case 'ModelRequestCompleted':
    case 'TeamModelRequestCompleted':
      wire.model_provider = MODEL_PROVIDER;
      break;
    case 'RunContent':
    case 'TeamRunContent':
    case 'RunCompleted':
    case 'TeamRunCompleted':
      wire.content_type = 'str';
      break;
    case 'RunError':
    case 'TeamRunError':
      // The framework's error event carries the message as `content` and the class as `error_type`.
      wire.content = event.error.message;
      wire.error_type = event.error.type;
      break;
    case 'StepCompleted':
      wire.step_response = wireStepOutput(event.stepOutput);
      delete wire.step_output;
      break;
    default:
      break;
  }
  if (options.withIndex && eventIndex !== undefined) wire.event_index = eventIndex;
  return wire;
}

/** A workflow's metrics as the framework shapes them: per step by name, and the run's duration. */
function wireWorkflowMetrics(steps: StepOutput[], duration: number | undefined): WireObject {
  return {
    steps: Object.fromEntries(
      steps.map((step) => [
        step.stepName,
        {
          step_name: step.stepName,
          // kern's step outputs do not say which kind of executor ran them.
          executor_type: null,
          executor_name: step.stepName,
          metrics: step.metrics ? (snakeKeys(step.metrics) as WireObject) : null,
        },
      ]),
    ),
    duration: duration ?? null,
  };
}

function wireStepOutput(step: StepOutput): WireObject {
  const { steps, ...rest } = step;
  return {
    ...(snakeKeys(rest) as WireObject),
    ...(steps ? { steps: steps.map(wireStepOutput) } : {}),
  };
}

function wireMessage(message: Message): WireObject {
  switch (message.role) {
    case 'system':
      return { role: message.role, content: message.content, from_history: false };
    case 'user':
      return { role: message.role, content: message.content, from_history: message.fromHistory ?? false };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        from_history: message.fromHistory ?? false,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, tool_name: message.toolName, content: message.content };
  }
}

/** Keys whose values are the user's or the model's own data, kept as they are. */
const OPAQUE_KEYS: ReadonlySet<string> = new Set(['toolArgs', 'sessionState', 'content']);

/** camelCase keys to snake_case, deeply, except under {@link OPAQUE_KEYS}; `undefined` fields are left out. */
function snakeKeys(value: unknown): WireValue {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value as WireValue;
  const wire: WireObject = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    if (key === 'userInputSchema' && Array.isArray(field)) {
      wire.user_input_schema = field.map(wireInputField);
      continue;
    }
    wire[snakeCase(key)] = OPAQUE_KEYS.has(key) ? (field as WireValue) : snakeKeys(field);
  }
  return wire;
}

/** A user input field as the framework sends it: every key present, `null` for no description or value yet. */
function wireInputField(field: UserInputField): WireObject {
  return {
    name: field.name,
    field_type: field.fieldType,
    description: field.description ?? null,
    value: (field.value ?? null) as WireValue,
  };
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function epochSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

function omit<T extends object>(value: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key))) as Partial<T>;
}

/**
 * JSON as Python's `json.dumps` writes it by default (`", "` and `": "` separators): the framework's meta frames and
 * WebSocket messages look like this, and clients that compare them byte for byte see the same text.
 */
export function pythonJson(value: WireValue): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, field]) => `${JSON.stringify(key)}: ${pythonJson(field)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}
