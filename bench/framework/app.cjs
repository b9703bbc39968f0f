// kern's side of the bench's side-by-side with the Python framework (bench/framework-metrics.ts): the same agent as
// bench/framework/agentos_server.py, served by `kern serve` and run by `kern worker` processes from the built package.
const { Agent, OpenAIResponses, defineApp } = require('kern');

exports.default = defineApp({
  agents: [new Agent({ name: 'Bench Agent', model: new OpenAIResponses({ id: 'bench' }) })],
});
