import { readRunInput } from '../../src/shared/saved-runs';
import { RUN_INPUT_VERSION, runInputVersionOf, type AgentSpec } from '../../src/shared/specs';

/** An agent spec as kern wrote it before format 7: no `kind` of its own. */
const savedAgent = (id: string) => ({
  id,
  name: id,
  instructions: [],
  model: { provider: 'openai-responses', id: 'gpt-test' },
  tools: [],
  maxToolRounds: 3,
});
const base = { runId: 'r', sessionId: 's', input: 'hi', createdAt: '2026-01-01T00:00:00.000Z' };

describe('run inputs saved before format 7 read as format 7 writes them', () => {
  test("a team's members, nested teams included, become specs that carry their kind", () => {
    const saved = {
      ...base,
      version: 6,
      kind: 'team',
      team: {
        ...savedAgent('lead'),
        mode: 'coordinate',
        members: [
          { kind: 'agent', agent: savedAgent('writer') },
          {
            kind: 'team',
            team: { ...savedAgent('inner'), mode: 'route', members: [{ kind: 'agent', agent: savedAgent('a') }] },
          },
        ],
      },
    };
    const input = readRunInput(saved, 'team');
    expect(input.team.kind).toBe('team');
    expect(input.team.members.map((member) => [member.kind, member.id])).toEqual([
      ['agent', 'writer'],
      ['team', 'inner'],
    ]);
    const inner = input.team.members[1];
    expect(inner?.kind === 'team' && inner.members).toEqual([{ ...savedAgent('a'), kind: 'agent' }]);
  });

  test("a workflow's agent and team steps, at any depth, hold their component; function steps are unchanged", () => {
    const saved = {
      ...base,
      version: 5,
      kind: 'workflow',
      workflow: {
        id: 'wf',
        name: 'WF',
        steps: [
          { type: 'step', name: 'Research', agent: savedAgent('researcher'), skipOnFailure: true },
          { type: 'step', name: 'Shout', executor: 'shout' },
          {
            type: 'condition',
            name: 'If',
            evaluator: 'isLong',
            steps: [{ type: 'step', name: 'Team', team: { ...savedAgent('t'), mode: 'broadcast', members: [] } }],
            elseSteps: [
              {
                type: 'loop',
                name: 'L',
                maxIterations: 2,
                steps: [{ type: 'step', name: 'W', agent: savedAgent('w') }],
              },
            ],
          },
        ],
      },
    };
    const { workflow } = readRunInput(saved, 'workflow');
    expect(workflow.kind).toBe('workflow');
    expect(workflow.steps[0]).toEqual({
      type: 'step',
      name: 'Research',
      skipOnFailure: true,
      component: { ...savedAgent('researcher'), kind: 'agent' },
    });
    expect(workflow.steps[1]).toEqual({ type: 'step', name: 'Shout', executor: 'shout' });
    expect(workflow.steps[2]).toEqual({
      type: 'condition',
      name: 'If',
      evaluator: 'isLong',
      steps: [
        {
          type: 'step',
          name: 'Team',
          component: { ...savedAgent('t'), kind: 'team', mode: 'broadcast', members: [] },
        },
      ],
      elseSteps: [
        {
          type: 'loop',
          name: 'L',
          maxIterations: 2,
          steps: [{ type: 'step', name: 'W', component: { ...savedAgent('w'), kind: 'agent' } }],
        },
      ],
    });
  });

  test('a format-8 input is read as it is, and one newer than this worker fails with what to do', () => {
    const agent: AgentSpec = { ...savedAgent('a'), kind: 'agent' } as AgentSpec;
    const input = { ...base, version: RUN_INPUT_VERSION, kind: 'agent', agent };
    expect(readRunInput(input, 'agent')).toBe(input);
    expect(() => readRunInput({ ...input, version: RUN_INPUT_VERSION + 1 }, 'agent')).toThrow(
      /Run it on a worker of the kern version that started it, or a newer one/,
    );
  });

  test('only inputs with members or agent and team steps are written as format 7', () => {
    const agent = { ...savedAgent('a'), kind: 'agent' } as AgentSpec;
    expect(runInputVersionOf({}, agent)).toBe(2);
    expect(runInputVersionOf({}, { ...agent, kind: 'team', mode: 'coordinate', members: [agent] })).toBe(7);
    const functionsOnly = { kind: 'workflow', id: 'w', name: 'W', steps: [{ type: 'step', name: 'S', executor: 'f' }] };
    expect(runInputVersionOf({}, functionsOnly as never)).toBe(2);
  });

  test('a fork is written as format 8, which older workers leave to newer ones', () => {
    const agent = { ...savedAgent('a'), kind: 'agent' } as AgentSpec;
    const seed = { fromRunId: 'r', messageIndex: 1, messages: [{ role: 'user' as const, content: 'hi' }] };
    expect(runInputVersionOf({ seed }, agent)).toBe(8);
  });

  test("a run's next execution after a continue-as-new is format 10, a workflow's (where its steps stand) 11", () => {
    const agent = { ...savedAgent('a'), kind: 'agent' } as AgentSpec;
    const continued = {
      executions: 1,
      output: {} as never,
      startedAt: '2026-01-01T00:00:00.000Z',
      stream: {} as never,
      forwardedBatches: 0,
      sessionBaseline: {},
    };
    expect(runInputVersionOf({ continued: { ...continued, round: 3, outputRetries: 0 } }, agent)).toBe(10);
    const steps = { finished: {}, decided: {}, started: {}, outputs: {} };
    expect(runInputVersionOf({ continued: { ...continued, steps } })).toBe(11);
  });
});
