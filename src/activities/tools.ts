import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { CancelledFailure } from '@temporalio/common';
import type { Tool } from '../define/contracts';
import { ToolArgumentsInvalid, ToolNotFound } from '../shared/errors';
import { truncateText } from '../shared/limits';
import type { ToolCallInput, ToolCallResult } from '../shared/model-call';
import { sessionStateChanges, type SessionState } from '../shared/sessions';
import { whileHeartbeating } from './heartbeats';
import { McpServerUnavailable, type McpConnections } from './mcp';

/**
 * Builds the `executeTool` activity over the worker's registered tools. Arguments are validated with the tool's
 * zod schema before `execute` runs; invalid arguments end the run `ERROR` (not retried). A tool this worker lacks
 * is retried, so that during a rolling deploy a worker that has it takes the call. A tool that throws returns its
 * error message to the model instead of failing the run; a result longer than the tool's `maxResultChars` is cut.
 *
 * The activity heartbeats while the tool runs, so a lost worker is noticed in seconds and a cancel reaches it: the
 * tool's `signal` aborts, and the activity reports the cancel at once, without waiting for a tool that ignores it.
 */
export function createExecuteTool(tools: ReadonlyMap<string, Tool>, mcp?: McpConnections) {
  return async function executeTool(input: ToolCallInput): Promise<ToolCallResult> {
    const { mcpServer } = input;
    if (mcpServer !== undefined) {
      if (!mcp) throw new McpServerUnavailable(mcpServer, 'this worker has no MCP servers');
      return mcp.callTool({ ...input, mcpServer });
    }
    const tool = tools.get(input.toolName);
    if (!tool) throw new ToolNotFound(input.toolName);
    let raw: unknown;
    try {
      raw = JSON.parse(input.arguments || '{}');
    } catch {
      throw new ToolArgumentsInvalid(input.toolName, `arguments are not JSON: ${input.arguments.slice(0, 200)}`);
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) throw new ToolArgumentsInvalid(input.toolName, issuesOf(parsed.error));
    let args = parsed.data as Record<string, unknown>;
    if (input.userInput !== undefined) {
      // What a person filled in (checked when they gave it) goes to the tool with the model's arguments.
      const given = tool.userInputFields?.safeParse(input.userInput);
      if (!given?.success) {
        throw new ToolArgumentsInvalid(input.toolName, given ? issuesOf(given.error) : 'no user input');
      }
      args = { ...args, ...(given.data as Record<string, unknown>) };
    }
    const execute = tool.execute;
    if (!execute) throw new ToolNotFound(input.toolName);
    const signal = Context.current().cancellationSignal;
    const before = input.sessionState ?? {};
    const sessionState: SessionState = JSON.parse(JSON.stringify(before));
    const context = { runId: input.runId, toolCallId: input.toolCallId, signal, sessionState };
    let result: unknown;
    try {
      result = await whileHeartbeating(() => Promise.resolve(execute(args, context)));
    } catch (err) {
      if (signal.aborted) throw new CancelledFailure(`tool '${tool.name}' was cancelled`);
      return { content: `Error: ${err instanceof Error ? err.message : String(err)}`, isError: true, args };
    }
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    const why = `tool results are limited to ${tool.maxResultChars} characters (maxResultChars)`;
    const sessionStateChanges = changesOf(before, context.sessionState);
    return {
      content: truncateText(text, tool.maxResultChars, why),
      isError: false,
      args,
      ...(sessionStateChanges ? { sessionStateChanges } : {}),
    };
  };
}

/**
 * Builds the `checkUserInput` activity: what a person filled in for a `requiresUserInput` tool, checked against the
 * tool's `userInputFields` before the paused run takes it. Returns why it does not fit, or `undefined`.
 */
export function createCheckUserInput(tools: ReadonlyMap<string, Tool>) {
  return async function checkUserInput(input: { toolName: string; userInput: unknown }): Promise<string | undefined> {
    const tool = tools.get(input.toolName);
    if (!tool) throw new ToolNotFound(input.toolName);
    if (!tool.userInputFields) return `tool '${input.toolName}' takes no user input`;
    const given = tool.userInputFields.safeParse(input.userInput);
    return given.success ? undefined : issuesOf(given.error);
  };
}

function issuesOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** What a tool changed in the session state it was given, as JSON carries it (kept only when the tool returns). */
function changesOf(before: SessionState, after: SessionState) {
  return sessionStateChanges(before, JSON.parse(JSON.stringify(after)) as SessionState);
}
