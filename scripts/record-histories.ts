/**
 * `npm run record-histories`: runs each scenario on a throwaway Temporal server and saves its event history to
 * test/histories/<workflowType>-<scenario>.v<format>.json, for the replay tests. The format is read from the recorded
 * history itself (the version its workflow input carries), so a file's name always says what it holds, and a change
 * of format records each scenario anew beside the histories of older formats.
 *
 * Existing files are never overwritten: a recorded history is what older kern versions wrote, and replaying it
 * checks that today's workflow code still understands it. Changing one is a compatibility decision, made by hand
 * and explained in the commit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import {
  Agent,
  type AnyAgent,
  type AnyTeam,
  Condition,
  KernClient,
  type KernSchedule,
  Loop,
  OpenAIResponses,
  Parallel,
  RunEvent,
  Router,
  Step,
  Steps,
  Team,
  Workflow,
  type StepInput,
  type StepOutput,
  type WorkflowStep,
  defineApp,
  defineTool,
  type AnyRunEvent,
  type TeamMode,
} from 'kern';
import { ScriptedModelServer, startLocalTemporal } from 'kern/testing';
import { startWorker } from 'kern/worker';
import { workflowIdForRun } from '../src/shared/ids';
import { workflowIdForSession } from '../src/shared/sessions';
import { remember } from '../test/fixtures/session-tools';

const historiesDir = path.resolve(__dirname, '../test/histories');

const getWeather = defineTool({
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => `Sunny in ${city}`,
});

interface Scenario {
  name: string;
  /** Starts the run and returns its id once it has ended. */
  run(ctx: { agent: Agent; client: KernClient; model: ScriptedModelServer }): Promise<string>;
  /** Agent options this scenario needs on top of the default agent's. */
  agentOptions?: { storeEvents?: boolean };
}

interface TeamScenario {
  name: string;
  mode?: TeamMode;
  /** Starts the run and returns the run ids to record once they have ended: the team's, then members' if any. */
  run(ctx: { team: Team; client: KernClient; model: ScriptedModelServer }): Promise<Recorded[]>;
}

interface Recorded {
  file: string;
  runId: string;
}

const delegateTo = (memberId: string, task: string) => ({
  toolCalls: [{ name: 'delegate_task_to_member', arguments: { member_id: memberId, task } }],
});

