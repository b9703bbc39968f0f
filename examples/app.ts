/**
 * The app a worker serves for the examples: `npx kern worker --app examples/app.ts`.
 * The example agents have no tools, and every run carries its agent's definition, so this app only has to exist;
 * apps with tools list them here so the worker can run them.
 */
import { defineApp } from 'kern';

export default defineApp({});
