import type { Tool } from '../client/define';
import { ToolArgumentsInvalid, ToolNotFound } from '../shared/errors';
import type { ToolCallInput, ToolCallResult } from '../shared/model-call';

/**
 * Builds the `executeTool` activity over the worker's registered tools. Arguments are validated with the tool's
 * zod schema before `execute` runs; invalid arguments or an unknown tool end the run `ERROR` (not retried).
 * A tool that throws returns its error message to the model instead of failing the run.
 */
export function createExecuteTool(tools: ReadonlyMap<string, Tool>) {
  return async function executeTool(input: ToolCallInput): Promise<ToolCallResult> {
    const tool = tools.get(input.toolName);
    if (!tool) throw new ToolNotFound(input.toolName);
    let raw: unknown;
    try {
      raw = JSON.parse(input.arguments || '{}');
    } catch {
      throw new ToolArgumentsInvalid(input.toolName, `arguments are not JSON: ${input.arguments.slice(0, 200)}`);
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
      throw new ToolArgumentsInvalid(input.toolName, problems.join('; '));
    }
    const args = parsed.data as Record<string, unknown>;
    try {
      const result = await tool.execute(args, { runId: input.runId, toolCallId: input.toolCallId });
      return { content: typeof result === 'string' ? result : JSON.stringify(result ?? null), isError: false, args };
    } catch (err) {
      return { content: `Error: ${err instanceof Error ? err.message : String(err)}`, isError: true, args };
    }
  };
}
