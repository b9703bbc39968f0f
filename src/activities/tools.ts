import { ApplicationFailure } from '@temporalio/common';
import type { Tool } from '../client/define';
import type { ToolCallInput, ToolCallResult } from '../shared/model-call';

/**
 * Builds the `executeTool` activity over the worker's registered tools. Arguments are validated with the tool's
 * zod schema before `execute` runs; invalid arguments or an unknown tool end the run `ERROR` (not retried).
 * A tool that throws returns its error message to the model instead of failing the run.
 */
export function createExecuteTool(tools: ReadonlyMap<string, Tool>) {
  return async function executeTool(input: ToolCallInput): Promise<ToolCallResult> {
    const tool = tools.get(input.toolName);
    if (!tool) {
      throw ApplicationFailure.create({
        type: 'ToolNotFound',
        message: `tool '${input.toolName}' is not registered on this worker; add it to defineApp({ tools })`,
        nonRetryable: true,
      });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(input.arguments || '{}');
    } catch {
      throw invalidArguments(input.toolName, `arguments are not JSON: ${input.arguments.slice(0, 200)}`);
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
      throw invalidArguments(input.toolName, problems.join('; '));
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

function invalidArguments(toolName: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ToolArgumentsInvalid',
    message: `invalid arguments for tool '${toolName}': ${message}`,
    nonRetryable: true,
  });
}
