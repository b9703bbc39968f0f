import { readRunInput } from '../../src/shared/saved-runs';
import { RUN_INPUT_VERSION, type AgentSpec } from '../../src/shared/specs';

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

  test("an input of this worker's format is read as it is, and one newer than it fails with what to do", () => {
    const agent: AgentSpec = { ...savedAgent('a'), kind: 'agent' } as AgentSpec;
    const input = { ...base, version: RUN_INPUT_VERSION, kind: 'agent', agent };
    expect(readRunInput(input, 'agent')).toBe(input);
    expect(() => readRunInput({ ...input, version: RUN_INPUT_VERSION + 1 }, 'agent')).toThrow(
      /Run it on a worker of the kern version that started it, or a newer one/,
    );
  });
});
