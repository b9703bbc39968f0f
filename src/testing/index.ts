// Helpers for testing kern apps: a local model server that speaks the OpenAI protocols, scripted by the test.
export {
  ScriptedModelServer,
  standInAnswer,
  type ScriptedTurn,
  type RecordedRequest,
  type ModelServerOptions,
} from './model-server';
export { startLocalTemporal } from './temporal-server';
