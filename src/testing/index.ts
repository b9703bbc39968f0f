// Helpers for testing kern apps: a local Temporal, a real worker, and a model server that speaks the OpenAI
// protocols, scripted by the test (see docs/testing-your-app.md).
export {
  ScriptedModelServer,
  standInAnswer,
  type ScriptedTurn,
  type RecordedRequest,
  type ModelServerOptions,
} from './model-server';
export { startLocalTemporal } from './temporal-server';
export { startTestEnvironment, type KernTestEnvironment, type TestEnvironmentOptions } from './test-environment';
