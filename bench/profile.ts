import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** A V8 CPU profile (`node --cpu-prof`), as much of it as the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a sampled function's code comes from, coarsely: what the kern and baseline workers spend their CPU on. */
function groupOf(url: string, functionName: string, workflowBundle: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)' || functionName === '(program)') return '';
  if (url === '' || url.startsWith('node:')) return 'Node (timers, streams, HTTP, native calls)';
  if (url.includes(workflowBundle)) return 'workflow code in the sandbox (bundle)';
  if (url.includes('/@temporalio/worker/')) return 'Temporal worker (activations, sandbox, payloads)';
  if (url.includes('/@temporalio/')) return 'Temporal SDK (client, common, activity)';
  if (url.includes('/protobufjs/') || url.includes('/long/')) return 'protobuf encoding';
  if (url.includes('/openai/')) return 'openai (model requests)';
  if (url.includes('/src/')) return 'kern (activities, worker)';
  return 'other libraries';
}

/** CPU milliseconds by group (idle left out), over every profile in `dir` (one per thread of a process). */
export function profileByGroup(dir: string, workflowBundle: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id)!;
      const group = groupOf(frame.url, frame.functionName, workflowBundle);
      if (group) groups.set(group, (groups.get(group) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return groups;
}

/** A table of the two workers' CPU time by group, for the same bursts, with kern's excess per group. */
export function profileTable(kern: Map<string, number>, baseline: Map<string, number>, runs: number): string {
  const total = (groups: Map<string, number>) => [...groups.values()].reduce((sum, ms) => sum + ms, 0);
  const names = [...new Set([...kern.keys(), ...baseline.keys()])].sort(
    (a, b) => (kern.get(b) ?? 0) - (baseline.get(b) ?? 0) - ((kern.get(a) ?? 0) - (baseline.get(a) ?? 0)),
  );
  const perRun = (ms: number) => ((ms / runs) * 1000).toFixed(0);
  return [
    `| worker CPU per run (µs), ${runs} runs each | kern | baseline | kern − baseline |`,
    '|---|---|---|---|',
    ...names.map((name) => {
      const k = kern.get(name) ?? 0;
      const b = baseline.get(name) ?? 0;
      return `| ${name} | ${perRun(k)} | ${perRun(b)} | ${perRun(k - b)} |`;
    }),
    `| all | ${perRun(total(kern))} | ${perRun(total(baseline))} | ${perRun(total(kern) - total(baseline))} |`,
  ].join('\n');
}
