import { unreachable } from './never';
import type { AnyRunOutput, Message, ToolExecution } from './run-output';

/**
 * The bounds kern keeps a run within, so that Temporal never refuses what a run sends (which would retry the
 * workflow task forever) and never terminates a run for its history (which would end it without kern's finish).
 * Pure and sandbox-safe: workflows, activities and the client share it.
 */

/** The most kern puts in one payload (a run's output, one model request): Temporal refuses a payload over 2 MB. */
export const PAYLOAD_BUDGET_BYTES = 1536 * 1024;

/**
 * The bound of a run's final output when large payloads are kept outside history (`RunInputBase.payloadsStored`):
 * the output is then a stored payload, which Temporal's 2 MB limit does not reach; this keeps what a worker and a
 * reader hold in memory for one output within reason.
 */
export const STORED_OUTPUT_BUDGET_BYTES = 32 * 1024 * 1024;

/** The longest tool result the model and the run keep, unless the tool says otherwise (`maxResultChars`). */
export const DEFAULT_MAX_TOOL_RESULT_CHARS = 100_000;

/**
 * A run ends `ERROR` (`RunTooLarge`) once its history passes either bound, well before Temporal's own limits of
 * 50 MB and 51,200 events, at which Temporal would terminate it.
 */
export const HISTORY_BUDGET = { bytes: 40 * 1024 * 1024, events: 40_000 } as const;

/** The size of `value` as a JSON payload, in UTF-8 bytes. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value) ?? '').length;
}

/**
 * What one execution's memo may weigh in all, below Temporal's 2 MB: the run's record (its input, up to 512 KB) and,
 * for a run that ends `CANCELLED` or `ERROR`, its output beside it.
 */
export const MEMO_BUDGET_BYTES = 1920 * 1024;

/**
 * True when `value` fits `budget` (default {@link PAYLOAD_BUDGET_BYTES}) as a JSON payload. Polls and model requests
 * check every time, so the common case skips encoding: a UTF-16 code unit is at most 3 bytes of UTF-8.
 */
export function withinPayloadBudget(value: unknown, budget = PAYLOAD_BUDGET_BYTES): boolean {
  const text = JSON.stringify(value) ?? '';
  if (text.length * 3 <= budget) return true;
  return new TextEncoder().encode(text).length <= budget;
}

/** `text` cut to `maxChars`, saying how much was cut, so a reader (or a model) knows it is not all there. */
export function truncateText(text: string, maxChars: number, why: string): string {
  if (text.length <= maxChars) return text;
  const cut = text.length - maxChars;
  return `${text.slice(0, maxChars)}\n[kern cut ${cut} more characters: ${why}]`;
}

/**
 * `text` cut so that it weighs at most `maxBytes` as a JSON string in a payload (UTF-8, escapes counted: a control
 * character is 6 bytes there, a CJK one 3), saying how much was cut. What Temporal stores is what counts, not
 * characters.
 */
export function truncateToJsonBytes(text: string, maxBytes: number, why: string): string {
  if (text.length <= (maxBytes - 2) / 6 || jsonBytes(text) <= maxBytes) return text;
  const note = (cut: number) => `\n[kern cut ${cut} more characters: ${why}]`;
  // The longest prefix that fits with its note: at least 1 and at most 6 bytes a code unit, so a binary search.
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (jsonBytes(text.slice(0, mid) + note(text.length - mid)) <= maxBytes) low = mid;
    else high = mid - 1;
  }
  // Not half a surrogate pair.
  const kept = low > 0 && /[\uD800-\uDBFF]/.test(text[low - 1]!) ? low - 1 : low;
  return text.slice(0, kept) + note(text.length - kept);
}

const CUT_FOR_PAYLOAD = "the run's output has to stay under Temporal's 2 MB payload limit";
const RESULT_IN_TOOLS =
  "[kern: this result is the matching entry of the run's tools; one copy is kept to stay under 2 MB]";

/**
 * `output` within `budget` (default {@link PAYLOAD_BUDGET_BYTES}), cut as little as it takes, in this order:
 * 1. the stored `events` go (a worker still replays them, see `KernClient.subscribe`);
 * 2. tool results are kept once: in `tools`, not again in `messages` (for the run and each of its members);
 * 3. long texts are cut, longest allowance first (each cut says so);
 * 4. the `messages` go, for the run and each of its members.
 * An output already within the budget is returned as it is.
 */
export function boundOutput<Output extends AnyRunOutput>(output: Output, budget = PAYLOAD_BUDGET_BYTES): Output {
  if (withinPayloadBudget(output, budget)) return output;
  const bounded: Output = JSON.parse(JSON.stringify(output));
  delete bounded.events;
  if (withinPayloadBudget(bounded, budget)) return bounded;
  for (const run of runsIn(bounded)) keepToolResultsOnce(run);
  for (const maxChars of [200_000, 50_000, 10_000, 2_000, 500]) {
    if (withinPayloadBudget(bounded, budget)) return bounded;
    cutTexts(bounded, maxChars);
  }
  for (const run of runsIn(bounded)) run.messages = [];
  return bounded;
}

/** The run and every member run inside it (a team's `memberResponses`, nested). */
function runsIn(output: AnyRunOutput): AnyRunOutput[] {
  switch (output.kind) {
    case 'team':
      return [output, ...output.memberResponses.flatMap(runsIn)];
    case 'agent':
    case 'workflow':
      return [output];
    default:
      return unreachable(output, 'run output');
  }
}

function keepToolResultsOnce(run: AnyRunOutput): void {
  const results = new Map(run.tools.map((tool: ToolExecution) => [tool.toolCallId, tool.result]));
  run.messages = run.messages.map((message: Message): Message =>
    message.role === 'tool' && results.get(message.toolCallId) === message.content
      ? { ...message, content: RESULT_IN_TOOLS }
      : message,
  );
}

/** Cuts every string longer than `maxChars` inside `value`, in place. */
function cutTexts(value: unknown, maxChars: number): void {
  cutStrings(value, (text) => truncateText(text, maxChars, CUT_FOR_PAYLOAD));
}

/** Replaces every string inside `value` (objects and arrays, in place) with what `cut` makes of it. */
export function cutStrings(value: unknown, cut: (text: string) => string): void {
  if (typeof value !== 'object' || value === null) return;
  const holder = value as Record<string, unknown>;
  for (const [key, item] of Object.entries(holder)) {
    if (typeof item === 'string') holder[key] = cut(item);
    else cutStrings(item, cut);
  }
}
