// The app of the scale run (`npm run scale`, bench/scale.ts): an agent, a team of two members and a two-step
// workflow, served by `kern worker` and `kern serve` processes running the built package. JavaScript, as a deployed
// app is: `require('kern')` is the package's dist/. The model is the scale run's stand-in.
const { Agent, OpenAIResponses, Step, Team, Workflow, defineApp } = require('kern');

const model = new OpenAIResponses({ id: 'stand-in' });
const researcher = new Agent({ name: 'Scale Researcher', model, role: 'Find the facts.' });
const writer = new Agent({ name: 'Scale Writer', model, role: 'Write them up.' });

// `kern worker --app` and `kern serve --app` take the module's default export.
exports.default = defineApp({
  agents: [new Agent({ name: 'Scale Agent', model, instructions: 'Answer the question.' })],
  teams: [new Team({ name: 'Scale Team', model, members: [researcher, writer] })],
  workflows: [
    new Workflow({
      name: 'Scale Workflow',
      steps: [new Step({ name: 'Research', agent: researcher }), new Step({ name: 'Write', agent: writer })],
    }),
  ],
});
