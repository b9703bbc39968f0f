import type { AnyRunEvent } from '../shared/events';
import type { UserInputField } from '../shared/requirements';
import type { AnyRunOutput, Message, StepOutput } from '../shared/run-output';

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
    ...(snakeKeys(omit(rest, ['memberResponses', 'stepResults', 'contentType'])) as WireObject),
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
