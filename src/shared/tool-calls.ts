/** The team leader's delegation tool in `coordinate` and `route` mode: one member, one task. */
export const DELEGATE_TO_MEMBER = 'delegate_task_to_member';
/** The team leader's delegation tool in `broadcast` mode: every member gets the task at once. */
export const DELEGATE_TO_ALL = 'delegate_task_to_all_members';

/**
 * The arguments of a tool call as an object, for recording and for kern's own tools: `{}` when the model's text is
 * not a JSON object. User tools validate the text itself, with their zod schema, on the worker.
 */
export function parseToolArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
