import { z } from 'zod';
import {
  Agent,
  OpenAIChat,
  OpenAIResponses,
  RunEvent,
  RunStatus,
  Team,
  defineApp,
  type AnyRunEvent,
  type RunOutput,
} from 'kern';
import { startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm } from '../support/http';

const Weather = z.object({ city: z.string(), temperature: z.number() }).meta({ title: 'Weather' });
type Weather = z.infer<typeof Weather>;

const model = new OpenAIResponses({ id: 'gpt-test' });
const forecaster = new Agent({ name: 'Forecaster', model, outputSchema: Weather });
const app = defineApp({ agents: [forecaster] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const agentWith = <C>(options: { outputSchema?: z.ZodType<C>; chat?: boolean } = {}) =>
  new Agent<C>({
    name: 'Forecaster',
    model: options.chat ? new OpenAIChat({ id: 'gpt-test' }) : model,
    client: h.client,
    ...(options.outputSchema ? { outputSchema: options.outputSchema } : {}),
  });

describe('an agent with an outputSchema answers a typed object', () => {
  test("the model is asked for the schema's JSON, and the completed run's content is the parsed object", async () => {
    h.model.replyWhen('Weather in Paris', { text: '{"city": "Paris", "temperature": 21.5}' });
    const agent = agentWith({ outputSchema: Weather });
    const output: RunOutput<Weather> = await agent.run('Weather in Paris');
    expect(output.status).toBe(RunStatus.completed);
    expect(output.content).toEqual({ city: 'Paris', temperature: 21.5 });
    expect(output.content?.temperature).toBe(21.5);
    expect(output.contentType).toBe('Weather');
    const [request] = h.model.requestsFor('Weather in Paris');
    expect(request!.body.text).toEqual({
      format: {
        type: 'json_schema',
        name: 'Weather',
        strict: true,
        schema: {
          type: 'object',
          title: 'Weather',
          properties: { city: { type: 'string' }, temperature: { type: 'number' } },
          required: ['city', 'temperature'],
          additionalProperties: false,
        },
      },
    });
    // A poll after the end, with no live worker state, reads the same object.
    expect((await agent.getRunOutput({ runId: output.runId }))?.content).toEqual({ city: 'Paris', temperature: 21.5 });
  });

  test('streams: RunContent deltas carry the raw text, RunCompleted the object', async () => {
    h.model.replyWhen('Weather in Rome', { text: '{"city": "Rome", "temperature": 30}' });
    const events: AnyRunEvent[] = [];
    for await (const event of agentWith({ outputSchema: Weather }).run('Weather in Rome', { stream: true })) {
      events.push(event);
    }
    const text = events.flatMap((event) => (event.event === RunEvent.runContent ? [event.content] : [])).join('');
    expect(JSON.parse(text)).toEqual({ city: 'Rome', temperature: 30 });
    expect(events.at(-1)).toMatchObject({ event: RunEvent.runCompleted, content: { city: 'Rome', temperature: 30 } });
  });

  test('an answer that fails the schema is asked for again with the problem; one that never fits ends ERROR', async () => {
    h.model.replyWhen('Weather in Oslo', { text: '{"city": "Oslo"}' }, { text: '{"city": "Oslo", "temperature": -3}' });
    const fixed = await agentWith({ outputSchema: Weather }).run('Weather in Oslo');
    expect(fixed).toMatchObject({ status: RunStatus.completed, content: { city: 'Oslo', temperature: -3 } });
    const requests = h.model.requestsFor('Weather in Oslo');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.lastUserText).toMatch(/does not match the required JSON schema \(temperature: .*number/);

    h.model.replyWhen('Weather in Lima', { text: 'sunny' }, { text: '{"city": 3}' }, { text: '[]' });
    const failed = await agentWith({ outputSchema: Weather }).run('Weather in Lima');
    expect(failed.status).toBe(RunStatus.error);
    expect(failed.error?.type).toBe('OutputInvalid');
    expect(failed.error?.message).toMatch(/^the answer does not match the output schema: /);
    expect(h.model.requestsFor('Weather in Lima')).toHaveLength(3);
  });

  test('per run: run(input, { outputSchema }) on a text agent, over Chat Completions too (response_format)', async () => {
    h.model.replyWhen('Two numbers', { text: '```json\n{"a": 1, "b": 2}\n```' });
    const pair = z.object({ a: z.number(), b: z.number().optional() });
    const output = await agentWith({ chat: true }).run('Two numbers', { outputSchema: pair });
    expect(output.content).toEqual({ a: 1, b: 2 });
    expect(output.contentType).toBe('output');
    const [request] = h.model.requestsFor('Two numbers');
    // `b` is optional, so the schema is not strict-compatible: it is sent as guidance and checked on the worker.
    expect(request!.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'output', strict: false },
    });
  });

  test("a member's structured answer reaches its team's leader as JSON text", async () => {
    h.model
      .replyWhen(
        (request) => request.lastUserText === 'Team weather',
        {
          toolCalls: [
            { name: 'delegate_task_to_member', arguments: { member_id: 'forecaster', task: 'Weather in Nice' } },
          ],
        },
        { text: 'It is 25 in Nice.' },
      )
      .replyWhen('Weather in Nice', { text: '{"city": "Nice", "temperature": 25}' });
    const team = new Team({ name: 'Desk', model, members: [agentWith({ outputSchema: Weather })], client: h.client });
    const output = await team.run('Team weather');
    expect(output).toMatchObject({ status: RunStatus.completed, content: 'It is 25 in Nice.' });
    expect(output.memberResponses[0]).toMatchObject({
      content: { city: 'Nice', temperature: 25 },
      contentType: 'Weather',
    });
    const leader = h.model.requests.filter((request) => request.lastUserText === 'Team weather').at(-1)!;
    const outputs = (leader.body.input as Array<{ type?: string; output?: string }>).filter(
      (item) => item.type === 'function_call_output',
    );
    expect(JSON.parse(outputs[0]!.output!)).toEqual({ city: 'Nice', temperature: 25 });
  });

  test('bad schemas are refused before anything runs', () => {
    expect(() => agentWith({ outputSchema: z.custom<string>() })).toThrow(/outputSchema is not a schema/);
  });
});

describe('HTTP: output_schema on a run, as the framework takes it', () => {
  test('a JSON schema as JSON text gives the parsed content and its content_type; an invalid one gets 422', async () => {
    h.model.replyWhen('Weather in Bern', { text: '{"temp": 12}' });
    const schema = { title: 'Temp', type: 'object', properties: { temp: { type: 'integer' } }, required: ['temp'] };
    const response = await postForm(`${base}/agents/forecaster/runs`, {
      message: 'Weather in Bern',
      stream: 'false',
      output_schema: JSON.stringify(schema),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'COMPLETED', content: { temp: 12 }, content_type: 'Temp' });

    const invalid = await postForm(`${base}/agents/forecaster/runs`, {
      message: 'Weather in Bern',
      stream: 'false',
      output_schema: '[1, 2]',
    });
    expect(invalid.status).toBe(422);
  });

  test("the agent's own schema applies over HTTP, with its name as content_type", async () => {
    h.model.replyWhen('Weather in Kyiv', { text: '{"city": "Kyiv", "temperature": 5}' });
    const response = await postForm(`${base}/agents/forecaster/runs`, { message: 'Weather in Kyiv', stream: 'false' });
    expect(await response.json()).toMatchObject({
      content: { city: 'Kyiv', temperature: 5 },
      content_type: 'Weather',
    });
  });
});
