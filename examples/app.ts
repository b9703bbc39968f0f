/**
 * The app a worker and the HTTP server serve for the examples: `npx kern worker --app examples/app.ts`,
 * `npx kern serve --app examples/app.ts` (which serves the email agent, the script writer, the storytelling team
 * and the content workflow).
 * Runs carry their agents' and teams' definitions, so agents without tools need nothing here; the MCP agent is listed
 * so that `defineApp` checks its server is configured. The content
 * workflow is listed because its agents' tools (Hacker News, stock prices) run on the worker, and the session
 * example's shopping-list tool and the human-in-the-loop example's email tool for the same reason.
 */
import { defineApp } from 'kern';
import { emailAgent } from './agent-human-in-the-loop';
import { mcpServers, toolUser } from './agent-mcp';
import { addToList } from './agent-session';
import { scriptWriter } from './agent-structured-output';
import { storytellingTeam } from './team-run-cancellation';
import { contentCreationWorkflow } from './workflow-background-execution';

export default defineApp({
  agents: [emailAgent, scriptWriter, toolUser],
  tools: [addToList],
  teams: [storytellingTeam],
  workflows: [contentCreationWorkflow],
  // How the worker reaches the MCP servers its agents use.
  mcpServers,
});