const agentScenarios: Scenario[] = [
  {
    name: 'completed',
    async run({ agent, model }) {
      model.replyWhen('capital of France', { text: 'Paris is the capital of France.' });
      return (await agent.run('What is the capital of France?')).runId;
    },
  },
  {
    name: 'tool-round-trip',
    async run({ agent, model }) {
      model.replyWhen(
        'weather in Paris',
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_1' }] },
        { text: 'It is sunny in Paris.' },
      );
      return (await agent.run('What is the weather in Paris?')).runId;
    },
  },
  {
    name: 'cancelled-mid-call',
    async run({ agent, model, client }) {
      model.replyWhen('long essay', { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
      const run = await agent.run('Write a long essay.', { background: true });
      await model.waitFor(() => model.requestsFor('long essay').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return run.runId;
    },
  },
  {
    // Since `kern-cancel-without-waiting-for-the-model`: the run ends at once; its late delta batch is dropped.
    name: 'cancelled-without-waiting',
    async run({ agent, model, client }) {
      model.replyWhen('endless story', { text: STORY, tokenDelayMs: 20, hang: true });
      const events = agent.run('Tell an endless story.', { stream: true, background: true })[Symbol.asyncIterator]();
      const first = await events.next();
      const runId = first.done ? '' : first.value.runId;
      await model.waitFor(() => model.requestsFor('endless story')[0]?.wordTimes.length === STORY.split(' ').length);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await agent.cancelRun(runId);
      await client.waitForRun(runId);
      await model.waitFor(() => model.requestsFor('endless story')[0]!.aborted);
      await events.return?.(undefined);
      return runId;
    },
  },
  {
    // Since `kern-cancel-without-waiting-for-the-model`, with exactPartial: the run waits for the call's report.
    name: 'cancelled-exact-partial',
    async run({ agent, model, client }) {
      model.replyWhen('exact essay', { text: 'Once upon a time', tokenDelayMs: 20, hang: true });
      const run = await agent.run('Write an exact essay.', { background: true });
      await model.waitFor(() => model.requestsFor('exact essay')[0]?.wordTimes.length === 4);
      await agent.cancelRun(run.runId, { exactPartial: true });
      await client.waitForRun(run.runId);
      return run.runId;
    },
  },
  {
    name: 'cancelled-before-start',
    async run({ agent, client }) {
      const runId = randomUUID();
      await client.cancelRun(runId);
      await agent.run('This should be cancelled before it runs.', { background: true, runId });
      await client.waitForRun(runId);
      return runId;
    },
  },
  {
    // Since `kern-cancel-wins-over-completion`: the answer is in after the cancel was requested; the run is CANCELLED.
    name: 'cancelled-as-answer-completes',
    async run({ agent, model, client }) {
      model.replyWhen('quick answer', { text: 'All done now.', tokenDelayMs: 60 });
      const run = await agent.run('A quick answer.', { background: true });
      await model.waitFor(() => model.requestsFor('quick answer')[0]?.wordTimes.length === 1);
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return run.runId;
    },
  },
  {
    name: 'undeclared-tool',
    async run({ agent, model }) {
      model.replyWhen('rogue', { toolCalls: [{ name: 'launch_rocket', arguments: {} }] }, { text: 'I cannot.' });
      return (await agent.run('A rogue tool call.')).runId;
    },
  },
  {
    name: 'model-rejected',
    async run({ agent, model }) {
      model.replyWhen('rejected', { error: { status: 401, message: 'Incorrect API key provided' } });
      return (await agent.run('This request is rejected.')).runId;
    },
  },
  {
    name: 'model-retried',
    async run({ agent, model }) {
      model.replyWhen(
        'busy',
        { error: { status: 429, message: 'Rate limit reached' } },
        { text: 'Second time lucky.' },
      );
      return (await agent.run('The model is busy at first.')).runId;
    },
  },
  {
    name: 'streamed-with-subscriber',
    async run({ agent, model }) {
      model.replyWhen('story', { text: STORY, tokenDelayMs: 15 });
      return lastRunId(agent.run('Tell me a story.', { stream: true }));
    },
  },
  {
    name: 'streamed-cancelled',
    async run({ agent, model, client }) {
      model.replyWhen('endless', { text: STORY, tokenDelayMs: 25, hang: true });
      let runId = '';
      for await (const event of agent.run('Tell me an endless story.', { stream: true, background: true })) {
        runId = event.runId;
        if (event.event === RunEvent.runContent) break;
      }
      await client.cancelRun(runId);
      await client.waitForRun(runId);
      return runId;
    },
  },
  {
    name: 'cancelled-with-waiting-subscriber',
    async run({ agent, model, client }) {
      model.replyWhen('waiting subscriber', { text: STORY, tokenDelayMs: 25, hang: true });
      const run = await agent.run('A story for a waiting subscriber.', { background: true });
      const subscriber = (async () => {
        for await (const event of client.subscribe(run.runId)) if (event.event === RunEvent.runCancelled) return;
      })();
      await model.waitFor(() => model.requestsFor('waiting subscriber').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await client.cancelRun(run.runId);
      await subscriber;
      await client.waitForRun(run.runId);
      return run.runId;
    },
  },
  {
    name: 'retried-midway',
    async run({ agent, model }) {
      model.replyWhen(
        'flaky',
        { text: 'A first try that breaks off', tokenDelayMs: 20, dropAfterWords: 3 },
        { text: STORY },
      );
      return lastRunId(agent.run('A flaky provider.', { stream: true }));
    },
  },
  {
    // Since `kern-drop-superseded-deltas`: the retried attempt's deltas carry its attempt, and the stream filters.
    name: 'retried-midway-attempts-tracked',
    async run({ agent, model }) {
      model.replyWhen(
        'unsteady',
        { text: 'A first try that breaks off', tokenDelayMs: 20, dropAfterWords: 3 },
        { text: STORY, tokenDelayMs: 15 },
      );
      return lastRunId(agent.run('An unsteady provider.', { stream: true }));
    },
  },
  {
    name: 'store-events',
    agentOptions: { storeEvents: true },
    async run({ agent, model }) {
      model.replyWhen('kept', { text: STORY, tokenDelayMs: 5 });
      return (await agent.run('Every event is kept.')).runId;
    },
  },
];

const teamScenarios: TeamScenario[] = [
  {
    name: 'coordinate',
    async run({ team, model }) {
      model
        .replyWhen(
          'thermodynamics',
          delegateTo('researcher', 'find the laws'),
          delegateTo('writer', 'summarize them'),
          {
            text: 'Energy is conserved; entropy grows; absolute zero is out of reach.',
          },
        )
        .replyWhen('find the laws', { text: 'Conservation, entropy, absolute zero.' })
        .replyWhen('summarize them', { text: 'One line for each law.', tokenDelayMs: 5 });
      const output = await team.run('What are the laws of thermodynamics?');
      return [
        { file: 'teamRun-coordinate', runId: output.runId },
        { file: 'agentRun-team-member', runId: output.memberResponses[1]!.runId },
      ];
    },
  },
  {
    // Since `kern-member-content-forwarded-only-live`: nobody streams the team, so the member's text stays its own.
    name: 'member-content-held-back',
    async run({ team, model }) {
      model
        .replyWhen('held back', delegateTo('writer', 'write a paragraph'), { text: 'The team has its paragraph.' })
        .replyWhen('write a paragraph', { text: STORY, tokenDelayMs: 5 });
      const output = await team.run('Answer, held back.');
      return [
        { file: 'teamRun-member-content-held-back', runId: output.runId },
        { file: 'agentRun-member-content-held-back', runId: output.memberResponses[0]!.runId },
      ];
    },
  },
  {
    name: 'route',
    mode: 'route',
    async run({ team, model }) {
      model.replyWhen('route this', delegateTo('writer', 'write the answer')).replyWhen('write the answer', {
        text: 'The writer answers for the team.',
      });
      return [{ file: 'teamRun-route', runId: (await team.run('Please route this.')).runId }];
    },
  },
  {
    name: 'broadcast',
    mode: 'broadcast',
    async run({ team, model }) {
      model
        .replyWhen(
          'ask everyone',
          { toolCalls: [{ name: 'delegate_task_to_all_members', arguments: { task: 'give an opinion' } }] },
          { text: 'Both agree.' },
        )
        .replyWhen('give an opinion', { text: 'Opinion one.' }, { text: 'Opinion two.' });
      return [{ file: 'teamRun-broadcast', runId: (await team.run('Ask everyone.')).runId }];
    },
  },
  {
    name: 'cancelled-member-in-flight',
    async run({ team, model, client }) {
      model
        .replyWhen('essay', delegateTo('writer', 'write a long text'))
        .replyWhen('write a long text', { text: 'Artificial intelligence began', tokenDelayMs: 20, hang: true });
      const run = await team.run('Write an essay.', { background: true });
      await model.waitFor(() => model.requestsFor('write a long text').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-cancelled-member-in-flight', runId: run.runId }];
    },
  },
  {
    // Since `kern-cancel-without-waiting-for-the-model`: the member ends at once, with what it streamed.
    name: 'cancelled-member-without-waiting',
    async run({ team, model, client }) {
      model
        .replyWhen('brief history', delegateTo('writer', 'write a brief history'))
        .replyWhen('write a brief history', { text: STORY, tokenDelayMs: 20, hang: true });
      const run = await team.run('Write a brief history.', { background: true });
      await model.waitFor(() => (model.requestsFor('write a brief history')[0]?.wordTimes.length ?? 0) > 5);
      await team.cancelRun(run.runId);
      const output = await client.waitForRun(run.runId);
      const member = output.kind === 'team' ? output.memberResponses[0] : undefined;
      return [
        { file: 'teamRun-cancelled-member-without-waiting', runId: run.runId },
        ...(member ? [{ file: 'agentRun-cancelled-member-without-waiting', runId: member.runId }] : []),
      ];
    },
  },
  {
    // Since `kern-child-cancel-after-start`: the member is started out of the cancel's reach, then cancelled.
    name: 'cancelled-member-started',
    async run({ team, model, client }) {
      model
        .replyWhen('a story', delegateTo('writer', 'write the story'))
        .replyWhen('write the story', { text: 'Once upon', tokenDelayMs: 20, hang: true });
      const run = await team.run('Write a story.', { background: true });
      await model.waitFor(() => model.requestsFor('write the story').length > 0);
      await team.cancelRun(run.runId);
      const output = await client.waitForRun(run.runId);
      const member = output.kind === 'team' ? output.memberResponses[0] : undefined;
      return [
        { file: 'teamRun-cancelled-member-started', runId: run.runId },
        ...(member ? [{ file: 'agentRun-cancelled-as-member', runId: member.runId }] : []),
      ];
    },
  },
  {
    name: 'member-failed',
    async run({ team, model }) {
      model
        .replyWhen('fragile', delegateTo('researcher', 'a doomed task'), { text: 'The researcher failed.' })
        .replyWhen('a doomed task', { error: { status: 401, message: 'Incorrect API key provided' } });
      return [{ file: 'teamRun-member-failed', runId: (await team.run('A fragile request.')).runId }];
    },
  },
  {
    name: 'cancelled-before-start',
    async run({ team, client }) {
      const runId = randomUUID();
      await client.cancelRun(runId);
      await team.run('Never runs.', { background: true, runId });
      await client.waitForRun(runId);
      return [{ file: 'teamRun-cancelled-before-start', runId }];
    },
  },
  {
    name: 'streamed-with-subscriber',
    async run({ team, model }) {
      model
        .replyWhen('a streamed story', delegateTo('writer', 'tell the story'), { text: 'The team liked it.' })
        .replyWhen('tell the story', { text: STORY, tokenDelayMs: 15 });
      return [
        {
          file: 'teamRun-streamed-with-subscriber',
          runId: await lastRunId(team.run('A streamed story.', { stream: true })),
        },
      ];
    },
  },
  {
    name: 'member-forwarding-ordered',
    async run({ team, model }) {
      model
        .replyWhen('ordered story', delegateTo('writer', 'tell it in order'), { text: 'In order.' })
        .replyWhen('tell it in order', { text: STORY, tokenDelayMs: 10 });
      let teamRunId = '';
      let memberRunId = '';
      for await (const event of team.run('An ordered story.', { stream: true })) {
        teamRunId ||= event.runId;
        if (event.runId !== teamRunId) memberRunId ||= event.runId;
      }
      return [
        { file: 'teamRun-member-forwarding-ordered', runId: teamRunId },
        { file: 'agentRun-team-member-ordered', runId: memberRunId },
      ];
    },
  },
];

// Step functions of the workflow scenarios, registered on the recording worker.
let flakyAttempts = 0;
let flakyOnceAttempts = 0;
const stepFunctions = {
  async shout(input: StepInput) {
    return `${(input.previousStepContent ?? input.input).toUpperCase()}!`;
  },
  async flaky() {
    if (++flakyAttempts === 1) throw new Error('first attempt fails');
    return 'second attempt worked';
  },
  async flakyOnce() {
    if (++flakyOnceAttempts === 1) throw new Error('first attempt fails');
    return 'second attempt worked';
  },
  async alwaysFails(): Promise<string> {
    throw new Error('this step always fails');
  },
  async isLong(input: StepInput) {
    return input.input.length > 20;
  },
  async pickSecond() {
    return 'Second';
  },
  async stopAfterTwo(_outputs: StepOutput[], iteration: number) {
    return iteration >= 2;
  },
  async stopAfterSix(_outputs: StepOutput[], iteration: number) {
    return iteration >= 6;
  },
};
const { shout, flaky, flakyOnce, alwaysFails, isLong, pickSecond, stopAfterTwo, stopAfterSix } = stepFunctions;

interface WorkflowScenario {
  name: string;
  workflow(agent: (name: string) => Agent): WorkflowStep[];
  run(ctx: { workflow: Workflow; client: KernClient; model: ScriptedModelServer }): Promise<string>;
}

const workflowScenarios: WorkflowScenario[] = [
  {
    name: 'functions-in-sequence',
    workflow: () => [new Step({ name: 'Shout', executor: shout }), new Step({ name: 'Again', executor: shout })],
    run: async ({ workflow }) => (await workflow.run('hello')).runId,
  },
  {
    // Since `kern-member-content-forwarded-only-live`: the steps' text stays in the steps' own streams.
    name: 'step-content-held-back',
    workflow: (agent) => [agent('Drafter'), agent('Editor')],
    async run({ workflow, model }) {
      model
        .replyWhen((r) => r.userText === 'draft and edit', { text: STORY, tokenDelayMs: 5 })
        .replyWhen('Output of the previous step', { text: 'Edited.' });
      return (await workflow.run('draft and edit')).runId;
    },
  },
  {
    name: 'agent-and-team-steps',
    workflow: (agent) => [
      new Step({ name: 'Research', team: new Team({ name: 'Step Team', members: [agent('Researcher')] }) }),
      agent('Planner'),
    ],
    async run({ workflow, model }) {
      model
        .replyWhen((r) => r.userText === 'plan the content', delegateTo('researcher', 'research the content'), {
          text: 'Team notes.',
        })
        .replyWhen('research the content', { text: 'Findings.' })
        .replyWhen('Output of the previous step', { text: 'A plan.' });
      return (await workflow.run('plan the content')).runId;
    },
  },
  {
    name: 'nested-primitives',
    workflow: () => [
      new Loop({
        name: 'Refine',
        maxIterations: 5,
        endCondition: stopAfterTwo,
        steps: [
          new Parallel({
            name: 'Both',
            steps: [new Step({ name: 'A', executor: shout }), new Step({ name: 'B', executor: shout })],
          }),
        ],
      }),
      new Condition({
        name: 'Long?',
        evaluator: isLong,
        steps: [new Step({ name: 'Long path', executor: shout })],
        elseSteps: [new Steps({ name: 'Short path', steps: [new Step({ name: 'Short', executor: shout })] })],
      }),
      new Router({
        name: 'Route',
        selector: pickSecond,
        choices: [new Step({ name: 'First', executor: shout }), new Step({ name: 'Second', executor: shout })],
      }),
    ],
    run: async ({ workflow }) => (await workflow.run('short')).runId,
  },
  {
    name: 'retried-and-skipped',
    workflow: () => [
      new Step({ name: 'Flaky', executor: flaky, maxRetries: 1 }),
      new Step({ name: 'Fails', executor: alwaysFails, skipOnFailure: true }),
    ],
    run: async ({ workflow }) => (await workflow.run('go on')).runId,
  },
  {
    // Since `kern-step-function-attempts`: the workflow calls a function again for what it threw.
    name: 'retried-by-the-workflow',
    workflow: () => [
      new Step({ name: 'Flaky once', executor: flakyOnce, maxRetries: 1 }),
      new Step({ name: 'Fails', executor: alwaysFails, skipOnFailure: true }),
    ],
    run: async ({ workflow }) => (await workflow.run('go on')).runId,
  },
  cancelledInParallel('cancelled-in-parallel', 'two branches'),
  // Since `kern-child-cancel-after-start`: each branch's agent is started out of the cancel's reach, then cancelled.
  cancelledInParallel('cancelled-agent-steps', 'both branches'),
  // Since `kern-cancel-without-waiting-for-the-model`: each branch's agent ends without waiting for its model call.
  cancelledInParallel('cancelled-steps-without-waiting', 'each branch at once'),
  {
    name: 'cancelled-before-start',
    workflow: () => [new Step({ name: 'Shout', executor: shout })],
    async run({ workflow, client }) {
      const runId = randomUUID();
      await client.cancelRun(runId);
      await workflow.run('never', { background: true, runId });
      await client.waitForRun(runId);
      return runId;
    },
  },
];

/** A workflow of two agent branches side by side, cancelled while both are answering. */
function cancelledInParallel(name: string, prompt: string): WorkflowScenario {
  return {
    name,
    workflow: (agent) => [new Parallel({ name: 'Branches', steps: [agent('Left'), agent('Right')] })],
    async run({ workflow, model, client }) {
      const working = { text: 'Working', tokenDelayMs: 20, hang: true };
      model.replyWhen(prompt, working, working);
      const run = await workflow.run(prompt, { background: true });
      await model.waitFor(() => model.requestsFor(prompt).length === 2);
      await workflow.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return run.runId;
    },
  };
}

const STORY = 'Once upon a time a small dragon learned to write code and it was very happy about it.';

/** The run id of a streamed run (its first event's; later ones may be members'). */
async function lastRunId(events: AsyncIterable<AnyRunEvent>): Promise<string> {
  let runId = '';
  for await (const event of events) runId ||= event.runId;
  return runId;
}

/** What the session scenarios run with. */
interface SessionContext {
  client: KernClient;
  model: ScriptedModelServer;
  /** An agent with history and the `remember` tool. */
  agent: Agent;
  /** A team with history whose member has the `remember` tool. */
  team: Team;
  /** A workflow whose agent step has the `remember` tool. */
  workflow: Workflow;
}

/** A history of a session path: a run that reads or writes its session, or the session's own workflow. */
interface SessionScenario {
  /** `<workflow type>-<scenario>`. */
  name: string;
  /** Runs the scenario; returns the workflow (and execution, for a session that continued as new) to record. */
  record(ctx: SessionContext): Promise<{ workflowId: string; runId?: string }>;
}

const runIn = (runId: string) => ({ workflowId: workflowIdForRun(runId) });
/** An agent with the MCP reference server's echo and long-running tools (the worker starts it over stdio). */
const mcpAgent = (client: KernClient) =>
  new Agent({
    name: 'MCP Agent',
    model: new OpenAIResponses({ id: 'gpt-test' }),
    mcpServers: [{ server: 'everything', include: ['echo', 'trigger-long-running-operation'] }],
    client,
  });
const rememberCall = (key: string, value: string) => ({
  toolCalls: [{ name: 'remember', arguments: { key, value } }],
});

const sessionScenarios: SessionScenario[] = [
  {
    name: 'agentRun-session-remembered',
    async record({ agent, model }) {
      model.replyWhen((r) => r.lastUserText === 'My name is Ada.', { text: 'Hello Ada.' });
      model.replyWhen((r) => r.lastUserText === 'Who am I?', { text: 'You are Ada.' });
      await agent.run('My name is Ada.', { sessionId: 'recorded-session' });
      return runIn((await agent.run('Who am I?', { sessionId: 'recorded-session' })).runId);
    },
  },
  {
    name: 'kernSession-written',
    async record() {
      return { workflowId: workflowIdForSession('recorded-session') };
    },
  },
  {
    name: 'agentRun-session-state',
    async record({ agent, model }) {
      model.replyWhen((r) => r.lastUserText === 'Remember blue.', rememberCall('color', 'blue'), { text: 'Kept.' });
      const output = await agent.run('Remember blue.', { sessionId: 'state-session', sessionState: { plan: 'free' } });
      return runIn(output.runId);
    },
  },
  {
    name: 'agentRun-session-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen((r) => r.lastUserText === 'Talk forever.', { text: 'Talking', tokenDelayMs: 20, hang: true });
      const run = await agent.run('Talk forever.', { sessionId: 'recorded-session', background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText === 'Talk forever.'));
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    name: 'teamRun-session-member-state',
    async record({ team, model }) {
      model
        .replyWhen((r) => r.lastUserText === 'Note the city.', delegateTo('keeper', 'keep Lisbon'), { text: 'Noted.' })
        .replyWhen((r) => r.lastUserText === 'keep Lisbon', rememberCall('city', 'Lisbon'), { text: 'Kept Lisbon.' });
      return runIn((await team.run('Note the city.', { sessionId: 'team-session' })).runId);
    },
  },
  {
    name: 'teamRun-session-cancelled',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'A long errand.', delegateTo('keeper', 'run the errand'))
        .replyWhen((r) => r.lastUserText === 'run the errand', { text: 'Running', tokenDelayMs: 20, hang: true });
      const run = await team.run('A long errand.', { sessionId: 'team-session', background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText === 'run the errand'));
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    name: 'workflowRun-session-state',
    async record({ workflow, model }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Plan a party'), rememberCall('theme', 'jazz'), {
        text: 'A jazz party.',
      });
      const output = await workflow.run('Plan a party', { sessionId: 'wf-session', sessionState: { guests: '12' } });
      return runIn(output.runId);
    },
  },
  {
    name: 'workflowRun-session-cancelled',
    async record({ workflow, model, client }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Plan forever'), { text: 'Planning', hang: true });
      const run = await workflow.run('Plan forever', { sessionId: 'wf-session', sessionState: {}, background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText.startsWith('Plan forever')));
      await workflow.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    // Recorded once sessions took updateSession (rename, metadata, state replaced): a session made by createSession,
    // renamed and given state, then written by a run.
    name: 'kernSession-updated',
    async record({ agent, client, model }) {
      await client.createSession({ sessionId: 'updated-session', name: 'Trip', sessionState: { city: 'Lisbon' } });
      await client.updateSession('updated-session', { name: 'Lisbon trip', metadata: { source: 'recorder' } });
      await client.updateSession('updated-session', { sessionState: { city: 'Porto' } });
      model.replyWhen((r) => r.lastUserText === 'Where to?', { text: 'Porto.' });
      await agent.run('Where to?', { sessionId: 'updated-session' });
      return { workflowId: workflowIdForSession('updated-session') };
    },
  },
  {
    // Recorded once runs could be forked (run input format 8): a fork from a message index with new input.
    name: 'agentRun-forked',
    async record({ agent, model }) {
      model.replyWhen((r) => r.lastUserText === 'Remember green.', rememberCall('color', 'green'), { text: 'Kept.' });
      model.replyWhen((r) => r.lastUserText === 'Or red?', { text: 'Red, then.' });
      const source = await agent.run('Remember green.', { sessionId: 'fork-session' });
      return runIn((await agent.forkRun(source.runId, { continueFrom: 1, input: 'Or red?' })).runId);
    },
  },
  {
    // A regenerate, whose turn replaces the turn of the run it regenerated in the session's history.
    name: 'agentRun-regenerated',
    async record({ agent, model }) {
      model.replyWhen((r) => r.lastUserText === 'Name a colour.', { text: 'Blue.' }, { text: 'Teal.' });
      const source = await agent.run('Name a colour.', { sessionId: 'fork-session' });
      return runIn((await agent.forkRun(source.runId, { regenerate: true })).runId);
    },
  },
  {
    name: 'agentRun-fork-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen((r) => r.lastUserText === 'Go on forever.', { text: 'Going', hang: true });
      const source = await agent.run('Say hi.', { sessionId: 'fork-session' });
      const fork = await agent.forkRun(source.runId, { input: 'Go on forever.', background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText === 'Go on forever.'));
      await agent.cancelRun(fork.runId);
      await client.waitForRun(fork.runId);
      return runIn(fork.runId);
    },
  },
  {
    name: 'kernSession-turn-replaced',
    async record() {
      return { workflowId: workflowIdForSession('fork-session') };
    },
  },
  {
    name: 'teamRun-regenerated',
    async record({ team, model }) {
      model.replyWhen((r) => r.lastUserText === 'Pick a city.', { text: 'Lisbon.' }, { text: 'Porto.' });
      const source = await team.run('Pick a city.', { sessionId: 'team-fork-session' });
      return runIn((await team.forkRun(source.runId, { regenerate: true })).runId);
    },
  },
  {
    name: 'teamRun-fork-cancelled',
    async record({ team, model, client }) {
      model.replyWhen((r) => r.lastUserText === 'Plan forever.', { text: 'Planning', hang: true });
      const source = await team.run('Say hi.', { sessionId: 'team-fork-session' });
      const fork = await team.forkRun(source.runId, { input: 'Plan forever.', background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText === 'Plan forever.'));
      await team.cancelRun(fork.runId);
      await client.waitForRun(fork.runId);
      return runIn(fork.runId);
    },
  },
  {
    // Recorded once agents took MCP servers (run input format 9): the tools listed, one called over stdio.
    name: 'agentRun-mcp-tools',
    async record({ client, model }) {
      model.replyWhen(
        'Echo over MCP.',
        { toolCalls: [{ name: 'echo', arguments: { message: 'hi' } }] },
        { text: 'Echoed.' },
      );
      return runIn((await mcpAgent(client).run('Echo over MCP.')).runId);
    },
  },
  {
    name: 'agentRun-mcp-cancelled',
    async record({ client, model }) {
      model.replyWhen('A long MCP call.', {
        toolCalls: [{ name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 } }],
      });
      const agent = mcpAgent(client);
      const run = await agent.run('A long MCP call.', { background: true });
      for (let attempt = 0; attempt < 100; attempt++) {
        if (((await client.getRunOutput(run.runId))?.tools.length ?? 0) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    name: 'teamRun-mcp-member-cancelled',
    async record({ client, model }) {
      model
        .replyWhen('Have the member call long.', delegateTo('mcp-agent', 'call the long tool'))
        .replyWhen('call the long tool', {
          toolCalls: [{ name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 } }],
        });
      const team = new Team({
        name: 'MCP Team',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        members: [mcpAgent(client)],
        client,
      });
      const run = await team.run('Have the member call long.', { background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText === 'call the long tool'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    // Recorded once a team's leader took MCP servers: its tools listed by the team's run, one called beside a
    // delegation.
    name: 'teamRun-leader-mcp',
    async record({ client, model }) {
      model
        .replyWhen(
          'Leader echoes, member writes.',
          { toolCalls: [{ name: 'echo', arguments: { message: 'from the leader' } }] },
          delegateTo('mcp-writer', 'write a line'),
          { text: 'Echoed and written.' },
        )
        .replyWhen('write a line', { text: 'A line.' });
      const team = new Team({
        name: 'MCP Leader Team',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        members: [new Agent({ name: 'MCP Writer', model: new OpenAIResponses({ id: 'gpt-test' }) })],
        mcpServers: [{ server: 'everything', include: ['echo'] }],
        client,
      });
      return runIn((await team.run('Leader echoes, member writes.')).runId);
    },
  },
  {
    name: 'workflowRun-mcp-step-cancelled',
    async record({ client, model }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Step calls long'), {
        toolCalls: [{ name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 } }],
      });
      const workflow = new Workflow({
        name: 'MCP Workflow',
        steps: [new Step({ name: 'Call', agent: mcpAgent(client) })],
        client,
      });
      const run = await workflow.run('Step calls long', { background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText.startsWith('Step calls long')));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await workflow.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return runIn(run.runId);
    },
  },
  {
    name: 'kernSession-continued-as-new',
    async record({ agent, client }) {
      // Each completed run with history writes its turn: enough of them make the session continue as new.
      for (let batch = 0; batch < 15; batch++) {
        await Promise.all(
          Array.from({ length: 10 }, (_, n) => agent.run(`Turn ${batch * 10 + n}.`, { sessionId: 'long-session' })),
        );
      }
      const workflowId = workflowIdForSession('long-session');
      // Visibility follows the continue-as-new by a moment.
      for (let attempt = 0; attempt < 50; attempt++) {
        for await (const execution of client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
          if (execution.status.name === 'CONTINUED_AS_NEW') return { workflowId, runId: execution.runId };
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error('the session did not continue as new');
    },
  },
];

/**
 * What the pause and structured-answer scenarios run with: an agent, a team and a workflow of that kind (for pauses:
 * whose tools, member and leader, and step ask first; for structured answers: whose answers have a schema).
 */
interface PauseContext {
  client: KernClient;
  model: ScriptedModelServer;
  agent: AnyAgent;
  team: AnyTeam;
  workflow: Workflow;
}

/** A history of a run that paused for a person (format 4), or that wanted a structured answer (format 5). */
interface PauseScenario {
  /** `<workflow type>-<scenario>`. */
  name: string;
  /** Runs the scenario; returns the run ids to record (`<workflow type>-<scenario>` each), once they have ended. */
  record(ctx: PauseContext): Promise<Recorded[]>;
}

const sendEmail = defineTool({
  name: 'send_email',
  description: 'Send an email.',
  parameters: z.object({ to: z.string() }),
  requiresConfirmation: true,
  execute: ({ to }) => `sent to ${to}`,
});
const bookSeat = defineTool({
  name: 'book_seat',
  description: 'Book a seat.',
  parameters: z.object({ flight: z.string() }),
  requiresUserInput: true,
  userInputFields: z.object({ passenger: z.string().min(2) }),
  execute: ({ flight, passenger }) => `booked ${flight} for ${passenger}`,
});
const lookUp = defineTool({
  name: 'look_up',
  description: 'Look a customer up (the caller runs it).',
  parameters: z.object({ customer: z.string() }),
  externalExecution: true,
});

/** Waits until run `runId` is paused and returns the id of each requirement it waits for. */
async function pausedRequirements(client: KernClient, runId: string): Promise<string[]> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const output = await client.getRunOutput(runId);
    if (output?.status === 'PAUSED' && output.requirements) return output.requirements.map((r) => r.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run ${runId} did not pause`);
}

const pauseScenarios: PauseScenario[] = [
  {
    name: 'agentRun-paused-confirmed',
    async record({ agent, model, client }) {
      model.replyWhen(
        'Email Ada',
        { toolCalls: [{ name: 'send_email', arguments: { to: 'ada' } }] },
        { text: 'Sent.' },
      );
      const run = await agent.run('Email Ada', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await agent.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-confirmed', runId: run.runId }];
    },
  },
  {
    // Recorded once a pause with no timeout waited on a labelled timer (the kern-pause-on-labelled-timer patch).
    name: 'agentRun-paused-labelled-wait',
    async record({ agent, model, client }) {
      model.replyWhen('Email Flo', { toolCalls: [{ name: 'send_email', arguments: { to: 'flo' } }] }, { text: 'Ok.' });
      const run = await agent.run('Email Flo', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await agent.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-labelled-wait', runId: run.runId }];
    },
  },
  {
    name: 'teamRun-leader-paused-labelled-wait',
    async record({ team, model, client }) {
      model.replyWhen(
        (r) => r.lastUserText === 'Email Kim yourself.',
        { toolCalls: [{ name: 'send_email', arguments: { to: 'kim' } }] },
        { text: 'Done.' },
      );
      const run = await team.run('Email Kim yourself.', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await team.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-leader-paused-labelled-wait', runId: run.runId }];
    },
  },
  {
    name: 'agentRun-paused-rejected',
    async record({ agent, model, client }) {
      model.replyWhen('Email Bob', { toolCalls: [{ name: 'send_email', arguments: { to: 'bob' } }] }, { text: 'Ok.' });
      const run = await agent.run('Email Bob', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await agent.continueRun(run.runId, { requirements: [{ id: id!, confirmation: false, confirmationNote: 'No.' }] });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-rejected', runId: run.runId }];
    },
  },
  {
    name: 'agentRun-paused-user-input',
    async record({ agent, model, client }) {
      model.replyWhen(
        'Book LX12',
        { toolCalls: [{ name: 'book_seat', arguments: { flight: 'LX12' } }] },
        {
          text: 'Booked.',
        },
      );
      const run = await agent.run('Book LX12', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      // Input that fails the schema is refused after the check (a failed update in the history), then valid input.
      await agent
        .continueRun(run.runId, { requirements: [{ id: id!, userInput: { passenger: 'A' } }] })
        .catch(() => {});
      await agent.continueRun(run.runId, { requirements: [{ id: id!, userInput: { passenger: 'Ada' } }] });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-user-input', runId: run.runId }];
    },
  },
  {
    name: 'agentRun-paused-external',
    async record({ agent, model, client }) {
      model.replyWhen(
        'Who is ACME',
        {
          toolCalls: [
            { name: 'look_up', arguments: { customer: 'ACME' } },
            { name: 'get_weather', arguments: { city: 'Oslo' } },
          ],
        },
        { text: 'Gold.' },
      );
      const run = await agent.run('Who is ACME', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await agent.continueRun(run.runId, { requirements: [{ id: id!, externalExecutionResult: 'gold tier' }] });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-external', runId: run.runId }];
    },
  },
  {
    name: 'agentRun-paused-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen('Email Cy', { toolCalls: [{ name: 'send_email', arguments: { to: 'cy' } }] });
      const run = await agent.run('Email Cy', { background: true });
      await pausedRequirements(client, run.runId);
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-cancelled', runId: run.runId }];
    },
  },
  {
    name: 'agentRun-paused-timed-out',
    async record({ model, client }) {
      model.replyWhen('Email Dee', { toolCalls: [{ name: 'send_email', arguments: { to: 'dee' } }] });
      const agent = new Agent({
        name: 'Impatient Agent',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        tools: [sendEmail],
        pauseTimeout: '1 second',
        client,
      });
      const run = await agent.run('Email Dee', { background: true });
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-paused-timed-out', runId: run.runId }];
    },
  },
  {
    name: 'teamRun-member-paused',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'Tell Gus.', delegateTo('mailer', 'mail Gus'), { text: 'Told.' })
        .replyWhen(
          (r) => r.lastUserText === 'mail Gus',
          { toolCalls: [{ name: 'send_email', arguments: { to: 'gus' } }] },
          {
            text: 'Mailed.',
          },
        );
      const run = await team.run('Tell Gus.', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await team.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      const output = await client.waitForRun(run.runId);
      const member = output.kind === 'team' ? output.memberResponses[0]! : undefined;
      return [
        { file: 'teamRun-member-paused', runId: run.runId },
        { file: 'agentRun-paused-as-member', runId: member!.runId },
      ];
    },
  },
  {
    name: 'teamRun-leader-paused',
    async record({ team, model, client }) {
      model.replyWhen(
        (r) => r.lastUserText === 'Email Hal yourself.',
        {
          toolCalls: [{ name: 'send_email', arguments: { to: 'hal' } }],
        },
        { text: 'Done.' },
      );
      const run = await team.run('Email Hal yourself.', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await team.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-leader-paused', runId: run.runId }];
    },
  },
  {
    name: 'teamRun-paused-cancelled',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'Tell Ivy.', delegateTo('mailer', 'mail Ivy'))
        .replyWhen((r) => r.lastUserText === 'mail Ivy', {
          toolCalls: [{ name: 'send_email', arguments: { to: 'ivy' } }],
        });
      const run = await team.run('Tell Ivy.', { background: true });
      await pausedRequirements(client, run.runId);
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-paused-cancelled', runId: run.runId }];
    },
  },
  {
    name: 'workflowRun-paused-cancelled',
    async record({ workflow, model, client }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Bulletin'), {
        toolCalls: [{ name: 'send_email', arguments: { to: 'kim' } }],
      });
      const run = await workflow.run('Bulletin', { background: true });
      await pausedRequirements(client, run.runId);
      await workflow.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'workflowRun-paused-cancelled', runId: run.runId }];
    },
  },
  {
    name: 'workflowRun-step-paused',
    async record({ workflow, model, client }) {
      model.replyWhen(
        (r) => r.lastUserText.startsWith('Newsletter'),
        {
          toolCalls: [{ name: 'send_email', arguments: { to: 'jo' } }],
        },
        { text: 'Sent it.' },
      );
      const run = await workflow.run('Newsletter', { background: true });
      const [id] = await pausedRequirements(client, run.runId);
      await workflow.continueRun(run.runId, { requirements: [{ id: id!, confirmation: true }] });
      await client.waitForRun(run.runId);
      return [{ file: 'workflowRun-step-paused', runId: run.runId }];
    },
  },
];

const Forecast = z.object({ city: z.string(), temperature: z.number() }).meta({ title: 'Forecast' });

const structuredScenarios: PauseScenario[] = [
  {
    name: 'agentRun-structured',
    async record({ agent, model }) {
      model.replyWhen('Forecast Paris', { text: '{"city": "Paris", "temperature": 21}' });
      return [{ file: 'agentRun-structured', runId: (await agent.run('Forecast Paris')).runId }];
    },
  },
  {
    name: 'agentRun-structured-retried',
    async record({ agent, model }) {
      model.replyWhen('Forecast Oslo', { text: 'cold' }, { text: '{"city": "Oslo", "temperature": -3}' });
      return [{ file: 'agentRun-structured-retried', runId: (await agent.run('Forecast Oslo')).runId }];
    },
  },
  {
    name: 'agentRun-structured-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen('Forecast forever', { text: '{"city": "', tokenDelayMs: 20, hang: true });
      const run = await agent.run('Forecast forever', { background: true });
      await model.waitFor(() => model.requestsFor('Forecast forever').length === 1);
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-structured-cancelled', runId: run.runId }];
    },
  },
  {
    name: 'teamRun-structured-member',
    async record({ team, model }) {
      model
        .replyWhen((r) => r.lastUserText === 'Team forecast.', delegateTo('forecaster', 'Forecast Nice'), {
          text: 'Nice is warm.',
        })
        .replyWhen('Forecast Nice', { text: '{"city": "Nice", "temperature": 25}' });
      return [{ file: 'teamRun-structured-member', runId: (await team.run('Team forecast.')).runId }];
    },
  },
  {
    name: 'teamRun-structured-cancelled',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'Team forecast forever.', delegateTo('forecaster', 'Forecast slowly'))
        .replyWhen('Forecast slowly', { text: '{"city": "', tokenDelayMs: 20, hang: true });
      const run = await team.run('Team forecast forever.', { background: true });
      await model.waitFor(() => model.requestsFor('Forecast slowly').length === 1);
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-structured-cancelled', runId: run.runId }];
    },
  },
  {
    name: 'workflowRun-structured-step',
    async record({ workflow, model }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Forecast Rome'), {
        text: '{"city": "Rome", "temperature": 30}',
      });
      return [{ file: 'workflowRun-structured-step', runId: (await workflow.run('Forecast Rome')).runId }];
    },
  },
  {
    name: 'workflowRun-structured-cancelled',
    async record({ workflow, model, client }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Forecast Lima'), { text: '{"city": "', hang: true });
      const run = await workflow.run('Forecast Lima', { background: true });
      await model.waitFor(() => model.requests.some((r) => r.lastUserText.startsWith('Forecast Lima')));
      await workflow.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'workflowRun-structured-cancelled', runId: run.runId }];
    },
  },
];

/** Fires a paused schedule once and returns its run's id once the run has started. */
async function fireOnce(schedule: KernSchedule): Promise<string> {
  await schedule.trigger();
  for (let attempt = 0; attempt < 300; attempt++) {
    const [run] = (await schedule.describe()).recentRuns;
    if (run) return run.runId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`schedule ${schedule.scheduleId} did not fire`);
}

/** A schedule of `component` that fires only when triggered, for one recording. */
const scheduleOf = (component: AnyAgent | AnyTeam | Workflow, id: string, input: string) =>
  component.schedule({ id, input, cron: '0 0 1 1 *', paused: true });

const scheduledScenarios: PauseScenario[] = [
  {
    name: 'agentRun-scheduled',
    async record({ agent, model, client }) {
      model.replyWhen('Scheduled digest', { text: 'The digest.' });
      const runId = await fireOnce(await scheduleOf(agent, 'history-agent', 'Scheduled digest'));
      await client.waitForRun(runId);
      return [{ file: 'agentRun-scheduled', runId }];
    },
  },
  {
    name: 'agentRun-scheduled-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen('Scheduled forever', { text: 'Still', hang: true });
      const runId = await fireOnce(await scheduleOf(agent, 'history-agent-cancelled', 'Scheduled forever'));
      await model.waitFor(() => model.requestsFor('Scheduled forever').length === 1);
      await client.cancelRun(runId);
      await client.waitForRun(runId);
      return [{ file: 'agentRun-scheduled-cancelled', runId }];
    },
  },
  {
    name: 'teamRun-scheduled',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'Scheduled brief.', delegateTo('reporter', 'Report the news'), {
          text: 'Brief done.',
        })
        .replyWhen('Report the news', { text: 'News.' });
      const runId = await fireOnce(await scheduleOf(team, 'history-team', 'Scheduled brief.'));
      await client.waitForRun(runId);
      return [{ file: 'teamRun-scheduled', runId }];
    },
  },
  {
    name: 'teamRun-scheduled-cancelled',
    async record({ team, model, client }) {
      model
        .replyWhen((r) => r.lastUserText === 'Scheduled brief forever.', delegateTo('reporter', 'Report slowly'))
        .replyWhen('Report slowly', { text: 'Slowly', hang: true });
      const runId = await fireOnce(await scheduleOf(team, 'history-team-cancelled', 'Scheduled brief forever.'));
      await model.waitFor(() => model.requestsFor('Report slowly').length === 1);
      await client.cancelRun(runId);
      await client.waitForRun(runId);
      return [{ file: 'teamRun-scheduled-cancelled', runId }];
    },
  },
  {
    name: 'workflowRun-scheduled',
    async record({ workflow, model, client }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Scheduled steps'), { text: 'Stepped.' });
      const runId = await fireOnce(await scheduleOf(workflow, 'history-workflow', 'Scheduled steps'));
      await client.waitForRun(runId);
      return [{ file: 'workflowRun-scheduled', runId }];
    },
  },
  {
    name: 'workflowRun-scheduled-cancelled',
    async record({ workflow, model, client }) {
      model.replyWhen((r) => r.lastUserText.startsWith('Scheduled slow steps'), { text: 'Slow', hang: true });
      const runId = await fireOnce(await scheduleOf(workflow, 'history-workflow-cancelled', 'Scheduled slow steps'));
      await model.waitFor(() => model.requests.some((r) => r.lastUserText.startsWith('Scheduled slow steps')));
      await client.cancelRun(runId);
      await client.waitForRun(runId);
      return [{ file: 'workflowRun-scheduled-cancelled', runId }];
    },
  },
];

/** How many events a run's history has when the server that records continue-as-new suggests it (default: 4,096). */
const SUGGEST_CONTINUE_AFTER_EVENTS = 60;

/**
 * Runs that continue as new (input format 10 for every execution after the first, 11 for a workflow run's), recorded on
 * a server of their own that suggests it after {@link SUGGEST_CONTINUE_AFTER_EVENTS} events, so that a dozen tool
 * rounds span several executions. Each returns the executions to record, once its runs have closed: a run's `first` execution (which
 * continued as new, in the client's format) or its `last`.
 */
interface ContinuationScenario {
  name: string;
  record(ctx: {
    agent: Agent;
    team: Team;
    dispatchTeam: Team;
    orbiting: Workflow;
    endless: Workflow;
    client: KernClient;
    model: ScriptedModelServer;
  }): Promise<Array<{ file: string; runId: string; execution: 'first' | 'last' }>>;
}

const weatherRounds = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    toolCalls: [{ name: 'get_weather', arguments: { city: `City ${i}` }, id: `call_${i}` }],
  }));

const continuationScenarios: ContinuationScenario[] = [
  {
    name: 'agentRun-continued',
    async record({ agent, model }) {
      model.replyWhen('weather tour', ...weatherRounds(12), { text: 'Sunny in all twelve.' });
      const { runId } = await agent.run('Take a weather tour.');
      return [
        { file: 'agentRun-continued-as-new', runId, execution: 'first' },
        { file: 'agentRun-continued', runId, execution: 'last' },
      ];
    },
  },
  {
    name: 'agentRun-continued-cancelled',
    async record({ agent, model, client }) {
      model.replyWhen('endless tour', ...weatherRounds(60));
      const run = await agent.run('Take an endless tour.', { background: true });
      await executionsOf(client, run.runId, (executions) => executions.length >= 3);
      await agent.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'agentRun-continued-cancelled', runId: run.runId, execution: 'last' }];
    },
  },
  {
    name: 'teamRun-continued',
    async record({ team, model }) {
      const tasks = Array.from({ length: 6 }, (_, i) => `look up part ${i}`);
      for (const task of tasks) model.replyWhen(task, { text: `Part ${task.slice(-1)} found.` });
      model.replyWhen('every part', ...tasks.map((task) => delegateTo('researcher', task)), { text: 'All found.' });
      const { runId } = await team.run('Look up every part.');
      return [
        { file: 'teamRun-continued-as-new', runId, execution: 'first' },
        { file: 'teamRun-continued', runId, execution: 'last' },
      ];
    },
  },
  {
    name: 'teamRun-continued-cancelled',
    async record({ team, model, client }) {
      const tasks = Array.from({ length: 6 }, (_, i) => `research item ${i}`);
      for (const task of tasks) model.replyWhen(task, { text: `Item ${task.slice(-1)} done.` });
      model
        .replyWhen(
          'all items',
          ...tasks.map((task) => delegateTo('researcher', task)),
          delegateTo('writer', 'write up'),
        )
        .replyWhen('write up', { text: 'The write-up', tokenDelayMs: 20, hang: true });
      const run = await team.run('Research all items.', { background: true });
      await model.waitFor(() => model.requestsFor('write up').length > 0, 60_000);
      await executionsOf(client, run.runId, (executions) => executions.length >= 2);
      await team.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'teamRun-continued-cancelled', runId: run.runId, execution: 'last' }];
    },
  },
  {
    // Since `kern-child-cancel-by-workflow-id`: the team's cancel reaches its member's newest execution.
    name: 'teamRun-cancelled-member-continued',
    async record({ dispatchTeam, model, client }) {
      model
        .replyWhen('dispatch a tour', delegateTo('tourer', 'tour every city'))
        .replyWhen('tour every city', ...weatherRounds(60));
      const run = await dispatchTeam.run('Please dispatch a tour.', { background: true });
      let memberRunId: string | undefined;
      while (!memberRunId) {
        const output = await client.getRunOutput(run.runId);
        memberRunId = output?.kind === 'team' ? output.memberResponses[0]?.runId : undefined;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await executionsOf(client, memberRunId, (executions) => executions.length >= 3);
      await dispatchTeam.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [
        { file: 'teamRun-cancelled-member-continued', runId: run.runId, execution: 'last' },
        { file: 'agentRun-continued-cancelled-as-member', runId: memberRunId, execution: 'last' },
      ];
    },
  },
  {
    name: 'workflowRun-continued',
    async record({ orbiting, model }) {
      const orbits = Array.from({ length: 6 }, (_, i) => ({ text: `Orbit ${i + 1} recorded.` }));
      model.replyWhen('Orbit the scenarios', ...orbits);
      const { runId } = await orbiting.run('Orbit the scenarios, one by one.');
      return [
        { file: 'workflowRun-continued-as-new', runId, execution: 'first' },
        { file: 'workflowRun-continued', runId, execution: 'last' },
      ];
    },
  },
  {
    name: 'workflowRun-continued-cancelled',
    async record({ endless, client }) {
      const run = await endless.run('Shout forever.', { background: true });
      await executionsOf(client, run.runId, (executions) => executions.length >= 3);
      await endless.cancelRun(run.runId);
      await client.waitForRun(run.runId);
      return [{ file: 'workflowRun-continued-cancelled', runId: run.runId, execution: 'last' }];
    },
  },
];

/**
 * A workflow run's steps across executions: six orbits of a function step, a condition and a router that runs an
 * agent step, then a parallel block (a run does not continue as new inside one).
 */
const orbitingSteps = (recorder: Agent): WorkflowStep[] => [
  new Loop({
    name: 'Orbits',
    maxIterations: 8,
    endCondition: stopAfterSix,
    steps: [
      new Step({ name: 'Shout', executor: shout }),
      new Condition({
        name: 'Long?',
        evaluator: isLong,
        steps: [new Step({ name: 'Long path', executor: shout })],
        elseSteps: [new Step({ name: 'Short path', executor: shout })],
      }),
      new Router({
        name: 'Route',
        selector: pickSecond,
        choices: [new Step({ name: 'First', executor: shout }), new Step({ name: 'Second', agent: recorder })],
      }),
    ],
  }),
  new Parallel({
    name: 'Both',
    steps: [new Step({ name: 'A', executor: shout }), new Step({ name: 'B', executor: shout })],
  }),
];
/** Shouts up to 200 times: long enough to be cancelled after it has continued as new. */
const endlessSteps = (): WorkflowStep[] => [
  new Loop({ name: 'Endless', maxIterations: 200, steps: [new Step({ name: 'Shout', executor: shout })] }),
];

/** The executions of a run's workflow, oldest first, once `ready` holds of them (visibility follows by a moment). */
async function executionsOf(
  client: KernClient,
  runId: string,
  ready: (executions: Array<{ runId: string; status: string }>) => boolean,
): Promise<Array<{ runId: string; status: string }>> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const found: Array<{ runId: string; status: string; startTime: Date }> = [];
    const query = `WorkflowId = '${workflowIdForRun(runId)}'`;
    for await (const execution of client.temporal.workflow.list({ query })) {
      found.push({ runId: execution.runId, status: execution.status.name, startTime: execution.startTime });
    }
    found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    if (ready(found)) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId}: its executions never got there`);
}

/** Records the {@link continuationScenarios} on a Temporal server of their own. */
async function recordContinuations(): Promise<void> {
  const env = await startLocalTemporal({
    dynamicConfig: {
      'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AFTER_EVENTS,
      'history.workflowIdReuseMinimalInterval': '0s',
    },
  });
  const model = await ScriptedModelServer.start();
  const taskQueue = 'record-continuations';
  const client = await KernClient.connect({ address: env.address, taskQueue });
  const gptTest = new OpenAIResponses({ id: 'gpt-test' });
  const orbiting = new Workflow({
    name: 'Orbiting Workflow',
    steps: orbitingSteps(new Agent({ name: 'Recorder', model: gptTest, client })),
    client,
  });
  const endless = new Workflow({ name: 'Endless Workflow', steps: endlessSteps(), client });
  const worker = await startWorker({
    app: defineApp({ tools: [getWeather], workflows: [orbiting, endless] }),
    address: env.address,
    taskQueue,
    modelProvider: { baseURL: model.url, apiKey: 'recording' },
  });
  const agent = new Agent({ name: 'Touring Agent', model: gptTest, tools: [getWeather], maxToolRounds: 100, client });
  const team = new Team({
    name: 'Continuing Team',
    model: gptTest,
    maxToolRounds: 100,
    members: [
      new Agent({ name: 'Researcher', role: 'Research.', model: gptTest, client }),
      new Agent({ name: 'Writer', role: 'Write.', model: gptTest, client }),
    ],
    client,
  });
  const dispatchTeam = new Team({
    name: 'Dispatch Team',
    model: gptTest,
    members: [new Agent({ name: 'Tourer', model: gptTest, tools: [getWeather], maxToolRounds: 100, client })],
    client,
  });
  try {
    for (const scenario of continuationScenarios) {
      const recorded = await scenario.record({ agent, team, dispatchTeam, orbiting, endless, client, model });
      let continuedAsNew = false;
      for (const { file, runId, execution } of recorded) {
        const closed = (status: string) => status !== 'RUNNING' && status !== 'CONTINUED_AS_NEW';
        const executions = await executionsOf(client, runId, (found) => closed(found.at(-1)?.status ?? 'RUNNING'));
        continuedAsNew ||= executions.length > 1;
        const chosen = execution === 'first' ? executions[0]! : executions.at(-1)!;
        record(env.address, file, workflowIdForRun(runId), chosen.runId);
      }
      if (!continuedAsNew) throw new Error(`${scenario.name}: no run continued as new`);
    }
  } finally {
    await worker.shutdown();
    await client.close();
    await model.close();
    await env.teardown();
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  mkdirSync(historiesDir, { recursive: true });
  await recordContinuations();
  // `npm run record-histories -- continued`: those alone.
  if (process.argv.includes('continued')) return;
  const env = await startLocalTemporal();
  const model = await ScriptedModelServer.start();
  const taskQueue = 'record-histories';
  const client = await KernClient.connect({ address: env.address, taskQueue });
  const agentOf = (name: string) => new Agent({ name, model: new OpenAIResponses({ id: 'gpt-test' }), client });
  const workflowFor = (scenario: WorkflowScenario) =>
    new Workflow({ name: 'History Workflow', steps: scenario.workflow(agentOf), client });
  const worker = await startWorker({
    app: defineApp({
      tools: [getWeather, remember, sendEmail, bookSeat, lookUp],
      workflows: workflowScenarios.map(workflowFor),
      mcpServers: {
        everything: {
          command: process.execPath,
          args: [require.resolve('@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
        },
      },
    }),
    address: env.address,
    taskQueue,
    modelProvider: { baseURL: model.url, apiKey: 'recording' },
  });
  const agentWith = (options: Scenario['agentOptions'] = {}) =>
    new Agent({
      name: 'History Agent',
      model: new OpenAIResponses({ id: 'gpt-test' }),
      instructions: ['Be brief.'],
      tools: [getWeather],
      client,
      ...options,
    });
  const teamWith = (mode: TeamMode | undefined) =>
    new Team({
      name: 'History Team',
      model: new OpenAIResponses({ id: 'gpt-test' }),
      mode,
      members: [
        new Agent({ name: 'Researcher', role: 'Research.', model: new OpenAIResponses({ id: 'gpt-test' }), client }),
        new Agent({ name: 'Writer', role: 'Write.', model: new OpenAIResponses({ id: 'gpt-test' }), client }),
      ],
      client,
    });
  const save = (recorded: Recorded[]) => {
    for (const { file, runId } of recorded) record(env.address, file, workflowIdForRun(runId));
  };
  const sessionAgent = (name: string, options: { history?: boolean } = {}) =>
    new Agent({
      name,
      model: new OpenAIResponses({ id: 'gpt-test' }),
      tools: [remember],
      addHistoryToContext: options.history ?? false,
      client,
    });
  const sessionContext: SessionContext = {
    client,
    model,
    agent: sessionAgent('Session Agent', { history: true }),
    team: new Team({
      name: 'Session Team',
      model: new OpenAIResponses({ id: 'gpt-test' }),
      members: [sessionAgent('Keeper')],
      addHistoryToContext: true,
      client,
    }),
    workflow: new Workflow({
      name: 'Session Workflow',
      steps: [new Step({ name: 'Plan', agent: sessionAgent('Planner') })],
      client,
    }),
  };
  try {
    for (const scenario of agentScenarios) {
      const runId = await scenario.run({ agent: agentWith(scenario.agentOptions), client, model });
      save([{ file: `agentRun-${scenario.name}`, runId }]);
    }
    for (const scenario of teamScenarios) {
      save(await scenario.run({ team: teamWith(scenario.mode), client, model }));
    }
    for (const scenario of workflowScenarios) {
      const runId = await scenario.run({ workflow: workflowFor(scenario), client, model });
      save([{ file: `workflowRun-${scenario.name}`, runId }]);
    }
    const askingAgent = (name: string) =>
      new Agent({ name, model: new OpenAIResponses({ id: 'gpt-test' }), tools: [sendEmail], client });
    const pauseContext: PauseContext = {
      client,
      model,
      agent: new Agent({
        name: 'Asking Agent',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        tools: [sendEmail, bookSeat, lookUp, getWeather],
        client,
      }),
      team: new Team({
        name: 'Asking Team',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        tools: [sendEmail],
        members: [askingAgent('Mailer')],
        client,
      }),
      workflow: new Workflow({
        name: 'Asking Workflow',
        steps: [new Step({ name: 'Send', agent: askingAgent('Step Mailer') })],
        client,
      }),
    };
    const forecaster = (name: string) =>
      new Agent({ name, model: new OpenAIResponses({ id: 'gpt-test' }), outputSchema: Forecast, client });
    const structuredContext: PauseContext = {
      client,
      model,
      agent: forecaster('Structured Agent'),
      team: new Team({
        name: 'Structured Team',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        members: [forecaster('Forecaster')],
        client,
      }),
      workflow: new Workflow({
        name: 'Structured Workflow',
        steps: [new Step({ name: 'Forecast', agent: forecaster('Step Forecaster') })],
        client,
      }),
    };
    const recordAll = async (scenarios: PauseScenario[], context: PauseContext) => {
      for (const scenario of scenarios) save(await scenario.record(context));
    };
    await recordAll(pauseScenarios, pauseContext);
    await recordAll(structuredScenarios, structuredContext);
    const reporter = (name: string) => new Agent({ name, model: new OpenAIResponses({ id: 'gpt-test' }), client });
    const scheduledContext: PauseContext = {
      client,
      model,
      agent: reporter('Scheduled Agent'),
      team: new Team({
        name: 'Scheduled Team',
        model: new OpenAIResponses({ id: 'gpt-test' }),
        members: [reporter('Reporter')],
        client,
      }),
      workflow: new Workflow({
        name: 'Scheduled Workflow',
        steps: [new Step({ name: 'Report', agent: reporter('Step Reporter') })],
        client,
      }),
    };
    await recordAll(scheduledScenarios, scheduledContext);
    for (const scenario of sessionScenarios) {
      const { workflowId, runId } = await scenario.record(sessionContext);
      record(env.address, scenario.name, workflowId, runId);
    }
  } finally {
    await worker.shutdown();
    await client.close();
    await model.close();
    await env.teardown();
  }
}

/**
 * Saves the history of a workflow (its latest execution, or `runId`'s) as `<file>.v<format>.json`, the format being
 * the version its input carries (a run input's, or a session's). A history recorded already is kept: recorded
 * histories are never regenerated in place.
 */
function record(address: string, file: string, workflowId: string, runId?: string): void {
  const history = exportHistory(address, workflowId, runId);
  const target = path.join(historiesDir, `${file}.v${inputVersionOf(history)}.json`);
  const shown = path.relative(process.cwd(), target);
  if (existsSync(target)) {
    console.log(`kept     ${shown} (never regenerated in place)`);
    return;
  }
  writeFileSync(target, history);
  console.log(`recorded ${shown}`);
}

/** The format version a recorded history's workflow input carries (`version`, in run and session inputs alike). */
function inputVersionOf(historyJson: string): number {
  const history = JSON.parse(historyJson) as {
    events: Array<{ workflowExecutionStartedEventAttributes?: { input?: { payloads?: Array<{ data?: string }> } } }>;
  };
  const data = history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  const input = data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { version?: unknown }) : {};
  if (typeof input.version !== 'number') throw new Error('the recorded history has no input of a known format');
  return input.version;
}

/**
 * The history as the Temporal CLI exports it (`temporal workflow show --output json`), the format Temporal's tools
 * and SDKs read for replay.
 */
function exportHistory(address: string, workflowId: string, runId?: string): string {
  const cli = execFileSync('bash', [path.resolve(__dirname, '../temporal-dev.sh'), '--print-path'], {
    encoding: 'utf8',
  }).trim();
  return execFileSync(
    cli,
    [
      'workflow',
      'show',
      '--address',
      address,
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
    ],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
