/**
 * The app a worker serves for the examples: `npx kern worker --app examples/app.ts`.
 * Runs carry their agents' and teams' definitions, so agents without tools need nothing here. The content
 * workflow is listed because its agents' tools (Hacker News, stock prices) run on the worker.
 */
import { defineApp } from 'kern';
import { contentCreationWorkflow } from './workflow-background-execution';

export default defineApp({ workflows: [contentCreationWorkflow] });
