// kern's HTTP API: the Python framework's AgentOS routes over kern's runs (`npx kern serve --app ./app.ts`).
export { createServer, OpenServerRefused, type KernServer, type ServerOptions } from './create-server';
export type { WebSocketLimits } from './workflow-socket';
export type { JwtOptions } from './auth';
export type { McpOptions } from './mcp-routes';
