import { Agent, OpenAIResponses, RunStatus, defineApp } from 'kern';
import { eventually, startServedHarness, type Harness, type ServedHarness } from '../support/harness';
import { postForm } from '../support/http';

const reporter = new Agent({ name: 'Reporter', model: new OpenAIResponses({ id: 'gpt-test' }) });
const app = defineApp({ agents: [reporter] });

let served: ServedHarness;
let h: Harness;
let base: string;
beforeAll(async () => {
  served = await startServedHarness(app);
  ({ harness: h, base } = served);
});
afterAll(() => served.close());

const uniqueName = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
const json = (method: string, body?: unknown) => ({
  method,
  headers: { 'content-type': 'application/json' },
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
});

describe('the /schedules routes', () => {
  test("create a schedule of an agent's runs, list it, disable, trigger (refused), enable, trigger, its runs", async () => {
    const name = uniqueName('morning-brief');
    const created = await fetch(
      `${base}/schedules`,
      json('POST', {
        name,
        cron_expr: '0 7 * * *',
        endpoint: '/agents/reporter/runs',
        payload: { message: 'Morning brief', user_id: 'ana' },
        timezone: 'Europe/Paris',
      }),
    );
    expect(created.status).toBe(201);
    const schedule = (await created.json()) as Record<string, unknown>;
    expect(schedule).toMatchObject({
      id: name,
      name,
      method: 'POST',
      endpoint: '/agents/reporter/runs',
      payload: { message: 'Morning brief', session_id: `schedule-${name}`, user_id: 'ana' },
      cron_expr: '0 7 * * *',
      timezone: 'Europe/Paris',
      enabled: true,
      target_type: 'agent',
      target_id: 'reporter',
      user_id: 'ana',
    });
    expect(typeof schedule.next_run_at).toBe('number');
    expect(
      new Date((schedule.next_run_at as number) * 1000).toLocaleString('en-GB', { timeZone: 'Europe/Paris' }),
    ).toMatch(/07:00:00/);

    const listed = (await (await fetch(`${base}/schedules?limit=1000`)).json()) as {
      data: Array<{ id: string }>;
      meta: { total_count: number };
    };
    expect(listed.data.map((s) => s.id)).toContain(name);
    expect(listed.meta.total_count).toBeGreaterThanOrEqual(1);

    const disabled = await fetch(`${base}/schedules/${name}/disable`, json('POST'));
    expect(await disabled.json()).toMatchObject({ id: name, name, enabled: false });
    const refused = await fetch(`${base}/schedules/${name}/trigger`, json('POST'));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({ detail: 'Schedule is disabled' });
    expect(
      ((await (await fetch(`${base}/schedules?enabled=false`)).json()) as typeof listed).data.map((s) => s.id),
    ).toContain(name);

    await fetch(`${base}/schedules/${name}/enable`, json('POST'));
    h.model.replyWhen('Morning brief', { text: 'Sunny, then news.' });
    const triggered = await fetch(`${base}/schedules/${name}/trigger`, json('POST'));
    expect(triggered.status).toBe(200);
    const run = (await triggered.json()) as { run_id: string; status: string };
    expect(run).toMatchObject({ schedule_id: name, session_id: `schedule-${name}`, user_id: 'ana', attempt: 1 });
    expect(['running', 'success']).toContain(run.status);
    expect((await h.waitForStatus(run.run_id, RunStatus.completed)).content).toBe('Sunny, then news.');

    // The run is an agent run like any other over HTTP, and the schedule's runs list it once it has ended.
    const polled = await fetch(`${base}/agents/reporter/runs/${run.run_id}?session_id=schedule-${name}`);
    expect(await polled.json()).toMatchObject({ run_id: run.run_id, status: 'COMPLETED' });
    const runs = await eventually(
      async () =>
        (await (await fetch(`${base}/schedules/${name}/runs`)).json()) as {
          data: Array<{ run_id: string; status: string }>;
        },
      (page) => page.data[0]?.status === 'success',
    );
    expect(runs.data).toEqual([expect.objectContaining({ run_id: run.run_id, status: 'success' })]);
    // One of its runs by id; a run the schedule did not start is not one of its runs, even in its session.
    const one = await fetch(`${base}/schedules/${name}/runs/${run.run_id}`);
    expect(await one.json()).toEqual(runs.data[0]);
    h.model.replyWhen(`by hand ${name}`, { text: 'Manual.' });
    const manual = await postForm(`${base}/agents/reporter/runs`, {
      message: `by hand ${name}`,
      stream: 'false',
      session_id: `schedule-${name}`,
      run_id: `${name}-by-hand`,
    });
    expect(manual.status).toBe(200);
    for (const other of [`${name}-by-hand`, `nothing-${name}`]) {
      const missing = await fetch(`${base}/schedules/${name}/runs/${other}`);
      expect({ status: missing.status, body: await missing.json() }).toEqual({
        status: 404,
        body: { detail: 'Schedule run not found' },
      });
    }

    // PATCH: new times, then a new run to start; the rest stays, its runs stay listed under it.
    const patch = async (body: unknown) => {
      const response = await fetch(`${base}/schedules/${name}`, json('PATCH', body));
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const retimed = await patch({ cron_expr: '30 8 * * 1-5' });
    expect(retimed).toMatchObject({
      status: 200,
      body: {
        id: name,
        cron_expr: '30 8 * * 1-5',
        timezone: 'Europe/Paris',
        enabled: true,
        created_at: schedule.created_at,
      },
    });
    expect(retimed.body.payload).toEqual(schedule.payload);
    expect((await patch({ cron_expr: 'every now and then' })).status).toBe(422);
    // A change Temporal refuses changes nothing, and leaves nothing behind.
    expect(await (await fetch(`${base}/schedules/${name}`)).json()).toMatchObject({ cron_expr: '30 8 * * 1-5' });
    const all = (await (await fetch(`${base}/schedules?limit=1000`)).json()) as typeof listed;
    expect(all.data.filter((s) => s.id.startsWith(name)).map((s) => s.id)).toEqual([name]);
    expect(await patch({ name: 'another-name' })).toMatchObject({ status: 422 });
    expect((await patch({ cron_expr: '0 9 * * *' })).status).toBe(200);
    expect((await fetch(`${base}/schedules/nothing-${name}`, json('PATCH', { cron_expr: '0 9 * * *' }))).status).toBe(
      404,
    );
    const rerun = await patch({ payload: { message: 'Evening brief' } });
    expect(rerun.body).toMatchObject({ cron_expr: '0 9 * * *', payload: { message: 'Evening brief', user_id: 'ana' } });
    h.model.replyWhen('Evening brief', { text: 'Calm night.' });
    const evening = (await (await fetch(`${base}/schedules/${name}/trigger`, json('POST'))).json()) as {
      run_id: string;
    };
    expect((await h.waitForStatus(evening.run_id, RunStatus.completed)).content).toBe('Calm night.');
    const both = await eventually(
      async () => (await (await fetch(`${base}/schedules/${name}/runs`)).json()) as { data: Array<{ run_id: string }> },
      (page) => page.data.length === 2,
    );
    expect(both.data.map((r) => r.run_id)).toEqual([evening.run_id, run.run_id]);

    expect((await fetch(`${base}/schedules/${name}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${base}/schedules/${name}`)).status).toBe(404);
  });

  test('what cannot be scheduled gets 422, a name in use 409, an unknown schedule 404', async () => {
    const name = uniqueName('bad');
    const post = (body: Record<string, unknown>) =>
      fetch(
        `${base}/schedules`,
        json('POST', {
          name,
          cron_expr: '0 7 * * *',
          endpoint: '/agents/reporter/runs',
          payload: { message: 'x' },
          ...body,
        }),
      );
    const unknownAgent = await post({ endpoint: '/agents/nobody/runs' });
    expect(unknownAgent.status).toBe(422);
    expect(JSON.stringify(await unknownAgent.json())).toContain('endpoint must be POST /agents/{id}/runs');
    expect((await post({ endpoint: '/health', method: 'GET' })).status).toBe(422);
    expect((await post({ cron_expr: '' })).status).toBe(422);
    expect((await post({ cron_expr: 'every now and then' })).status).toBe(422);
    expect((await post({ payload: {} })).status).toBe(422);
    expect((await post({ name: 'has spaces' })).status).toBe(422);
    expect((await post({ max_retries: 3 })).status).toBe(422);
    expect((await fetch(`${base}/schedules`, { method: 'POST', body: 'not json' })).status).toBe(422);

    expect((await post({})).status).toBe(201);
    const again = await post({});
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ detail: `Schedule with name '${name}' already exists` });
    await fetch(`${base}/schedules/${name}`, { method: 'DELETE' });

    for (const path of ['', '/runs']) {
      const response = await fetch(`${base}/schedules/nothing-here${path}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: 'Schedule not found' });
    }
    for (const action of ['enable', 'disable', 'trigger']) {
      expect((await fetch(`${base}/schedules/nothing-here/${action}`, json('POST'))).status).toBe(404);
    }
    expect((await fetch(`${base}/schedules/nothing-here`, { method: 'DELETE' })).status).toBe(404);
  });
});
